"""The async API: ``swarmstore.aio.open(url) -> AsyncStore``, the same services as ``Store``, awaitable.

One implementation of the logic serves both APIs: an ``AsyncStore`` runs the very same service
classes over an engine adapter that only decides where statements run.

* Reads run on the event loop, without a thread hop: a SQLite point read takes microseconds, less
  than a hop to a thread costs. The loop's reader connection never waits on a lock: if SQLite ever
  reports it busy, that one call is re-run on a worker thread instead.
* Writes are committed in groups (see GroupWriter): every operation submitted in one loop pass, in
  one transaction, each isolated as if in its own savepoint: an operation that fails rolls back
  alone and the others commit. An awaited write returns only after its transaction committed.
  A write whose awaiting coroutine is cancelled before it starts is skipped; once started it is
  applied whole. ``aclose()`` drains the queue first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import random
import signal
import threading
import types
from collections.abc import Callable, Coroutine, Generator, Iterable, Sequence
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from .agents import Agents
from .audit import Audit
from .context import Context
from .engine.base import Capabilities, Cursor, Row
from .engine.sqlite.ops import (
    SqliteAgentOps,
    SqliteAuditOps,
    SqliteMemoryOps,
    SqliteSessionOps,
    SqliteTaskOps,
    bind_ops,
)
from .errors import Busy, LeaseLost, NotFound, StoreClosed, SwarmstoreError, TaskCancelled
from .memory import MemoryStore
from .models import Task
from .sessions import Sessions
from .store import Store
from .store import open as open_sync
from .tasks import Tasks
from .worker import _beat_refused, _WorkerOptions, log

P = ParamSpec("P")
R = TypeVar("R")
_STOP = object()
MAX_GROUP = 1000  # operations per group transaction

# A group that finds the write lock taken by another process waits on the loop: it tries again
# after these delays (s; 23 ms in all), and only then goes to the writer thread, which waits in
# SQLite's busy handler. On the thread, the group's Python ran beside the event loop's and took
# turns with it for the GIL while holding the lock: with 2 AsyncWorker processes the lock was held
# 38 µs a task instead of 30, and the pair drained at 0.90x one process's rate; 0.96-1.0x this
# way. (Retries every 0.25 ms made the processes take turns more often, each turn on caches the
# other process had just used: with 4 processes on 2 cores, 37 µs a task against 34 this way.)
_RETRIES = (0.001, 0.002) + (0.005,) * 4


class _Outcome(tuple[bool, Any]):
    """A write committed (or refused) at once by GroupWriter.submit: ``(ok, result or error)``."""

    __slots__ = ()


class _Skipped(Exception):
    """The awaiting coroutine was cancelled before its operation started."""


class GroupWriter:
    """Commits write operations in groups, each operation isolated (see SqliteEngine.write_group).

    Operations submitted while the event loop runs one pass are collected and committed together
    at the end of that pass (or at once, when nothing else is runnable in the pass). The group runs right there on the loop when the write lock is free
    this instant (one transaction, no thread hop: the common case). When another thread or process
    holds the lock, the group goes to the writer thread instead, which waits for the lock and
    takes everything queued meanwhile. (WAL checkpoints run on the engine's checkpointer thread:
    neither the loop nor the writes wait for them.)
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._closed = False
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[Callable[[Cursor], Any], asyncio.Future[Any]]]] = {}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._tries: dict[asyncio.AbstractEventLoop, int] = {}  # on-loop tries of the group waiting
        self._thread = threading.Thread(target=self._run, name="swarmstore-writer", daemon=True)
        self._thread.start()
        self.groups = 0  # transactions committed
        self.operations = 0
        self.on_loop = 0  # groups committed on the event loop (the rest went to the thread)
        self.batched = 0  # operations committed as part of one batch operation (see _batched)

    def submit(self, fn: Callable[[Cursor], R]) -> asyncio.Future[R] | _Outcome:
        """Queue ``fn`` for this loop's group: a future of its result. A lone write (nothing
        else runnable in this loop pass, so nothing could join it) commits right here when the
        lock is free, and its ``_Outcome`` comes back instead: no future, no group to collect."""
        if self._closed:
            raise StoreClosed("the store is closed")
        loop = asyncio.get_running_loop()
        pending = self._pending.get(loop)
        if pending is None:
            # (_ready is asyncio's queue of runnable callbacks; other loops take the group path.)
            if not getattr(loop, "_ready", True) and self._queue.empty():
                outcome = self._engine.write_group((fn,), nowait=True)
                if outcome is not None:
                    self.groups += 1
                    self.on_loop += 1
                    self.operations += 1
                    return _Outcome(outcome[0])
            fut: asyncio.Future[R] = loop.create_future()
            self._pending[loop] = [(fn, fut)]
            loop.call_soon(self.flush, loop)
            return fut
        fut = loop.create_future()
        pending.append((fn, fut))
        return fut

    def flush(self, loop: asyncio.AbstractEventLoop, final: bool = False) -> None:
        """Commit what this loop submitted: on the loop if the lock is free; if another process
        holds it, try again on the loop a little later (see _RETRIES), and only then (or at once
        when ``final``) hand the group to the writer thread."""
        batch = self._pending.pop(loop, None)
        if not batch:
            return
        for i in range(0, len(batch), MAX_GROUP):
            outcomes = None
            if self._queue.empty():  # the thread has nothing queued before us: keep FIFO order
                # (On the loop nothing can be cancelled while the group runs: the futures cancelled
                # before it are left out here, so the operations need no _guarded wrapper.)
                part = [(fn, fut) for fn, fut in batch[i : i + MAX_GROUP] if not fut.cancelled()]
                if not part:
                    continue
                outcomes = self._batched(part)
                if outcomes is None:
                    outcomes = self._engine.write_group([fn for fn, _ in part], nowait=True)
            if outcomes is None:
                tries = self._tries.get(loop, 0)
                if not final and tries < len(_RETRIES) and self._queue.empty():
                    # (what was submitted meanwhile joins behind it, in order)
                    self._pending[loop] = batch[i:] + self._pending.pop(loop, [])
                    self._tries[loop] = tries + 1
                    loop.call_later(_RETRIES[tries], self.flush, loop)
                    return
                self._tries[loop] = 0
                for fn, fut in batch[i:]:
                    self._queue.put((fn, fut, loop))
                break
            self._tries[loop] = 0
            self.groups += 1
            self.on_loop += 1
            self.operations += len(part)
            _settle((fut, ok, value) for (_, fut), (ok, value) in zip(part, outcomes, strict=True))

    def _batched(
        self, part: list[tuple[Callable[[Cursor], Any], asyncio.Future[Any]]]
    ) -> list[tuple[bool, Any]] | None:
        """A group whose operations all share a ``batch_key`` (plain puts of one store, or one
        worker's steps to its next tasks), run as one batch operation, with one outcome per
        operation (an exception instance: that operation failed alone); None if the group is not
        one, or if the batch failed (the caller then runs the operations one by one, each
        isolated: the batch was rolled back whole, and nothing else was in its transaction)."""
        key = getattr(part[0][0], "batch_key", None)
        if key is None or len(part) < 2 or any(getattr(fn, "batch_key", None) is not key for fn, _ in part):
            return None
        ops = [fn for fn, _ in part]
        run = type(ops[0]).run_batch  # type: ignore[attr-defined]
        outcome = self._engine.write_group([lambda cur: run(cur, ops)], nowait=True)
        if outcome is None or not outcome[0][0]:
            return None
        self.batched += len(ops)
        return [(not isinstance(result, Exception), result) for result in outcome[0][1]]

    def stop(self) -> None:
        """Finish everything queued, then end the thread (blocks: call it from a worker thread)."""
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            stop = item is _STOP
            batch = [] if stop else [item]
            while len(batch) < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                else:
                    batch.append(nxt)
            if batch:
                self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[Callable[[Cursor], Any], asyncio.Future[Any], Any]]) -> None:
        outcomes = self._engine.write_group([_guarded(fn, fut) for fn, fut, _ in batch])
        self.groups += 1
        self.operations += len(batch)
        by_loop: dict[Any, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, fut, loop), (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((fut, ok, value))
        for loop, settled in by_loop.items():  # one wake-up per loop, not one per operation
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, settled)


def _guarded(fn: Callable[[Cursor], Any], fut: asyncio.Future[Any]) -> Callable[[Cursor], Any]:
    def run(cur: Cursor) -> Any:
        if fut.cancelled():  # (read across threads on the writer thread: a stale "no" only means it runs)
            raise _Skipped
        return fn(cur)

    return run


def _settle(settled: Iterable[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for fut, ok, value in settled:
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        elif isinstance(value, _Skipped):
            fut.cancel()
        else:
            fut.set_exception(value)


class _AsyncEngine:
    """The engine as the services see it inside an AsyncStore: reads run here and now (on the
    loop), ``write`` hands the operation to the group writer and returns a future."""

    caps: Capabilities
    memory: SqliteMemoryOps
    sessions: SqliteSessionOps
    tasks: SqliteTaskOps
    agents: SqliteAgentOps
    audit: SqliteAuditOps

    def __init__(self, engine: Any, writer: GroupWriter) -> None:
        self._engine = engine
        self._writer = writer
        self.url = engine.url
        self.caps = engine.caps
        self.q = engine.q
        self.placeholder = engine.placeholder
        bind_ops(self, self)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._engine.query_nowait(sql, params)  # type: ignore[no-any-return]

    def read(self, fn: Callable[[Cursor], R]) -> R:
        return self._engine.read_nowait(fn)  # type: ignore[no-any-return]

    def read_snapshot(self, fn: Callable[[Cursor], R]) -> R:
        return self._engine.read_snapshot_nowait(fn)  # type: ignore[no-any-return]

    def write(self, fn: Callable[[Cursor], R]) -> R:
        return self._writer.submit(fn)  # type: ignore[return-value]  # awaited by _AsyncService

    def write_group(
        self, fns: Sequence[Callable[[Cursor], Any]], *, nowait: bool = False
    ) -> list[tuple[bool, Any]] | None:
        return self._engine.write_group(fns, nowait=nowait)  # type: ignore[no-any-return]

    query_nowait = query
    read_nowait = read
    read_snapshot_nowait = read_snapshot

    def stats(self) -> dict[str, Any]:
        return self._engine.stats()  # type: ignore[no-any-return]

    def counts(self) -> dict[str, int]:
        return self._engine.counts()  # type: ignore[no-any-return]

    def notify(self, tx: Any, channel: str, payload: str = "") -> None:
        self._engine.notify(tx, channel, payload)

    def wait_for_work(self, channels: Sequence[str], timeout: float) -> bool:
        return self._engine.wait_for_work(channels, timeout)  # type: ignore[no-any-return]

    def close(self) -> None:
        raise RuntimeError("close the AsyncStore with aclose()")


@types.coroutine
def _pass() -> Generator[None, None, None]:
    """Let the event loop run one pass (asyncio.sleep(0) without its two extra frames)."""
    yield


class _AsyncService:
    def __init__(self, on_loop: Any, blocking: Any) -> None:
        self._on_loop = on_loop  # the service over _AsyncEngine
        self._blocking = blocking  # the same service over the plain engine, for the thread fallback


def _awaitable(
    method: Callable[Concatenate[Any, P], R],
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]:
    name = method.__name__

    async def call(self: _AsyncService, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = getattr(self._on_loop, name)(*args, **kwargs)
        except Busy:
            # A read met a lock (rare in WAL mode): wait for it on a thread, never on the loop.
            return await asyncio.to_thread(getattr(self._blocking, name), *args, **kwargs)
        if type(result) is _Outcome:
            if result[0]:
                return result[1]  # type: ignore[no-any-return]
            raise result[1]
        if isinstance(result, asyncio.Future):
            if not result.done():
                # Yield once: the group commit queued for this loop pass runs first, so the result
                # is usually ready when this coroutine resumes (one loop pass per write, not two).
                try:
                    await _pass()
                except asyncio.CancelledError:
                    result.cancel()  # not started yet: the writer skips it
                    raise
            return await result  # type: ignore[no-any-return]
        return result  # type: ignore[no-any-return]

    call.__name__ = name
    call.__qualname__ = method.__qualname__
    call.__doc__ = method.__doc__
    return call


class AsyncSessions(_AsyncService):
    create = _awaitable(Sessions.create)
    get = _awaitable(Sessions.get)
    list = _awaitable(Sessions.list)
    set_status = _awaitable(Sessions.set_status)
    terminate = _awaitable(Sessions.terminate)
    archive = _awaitable(Sessions.archive)
    append_event = _awaitable(Sessions.append_event)
    events = _awaitable(Sessions.events)
    state = _awaitable(Sessions.state)
    get_state = _awaitable(Sessions.get_state)
    set_state = _awaitable(Sessions.set_state)
    update_state = _awaitable(Sessions.update_state)
    delete_state = _awaitable(Sessions.delete_state)


class AsyncMemory(_AsyncService):
    put = _awaitable(MemoryStore.put)
    put_many = _awaitable(MemoryStore.put_many)
    get = _awaitable(MemoryStore.get)
    history = _awaitable(MemoryStore.history)
    list = _awaitable(MemoryStore.list)
    namespaces = _awaitable(MemoryStore.namespaces)
    delete = _awaitable(MemoryStore.delete)
    restore = _awaitable(MemoryStore.restore)
    purge = _awaitable(MemoryStore.purge)


class AsyncTasks(_AsyncService):
    submit = _awaitable(Tasks.submit)
    submit_many = _awaitable(Tasks.submit_many)
    claim = _awaitable(Tasks.claim)
    heartbeat = _awaitable(Tasks.heartbeat)
    complete = _awaitable(Tasks.complete)
    complete_and_claim = _awaitable(Tasks.complete_and_claim)
    complete_many = _awaitable(Tasks.complete_many)
    fail = _awaitable(Tasks.fail)
    release = _awaitable(Tasks.release)
    cancel = _awaitable(Tasks.cancel)
    retry = _awaitable(Tasks.retry)
    rescue_expired = _awaitable(Tasks.rescue_expired)
    get = _awaitable(Tasks.get)
    list = _awaitable(Tasks.list)
    children = _awaitable(Tasks.children)
    tree = _awaitable(Tasks.tree)
    dependencies = _awaitable(Tasks.dependencies)
    dependants = _awaitable(Tasks.dependants)
    plan = _awaitable(Tasks.plan)
    stats = _awaitable(Tasks.stats)
    has_open_work = _awaitable(Tasks.has_open_work)
    prune = _awaitable(Tasks.prune)


class AsyncAgents(_AsyncService):
    register = _awaitable(Agents.register)
    heartbeat = _awaitable(Agents.heartbeat)
    stop = _awaitable(Agents.stop)
    get = _awaitable(Agents.get)
    list = _awaitable(Agents.list)


class AsyncAudit(_AsyncService):
    list = _awaitable(Audit.list)


class AsyncStore:
    """An open swarmstore for asyncio code: ``sessions``, ``memory``, ``tasks``, ``agents``,
    ``audit`` with the same methods as ``Store``, each awaitable. Use it from one event loop at a
    time (the writer can serve several)."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the plain store: its engine, and the blocking fallback for reads
        self._writer = GroupWriter(store.engine)
        base = store._ctx
        engine = _AsyncEngine(store.engine, self._writer)
        ctx = Context(engine, base.max_value_bytes, base.actor, base.retry_base_us, base.max_task_depth, base.now_us)
        self.sessions = AsyncSessions(Sessions(ctx), store.sessions)
        self.memory = AsyncMemory(MemoryStore(ctx), store.memory)
        self.tasks = AsyncTasks(Tasks(ctx), store.tasks)
        self.agents = AsyncAgents(Agents(ctx), store.agents)
        self.audit = AsyncAudit(Audit(engine), store.audit)
        self._closed = False

    @property
    def url(self) -> str:
        return self._store.url

    @property
    def engine(self) -> Any:
        return self._store.engine

    async def stats(self) -> dict[str, Any]:
        """Row counts, file and WAL size, schema version (read on a thread: it counts rows)."""
        return await asyncio.to_thread(self._store.stats)

    async def aclose(self) -> None:
        """Commit everything queued, then close every connection."""
        if self._closed:
            return
        self._closed = True
        self._writer.flush(asyncio.get_running_loop(), final=True)  # what this loop submitted, not yet flushed
        await asyncio.to_thread(self._writer.stop)
        self._store.close()

    async def __aenter__(self) -> AsyncStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncStore({self.url!r})"


def open(url: str, **options: Any) -> AsyncStore:
    """Open (creating and migrating if needed) the store at ``url`` for asyncio code.

    Takes the same options as ``swarmstore.open``. Opening touches the file once (milliseconds);
    everything after it is awaitable: ``async with swarmstore.aio.open(url) as store: ...``.
    """
    return AsyncStore(open_sync(url, **options))


class AsyncWorker(_WorkerOptions):
    """Run ``await handler(task)`` (or ``handler(task, ctx)``) for tasks claimed from ``queues``,
    with ``concurrency`` handler coroutines in one process.

    The async twin of ``swarmstore.Worker``: claims go through the group-commit writer (many
    coroutines claiming at once share transactions), one coroutine heartbeats the leases and
    rescues expired ones, and ``stop()`` (or SIGINT/SIGTERM with ``install_signals``) stops claiming
    and lets running handlers finish for ``grace_seconds`` before handing what is left back.
    """

    def __init__(
        self,
        store: AsyncStore,
        handler: Callable[..., Coroutine[Any, Any, Any]],
        *,
        queues: str | Sequence[str] = ("default",),
        agent_types: Sequence[str] | None = None,
        concurrency: int = 10,
        name: str | None = None,
        agent_type: str = "worker",
        lease_seconds: float = 60.0,
        poll_interval: float = 0.2,
        max_tasks: int | None = None,
        until_idle: bool = False,
        grace_seconds: float = 30.0,
        install_signals: bool = False,
    ) -> None:
        self._configure(handler, queues, agent_types, concurrency, agent_type, lease_seconds, poll_interval,
                        max_tasks, until_idle, grace_seconds, install_signals)  # fmt: skip
        self.store = store
        self.name = name or f"async-worker-{os.getpid()}"
        self._stopping = asyncio.Event()
        self._running: dict[str, AsyncTaskContext] = {}

    def stop(self) -> None:
        """Stop claiming; running handlers finish (up to ``grace_seconds``), the rest go back."""
        self._stopping.set()

    async def run(self) -> Any:
        """Work until stopped, ``max_tasks`` or (``until_idle``) no open work; returns the counts."""
        agent = await self.store.agents.register(self.name, self.agent_type, metadata={"queues": self.queues})
        self.agent_id = agent.id
        loop = asyncio.get_running_loop()
        if self.install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        loops = [asyncio.create_task(self._loop()) for _ in range(self.concurrency)]
        beat = asyncio.create_task(self._heartbeats())
        stop_wait = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait([stop_wait, *loops], return_when=asyncio.FIRST_COMPLETED)
            self._stopping.set()  # a stop was asked, or a loop ended: every loop stops claiming
            _, still = await asyncio.wait(loops, timeout=self.grace_seconds)
            for t in still:
                t.cancel()  # past the grace period: their tasks are handed back below
            await asyncio.gather(*loops, return_exceptions=True)
            await self._release_all()
        finally:
            helpers: list[asyncio.Task[Any]] = [stop_wait, beat]
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(stop_wait, beat, return_exceptions=True)
            if self.install_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            with contextlib.suppress(SwarmstoreError):
                await self.store.agents.heartbeat(self.agent_id, "stopped", None)
        return self.stats

    async def _loop(self) -> None:
        assert self.agent_id is not None
        tasks = self.store.tasks
        nxt: Task | None = None  # claimed with the previous task's completion
        while not self._stopping.is_set() or nxt is not None:
            if nxt is not None:
                task, nxt = nxt, None
                if self._stopping.is_set():
                    await self._give_back(task)  # claimed with the last completion, not started
                    continue
                nxt = await self._handle(task)
                continue
            if self.max_tasks is not None and self._claimed >= self.max_tasks:
                self._stopping.set()
                break
            self._claimed += 1
            try:
                got = await tasks.claim(self.agent_id, self.queues, self.agent_types, self.lease_seconds, 1)
            except SwarmstoreError:
                got = []
            if not got:
                self._claimed -= 1
                if self.until_idle and not self._running and not await self._open_work():
                    self._stopping.set()
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_interval * random.uniform(0.5, 1.5))
                continue
            nxt = await self._handle(got[0])

    async def _give_back(self, task: Task) -> None:
        ctx = self._running.pop(task.id, None)
        if ctx is not None and ctx.handed_back:
            return  # _release_all did it
        try:
            await self.store.tasks.release(task.id, task.lease_token or "-")
            self._count("handed_back")
        except SwarmstoreError:
            pass  # its lease will expire

    async def _open_work(self) -> bool:
        return await self.store.tasks.has_open_work(self.queues)

    async def _handle(self, task: Task) -> Task | None:
        """Run one task to its end; returns the next task if it was claimed with the completion."""
        ctx = self._running.get(task.id)  # (there already if claimed with the last completion)
        if ctx is None:
            ctx = self._running[task.id] = AsyncTaskContext(self.store, task, self)
        nxt = None if ctx.handed_back else await self._work(task, ctx, task.lease_token or "-")
        # (if the grace period ended, CancelledError skips this: run() hands the task back)
        self._running.pop(task.id, None)
        return nxt

    async def _work(self, task: Task, ctx: AsyncTaskContext, token: str) -> Task | None:
        tasks = self.store.tasks
        try:
            if self._wants_ctx:
                result = await self.handler(task, ctx)
            else:
                result = await self.handler(task)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the handler's failure is the task's failed attempt
            ctx.finishing = True
            if ctx.handed_back:
                return None
            if ctx.cancelled.is_set():
                self._count("cancelled")
                return None
            try:
                t = await tasks.fail(task.id, token, f"{type(exc).__name__}: {exc}")
                self._count("retried" if t.status == "ready" else "failed")
            except (TaskCancelled, LeaseLost, NotFound) as why:
                self._count("cancelled" if isinstance(why, TaskCancelled) else "lost")
            except SwarmstoreError as err:  # (Busy past the timeout, say): the lease brings it back
                log.warning("task %s: recording the failure failed: %s", task.id, err)
                self._count("lost")
            return None
        ctx.finishing = True
        if ctx.handed_back:
            return None
        chain = not self._stopping.is_set() and (self.max_tasks is None or self._claimed < self.max_tasks)
        try:
            if not chain:
                await tasks.complete(task.id, token, result)
                self._count("completed")
                return None
            # The step to the next task: completion and claim share one operation (and commit).
            self._claimed += 1
            try:
                got = await tasks.complete_and_claim(
                    task.id, token, result, worker_id=self.agent_id or self.name, queues=self.queues,
                    agent_types=self.agent_types, lease_seconds=self.lease_seconds,
                )  # fmt: skip
            except BaseException:
                self._claimed -= 1
                raise
            self._count("completed")
            if not got:
                self._claimed -= 1
                return None
            self._running[got[0].id] = AsyncTaskContext(self.store, got[0], self)
            return got[0]
        except (TaskCancelled, LeaseLost, NotFound) as why:
            self._count("cancelled" if isinstance(why, TaskCancelled) else "lost")
        except SwarmstoreError as err:  # (Busy past the timeout, say): the lease brings it back
            log.warning("task %s: completing it failed: %s", task.id, err)
            self._count("lost")
        return None

    def _count(self, what: str) -> None:
        setattr(self.stats, what, getattr(self.stats, what) + 1)

    async def _heartbeats(self) -> None:
        assert self.agent_id is not None
        every = max(0.05, self.lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            running = list(self._running.values())
            for ctx in running:
                await self._beat(ctx)
            with contextlib.suppress(SwarmstoreError):
                await self.store.tasks.rescue_expired()
                status = "busy" if running else "idle"
                await self.store.agents.heartbeat(self.agent_id, status, running[0].task.id if running else None)

    async def _beat(self, ctx: AsyncTaskContext) -> None:
        """Extend one running task's lease (``ctx`` is from a snapshot of the running tasks)."""
        try:
            await self.store.tasks.heartbeat(ctx.task.id, ctx.task.lease_token or "-")
        except SwarmstoreError as exc:
            if _beat_refused(exc, ctx.finishing, ctx.task.id):
                ctx.cancelled.set()

    async def _release_all(self) -> None:
        for task_id, ctx in list(self._running.items()):
            if ctx.cancelled.is_set() or ctx.handed_back:
                continue
            ctx.handed_back = True
            ctx.cancelled.set()
            try:
                await self.store.tasks.release(task_id, ctx.task.lease_token or "-")
                self._count("handed_back")
            except SwarmstoreError:
                pass
            self._running.pop(task_id, None)


class AsyncTaskContext:
    """What a two-argument async handler gets besides the task."""

    def __init__(self, store: AsyncStore, task: Task, worker: AsyncWorker) -> None:
        self.store = store
        self.task = task
        self.worker = worker
        self.cancelled = asyncio.Event()
        self.handed_back = False
        self.finishing = False  # the handler returned or raised (see TaskContext.finishing)


__all__ = ["AsyncStore", "AsyncTaskContext", "AsyncWorker", "GroupWriter", "open"]
