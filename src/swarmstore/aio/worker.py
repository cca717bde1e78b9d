"""AsyncWorker: the step core (worker/core.py) run by coroutines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..engine.bridge import spawn
from ..models import Task
from ..worker.core import Shell, Step, StepCore, WorkerOptions, WorkerStats, run_async, wait_for_work

if TYPE_CHECKING:
    from .store import AsyncStore

R = TypeVar("R")


class AsyncTaskContext:
    """What a two-argument async handler gets besides the task."""

    def __init__(self, store: AsyncStore, task: Task, worker: AsyncWorker) -> None:
        self.store = store
        self.task = task
        self.worker = worker
        self.cancelled = asyncio.Event()
        self.handed_back = False
        self.finishing = False  # the handler returned or raised (see TaskContext.finishing)


class AsyncWorker(Shell):
    """Run ``await handler(task)`` (or ``handler(task, ctx)``) for tasks claimed from ``queues``,
    with ``concurrency`` handler coroutines in one process.

    The async twin of ``swarmstore.Worker``, over the same step core (the same outcomes, counts,
    error texts with tracebacks, logged claim failures with backoff): claims go through the
    group-commit writer (many coroutines claiming at once share transactions), one coroutine
    heartbeats the leases and rescues expired ones, and ``stop()`` (or SIGINT/SIGTERM with
    ``install_signals``) stops claiming and lets running handlers finish for ``grace_seconds``
    before handing what is left back.
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
        self.opts = WorkerOptions.checked(handler, queues, agent_types, concurrency, agent_type, lease_seconds,
                                          poll_interval, max_tasks, until_idle, grace_seconds, install_signals)  # fmt: skip
        self.core = StepCore(self.opts)
        self.store = store
        self.name = name or f"async-worker-{os.getpid()}"
        self._stopping = asyncio.Event()
        self._running: dict[str, AsyncTaskContext] = {}

    async def _do(self, step: Step[R]) -> R:
        return await run_async(self.store, step)

    def stop(self) -> None:
        """Stop claiming; running handlers finish (up to ``grace_seconds``), the rest go back."""
        self._stopping.set()

    async def run(self) -> WorkerStats:
        """Work until stopped, ``max_tasks`` or (``until_idle``) no open work; returns the counts."""
        await self._do(self.core.register(self.name))
        loop = asyncio.get_running_loop()
        if self.opts.install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        loops = [asyncio.create_task(self._loop()) for _ in range(self.opts.concurrency)]
        beat = asyncio.create_task(self._heartbeats())
        stop_wait = asyncio.create_task(self._stopping.wait())
        try:
            every: asyncio.Future[Any] = asyncio.gather(*loops, return_exceptions=True)
            await asyncio.wait([stop_wait, every], return_when=asyncio.FIRST_COMPLETED)
            self._stopping.set()  # a stop was asked, or every loop ended: none claims any more
            _, still = await asyncio.wait(loops, timeout=self.opts.grace_seconds)
            for t in still:
                t.cancel()  # past the grace period: their tasks are handed back below
            await asyncio.gather(*loops, return_exceptions=True)
            await self._release_all()
        finally:
            for helper in (stop_wait, beat):
                helper.cancel()
            await asyncio.gather(stop_wait, beat, return_exceptions=True)
            if self.opts.install_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            await self._do(self.core.stopped())
        return self.stats

    async def _loop(self) -> None:
        core = self.core
        nxt: Task | None = None  # claimed with the previous task's completion
        while not self._stopping.is_set() or nxt is not None:
            if nxt is not None:
                task, nxt = nxt, None
                if self._stopping.is_set():
                    await self._give_back(task)  # claimed with the last completion, not started
                    continue
                nxt = await self._handle(task)
                continue
            if not core.take_slots(1):
                break  # max_tasks reached: this loop ends; the others finish what they hold
            got = await self._commit([], 1)
            if got:
                nxt = await self._handle(got[0])
                continue
            delay = await self._do(core.when_idle(bool(self._running)))
            if delay is None:
                self._stopping.set()
                break
            await self._idle(delay)

    async def _idle(self, delay: float) -> None:
        """Wait ``delay`` for work, or a stop: woken by the engine when it can, else polling."""
        engine = self.store.engine
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._stopping.wait())]
        if engine.caps.wakeups:
            waits.append(asyncio.ensure_future(spawn(wait_for_work, self.store._view, self.opts.queues, delay)))
        try:
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*waits, return_exceptions=True)

    async def _commit(self, done: list[tuple[str, str, Any]], want: int) -> list[Task]:
        got = await self._do(self.core.commit(done, want))
        for t in got:
            self._running[t.id] = AsyncTaskContext(self.store, t, self)
        return got

    async def _give_back(self, task: Task) -> None:
        ctx = self._running.pop(task.id, None)
        await self._do(self.core.give_back(ctx or AsyncTaskContext(self.store, task, self)))

    async def _handle(self, task: Task) -> Task | None:
        """Run one task to its end; returns the next task if it was claimed with the completion."""
        ctx = self._running.get(task.id)  # (there already if claimed with the last completion)
        if ctx is None:
            ctx = self._running[task.id] = AsyncTaskContext(self.store, task, self)
        nxt = await self._work(task, ctx) if self.core.may_start(ctx) else None
        # (if the grace period ended, CancelledError skips this: run() hands the task back)
        self._running.pop(task.id, None)
        return nxt

    async def _work(self, task: Task, ctx: AsyncTaskContext) -> Task | None:
        core = self.core
        try:
            handler = self.opts.handler
            result = await (handler(task, ctx) if core.wants_ctx else handler(task))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the handler's failure is the task's failed attempt
            await self._do(core.failed(ctx, exc))
            return None
        done = core.finished(ctx, result)
        if done is None:
            return None
        # The step to the next task: completion and claim share one operation (and commit).
        want = 0 if self._stopping.is_set() else core.take_slots(1)
        got = await self._commit([done], want)
        return got[0] if got else None

    async def _heartbeats(self) -> None:
        every = max(0.05, self.opts.lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            await self._do(self.core.tick(list(self._running.values())))

    async def _beat(self, ctx: AsyncTaskContext) -> None:
        """Extend one running task's lease (``ctx`` is from a snapshot of the running tasks)."""
        await self._do(self.core.beat(ctx))

    async def _release_all(self) -> None:
        running = list(self._running.values())
        await self._do(self.core.give_back_all(running))
        for ctx in running:
            self._running.pop(ctx.task.id, None)
