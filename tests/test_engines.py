"""What every engine does alike, at the engine level: error mapping, counts, options, wake-ups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import swarmstore
from swarmstore import errors
from swarmstore.engine import open_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    url = str(tmp_path / "e.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    e = open_engine(url)
    yield e
    e.close()


def _agent(e: Any, aid: str, status: str = "idle") -> Any:
    ph = e.placeholder
    sql = (
        "INSERT INTO agents (id, name, agent_type, status, registered_at, last_seen_at) "
        f"VALUES ({ph}, {ph}, 't', {ph}, 1, 1)"
    )
    return lambda tx: tx.execute(sql, (aid, aid, status))


def test_a_duplicate_key_is_a_conflict(engine: Any) -> None:
    engine.write(_agent(engine, "a"))
    with pytest.raises(errors.Conflict):
        engine.write(_agent(engine, "a"))


def test_a_check_failure_is_a_storage_error_not_a_conflict(engine: Any) -> None:
    with pytest.raises(errors.StorageError, match=r"(?i)check|status") as info:
        engine.write(_agent(engine, "a", status="bogus"))
    assert not isinstance(info.value, errors.Conflict)
    assert engine.counts()["agents"] == 0


def test_counts_name_every_kind(engine: Any) -> None:
    engine.write(_agent(engine, "a"))
    assert engine.counts() == {
        "sessions": 0, "events": 0, "memories_live": 0, "memories_all": 0, "memory_versions": 0,
        "audit": 0, "tasks": 0, "agents": 1,
    }  # fmt: skip


def test_store_stats_come_from_the_engine(tmp_path: Path) -> None:
    with swarmstore.open(str(tmp_path / "s.db")) as st:
        stats = st.stats()
    assert stats["engine"] == "sqlite" and stats["rows"]["agents"] == 0


def test_wakeups_follow_the_capability(engine: Any) -> None:
    if engine.caps.wakeups:
        assert engine.wait_for_work(["work"], 0.01) is False
        engine.write(lambda tx: engine.notify(tx, "work"))
        assert engine.wait_for_work(["work"], 30) is True
    else:
        engine.write(lambda tx: engine.notify(tx, "work"))
        assert engine.wait_for_work(["work"], 3600) is False  # at once: nothing to wait for


def test_unknown_options_name_themselves(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidInput, match="colour"):
        swarmstore.open(str(tmp_path / "s.db"), colour="red")
    with pytest.raises(errors.InvalidInput, match="url"):
        open_engine("sqlite://relative.db")
