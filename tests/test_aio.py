"""The async API's own guarantees: group commit, isolation of failures, cancellation, draining on
close, a crash losing only unacknowledged writes, an event loop that never waits on a lock, and
the AsyncWorker. (The conformance suite runs on AsyncStore too, through SyncOverAsync.)"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import apsw
import pytest

import swarmstore
import swarmstore.aio
from read_lock import HeldReadLock, Met
from sql_capture import exec_tracing
from swarmstore import Task
from swarmstore.aio import AsyncTaskContext, AsyncWorker
from swarmstore.errors import Conflict, InvalidInput, LeaseLost, StoreClosed


def test_concurrent_writes_share_transactions_and_a_failure_fails_alone(db_path: str) -> None:
    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            await st.memory.put("g", "counter", 0)
            taken = await st.sessions.create("app", "u", id="taken")
            ops: list[Any] = [st.memory.put("g", f"k{i}", i) for i in range(300)]
            ops.insert(100, st.memory.put("g", "counter", 1, expected_version=7))  # wrong version
            ops.insert(200, st.sessions.create("app", "u", id=taken.id))  # duplicate id
            results = await asyncio.gather(*ops, return_exceptions=True)
            failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
            assert failed == [100, 200] and all(isinstance(results[i], Conflict) for i in failed)
            page = await st.memory.list("g", limit=1000)
            assert len(page) == 301, "every other write committed"
            assert (await st.memory.get("g", "counter")).version == 1, "the failed put left nothing"
            writer = st._writer
            assert writer.operations >= 302 and writer.groups < 100, "writes were committed in groups"

    asyncio.run(main())


def test_a_group_with_a_failure_runs_every_other_operation_exactly_once(db_path: str) -> None:
    """The group first runs without savepoints; a failure rolls it all back and runs it again,
    each operation isolated: nothing may be applied twice, nothing lost."""

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            s = await st.sessions.create("app", "u")
            audit_before = (await st.stats())["rows"]["audit"]
            ops: list[Any] = []
            for i in range(60):
                ops.append(st.sessions.append_event(s.id, "msg", "a", {"i": i}))
                ops.append(st.memory.put("once", f"k{i}", i))
            ops.insert(70, st.memory.put("once", "k0", -1, expected_version=5))  # fails
            results = await asyncio.gather(*ops, return_exceptions=True)
            assert [i for i, r in enumerate(results) if isinstance(r, BaseException)] == [70]
            events = await st.sessions.events(s.id, limit=1000)
            assert [e.seq for e in events] == list(range(1, 61)), "each append applied once, in order"
            assert [e.content["i"] for e in events] == list(range(60))
            page = await st.memory.list("once", limit=1000)
            assert len(page) == 60 and all(m.version == 1 for m in page), "each put applied once"
            assert (await st.stats())["rows"]["audit"] == audit_before + 120

    asyncio.run(main())


def test_a_group_of_plain_puts_runs_as_one_batch_with_every_version_and_history_row(db_path: str) -> None:
    """Concurrent plain puts of one store commit as one put_many batch: each await still gets its
    own Memory, the same key put several times in the group gets consecutive versions in the
    order of the calls, and every put leaves its history (audit) row."""

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            await st.memory.put("b", "k3", "before")
            audit_before = (await st.stats())["rows"]["audit"]
            groups_before, batched_before = st._writer.groups, st._writer.batched
            got = await asyncio.gather(*(st.memory.put("b", f"k{i % 10}", i) for i in range(100)))
            spread = await asyncio.gather(*(st.memory.put(f"s:n{i % 20}", "k", i) for i in range(60)))
            assert [m.version for m in spread] == [1 + i // 20 for i in range(60)], "many namespaces"
            assert st._writer.groups - groups_before <= 4, "the puts were committed together"
            assert st._writer.batched - batched_before >= 159, "as one batch each"
            assert [(m.key, m.value) for m in got] == [(f"k{i % 10}", i) for i in range(100)]
            for k in range(10):
                mine = [m for m in got if m.key == f"k{k}"]
                first = 2 if k == 3 else 1
                assert [m.version for m in mine] == list(range(first, first + 10)), "consecutive, in call order"
                history = await st.memory.history("b", f"k{k}")
                assert [m.value for m in history] == (["before"] if k == 3 else []) + [m.value for m in mine]
            assert (await st.memory.get("b", "k3")).created_at == (await st.memory.history("b", "k3"))[0].created_at
            assert (await st.stats())["rows"]["audit"] == audit_before + 160

    asyncio.run(main())


def test_a_failed_batch_of_puts_falls_back_to_one_by_one(db_path: str) -> None:
    """If the batch fails as a whole (here: a trigger refuses one key), the puts run again each
    isolated: only the refused one fails, every other is applied exactly once."""

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            st._store.engine._writer.execute(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON memories WHEN NEW.key = 'bad' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
            keys = [f"k{i}" for i in range(30)]
            keys.insert(12, "bad")
            batched_before = st._writer.batched
            results = await asyncio.gather(*(st.memory.put("f", k, k) for k in keys), return_exceptions=True)
            assert st._writer.batched == batched_before, "the batch failed whole and was not counted"
            assert [k for k, r in zip(keys, results, strict=True) if isinstance(r, BaseException)] == ["bad"]
            page = await st.memory.list("f", limit=100)
            assert sorted(m.key for m in page) == sorted(k for k in keys if k != "bad")
            assert all(m.version == 1 for m in page), "each put applied once"

    asyncio.run(main())


def test_concurrent_steps_of_one_worker_run_as_one_batch(db_path: str) -> None:
    """Concurrent complete_and_claim calls of one worker (an AsyncWorker's coroutines) commit as
    one batch: every completion stands alone (a stale lease fails that step only, and it claims
    nothing), and the tasks claimed for the others are distinct, one a step, best first."""

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            first = await st.tasks.submit_many([{"summary": f"a{i}", "priority": 9} for i in range(8)])
            running = await st.tasks.claim("w", limit=8)
            assert {t.id for t in running} == {t.id for t in first}
            nxt = await st.tasks.submit_many([{"summary": f"b{i}", "priority": 10 - i} for i in range(8)])
            audit_before = (await st.stats())["rows"]["audit"]
            batched_before = st._writer.batched
            steps = [
                st.tasks.complete_and_claim(t.id, "stale" if i == 3 else t.lease_token or "", i, worker_id="w")
                for i, t in enumerate(running)
            ]
            results = await asyncio.gather(*steps, return_exceptions=True)
            assert st._writer.batched - batched_before == 8, "one batch"
            assert isinstance(results[3], LeaseLost)
            got = [r for i, r in enumerate(results) if i != 3]
            assert all(isinstance(r, list) and len(r) == 1 for r in got)
            claimed = [r[0] for r in got]  # type: ignore[index]
            assert [t.id for t in claimed] == [t.id for t in nxt[:7]], "distinct, in score order"
            assert all((t.status, t.worker_id) == ("running", "w") for t in claimed)
            for i, t in enumerate(running):
                done = await st.tasks.get(t.id)
                assert (done.status, done.result) == (("running", None) if i == 3 else ("completed", i))
            assert (await st.tasks.get(nxt[7].id)).status == "ready"
            assert (await st.stats())["rows"]["audit"] == audit_before + 7 + 7, "7 completions, 7 claims"

    asyncio.run(main())


def test_a_lone_write_commits_within_its_call_without_a_loop_pass(db_path: str) -> None:
    """A write awaited while nothing else is runnable commits right in the call, without
    suspending the coroutine (no loop pass). It still fails alone with its typed error, and one
    made beside other runnable work joins their group instead."""

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            loop = asyncio.get_running_loop()
            groups, on_loop = st._writer.groups, st._writer.on_loop
            for i in range(20):
                call = st.memory.put("lone", f"k{i}", i)
                with pytest.raises(StopIteration) as done:  # (it returns at its first step)
                    call.send(None)
                assert done.value.value.version == 1 and (await st.memory.get("lone", f"k{i}")).value == i
            assert (st._writer.groups - groups, st._writer.on_loop - on_loop) == (20, 20), "one commit each"
            with pytest.raises(Conflict):
                await st.memory.put("lone", "k0", "x", expected_version=5)
            assert (await st.memory.get("lone", "k0")).value == 0, "the refused write left nothing"
            ran: list[int] = []
            loop.call_soon(ran.append, 1)  # something runnable: the next write waits for its group
            groups = st._writer.groups
            await asyncio.gather(st.memory.put("lone", "a", 1), st.memory.put("lone", "b", 2))
            assert ran == [1] and st._writer.groups - groups == 1, "the two writes shared one commit"

    asyncio.run(main())


def test_a_group_that_meets_a_short_lock_waits_for_it_on_the_loop(db_path: str) -> None:
    """Another process's write lock, held for a moment: the group tries again on the loop and
    commits there; held past the retries (~23 ms), the writer thread takes the group."""

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            await st.memory.put("w", "warm", 0)
            other = apsw.Connection(db_path)
            for hold, where in ((0.0, "loop"), (0.06, "thread")):
                on_loop, groups = st._writer.on_loop, st._writer.groups
                other.execute("BEGIN IMMEDIATE")
                puts = asyncio.gather(*(st.memory.put("w", f"{where}{i}", i) for i in range(5)))
                for _ in range(3):
                    await asyncio.sleep(0)  # the group runs, meets the lock, and waits
                await asyncio.sleep(hold)
                assert not puts.done() and st._writer.groups == groups, "it waits for the lock"
                other.execute("COMMIT")
                got = await puts
                assert [m.version for m in got] == [1] * 5
                assert st._writer.groups - groups == 1
                assert st._writer.on_loop - on_loop == (1 if where == "loop" else 0), where
            other.close()

    asyncio.run(main())


def test_bad_input_fails_before_queueing(db_path: str) -> None:
    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            with pytest.raises(InvalidInput):
                await st.memory.put("bad namespace!", "k", 1)
            with pytest.raises(InvalidInput):
                await st.tasks.submit("x", priority=99)
            assert st._writer.operations == 0

    asyncio.run(main())


def test_a_write_cancelled_before_it_runs_is_not_applied(db_path: str) -> None:
    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            await st.memory.put("c", "warm", 0)
            blocker = apsw.Connection(db_path)
            blocker.execute("BEGIN IMMEDIATE")  # the writer thread now waits for the lock
            doomed = asyncio.create_task(st.memory.put("c", "doomed", 1))
            kept = asyncio.create_task(st.memory.put("c", "kept", 1))
            await asyncio.sleep(0.05)
            doomed.cancel()
            await asyncio.sleep(0.01)
            blocker.execute("COMMIT")
            blocker.close()
            assert (await kept).version == 1
            with pytest.raises(asyncio.CancelledError):
                await doomed
            keys = [m.key for m in await st.memory.list("c")]
            assert keys == ["kept", "warm"], "the cancelled write was skipped, the other applied"

    asyncio.run(main())


def test_close_drains_the_queue(db_path: str) -> None:
    async def main() -> None:
        st = swarmstore.aio.open(db_path)
        pending = [asyncio.ensure_future(st.memory.put("d", f"k{i}", i)) for i in range(200)]
        await asyncio.sleep(0)  # let them queue
        await st.aclose()
        assert all(p.done() and not p.cancelled() for p in pending)
        with pytest.raises(StoreClosed):
            await st.memory.put("d", "late", 1)

    asyncio.run(main())
    with swarmstore.open(db_path) as st:
        assert len(st.memory.list("d", limit=1000)) == 200


CRASHER = textwrap.dedent(
    """
    import asyncio, sys, swarmstore.aio
    async def main():
        st = swarmstore.aio.open(sys.argv[1])
        i = 0
        while True:
            batch = [st.memory.put("crash", f"k{i + j}", i + j) for j in range(50)]
            for m in await asyncio.gather(*batch):
                print(m.key, flush=True)  # acknowledged: its transaction has committed
            i += 50
    asyncio.run(main())
    """
)


def test_a_crash_loses_only_unacknowledged_writes(db_path: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, db_path], stdout=subprocess.PIPE, text=True)
    acked: list[str] = []
    assert proc.stdout is not None
    while len(acked) < 2000:
        line = proc.stdout.readline()
        assert line, "the writer died early"
        acked.append(line.strip())
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    with swarmstore.open(db_path) as st:
        stored = {m.key for m in st.memory.list("crash", limit=10_000)}
    missing = [k for k in acked if k not in stored]
    assert not missing, f"acknowledged writes lost: {missing[:5]}"


LOCKER = textwrap.dedent(
    """
    import sys, time, apsw
    conn = apsw.Connection(sys.argv[1])
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO app_state (app, state, updated_at) VALUES ('locker', '{}', 0)")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
    """
)


def test_the_event_loop_never_waits_on_another_process_lock(db_path: str) -> None:
    with swarmstore.open(db_path) as st:
        for i in range(100):
            st.memory.put("l", f"k{i}", i)

    async def main() -> tuple[float, float, int]:
        async with swarmstore.aio.open(db_path) as st:
            await st.memory.get("l", "k0")
            locker = subprocess.Popen([sys.executable, "-c", LOCKER, db_path, "1.0"], stdout=subprocess.PIPE, text=True)
            assert locker.stdout is not None
            line = await asyncio.to_thread(locker.stdout.readline)
            assert line.strip() == "locked"
            worst = 0.0
            stop = asyncio.Event()

            async def ticker() -> None:
                nonlocal worst
                last = time.perf_counter()
                while not stop.is_set():
                    await asyncio.sleep(0.001)
                    now = time.perf_counter()
                    worst = max(worst, now - last)
                    last = now

            tick = asyncio.create_task(ticker())
            t0 = time.perf_counter()
            writes = asyncio.gather(*[st.memory.put("l", f"new{i}", i) for i in range(50)])
            reads = 0
            while not writes.done():  # reads keep working while the writes wait for the lock
                assert (await st.memory.get("l", f"k{reads % 100}")).value == reads % 100
                reads += 1
                await asyncio.sleep(0.002)
            await writes
            waited = time.perf_counter() - t0
            stop.set()
            await tick
            await asyncio.to_thread(locker.wait, 10)
            return worst, waited, reads

    worst, waited, reads = asyncio.run(main())
    assert waited >= 0.5, "the writes did wait for the other process's lock"
    assert reads > 50
    assert worst < 0.03, f"the event loop stalled for {worst * 1000:.1f} ms"


def test_async_worker_drains_a_dag_with_concurrent_handlers(store_url: str) -> None:
    async def main() -> None:
        async with swarmstore.aio.open(store_url, retry_base_seconds=0.01) as st:
            items: list[dict[str, Any]] = [{"summary": "root", "ref": "r"}]
            items += [{"summary": f"leaf {i}", "depends_on": ["r"]} for i in range(40)]
            items.append({"summary": "flaky", "max_attempts": 3})
            tasks = await st.tasks.submit_many(items)
            running = 0
            peak = 0

            async def handler(task: Task, ctx: AsyncTaskContext) -> Any:
                nonlocal running, peak
                running += 1
                peak = max(peak, running)
                await asyncio.sleep(0.01)
                running -= 1
                if task.summary == "flaky" and task.attempt == 1:
                    raise RuntimeError("first attempt fails")
                await ctx.store.memory.put("done", task.id, task.summary)
                return {"attempt": task.attempt}

            w = AsyncWorker(st, handler, concurrency=8, until_idle=True, poll_interval=0.01)
            stats = await w.run()
            assert (stats.completed, stats.retried, stats.failed) == (42, 1, 0)
            assert peak > 1, "handlers ran concurrently"
            for t in tasks:
                assert (await st.tasks.get(t.id)).status == "completed"
            assert len(await st.memory.list("done", limit=100)) == 42
            [agent] = await st.agents.list(alive_only=False)
            assert agent.status == "stopped"

    asyncio.run(main())


def test_async_worker_stop_hands_back_running_tasks(store_url: str) -> None:
    async def main() -> None:
        async with swarmstore.aio.open(store_url) as st:
            t = await st.tasks.submit("slow")
            started = asyncio.Event()

            async def handler(task: Task) -> Any:
                started.set()
                await asyncio.sleep(30)

            w = AsyncWorker(st, handler, grace_seconds=0.05, poll_interval=0.01)
            run = asyncio.create_task(w.run())
            await started.wait()
            w.stop()
            stats = await run
            back = await st.tasks.get(t.id)
            assert (back.status, back.attempt, stats.handed_back) == ("ready", 0, 1)

    asyncio.run(main())


@pytest.mark.parametrize("call", ["memory.get", "agents.get", "tasks.stats"])
def test_a_read_that_meets_a_lock_waits_for_it_on_a_thread_not_on_the_loop(db_path: str, call: str) -> None:
    """The loop's reader never waits for a lock: SQLite's busy answer sends the call to a thread,
    which waits while the loop goes on. The lock is released by a coroutine on the loop, so the
    read completes only if the loop was left free (one read each of the query, read and
    snapshot paths)."""
    lock = HeldReadLock()

    async def main() -> Any:
        async with swarmstore.aio.open(db_path) as st:
            await st.memory.put("b", "k", 1)
            agent = await st.agents.register("a", "coder")
            reads = {
                "memory.get": lambda: st.memory.get("b", "k"),
                "agents.get": lambda: st.agents.get(agent.id),
                "tasks.stats": lambda: st.tasks.stats(),
            }
            expected = await reads[call]()  # (the loop's reader is open before the lock is taken)
            lock.hold()
            read = asyncio.ensure_future(reads[call]())
            await asyncio.to_thread(lock.waiting.wait, 30)
            lock.release()
            got = await read
            assert got == expected, "the read that met the lock returns what it would have"

    with exec_tracing(lock):
        asyncio.run(main())
    assert lock.met == [Met(on_loop=True, waits=False, outcome="busy"), Met(on_loop=False, waits=True, outcome="ran")]


def test_async_worker_max_tasks_and_hand_back_of_a_chained_claim(store_url: str) -> None:
    async def main() -> None:
        async with swarmstore.aio.open(store_url) as st:
            await st.tasks.submit_many([{"summary": f"t{i}"} for i in range(6)])

            async def handler(task: Task) -> Any:
                return None

            stats = await AsyncWorker(st, handler, concurrency=2, max_tasks=3, poll_interval=0.01).run()
            assert stats.completed == 3
            left = (await st.tasks.list(status="ready")).items
            assert len(left) == 3 and all(t.attempt == 0 for t in left), "nothing claimed beyond max_tasks"

            w = AsyncWorker(st, handler, concurrency=1, poll_interval=0.01)
            _stop_at_first_count(w)  # after the completion claimed the next task, before it starts
            stats = await w.run()
            assert (stats.completed, stats.handed_back) == (1, 1)
            left = (await st.tasks.list(status="ready")).items
            assert len(left) == 2 and all((t.attempt, t.lease_token) == (0, None) for t in left)

    asyncio.run(main())


def test_every_public_method_of_the_sync_services_is_awaitable(db_path: str) -> None:
    import inspect

    sync = swarmstore.open(db_path)
    st = swarmstore.aio.AsyncStore(sync)
    try:
        for name in ("sessions", "memory", "tasks", "agents", "audit", "documents"):
            theirs = {m for m in dir(getattr(sync, name)) if not m.startswith("_")}
            ours = {m for m in dir(getattr(st, name)) if not m.startswith("_")}
            assert theirs <= ours, f"AsyncStore.{name} lacks {sorted(theirs - ours)}"
            for m in theirs:
                assert inspect.iscoroutinefunction(getattr(getattr(st, name), m)), f"{name}.{m} is not awaitable"
    finally:
        asyncio.run(st.aclose())


def _stop_at_first_count(w: Any) -> None:
    """Make the worker stop as soon as its core counts an outcome."""
    count = w.core.count

    def counted(what: str) -> None:
        count(what)
        w.stop()

    w.core.count = counted

