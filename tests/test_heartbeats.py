"""The heartbeat step of Worker and AsyncWorker, driven directly: a task that its worker finishes
between the heartbeat's snapshot and its call is no warning; a lease taken away still stops the
handler (and a task failed by its expired last lease is still reported)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import swarmstore
from swarmstore import Store, Task, Worker
from swarmstore.aio import AsyncTaskContext, AsyncWorker
from swarmstore.clock import ManualClock

LATER = 3600  # seconds: an hour on, every lease of the test has expired


def _worker(st: Store, handler: Any = lambda t: "done") -> Worker:
    w = Worker(st, handler, prefetch=1, lease_seconds=30, install_signals=False)
    w.agent_id = st.agents.register("w", "worker").id
    return w


def _rescue_later(url: str, clock: ManualClock) -> None:
    """The rescue of expired leases as another process would run it an hour from now."""
    later = ManualClock()
    later.us = clock.us
    later.advance(LATER)
    with swarmstore.open(url, clock=later) as other:
        other.tasks.rescue_expired()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("outcome", ["completes", "fails"])
def test_a_task_finished_between_snapshot_and_heartbeat_is_no_warning(
    store_url: str, caplog: pytest.LogCaptureFixture, outcome: str
) -> None:
    def handler(task: Task) -> str:
        if outcome == "fails":
            raise ValueError("no luck")
        return "done"

    with swarmstore.open(store_url) as st:
        st.tasks.submit("quick", max_attempts=1)
        w = _worker(st, handler)
        [task] = w._commit(1)  # claimed as the loop claims: the task is in w._running
        with w._lock:
            snapshot = list(w._running.values())  # what the heartbeat thread took
        w._handle(task)
        w._flush()  # the task ended, then the heartbeat runs with its snapshot
        assert st.tasks.get(task.id).status == ("completed" if outcome == "completes" else "failed")
        with caplog.at_level(logging.DEBUG, logger="swarmstore.worker"):
            for ctx in snapshot:
                w._beat(ctx)
        assert _warnings(caplog) == []
        assert any("is finishing it" in r.getMessage() for r in caplog.records), "the step did meet the race"
        assert not snapshot[0].cancelled.is_set()


def test_a_lost_lease_still_stops_the_handler(store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    with swarmstore.open(store_url, clock=clock) as st:
        st.tasks.submit_many(
            [{"summary": "cancelled"}, {"summary": "rescued"}, {"summary": "failed by its lease", "max_attempts": 1}]
        )
        w = _worker(st)
        got = {t.summary: t for t in w._commit(3)}
        with w._lock:
            snapshot = {c.task.summary: c for c in w._running.values()}
        st.tasks.cancel(got["cancelled"].id)
        _rescue_later(store_url, clock)  # (the cancelled one is not running: untouched)
        assert st.tasks.get(got["rescued"].id).status == "ready"
        assert st.tasks.get(got["failed by its lease"].id).status == "failed"
        with caplog.at_level(logging.DEBUG, logger="swarmstore.worker"):
            for ctx in snapshot.values():
                w._beat(ctx)
        assert all(ctx.cancelled.is_set() for ctx in snapshot.values())
        warned = _warnings(caplog)
        assert len(warned) == 1 and got["failed by its lease"].id in warned[0] and "is failed" in warned[0]


def test_the_async_heartbeat_step_tells_the_race_from_a_lost_lease(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(task: Task) -> str:
        return "done"

    async def main() -> None:
        clock = ManualClock()
        async with swarmstore.aio.open(store_url, clock=clock) as st:
            await st.tasks.submit_many([{"summary": "finishes"}, {"summary": "rescued"}])
            w = AsyncWorker(st, handler, lease_seconds=30, max_tasks=1)
            w.agent_id = (await st.agents.register("w", "worker")).id
            claimed = await st.tasks.claim(w.agent_id, limit=2, lease_seconds=30)
            mine = next(t for t in claimed if t.summary == "finishes")
            other = next(t for t in claimed if t.summary == "rescued")
            # the heartbeat's snapshot holds both contexts; then the worker runs and completes one
            ctx_done = w._running[mine.id] = AsyncTaskContext(st, mine, w)
            await w._handle(mine)
            assert (await st.tasks.get(mine.id)).status == "completed"
            ctx_lost = w._running[other.id] = AsyncTaskContext(st, other, w)
            _rescue_later(store_url, clock)  # (another process's rescue, an hour on)
            with caplog.at_level(logging.DEBUG, logger="swarmstore.worker"):
                await w._beat(ctx_done)
                await w._beat(ctx_lost)
            assert _warnings(caplog) == []
            assert not ctx_done.cancelled.is_set() and ctx_lost.cancelled.is_set()

    asyncio.run(main())
