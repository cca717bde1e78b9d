"""SwarmstoreSession beyond the SDK's own tests (tests/external/openai_agents): reads from the end
of the log, pops that race, the history kept for audit, sizes, closing; and the example."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from agents.memory import Session

import swarmstore
import swarmstore.aio
from swarmstore.errors import InvalidInput, StoreClosed
from swarmstore.integrations.openai_agents import SwarmstoreSession, log

ROOT = Path(__file__).resolve().parent.parent


def msg(i: int, size: int = 0) -> dict[str, Any]:
    return {"role": "user", "content": f"m{i}" + "x" * size}


def contents(items: list[Any]) -> list[str]:
    return [i["content"] for i in items]


def sync_of(store: Any) -> swarmstore.Store:
    return store if isinstance(store, swarmstore.Store) else store._store


def run_recording(store: swarmstore.Store, sid: str, op: log.Op) -> tuple[Any, list[tuple[int, int]]]:
    """Carry out ``op`` on the store, recording the event ranges it read."""
    session = SwarmstoreSession(sid, store)
    ranges: list[tuple[int, int]] = []
    value: Any = None
    while True:
        try:
            effect = op.send(value)
        except StopIteration as stop:
            return stop.value, ranges
        if isinstance(effect, log.Events):
            ranges.append((effect.lo, effect.hi))
        value = session._do_sync(store, effect)


@pytest.mark.asyncio
async def test_the_protocol_round_trip(any_store: Any) -> None:
    s = SwarmstoreSession("conv", any_store)
    assert isinstance(s, Session)
    assert await s.get_items() == [] and await s.pop_item() is None
    await s.add_items([msg(0), msg(1), msg(2)])
    await s.add_items([msg(3)])
    assert contents(await s.get_items(2)) == ["m2", "m3"]
    assert (await s.pop_item())["content"] == "m3"
    assert (await s.pop_item())["content"] == "m2"
    await s.add_items([msg(4)])
    assert contents(await s.get_items()) == ["m0", "m1", "m4"]
    assert contents(await s.get_items(-1)) == ["m0", "m1", "m4"]  # (SQLite's LIMIT -1: all)
    await s.clear_session()
    assert await s.get_items() == [] and await s.pop_item() is None
    await s.add_items([msg(5)])
    assert contents(await s.get_items()) == ["m5"]
    other = SwarmstoreSession("conv", any_store)  # another handle on the same conversation
    assert contents(await other.get_items()) == ["m5"]


@pytest.mark.asyncio
async def test_get_items_reads_from_the_end(any_store: Any) -> None:
    s = SwarmstoreSession("long", any_store)
    for i in range(300):
        await s.add_items([msg(2 * i), msg(2 * i + 1)])
    store = sync_of(any_store)
    (items, per_event), ranges = run_recording(store, "long", log.get_items(3))
    assert contents(items) == ["m597", "m598", "m599"]
    assert ranges == [(297, 300)]  # three events at most, from the end
    (items, per_event), ranges = run_recording(store, "long", log.get_items(20, per_event=2.0))
    assert len(items) == 20 and ranges == [(290, 300)] and per_event == 2.0  # sized by items per event
    (items, _), ranges = run_recording(store, "long", log.get_items(20, per_event=4.0))
    assert len(items) == 20 and ranges == [(295, 300), (285, 295)]  # too hopeful: a second read
    for _ in range(41):  # 41 items popped (20 events and a half): 41 tombstones after them
        await s.pop_item()
    (items, _), ranges = run_recording(store, "long", log.get_items(3))
    assert contents(items) == ["m556", "m557", "m558"]
    assert sum(hi - lo for lo, hi in ranges) <= 12  # the tombstones jump: not the 122 events below
    assert contents(await s.get_items(3)) == ["m556", "m557", "m558"]


@pytest.mark.asyncio
async def test_clear_keeps_the_history_and_reads_start_above_it(any_store: Any) -> None:
    s = SwarmstoreSession("audit", any_store, app="chat", user="alice")
    await s.add_items([msg(0), msg(1)])
    assert (await s.pop_item())["content"] == "m1"
    await s.clear_session()
    await s.add_items([msg(2)])
    store = sync_of(any_store)
    events = list(store.sessions.events("audit"))
    assert [e.type for e in events] == [log.ITEMS, log.POP, log.CLEAR, log.ITEMS]
    assert contents(events[0].content) == ["m0", "m1"]  # popped and cleared items stay in the log
    assert events[1].content == {"seq": 1, "index": 1, "basis": 1}
    session = store.sessions.get("audit")
    assert (session.app, session.user) == ("chat", "alice")
    assert session.state[log.FLOOR] == 2
    (items, _), ranges = run_recording(store, "audit", log.get_items(None))
    assert contents(items) == ["m2"] and ranges == [(2, 4)]  # nothing below the floor is read


def test_a_pop_that_races_another_writer_retries() -> None:
    """A tombstone written after another writer's event is void: the popper looks again."""
    with _tmp_store() as store:
        s = SwarmstoreSession("race", store)
        asyncio.run(s.add_items([msg(0), msg(1), msg(2)]))
        op = log.pop_item()
        effect = op.send(None)
        effect = op.send(s._do_sync(store, effect))  # GET
        effect = op.send(s._do_sync(store, effect))  # Events: now the tombstone for m2 is next
        assert isinstance(effect, log.Append) and effect.content["seq"] == 1
        assert asyncio.run(SwarmstoreSession("race", store).pop_item())["content"] == "m2"  # the other popper
        effect = op.send(s._do_sync(store, effect))  # our tombstone lands after theirs: void, so look again
        assert isinstance(effect, log.Pause) and 0 <= effect.seconds <= 0.05
        effect = op.send(None)
        assert effect is log.GET
        with pytest.raises(StopIteration) as done:
            while True:
                effect = op.send(s._do_sync(store, effect))
        assert done.value.value["content"] == "m1"
        assert contents(asyncio.run(s.get_items())) == ["m0"]
        assert [e.type for e in store.sessions.events("race")][-3:] == [log.POP, log.POP, log.POP]


class _tmp_store:
    def __enter__(self) -> swarmstore.Store:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        self._store = swarmstore.open(os.path.join(self._dir.name, "swarm.db"))
        return self._store

    def __exit__(self, *exc: object) -> None:
        self._store.close()
        self._dir.cleanup()


@pytest.mark.parametrize("shared", [True, False], ids=["one-store", "a-store-each"])
def test_concurrent_pops_take_each_item_once(store_url: str, shared: bool) -> None:
    """Threads popping one conversation: through one store they take turns; through a store
    each (as processes would) they race, and the void tombstones sort it out."""
    with swarmstore.open(store_url) as store:
        asyncio.run(SwarmstoreSession("shared", store).add_items([msg(i) for i in range(40)]))
        popped: list[str] = []
        lock = threading.Lock()

        def popper() -> None:
            own = store if shared else swarmstore.open(store_url)
            s = SwarmstoreSession("shared", own)
            while (item := asyncio.run(s.pop_item())) is not None:
                with lock:
                    popped.append(item["content"])
            if own is not store:
                own.close()

        threads = [threading.Thread(target=popper) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(popped) == sorted(f"m{i}" for i in range(40))  # each once, none lost
        assert asyncio.run(SwarmstoreSession("shared", store).get_items()) == []
        tombstones = [e for e in store.sessions.events("shared", limit=10_000) if e.type == log.POP]
        if shared:
            assert len(tombstones) == 40  # no void one: nobody raced


@pytest.mark.asyncio
async def test_refused_items_write_nothing(any_store: Any) -> None:
    s = SwarmstoreSession("bad", any_store)
    await s.add_items([msg(0)])
    with pytest.raises(InvalidInput):
        await s.add_items([msg(1), {"role": "user", "content": object()}])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        await s.add_items([msg(2), {"role": "user", "content": float("nan")}])  # type: ignore[list-item]
    assert contents(await s.get_items()) == ["m0"]
    assert sync_of(any_store).sessions.get("bad").event_count == 1


@pytest.mark.asyncio
async def test_a_batch_over_the_size_limit_goes_as_several_events(store_url: str) -> None:
    async with swarmstore.aio.open(store_url, max_value_bytes=4096) as store:
        s = SwarmstoreSession("big", store)
        await s.add_items([msg(i, 1000) for i in range(12)])
        assert [c[:3] for c in contents(await s.get_items())] == [f"m{i}x"[:3] for i in range(12)]
        assert (await store.sessions.get("big")).event_count > 1
        with pytest.raises(InvalidInput):
            await s.add_items([msg(99, 5000)])  # one item over the limit: refused whole
        assert len(await s.get_items()) == 12


@pytest.mark.asyncio
async def test_a_closed_session_refuses_every_call(any_store: Any) -> None:
    s = SwarmstoreSession("closing", any_store)
    await s.add_items([msg(0)])
    s.close()
    for call in (s.get_items(), s.add_items([]), s.pop_item(), s.clear_session()):
        with pytest.raises(StoreClosed):
            await call
    assert contents(await SwarmstoreSession("closing", any_store).get_items()) == ["m0"]  # the store stays open


def test_the_example_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "openai_agents_session.py"), str(tmp_path / "swarm.db")],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    ).stdout
    assert "turn 2: You asked which database we use." in out
    assert "popped: assistant -> now 5 items" in out
    assert out.rstrip().endswith("6:agents.pop")
