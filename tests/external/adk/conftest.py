"""Run ADK's own session- and memory-service tests (vendored unchanged beside this file) against
swarmstore's ADK services, on both engines, next to ADK's own backends.

The upstream session tests take their backend from the module's ``session_service`` fixture (its
params: ADK's backends; its body: ``get_session_service(param, tmp_path)``), and the memory tests
build ``InMemoryMemoryService()`` inside each test. This file adds ours: the fixture's params gain
``swarmstore-sqlite`` and ``swarmstore-postgresql`` (and it is run by pytest-asyncio, as upstream's
``asyncio_mode = "auto"`` would), the memory tests are parametrized over ``in_memory`` and the
same two, and an autouse fixture hands each test the service of its backend. ``DESELECTED`` lists
what does not run, each with its reason (README.md too).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import swarmstore

try:
    from swarmstore.integrations.adk import SwarmstoreMemoryService, SwarmstoreSessionService
except ImportError:  # the adk extra is not installed: nothing here to run
    collect_ignore = ["test_session_service.py", "test_in_memory_memory_service.py"]

OURS = ("swarmstore-sqlite", "swarmstore-postgresql")

# test id fragment -> why it does not run
_PRIVATE = "reads InMemoryMemoryService's private dict `_session_events`, which ours does not have"
DESELECTED: dict[str, str] = {
    **{
        f"{name}[swarmstore": _PRIVATE
        for name in (
            "test_add_session_to_memory",
            "test_add_events_to_memory_with_explicit_events",
            "test_add_events_to_memory_without_session_id_uses_default_bucket",
            "test_add_events_to_memory_alias_is_supported",
            "test_add_events_to_memory_appends_without_replacing",
            "test_add_events_to_memory_deduplicates_event_ids",
            "test_add_session_with_no_events_to_memory",
        )
    },
    "test_concurrent_prepare_tables_no_race_condition": (
        "ADK's own DatabaseSessionService internals (no session_service fixture); fails on ADK 2.5.0 with"
        " SQLAlchemy 2.1 (its in-memory StaticPool resets on return: fixed upstream in 2.11.0)"
    ),
    "test_vertex_ai_session_service_raises_not_implemented_for_get_user_state": (
        "Vertex AI's backend: needs google-cloud-aiplatform (google-adk[gcp]), not in our extras"
    ),
}


def _open_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> swarmstore.Store:
    url = str(tmp_path / "adk.db") if backend == "swarmstore-sqlite" else str(request.getfixturevalue("pg_url"))
    return swarmstore.open(url)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__
    if module.endswith("test_session_service") and "session_service" in metafunc.fixturenames:
        for fixturedef in metafunc._arg2fixturedefs.get("session_service", ()):
            if fixturedef.params is not None and OURS[0] not in fixturedef.params:
                fixturedef.params = [*fixturedef.params, *OURS]
                fixturedef.ids = None
                # an async fixture: upstream runs in pytest-asyncio's auto mode, this suite in strict
                fixturedef.func._force_asyncio_fixture = True  # type: ignore[attr-defined]
    elif module.endswith("test_in_memory_memory_service"):
        metafunc.parametrize("adk_memory_backend", ["in_memory", *OURS], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = str(Path(__file__).parent)
    keep, drop = [], []
    for item in items:
        mine = str(item.path).startswith(here)
        (drop if mine and any(frag in item.nodeid for frag in DESELECTED) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def adk_session_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """For a swarmstore ``service_type``, the upstream ``get_session_service`` returns our service."""
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("session_service") if callspec else None
    if backend not in OURS:
        yield
        return
    store = _open_store(str(backend), request, tmp_path)
    module = request.module
    upstream = module.get_session_service

    def get_session_service(service_type: Any = None, *args: Any, **kwargs: Any) -> Any:
        if service_type in OURS:
            return SwarmstoreSessionService(store)
        return upstream(service_type, *args, **kwargs)

    monkeypatch.setattr(module, "get_session_service", get_session_service)
    yield
    store.close()


@pytest.fixture(autouse=True)
def adk_memory_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """For a swarmstore backend, the upstream memory tests' ``InMemoryMemoryService()`` is ours."""
    backend = str(getattr(request, "param", "in_memory"))
    if backend not in OURS:
        yield backend
        return
    store = _open_store(backend, request, tmp_path)
    monkeypatch.setattr(request.module, "InMemoryMemoryService", lambda: SwarmstoreMemoryService(store))
    yield backend
    store.close()
