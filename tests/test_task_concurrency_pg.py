"""The task queue under real concurrency on PostgreSQL: transactions on several connections at
once (threads, each store with its connections of its own), started together by a barrier.

SQLite runs one writer at a time, so these races cannot happen there; on PostgreSQL each is a
lost release or a double claim unless the statements lock the right rows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import swarmstore
from swarmstore import Store
from swarmstore.clock import ManualClock

ROUNDS = 40


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def stores(pg_url: str, clock: ManualClock) -> Iterator[list[Store]]:
    opened = [swarmstore.open(pg_url, pool_min=1, pool_max=2, clock=clock) for _ in range(2)]
    yield opened
    for st in opened:
        st.close()


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same instant on threads of their own; their results (or errors)."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i]()
        except Exception as exc:  # (the test looks at it)
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_two_prerequisites_completing_at_once_release_their_dependant(stores: list[Store]) -> None:
    a_st, b_st = stores
    for r in range(ROUNDS):
        a, b = a_st.tasks.submit_many([{"summary": f"a{r}", "queue": "pre"}, {"summary": f"b{r}", "queue": "pre"}])
        c = a_st.tasks.submit(f"c{r}", depends_on=[a.id, b.id], queue="after")
        held = {t.id: t.lease_token or "" for t in a_st.tasks.claim("w", queues=["pre"], limit=2)}
        assert set(held) == {a.id, b.id}
        done = together(
            lambda a=a, held=held: a_st.tasks.complete(a.id, held[a.id]),
            lambda b=b, held=held: b_st.tasks.complete(b.id, held[b.id]),
        )
        assert all(not isinstance(d, Exception) for d in done), done
        got = a_st.tasks.get(c.id)
        assert (got.status, got.waiting_on) == ("ready", 0), f"round {r}: a release was lost"
        trail = [e.action for e in a_st.audit.list(entity="task", entity_id=c.id)]
        assert trail == ["task.ready", "task.submit"], trail


def test_a_dependant_submitted_while_its_prerequisite_completes_is_released(stores: list[Store]) -> None:
    a_st, b_st = stores
    for r in range(ROUNDS):
        a = a_st.tasks.submit(f"a{r}", queue="pre")
        [held] = a_st.tasks.claim("w", queues=["pre"])
        done = together(
            lambda a=a, held=held: a_st.tasks.complete(a.id, held.lease_token or ""),
            lambda a=a, r=r: b_st.tasks.submit(f"c{r}", depends_on=[a.id], queue="after"),
        )
        assert not isinstance(done[0], Exception) and not isinstance(done[1], Exception), done
        c = a_st.tasks.get(done[1].id)
        assert c.status == "ready", f"round {r}: submitted beside the completion, never released"


def test_concurrent_claims_never_take_a_task_twice(stores: list[Store]) -> None:
    a_st, b_st = stores
    ids = {t.id for t in a_st.tasks.submit_many([{"summary": f"t{i}"} for i in range(400)])}
    claimed: list[str] = []
    while True:
        got = together(lambda: a_st.tasks.claim("a", limit=7), lambda: b_st.tasks.claim("b", limit=7))
        assert all(not isinstance(g, Exception) for g in got), got
        batch = [t.id for g in got for t in g]
        if not batch:
            break
        claimed += batch
    assert len(claimed) == len(set(claimed)), "a task was claimed twice"
    assert set(claimed) == ids
    claims = [e for e in a_st.audit.list(entity="task", limit=1000) if e.action == "task.claim"]
    assert len(claims) == len(ids)


def test_an_expired_lease_is_rescued_once(stores: list[Store], clock: ManualClock) -> None:
    a_st, b_st = stores
    a_st.tasks.submit_many([{"summary": f"t{i}"} for i in range(20)])
    a_st.tasks.claim("doomed", lease_seconds=1, limit=20)
    clock.advance(2)
    got = together(a_st.tasks.rescue_expired, b_st.tasks.rescue_expired)
    assert sum(got) == 20, got
    rescues = [e for e in a_st.audit.list(entity="task", limit=1000) if e.action == "task.rescue"]
    assert len(rescues) == 20


def test_claims_wake_waiting_workers(stores: list[Store]) -> None:
    """A submit of ready work notifies the queue's channel at commit (LISTEN/NOTIFY)."""
    from swarmstore.engine.ops.tasks import queue_channel

    a_st, b_st = stores
    channel = queue_channel("wake me")
    assert not b_st.engine.wait_for_work([channel], 0.05)  # (also starts listening)
    a_st.tasks.submit("blocked", depends_on=[a_st.tasks.submit("x", queue="other").id], queue="wake me")
    assert not b_st.engine.wait_for_work([channel], 0.05), "blocked work wakes nobody"
    a_st.tasks.submit("ready", queue="wake me")
    assert b_st.engine.wait_for_work([channel], 5.0)
