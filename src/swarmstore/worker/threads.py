"""Worker: the step core (worker/core.py) run by threads: claim -> handle -> complete/fail, with
heartbeats and graceful shutdown."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InvalidInput
from ..models import Task
from .core import Done, Shell, Step, StepCore, WorkerOptions, WorkerStats, run_sync, wait_for_work

if TYPE_CHECKING:
    from ..store import Store

R = TypeVar("R")


@dataclass
class TaskContext:
    """What a two-argument handler gets besides the task: the store, and a flag that is set when
    the task was cancelled, its lease was lost or the worker must hand it back."""

    store: Store
    task: Task
    worker: Worker
    cancelled: threading.Event = field(default_factory=threading.Event)
    handed_back: bool = False
    # set when the handler has returned or raised: the worker is finishing the task, so a
    # heartbeat refused from then on is that ending, not a lost lease
    finishing: bool = field(default=False, init=False, repr=False)


class Worker(Shell):
    """Run ``handler(task)`` (or ``handler(task, ctx)``) for tasks claimed from ``queues``.

    ``concurrency`` threads claim and handle tasks; one more thread heartbeats their leases (every
    third of ``lease_seconds``), rescues expired leases of other workers and keeps the worker's
    agent record alive. The handler's return value is the task's result; an exception is a failed
    attempt (retried with backoff while attempts remain; its traceback is the task's error). A
    claim that fails is logged and tried again after a growing pause. SIGINT/SIGTERM stop claiming
    and let running tasks finish for up to ``grace_seconds``; what is still running then (or at a
    second signal) is handed back to the queue, never lost. Where the engine can wake idle workers
    (PostgreSQL's LISTEN/NOTIFY), an idle worker waits for that, polling as the fallback.

    Quick tasks are claimed in batches: as many as the handler ran in ``flush_after`` seconds
    lately, at most ``prefetch``; their completions commit together with the next claim, or once
    ``flush_after`` has passed (the heartbeat thread commits those a long task holds back). A
    handler slower than ``flush_after`` gets one task at a time; ``prefetch=1`` turns this off.
    """

    def __init__(
        self,
        store: Store,
        handler: Callable[..., Any],
        *,
        queues: str | Sequence[str] = ("default",),
        agent_types: Sequence[str] | None = None,
        concurrency: int = 1,
        name: str | None = None,
        agent_type: str = "worker",
        lease_seconds: float = 60.0,
        poll_interval: float = 0.2,
        max_tasks: int | None = None,
        until_idle: bool = False,
        grace_seconds: float = 30.0,
        install_signals: bool = True,
        prefetch: int = 32,
        flush_after: float = 0.005,
    ) -> None:
        self.opts = WorkerOptions.checked(handler, queues, agent_types, concurrency, agent_type, lease_seconds,
                                          poll_interval, max_tasks, until_idle, grace_seconds, install_signals)  # fmt: skip
        if not isinstance(prefetch, int) or not 1 <= prefetch <= 1000:
            raise InvalidInput("prefetch", "must be an integer from 1 to 1000")
        if not isinstance(flush_after, int | float) or not 0 <= flush_after <= 60:
            raise InvalidInput("flush_after", "must be a number of seconds from 0 to 60")
        self.core = StepCore(self.opts)
        self.prefetch = prefetch
        self.flush_after = float(flush_after)
        self._took: float | None = None  # the handler's recent duration (s), a moving average
        self._done: list[Done] = []  # handled, not committed
        self._done_since = 0.0
        self.store = store
        self.name = name or f"worker-{socket.gethostname()}-{os.getpid()}"
        self._stopping = threading.Event()
        self._hand_back = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, TaskContext] = {}

    def _do(self, step: Step[R]) -> R:
        return run_sync(self.store, step)

    # -- control -------------------------------------------------------------------------------

    def stop(self, hand_back: bool = False) -> None:
        """Stop claiming; running tasks finish (or, with ``hand_back``, go back to the queue now)."""
        self._stopping.set()
        if hand_back:
            self._hand_back.set()

    def run(self) -> WorkerStats:
        """Work until stopped (signal, ``stop()``, ``max_tasks`` or ``until_idle``); returns the counts."""
        self._do(self.core.register(self.name))
        restore = self._install_signals()
        live, ended = [self.opts.concurrency], threading.Event()

        def work() -> None:
            try:
                self._loop()
            finally:
                with self._lock:
                    live[0] -= 1
                    if not live[0]:
                        ended.set()  # (run returns at once, not at its next check)

        threads = [
            threading.Thread(target=work, name=f"{self.name}-{i}", daemon=True) for i in range(self.opts.concurrency)
        ]
        beat = threading.Thread(target=self._heartbeats, name=f"{self.name}-heartbeat", daemon=True)
        try:
            for t in threads:
                t.start()
            beat.start()
            while any(t.is_alive() for t in threads):
                if self._stopping.is_set() and not self._hand_back.is_set():
                    deadline = time.monotonic() + self.opts.grace_seconds
                    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
                        if self._hand_back.is_set():
                            break
                        ended.wait(0.05)
                    self._hand_back.set()
                if self._hand_back.is_set():
                    self._release_all()
                    break
                ended.wait(0.05)
        finally:
            self._stopping.set()
            self._release_all()
            restore()
            self._do(self.core.stopped())
        return self.stats

    def _install_signals(self) -> Callable[[], None]:
        if not self.opts.install_signals or threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if self._stopping.is_set():
                self._hand_back.set()  # a second signal: hand everything back now
            self._stopping.set()

        for sig in previous:
            signal.signal(sig, on_signal)

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    # -- the loops -----------------------------------------------------------------------------

    def _batch(self) -> int:
        """How many tasks to claim at once: as many as the handler runs in ``flush_after`` (by
        its recent durations), at most ``prefetch``; one while that is unknown or long."""
        took = self._took
        if took is None:
            return 1
        return max(1, min(self.prefetch, int(self.flush_after / max(took, 1e-6))))

    def _loop(self) -> None:
        ahead: deque[Task] = deque()  # claimed with the last step, not started
        while True:
            if self._stopping.is_set():
                self._flush()
                while ahead:
                    self._give_back(ahead.popleft())
                return
            if ahead:
                self._handle(ahead.popleft())
                if ahead and self._done and time.monotonic() - self._done_since > self.flush_after:
                    self._flush()  # (else the next step commits them with its claim)
                continue
            want = self.core.take_slots(self._batch())
            if not want:  # max_tasks reached: this thread ends; the others finish what they hold
                self._flush()
                return
            got = self._commit(want)
            if got:
                ahead.extend(got)
                continue
            delay = self._do(self.core.when_idle(bool(self._running)))
            if delay is None:
                self._stopping.set()
            else:
                self._idle(delay)

    def _idle(self, delay: float) -> None:
        """Wait ``delay`` for work: woken by the engine when it can, else polling."""
        engine = self.store.engine
        if engine.caps.wakeups:
            wait_for_work(engine, self.opts.queues, delay)
        else:
            self._stopping.wait(delay)

    def _flush(self) -> None:
        if self._done:
            self._commit(0)

    def _commit(self, want: int) -> list[Task]:
        """One transaction: the completions waiting to commit (this thread's and the others'),
        and a claim of ``want`` tasks (none: 0). Returns the claimed tasks."""
        with self._lock:
            done, self._done = self._done, []
        got = self._do(self.core.commit(done, want))
        with self._lock:
            for t in got:
                self._running[t.id] = TaskContext(self.store, t, self)
        return got

    def _handle(self, task: Task) -> None:
        """Run one task; its completion joins those waiting to commit (see _loop)."""
        with self._lock:
            ctx = self._running.get(task.id)
            if ctx is None:
                ctx = self._running[task.id] = TaskContext(self.store, task, self)
        try:
            if not self.core.may_start(ctx):
                return
            began = time.perf_counter()
            try:
                result = self.opts.handler(task, ctx) if self.core.wants_ctx else self.opts.handler(task)
            except Exception as exc:  # the handler's failure is the task's failed attempt
                self._do(self.core.failed(ctx, exc))
                return
            took = time.perf_counter() - began
            self._took = took if self._took is None else 0.8 * self._took + 0.2 * took
            done = self.core.finished(ctx, result)
            if done is not None:
                with self._lock:
                    if not self._done:
                        self._done_since = time.monotonic()
                    self._done.append(done)
        finally:
            with self._lock:
                self._running.pop(task.id, None)

    def _give_back(self, task: Task) -> None:
        with self._lock:
            ctx = self._running.pop(task.id, None)
        self._do(self.core.give_back(ctx or TaskContext(self.store, task, self)))

    def _heartbeats(self) -> None:
        every = max(0.05, self.opts.lease_seconds / 3)
        while not self._stopping.wait(every):
            self._flush()  # (completions held back by a long task of their batch: before their leases end)
            with self._lock:
                running = list(self._running.values())
            self._do(self.core.tick(running))

    def _beat(self, ctx: TaskContext) -> None:
        """Extend one running task's lease (``ctx`` is from a snapshot of the running tasks)."""
        self._do(self.core.beat(ctx))

    def _release_all(self) -> None:
        self._flush()  # what finished is completed, not handed back
        with self._lock:
            running = list(self._running.values())
        self._do(self.core.give_back_all(running))
