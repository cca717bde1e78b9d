"""SwarmstoreSaver: LangGraph's own conformance suite (langgraph-checkpoint-conformance) on both engines,
and what the saver adds: checkpoints visible as session events, tombstones, a second process's writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

pytest.importorskip("langgraph.checkpoint.conformance")

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES

import swarmstore
import swarmstore.aio
from swarmstore.integrations.langgraph import SwarmstoreSaver


@pytest.mark.parametrize("kind", ["Store", "AsyncStore"])
def test_conformance_every_capability(store_url: str, kind: str) -> None:
    """Every base capability and every optional one (all are implemented) passes, on a sync or async store."""

    async def run() -> None:
        @checkpointer_test(name="SwarmstoreSaver")
        async def saver() -> AsyncIterator[SwarmstoreSaver]:
            if kind == "Store":
                with swarmstore.open(store_url) as store:
                    yield SwarmstoreSaver(store)
            else:
                async with swarmstore.aio.open(store_url) as astore:
                    yield SwarmstoreSaver(astore)

        report = await validate(saver)
        failed = {cap: r.failures for cap, r in report.results.items() if r.passed is not True}
        assert not failed, failed
        assert set(report.results) == {c.value for c in ALL_CAPABILITIES}

    asyncio.run(run())


def _put(saver: SwarmstoreSaver, thread: str, parent: str | None = None) -> dict[str, str]:
    cp = empty_checkpoint()
    cfg = {"configurable": {"thread_id": thread, "checkpoint_ns": "", **({"checkpoint_id": parent} if parent else {})}}
    return saver.put(cfg, cp, {"source": "input", "step": -1}, {})["configurable"]  # type: ignore[arg-type, return-value]


def test_checkpoints_are_session_events(store_url: str) -> None:
    with swarmstore.open(store_url) as store:
        saver = SwarmstoreSaver(store)
        first = _put(saver, "t-1")
        saver.put_writes({"configurable": first}, [("chan", {"x": 1})], "task-1")  # type: ignore[arg-type]
        saver.delete_thread("t-1")
        [session] = store.sessions.list(app="langgraph", user="t-1")
        events = list(store.sessions.events(session.id))
        assert [e.type for e in events] == ["checkpoint", "checkpoint.writes", "checkpoint.delete"]
        assert events[0].content["meta"] == {"source": "input", "step": -1}
        assert saver.get_tuple({"configurable": {"thread_id": "t-1"}}) is None


def test_a_second_saver_sees_the_first_ones_writes(store_url: str) -> None:
    """Two savers (as two processes would) on one store: reads fold what the other appended."""
    with swarmstore.open(store_url) as store:
        a, b = SwarmstoreSaver(store), SwarmstoreSaver(store)
        first = _put(a, "t")
        assert b.get_tuple({"configurable": {"thread_id": "t"}}).config["configurable"] == first  # type: ignore[union-attr]
        second = _put(b, "t", first["checkpoint_id"])
        third = _put(a, "t", second["checkpoint_id"])  # a's cache is behind: it folds b's event on its next read
        latest = a.get_tuple({"configurable": {"thread_id": "t"}})
        assert latest is not None and latest.config["configurable"] == third
        assert [t.config["configurable"]["checkpoint_id"] for t in a.list({"configurable": {"thread_id": "t"}})] == [
            third["checkpoint_id"], second["checkpoint_id"], first["checkpoint_id"]
        ]
        b.prune(["t"])
        assert len(list(a.list({"configurable": {"thread_id": "t"}}))) == 1


def test_unprintable_thread_ids_get_a_digest_session(store_url: str) -> None:
    with swarmstore.open(store_url) as store:
        saver = SwarmstoreSaver(store)
        cfg = _put(saver, "line\nbreak")
        assert saver.get_tuple({"configurable": {"thread_id": "line\nbreak"}}).config["configurable"] == cfg  # type: ignore[union-attr]
        assert [t.config["configurable"]["thread_id"] for t in saver.list(None)] == ["line\nbreak"]


def test_unknown_prune_strategy_is_refused(store_url: str) -> None:
    with swarmstore.open(store_url) as store, pytest.raises(ValueError, match="strategy"):
        SwarmstoreSaver(store).prune(["t"], strategy="bogus")


def test_a_task_writes_regular_channels_once_and_special_ones_again(store_url: str) -> None:
    """As LangGraph's savers do: a retried task's regular writes keep the first value; ERROR etc. replace."""
    with swarmstore.open(store_url) as store:
        saver, fresh = SwarmstoreSaver(store), SwarmstoreSaver(store)
        cfg = {"configurable": _put(saver, "t")}
        saver.put_writes(cfg, [("a", 1), ("__error__", "first")], "task")  # type: ignore[arg-type]
        saver.put_writes(cfg, [("a", 2), ("__error__", "second")], "task")  # type: ignore[arg-type]
        for s in (saver, fresh):  # folded in place, and folded from the log
            tup = s.get_tuple({"configurable": {"thread_id": "t"}})
            assert tup is not None and sorted(tup.pending_writes or []) == [("task", "__error__", "second"), ("task", "a", 1)]


def test_a_saver_keeps_a_bounded_number_of_threads_folded(store_url: str) -> None:
    with swarmstore.open(store_url) as store:
        saver = SwarmstoreSaver(store, cached_threads=2)
        heads = {t: _put(saver, t) for t in ("a", "b", "c")}
        for t in ("a", "b", "c", "a"):
            tup = saver.get_tuple({"configurable": {"thread_id": t}})
            assert tup is not None and tup.config["configurable"] == heads[t]
        assert len(saver._threads) == 2
