"""swarmstore's ADK services: contract points beyond the vendored ADK tests (tests/external/adk),
each checked on ADK's own SqliteSessionService too where the pinned ADK (2.5.0) has it, so that ours
is held to what theirs does; then what is ours alone (names, deletes, memory), and the example.
Both engines."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("google.adk")

from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.memory.memory_entry import MemoryEntry
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig
from google.adk.sessions.session import Session
from google.adk.sessions.sqlite_session_service import SqliteSessionService
from google.genai import types

import swarmstore
from swarmstore.clock import ManualClock
from swarmstore.integrations.adk import SwarmstoreMemoryService, SwarmstoreSessionService
from swarmstore.integrations.adk._names import decode, encode
from swarmstore.integrations.adk.sessions import StaleSessionError

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


@pytest.fixture
def store(store_url: str) -> Iterator[swarmstore.Store]:
    with swarmstore.open(store_url) as st:
        yield st


@pytest.fixture(params=["adk-sqlite", "swarmstore-sqlite", "swarmstore-postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseSessionService]:
    """ADK's own SQLite service, or ours on either engine."""
    if request.param == "adk-sqlite":
        yield SqliteSessionService(str(tmp_path / "adk.db"))
        return
    url = str(tmp_path / "swarm.db") if request.param == "swarmstore-sqlite" else request.getfixturevalue("pg_url")
    with swarmstore.open(url) as st:
        yield SwarmstoreSessionService(st)


@pytest.fixture(params=["swarmstore-sqlite", "swarmstore-postgresql"])
def ours(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseSessionService]:
    """Ours alone, on either engine: for ADK behaviours newer than the pinned 2.5.0's own backends."""
    url = str(tmp_path / "swarm.db") if request.param == "swarmstore-sqlite" else request.getfixturevalue("pg_url")
    with swarmstore.open(url) as st:
        yield SwarmstoreSessionService(st)


def ev(ts: float, text: str = "hi", delta: dict[str, Any] | None = None, author: str = "user") -> Event:
    content = types.Content(role="user", parts=[types.Part(text=text)])
    return Event(
        invocation_id="inv", author=author, timestamp=ts, content=content, actions=EventActions(state_delta=delta or {})
    )


# -- the contract, on theirs and ours ---------------------------------------------------------------


def test_last_update_time_is_the_last_event_timestamp(service: BaseSessionService) -> None:
    async def go() -> None:
        s = await service.create_session(app_name="a", user_id="u")
        t = s.last_update_time + 50
        await service.append_event(s, ev(t))
        assert s.last_update_time == t
        got = await service.get_session(app_name="a", user_id="u", session_id=s.id)
        assert got is not None and got.last_update_time == t
        [listed] = (await service.list_sessions(app_name="a", user_id="u")).sessions
        assert listed.last_update_time == t

    run(go())


def test_a_stale_session_cannot_append(service: BaseSessionService) -> None:
    async def go() -> None:
        s = await service.create_session(app_name="a", user_id="u", session_id="s")
        a = await service.get_session(app_name="a", user_id="u", session_id="s")
        b = await service.get_session(app_name="a", user_id="u", session_id="s")
        assert a is not None and b is not None
        await service.append_event(a, ev(s.last_update_time + 1))
        with pytest.raises(StaleSessionError):
            await service.append_event(b, ev(s.last_update_time + 2))
        got = await service.get_session(app_name="a", user_id="u", session_id="s")
        assert got is not None and len(got.events) == 1

    run(go())


def test_append_to_a_missing_session_is_session_not_found(service: BaseSessionService) -> None:
    async def go() -> None:
        s = await service.create_session(app_name="a", user_id="u", session_id="s")
        await service.delete_session(app_name="a", user_id="u", session_id="s")
        with pytest.raises(ValueError, match="not found"):  # ours: SessionNotFoundError, a ValueError
            await service.append_event(s, ev(s.last_update_time + 1))
        ghost = Session(id="nope", app_name="a", user_id="u", last_update_time=0)
        with pytest.raises(ValueError, match="not found"):  # ours: SessionNotFoundError, a ValueError
            await service.append_event(ghost, ev(1))

    run(go())


def test_padded_ids_are_stripped_like_adk(ours: BaseSessionService) -> None:
    """ADK 2.11's rule (its services then strip a padded id when no session has it as given)."""
    service = ours

    async def go() -> None:
        s = await service.create_session(app_name="a", user_id="u", session_id="  pad  ")
        assert s.id == "pad"
        got = await service.get_session(app_name="a", user_id="u", session_id=" pad ")
        assert got is not None and got.id == "pad"
        await service.delete_session(app_name="a", user_id="u", session_id="pad ")
        assert await service.get_session(app_name="a", user_id="u", session_id="pad") is None

    run(go())


def test_list_is_oldest_update_first_with_merged_state(ours: BaseSessionService) -> None:
    """The order BaseSessionService documents from ADK 2.11 on (2.5's SqliteSessionService: none)."""
    service = ours

    async def go() -> None:
        x = await service.create_session(app_name="a", user_id="u", session_id="x", state={"app:k": 1})
        y = await service.create_session(app_name="a", user_id="u", session_id="y", state={"user:l": 2})
        await service.create_session(app_name="other", user_id="u", session_id="z")
        await service.append_event(x, ev(y.last_update_time + 10))
        listed = (await service.list_sessions(app_name="a", user_id="u")).sessions
        assert [s.id for s in listed] == ["y", "x"]
        assert all(s.state == {"app:k": 1, "user:l": 2} for s in listed)
        assert all(not s.events for s in listed)

    run(go())


def test_get_config_recent_and_after(service: BaseSessionService) -> None:
    async def go() -> None:
        s = await service.create_session(app_name="a", user_id="u")
        t0 = s.last_update_time
        for i in range(5):
            await service.append_event(s, ev(t0 + i + 1, f"m{i}"))

        async def texts(config: GetSessionConfig) -> list[str]:
            got = await service.get_session(app_name="a", user_id="u", session_id=s.id, config=config)
            assert got is not None and got.last_update_time == t0 + 5
            return [e.content.parts[0].text for e in got.events if e.content and e.content.parts]

        assert await texts(GetSessionConfig(num_recent_events=2)) == ["m3", "m4"]
        assert await texts(GetSessionConfig(num_recent_events=0)) == []
        assert await texts(GetSessionConfig(after_timestamp=t0 + 3)) == ["m2", "m3", "m4"]
        assert await texts(GetSessionConfig(after_timestamp=t0 + 2, num_recent_events=1)) == ["m4"]

    run(go())


def test_temp_state_lives_in_the_session_object_only(service: BaseSessionService) -> None:
    async def go() -> None:
        s = await service.create_session(app_name="a", user_id="u", state={"temp:x": 1, "k": 0})
        assert s.state == {"k": 0}
        await service.append_event(s, ev(s.last_update_time + 1, delta={"temp:t": 1, "user:u": 2, "k": 3}))
        assert s.state == {"k": 3, "temp:t": 1, "user:u": 2}
        assert s.events[0].actions.state_delta == {"user:u": 2, "k": 3}
        got = await service.get_session(app_name="a", user_id="u", session_id=s.id)
        assert got is not None and got.state == {"k": 3, "user:u": 2}
        assert await service.get_user_state(app_name="a", user_id="u") == {"u": 2}
        assert await service.get_user_state(app_name="a", user_id="nobody") == {}

    run(go())


# -- ours -------------------------------------------------------------------------------------------


def test_events_and_state_are_ours_too(store: swarmstore.Store) -> None:
    svc = SwarmstoreSessionService(store)

    async def go() -> Session:
        s = await svc.create_session(app_name="chat app", user_id="bob:1", session_id="s/1")
        await svc.append_event(s, ev(s.last_update_time + 1, "hello", {"user:lang": "en", "step": 1}, author="planner"))
        return s

    s = run(go())
    [ours] = store.sessions.list(app="chat app", user="bob:1").items
    assert ours.id == f"adk:{encode('chat app')}:{encode('bob:1')}:{encode('s/1')}"
    [e] = store.sessions.events(ours.id).items
    assert (e.type, e.actor, e.state_delta) == ("adk.event", "planner", {"user:lang": "en", "step": 1})
    assert "state_delta" not in e.content.get("actions", {})  # kept once, as the event's delta
    assert store.sessions.state(ours.id) == {"step": 1, "user:lang": "en"}
    got = run(svc.get_session(app_name="chat app", user_id="bob:1", session_id="s/1"))
    assert got is not None and got.events == s.events


def test_other_clients_events_are_skipped_but_make_the_session_newer(store_url: str, clock: ManualClock) -> None:
    store = swarmstore.open(store_url, clock=clock)
    svc = SwarmstoreSessionService(store)
    s = run(svc.create_session(app_name="a", user_id="u", session_id="s"))
    run(svc.append_event(s, ev(s.last_update_time + 1, "from adk")))
    clock.advance(10)  # the swarm's note comes after the ADK event's timestamp
    store.sessions.append_event("adk:a:u:s", "note", "reviewer", {"text": "looked at it"}, state_delta={"seen": True})
    got = run(svc.get_session(app_name="a", user_id="u", session_id="s"))
    assert got is not None and len(got.events) == 1 and got.state == {"seen": True}
    assert got.last_update_time == store.sessions.events("adk:a:u:s").items[-1].created_at.timestamp()
    with pytest.raises(StaleSessionError):  # the stored session moved on since `s` was read
        run(svc.append_event(s, ev(got.last_update_time + 1)))
    run(svc.append_event(got, ev(got.last_update_time + 1)))
    store.close()


def test_delete_archives_and_the_id_stays_taken(store: swarmstore.Store) -> None:
    svc = SwarmstoreSessionService(store)
    run(svc.create_session(app_name="a", user_id="u", session_id="s"))
    run(svc.delete_session(app_name="a", user_id="u", session_id="s"))
    run(svc.delete_session(app_name="a", user_id="u", session_id="s"))  # twice: no error, as ADK's
    assert run(svc.list_sessions(app_name="a")).sessions == []
    assert store.sessions.get("adk:a:u:s").status == "archived"
    with pytest.raises(AlreadyExistsError):
        run(svc.create_session(app_name="a", user_id="u", session_id="s"))


def test_long_names_are_hashed_and_listed_by_their_adk_id(store: swarmstore.Store) -> None:
    svc = SwarmstoreSessionService(store)
    sid = "x" * 300
    s = run(svc.create_session(app_name="a", user_id="u", session_id=sid))
    assert s.id == sid
    assert run(svc.get_session(app_name="a", user_id="u", session_id=sid)) is not None
    store.sessions.create("a", "u")  # not ADK's: not listed
    assert [x.id for x in run(svc.list_sessions(app_name="a")).sessions] == [sid]


@pytest.mark.parametrize("name", ["", "_", "a_b", "x:y", "héllo wörld", "_00003a", "\U0001f600", "a.b-c"])
def test_names_encode_reversibly_into_segments(name: str) -> None:
    seg = encode(name)
    assert decode(seg) == name
    assert seg and all(c.isascii() and (c.isalnum() or c in "_.-") for c in seg)


def session_with(sid: str, *texts: str, user: str = "u") -> Session:
    events = [ev(1000 + i, t) for i, t in enumerate(texts)]
    return Session(id=sid, app_name="a", user_id=user, last_update_time=2000, events=events)


def test_memory_search_add_delete(store: swarmstore.Store) -> None:
    mem = SwarmstoreMemoryService(store)

    async def search(q: str, user: str = "u") -> list[str]:
        r = await mem.search_memory(app_name="a", user_id=user, query=q)
        return sorted(m.content.parts[0].text for m in r.memories if m.content.parts)

    async def go() -> None:
        s = session_with("s1", "We fly to Lisbon in May.", "The hotel is near the river.")
        await mem.add_session_to_memory(s)
        await mem.add_session_to_memory(s)  # again: nothing doubles
        await mem.add_session_to_memory(session_with("s2", "Lisbon is secret", user="u:2"))
        assert await search("Lisbon") == ["We fly to Lisbon in May."]
        assert await search("lisbon", user="u:2") == ["Lisbon is secret"]
        r = await mem.search_memory(app_name="a", user_id="u", query="river")
        [hit] = r.memories
        assert hit.id == s.events[1].id and hit.author == "user" and hit.timestamp
        await mem.delete_memory(app_name="a", user_id="u", memory_id=hit.id)
        await mem.delete_memory(app_name="a", user_id="u", memory_id="unknown")  # ignored, as ADK's
        await mem.add_session_to_memory(s)  # a deleted memory is not ingested again
        assert await search("river") == []
        entry = MemoryEntry(
            id="pref", content=types.Content(parts=[types.Part(text="prefers aisle seats")]), author="me"
        )
        await mem.add_memory(app_name="a", user_id="u", memories=[entry], custom_metadata={"source": "form"})
        [got] = (await mem.search_memory(app_name="a", user_id="u", query="aisle")).memories
        assert (got.id, got.author, got.custom_metadata) == ("pref", "me", {"source": "form"})
        await mem.add_events_to_memory(app_name="a", user_id="u", events=[ev(5, "pack sunscreen")], session_id="s3")
        assert await search("sunscreen") == ["pack sunscreen"]
        assert await search("   ") == []

    run(go())
    assert store.memory.get("adk:a:u", "pref").metadata["custom_metadata"] == {"source": "form"}


def test_the_example_runs(store_url: str) -> None:
    path = Path(__file__).parent.parent / "examples" / "adk_runner.py"
    spec = importlib.util.spec_from_file_location("adk_runner_example", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    runner: Callable[[str], Awaitable[dict[str, Any]]] = example.run
    out = run(runner(store_url))
    assert out["replies"] == ["Noted: you prefer a window seat on every flight."]
    assert out["state"]["user:preference"] == "window seat" and out["state"]["trip"] == "Lisbon"
    assert out["new_session_state"] == {"user:preference": "window seat"}
    assert "I always want a window seat." in out["memories"]


def test_the_bench_rows_run(tmp_path: Path) -> None:
    """The benchmark's calls, a few of each (what they measure is the benchmark's business)."""
    from swarmstore import aio
    from swarmstore.bench.integrations.adk import _rows

    loop = asyncio.new_event_loop()
    store = aio.open(str(tmp_path / "ours.db"))
    try:
        theirs = SqliteSessionService(str(tmp_path / "theirs.db"))
        rows = _rows(loop.run_until_complete, SwarmstoreSessionService(store), theirs, "SqliteSessionService", 5)
        assert [r.name for r in rows] == [
            "adk create_session vs sqlite",
            "adk append_event vs sqlite",
            "adk get_session 20ev vs sqlite",
        ]
        assert all(r.baseline is not None and r.n == 5 for r in rows)
    finally:
        loop.run_until_complete(store.aclose())
        loop.close()
