"""Runs the Agents SDK's own session tests (test_session.py, vendored) on ``SwarmstoreSession``:
the name ``SQLiteSession`` in that module is swapped for a factory of our sessions, over both
engines and both APIs (the sync ``Store`` on threads, and ``swarmstore.aio``). The tests of
SQLiteSession's own internals are skipped, each with its reason (also in README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agents import set_tracing_disabled
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from agents.models.openai_responses import OpenAIResponsesModel

from swarmstore.integrations.openai_agents import SwarmstoreSession

_INTERNALS = "tests SQLiteSession's own internals (its sqlite3 connections, locks or tables), which we do not have"
DESELECTED: dict[str, str] = {
    "test_sqlite_session_close_closes_worker_thread_connections": _INTERNALS,
    "test_sqlite_session_reaps_connections_from_exited_worker_threads": _INTERNALS,
    "test_sqlite_session_closes_retired_connections_before_the_next_allocation": _INTERNALS,
    "test_sqlite_session_keeps_connections_of_live_worker_threads": _INTERNALS,
    "test_sqlite_session_closed_rejects_empty_add_items": (
        "asserts SQLiteSession's own message ('SQLiteSession is closed', a RuntimeError); a closed "
        "SwarmstoreSession refuses every call too, with swarmstore.errors.StoreClosed"
    ),
    "test_sqlite_session_pop_item_skips_corrupt_most_recent": (
        "writes invalid JSON into SQLiteSession's table by hand; our events are JSON-checked on the way in"
    ),
    "test_sqlite_session_pop_item_returns_none_after_dropping_only_corrupt_rows": "the same (corrupt rows by hand)",
    "test_sqlite_session_get_items_limit_skips_corrupt_newest_rows": "the same (corrupt rows by hand)",
    "test_sqlite_session_get_items_session_settings_limit_skips_corrupt_rows": "the same (corrupt rows by hand)",
    "test_sqlite_session_file_lock_is_shared_across_instances": _INTERNALS,
    "test_sqlite_session_failed_add_items_releases_write_lock": (
        "expects json's TypeError and probes SQLiteSession's tables with sqlite3; ours raises InvalidInput "
        "(tests/test_integration_openai_agents.py checks that nothing was written)"
    ),
    "test_sqlite_session_failed_clear_session_rolls_back": _INTERNALS + " (drops its table with sqlite3)",
    "test_sqlite_session_failed_pop_item_releases_write_lock": _INTERNALS + " (drops its table with sqlite3)",
    "test_sqlite_session_rollback_failure_evicts_connection": _INTERNALS,
    "test_sqlite_session_close_retries_quarantined_connection": _INTERNALS,
    "test_sqlite_session_post_commit_cancellation_propagates_after_known_outcome": (
        _INTERNALS + " (pauses a sqlite3 connection's commit)"
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        reason = DESELECTED.get(getattr(item, "originalname", item.name))
        if reason is not None and Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.skip(reason=f"deselected: {reason}"))


class SessionFactory:
    """``SQLiteSession(session_id, db_path=..., ..., session_settings=...)`` as the tests call it,
    returning a SwarmstoreSession on this test's store (one store per test: the tests' own
    temporary files keep their sessions apart)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def __call__(
        self,
        session_id: str,
        db_path: Any = ":memory:",
        sessions_table: str = "agent_sessions",
        messages_table: str = "agent_messages",
        session_settings: Any = None,
    ) -> SwarmstoreSession:
        return SwarmstoreSession(session_id, self.store, session_settings=session_settings)


@pytest.fixture(autouse=True)
def _swarmstore_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, any_store: Any) -> None:
    """Tracing off and no real model (no network), and our sessions in place of SQLiteSession."""
    set_tracing_disabled(True)

    def no_real_model(*args: Any, **kwargs: Any) -> Any:
        pytest.fail("Real models should not be used in tests!")

    for cls in (OpenAIResponsesModel, OpenAIChatCompletionsModel):
        monkeypatch.setattr(cls, "get_response", no_real_model)
        monkeypatch.setattr(cls, "stream_response", no_real_model)
    if hasattr(request.module, "SQLiteSession"):
        monkeypatch.setattr(request.module, "SQLiteSession", SessionFactory(any_store))
