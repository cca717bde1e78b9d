"""A worker process: claim -> handle -> complete/fail, with heartbeats and graceful shutdown."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import random
import signal
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, InvalidTransition, LeaseLost, NotFound, SwarmstoreError, TaskCancelled
from .models import Task

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger("swarmstore.worker")


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


@dataclass
class WorkerStats:
    completed: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    handed_back: int = 0
    lost: int = 0

    @property
    def handled(self) -> int:
        return self.completed + self.failed + self.retried + self.cancelled + self.lost


class _WorkerOptions:
    """The options and counters Worker and AsyncWorker share (checked once, here)."""

    handler: Callable[..., Any]
    queues: list[str]
    agent_types: Sequence[str] | None
    concurrency: int
    agent_type: str
    lease_seconds: float
    poll_interval: float
    max_tasks: int | None
    until_idle: bool
    grace_seconds: float
    install_signals: bool
    stats: WorkerStats
    agent_id: str | None
    _wants_ctx: bool
    _claimed: int

    def _configure(
        self,
        handler: Callable[..., Any],
        queues: str | Sequence[str],
        agent_types: Sequence[str] | None,
        concurrency: int,
        agent_type: str,
        lease_seconds: float,
        poll_interval: float,
        max_tasks: int | None,
        until_idle: bool,
        grace_seconds: float,
        install_signals: bool,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInput("concurrency", "must be an integer >= 1")
        self.handler = handler
        self.queues = [queues] if isinstance(queues, str) else list(queues)
        self.agent_types = agent_types
        self.concurrency = concurrency
        self.agent_type = agent_type
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.max_tasks = max_tasks
        self.until_idle = until_idle
        self.grace_seconds = grace_seconds
        self.install_signals = install_signals
        self.stats = WorkerStats()
        self.agent_id = None
        self._wants_ctx = _takes_context(handler)
        self._claimed = 0


class Worker(_WorkerOptions):
    """Run ``handler(task)`` (or ``handler(task, ctx)``) for tasks claimed from ``queues``.

    ``concurrency`` threads claim and handle tasks; one more thread heartbeats their leases (every
    third of ``lease_seconds``), rescues expired leases of other workers and keeps the worker's
    agent record alive. The handler's return value is the task's result; an exception is a failed
    attempt (retried with backoff while attempts remain). SIGINT/SIGTERM stop claiming and let
    running tasks finish for up to ``grace_seconds``; what is still running then (or at a second
    signal) is handed back to the queue, never lost.

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
        self._configure(handler, queues, agent_types, concurrency, agent_type, lease_seconds, poll_interval,
                        max_tasks, until_idle, grace_seconds, install_signals)  # fmt: skip
        if not isinstance(prefetch, int) or not 1 <= prefetch <= 1000:
            raise InvalidInput("prefetch", "must be an integer from 1 to 1000")
        if not isinstance(flush_after, int | float) or not 0 <= flush_after <= 60:
            raise InvalidInput("flush_after", "must be a number of seconds from 0 to 60")
        self.prefetch = prefetch
        self.flush_after = float(flush_after)
        self._took: float | None = None  # the handler's recent duration (s), a moving average
        self._done: list[tuple[str, str, Any]] = []  # (task id, token, result) handled, not committed
        self._done_since = 0.0
        self.store = store
        self.name = name or f"worker-{socket.gethostname()}-{os.getpid()}"
        self._stopping = threading.Event()
        self._hand_back = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, TaskContext] = {}

    # -- control -------------------------------------------------------------------------------

    def stop(self, hand_back: bool = False) -> None:
        """Stop claiming; running tasks finish (or, with ``hand_back``, go back to the queue now)."""
        self._stopping.set()
        if hand_back:
            self._hand_back.set()

    def run(self) -> WorkerStats:
        """Work until stopped (signal, ``stop()``, ``max_tasks`` or ``until_idle``); returns the counts."""
        agent = self.store.agents.register(self.name, self.agent_type, metadata={"queues": self.queues})
        self.agent_id = agent.id
        restore = self._install_signals()
        live, ended = [self.concurrency], threading.Event()

        def work() -> None:
            try:
                self._loop()
            finally:
                with self._lock:
                    live[0] -= 1
                    if not live[0]:
                        ended.set()  # (run returns at once, not at its next check)

        threads = [threading.Thread(target=work, name=f"{self.name}-{i}", daemon=True) for i in range(self.concurrency)]
        beat = threading.Thread(target=self._heartbeats, name=f"{self.name}-heartbeat", daemon=True)
        try:
            for t in threads:
                t.start()
            beat.start()
            while any(t.is_alive() for t in threads):
                if self._stopping.is_set() and not self._hand_back.is_set():
                    deadline = time.monotonic() + self.grace_seconds
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
            with contextlib.suppress(SwarmstoreError):
                self.store.agents.heartbeat(self.agent_id, "stopped", None)
        return self.stats

    def _install_signals(self) -> Callable[[], None]:
        if not self.install_signals or threading.current_thread() is not threading.main_thread():
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

    def _take_slots(self, n: int) -> int:
        """Up to ``n`` more tasks may be claimed (``max_tasks``); returns how many."""
        with self._lock:
            if self.max_tasks is not None:
                n = max(0, min(n, self.max_tasks - self._claimed))
            self._claimed += n
            return n

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
            want = self._take_slots(self._batch())
            if not want:
                self._stopping.set()  # max_tasks reached
                continue
            got = self._commit(want)
            if len(got) < want:
                with self._lock:
                    self._claimed -= want - len(got)
            if got:
                ahead.extend(got)
            elif self.until_idle and not self._running and not self._open_work():
                self._stopping.set()
            else:
                self._stopping.wait(self.poll_interval * random.uniform(0.5, 1.5))

    def _flush(self) -> None:
        if self._done:
            self._commit(0)

    def _commit(self, want: int) -> list[Task]:
        """One transaction: the completions waiting to commit (this thread's and the others'),
        and a claim of ``want`` tasks (none: 0). Returns the claimed tasks."""
        assert self.agent_id is not None
        with self._lock:
            done, self._done = self._done, []
        try:
            step = self.store.tasks.complete_many(
                done, claim=want, worker_id=self.agent_id, queues=self.queues, agent_types=self.agent_types,
                lease_seconds=self.lease_seconds,
            )  # fmt: skip
        except SwarmstoreError as exc:  # (Busy past the timeout, say): the leases bring them back
            log.warning("%s failed: %s", f"committing {len(done)} completions" if done else "claim", exc)
            for _ in done:
                self._count("lost")
            return []
        got = step.claimed
        for (task_id, *_), err in zip(done, step.errors, strict=True):
            if err is None:
                self._count("completed")
            elif isinstance(err, TaskCancelled | LeaseLost | NotFound):
                self._dropped(task_id, err)
            else:
                log.warning("task %s: completing it failed: %s", task_id, err)
                self._count("lost")
        with self._lock:
            for t in got:
                self._running[t.id] = TaskContext(self.store, t, self)
        return got

    def _open_work(self) -> bool:
        return self.store.tasks.has_open_work(self.queues)

    def _handle(self, task: Task) -> None:
        """Run one task; its completion joins those waiting to commit (see _loop)."""
        tasks = self.store.tasks
        token = task.lease_token
        assert token is not None
        with self._lock:
            ctx = self._running.get(task.id)
            if ctx is None:
                ctx = self._running[task.id] = TaskContext(self.store, task, self)
        try:
            if ctx.handed_back:
                return
            if ctx.cancelled.is_set():  # (cancelled before it started)
                self._count("cancelled")
                return
            began = time.perf_counter()
            try:
                result = self.handler(task, ctx) if self._wants_ctx else self.handler(task)
            except Exception as exc:  # the handler's failure is the task's failed attempt
                ctx.finishing = True
                if ctx.handed_back:
                    return
                if ctx.cancelled.is_set():
                    self._count("cancelled")
                    return
                error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
                try:
                    t = tasks.fail(task.id, token, error)
                    self._count("retried" if t.status == "ready" else "failed")
                except (TaskCancelled, LeaseLost, NotFound) as why:
                    self._dropped(task.id, why)
                except SwarmstoreError as exc:  # (Busy past the timeout, say): the lease brings it back
                    log.warning("task %s: recording the failure failed: %s", task.id, exc)
                    self._count("lost")
                return
            ctx.finishing = True
            took = time.perf_counter() - began
            self._took = took if self._took is None else 0.8 * self._took + 0.2 * took
            if ctx.handed_back:
                return  # another worker may run it now; this result is dropped
            with self._lock:
                if not self._done:
                    self._done_since = time.monotonic()
                self._done.append((task.id, token, result))
        finally:
            with self._lock:
                self._running.pop(task.id, None)

    def _give_back(self, task: Task) -> None:
        with self._lock:
            ctx = self._running.pop(task.id, None)
        if ctx is not None and ctx.handed_back:
            return  # _release_all did it
        try:
            self.store.tasks.release(task.id, task.lease_token or "-")
            self._count("handed_back")
        except SwarmstoreError as exc:
            log.info("task %s: hand-back failed (its lease will expire): %s", task.id, exc)

    def _dropped(self, task_id: str, why: Exception) -> None:
        log.info("task %s: result dropped: %s", task_id, why)
        self._count("cancelled" if isinstance(why, TaskCancelled) else "lost")

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self.stats, what, getattr(self.stats, what) + 1)

    def _heartbeats(self) -> None:
        assert self.agent_id is not None
        every = max(0.05, self.lease_seconds / 3)
        while not self._stopping.wait(every):
            self._flush()  # (completions held back by a long task of their batch: before their leases end)
            with self._lock:
                running = list(self._running.values())
            for ctx in running:
                self._beat(ctx)
            try:
                self.store.tasks.rescue_expired()
                status = "busy" if running else "idle"
                self.store.agents.heartbeat(self.agent_id, status, running[0].task.id if running else None)
            except SwarmstoreError as exc:
                log.warning("worker heartbeat failed: %s", exc)

    def _beat(self, ctx: TaskContext) -> None:
        """Extend one running task's lease (``ctx`` is from a snapshot of the running tasks)."""
        try:
            self.store.tasks.heartbeat(ctx.task.id, ctx.task.lease_token or "-")
        except SwarmstoreError as exc:
            if _beat_refused(exc, ctx.finishing, ctx.task.id):
                ctx.cancelled.set()

    def _release_all(self) -> None:
        self._flush()  # what finished is completed, not handed back
        with self._lock:
            running = list(self._running.values())
        for ctx in running:
            if ctx.cancelled.is_set():
                continue
            ctx.handed_back = True
            ctx.cancelled.set()
            try:
                self.store.tasks.release(ctx.task.id, ctx.task.lease_token or "-")
                self._count("handed_back")
            except SwarmstoreError:
                pass


def _beat_refused(refusal: SwarmstoreError, finishing: bool, task_id: str) -> bool:
    """What a refused heartbeat means; True when the task was taken from its worker (cancelled,
    rescued, failed by its expired last lease) and its handler must stop. Not if the worker was
    already finishing it: its own completion or failure may have committed between the
    heartbeat's snapshot and its call (a benign race; the worker's own call reports any real
    refusal). Logs what deserves a warning."""
    if not isinstance(refusal, (TaskCancelled, LeaseLost, NotFound, InvalidTransition)):
        log.warning("heartbeat of %s failed: %s", task_id, refusal)
        return False
    if finishing:
        log.debug("heartbeat of %s skipped: its worker is finishing it (%s)", task_id, refusal)
        return False
    if isinstance(refusal, InvalidTransition):  # (it was failed when its last lease expired)
        log.warning("heartbeat of %s failed: %s", task_id, refusal)
    return True


def _takes_context(handler: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def load_handler(spec: str) -> Callable[..., Any]:
    """``module:function`` -> the function (for ``swarmstore worker --handler``).

    The module is looked up as ``python -m`` would: the current directory comes first on the path,
    unless Python runs with ``-P`` / ``PYTHONSAFEPATH`` (as the demo starts its workers)."""
    import importlib
    import sys

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidInput("handler", f"{spec!r}: expected module:function")
    if not sys.flags.safe_path:
        cwd = os.getcwd()
        if not any(p in ("", cwd) for p in sys.path):  # (a console script has its bin/ there instead)
            sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput("handler", f"{spec!r}: {exc}") from None
    except Exception as exc:  # (the module itself failed as it was imported)
        raise InvalidInput(
            "handler", f"{spec!r}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from None
    if not callable(obj):
        raise InvalidInput("handler", f"{spec!r} is not callable")
    return obj  # type: ignore[no-any-return]
