"""The Worker in-process: draining a DAG with threads, retries of a failing handler, cancellation."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import swarmstore
from swarmstore import Store, Task, TaskContext, Worker


def test_worker_drains_a_dag_in_dependency_order(store: Store) -> None:
    done: list[str] = []
    lock = threading.Lock()
    items = [{"summary": "root", "ref": "r"}]
    items += [{"summary": f"mid{i}", "ref": f"m{i}", "depends_on": ["r"], "parent": "r"} for i in range(5)]
    items += [{"summary": "last", "depends_on": [f"m{i}" for i in range(5)]}]
    tasks = store.tasks.submit_many(items)

    def handler(task: Task) -> Any:
        with lock:
            done.append(task.summary)
        return {"n": len(done)}

    stats = Worker(store, handler, concurrency=3, until_idle=True, poll_interval=0.01, install_signals=False).run()
    assert stats.completed == 7 and stats.failed == 0
    assert done[0] == "root" and done[-1] == "last" and sorted(done[1:-1]) == [f"mid{i}" for i in range(5)]
    assert all(store.tasks.get(t.id).status == "completed" for t in tasks)
    agents = store.agents.list(alive_only=False)
    assert len(agents) == 1 and agents[0].status == "stopped"
    assert {store.tasks.get(t.id).worker_id for t in tasks} == {agents[0].id}, "each claim records the agent"


def test_a_failing_handler_is_retried_then_fails(store_url: str) -> None:
    with swarmstore.open(store_url, retry_base_seconds=0.01) as fast:  # a 1 s backoff would slow the test
        ok = fast.tasks.submit("ok on the second attempt", max_attempts=3)
        bad = fast.tasks.submit("always fails", max_attempts=2)

        def handler(task: Task) -> Any:
            if task.summary == "always fails" or task.attempt < 2:
                raise ValueError(f"no luck on attempt {task.attempt}")
            return "fine"

        stats = Worker(fast, handler, until_idle=True, poll_interval=0.01, install_signals=False).run()
        assert (stats.completed, stats.failed, stats.retried) == (1, 1, 2)
        assert fast.tasks.get(ok.id).result == "fine"
        failed = fast.tasks.get(bad.id)
        assert failed.status == "failed" and "ValueError: no luck on attempt 2" in (failed.error or "")


def test_cancel_reaches_a_running_handler_through_its_heartbeat(store: Store) -> None:
    t = store.tasks.submit("long")
    started = threading.Event()
    seen: list[bool] = []

    def handler(task: Task, ctx: TaskContext) -> Any:
        started.set()
        seen.append(ctx.cancelled.wait(10))
        return "ignored"

    w = Worker(store, handler, lease_seconds=0.15, poll_interval=0.01, install_signals=False, max_tasks=1)
    runner = threading.Thread(target=w.run)
    runner.start()
    assert started.wait(10)
    store.tasks.cancel(t.id)
    runner.join(10)
    assert seen == [True], "the handler saw the cancellation"
    assert w.stats.cancelled == 1 and store.tasks.get(t.id).status == "cancelled"


def test_stop_with_hand_back_returns_running_tasks(store: Store) -> None:
    t = store.tasks.submit("slow")
    started = threading.Event()

    def handler(task: Task, ctx: TaskContext) -> Any:
        started.set()
        ctx.cancelled.wait(10)
        return "late"

    w = Worker(store, handler, poll_interval=0.01, install_signals=False)
    runner = threading.Thread(target=w.run)
    runner.start()
    assert started.wait(10)
    w.stop(hand_back=True)
    runner.join(10)
    time.sleep(0.05)
    back = store.tasks.get(t.id)
    assert (back.status, back.attempt) == ("ready", 0) and w.stats.handed_back == 1


def test_max_tasks_counts_tasks_claimed_with_a_completion(store: Store) -> None:
    store.tasks.submit_many([{"summary": f"t{i}"} for i in range(5)])
    seen: list[str] = []
    stats = Worker(
        store, lambda t: seen.append(t.summary), max_tasks=3, poll_interval=0.01, install_signals=False
    ).run()
    assert stats.completed == 3 and len(seen) == 3
    left = store.tasks.list(status="ready").items
    assert len(left) == 2 and all(t.attempt == 0 for t in left), "nothing claimed beyond max_tasks"


def test_a_task_claimed_with_the_last_completion_is_handed_back_on_stop(store: Store) -> None:
    first, second = store.tasks.submit_many([{"summary": "first", "priority": 9}, {"summary": "second"}])

    ran: list[str] = []
    w = Worker(store, lambda t: ran.append(t.summary), poll_interval=0.01, install_signals=False)
    count = w.core.count

    def counted(what: str) -> None:
        count(what)
        w.stop()  # arrives after the completion claimed "second", before it starts

    w.core.count = counted  # type: ignore[method-assign]
    stats = w.run()
    assert ran == ["first"] and (stats.completed, stats.handed_back) == (1, 1)
    back = store.tasks.get(second.id)
    assert (back.status, back.attempt, back.lease_token) == ("ready", 0, None)
    assert store.tasks.get(first.id).status == "completed"


def test_a_completion_that_fails_on_the_lock_does_not_stop_the_worker(db_path: str) -> None:
    """Another connection holds the write lock past the busy timeout while a handler returns:
    the completion fails, the worker goes on, and the task comes back through its lease."""
    import apsw

    with swarmstore.open(db_path, busy_timeout_ms=100) as st:
        first = st.tasks.submit("first", priority=9)
        st.tasks.submit("second")
        blocker = apsw.Connection(db_path)
        runs: list[tuple[str, int]] = []

        def handler(task: Task) -> Any:
            runs.append((task.summary, task.attempt))
            if len(runs) == 1:
                blocker.execute("BEGIN IMMEDIATE")  # held for 0.4 s: the completion gives up first
                threading.Timer(0.4, lambda: blocker.execute("COMMIT")).start()
            return "ok"

        w = Worker(st, handler, lease_seconds=0.3, until_idle=True, poll_interval=0.02, install_signals=False)
        stats = w.run()
        blocker.close()
        assert ("first", 1) in runs and ("first", 2) in runs, runs
        assert stats.lost == 1 and stats.completed == 2
        assert st.tasks.get(first.id).status == "completed" and st.tasks.get(first.id).attempt == 2


def _fast(store: Store, handler: Any, **kw: Any) -> Worker:
    return Worker(store, handler, until_idle=True, poll_interval=0.01, install_signals=False, **kw)


def test_quick_tasks_are_claimed_and_completed_in_batches(store: Store) -> None:
    store.tasks.submit_many([{"summary": f"t{i}"} for i in range(60)])
    stats = _fast(store, lambda t: t.summary, prefetch=8).run()
    assert stats.completed == 60 and stats.handled == 60
    done = store.tasks.list(status="completed", limit=100).items
    assert len(done) == 60 and all(t.result == t.summary and t.attempt == 1 for t in done)
    # tasks claimed in one step share a lease token: the first claim takes one (the handler's
    # speed is unknown), the next ones take prefetch=8 each
    batches = Counter(t.lease_token for t in done)
    assert max(batches.values()) == 8 and len(batches) <= 12


def test_slow_tasks_and_prefetch_1_are_claimed_one_at_a_time(store: Store) -> None:
    store.tasks.submit_many([{"summary": f"t{i}"} for i in range(8)])
    running: list[int] = []

    def slow(task: Task) -> None:
        time.sleep(0.02)  # longer than flush_after: nothing is claimed ahead of it
        running.append(len(store.tasks.list(status="running").items))

    assert _fast(store, slow, flush_after=0.005, max_tasks=4).run().completed == 4
    assert (
        _fast(store, lambda t: running.append(len(store.tasks.list(status="running").items)), prefetch=1)
        .run()
        .completed
        == 4
    )
    assert running == [1] * 8
    assert len({t.lease_token for t in store.tasks.list(status="completed").items}) == 8


def test_stop_in_a_batch_completes_what_ran_and_hands_back_the_rest(store: Store) -> None:
    store.tasks.submit_many([{"summary": f"t{i}"} for i in range(20)])
    ran: list[str] = []

    def handler(task: Task) -> None:
        ran.append(task.id)
        if len(ran) == 5:
            w.stop()

    w = Worker(store, handler, prefetch=8, poll_interval=0.01, install_signals=False)
    stats = w.run()
    assert stats.completed == 5 and stats.handed_back >= 1
    assert sorted(t.id for t in store.tasks.list(status="completed").items) == sorted(ran)
    ready = store.tasks.list(status="ready", limit=100).items
    assert len(ready) == 15 and all((t.attempt, t.lease_token) == (0, None) for t in ready)
    assert store.tasks.list(status="running").items == []


def test_completions_held_back_by_a_long_task_commit_before_their_leases_end(store: Store) -> None:
    store.tasks.submit_many([{"summary": f"t{i}"} for i in range(10)])
    ran: list[str] = []

    def handler(task: Task) -> None:
        ran.append(task.summary)
        if task.summary == "t3":
            time.sleep(0.6)  # twice the lease: t1 and t2 finished before it, in the same batch

    stats = _fast(store, handler, prefetch=8, lease_seconds=0.3).run()
    assert sorted(ran) == sorted(f"t{i}" for i in range(10)), "each task ran once"
    assert (stats.completed, stats.lost) == (10, 0)
    assert all(t.attempt == 1 for t in store.tasks.list(status="completed").items)
