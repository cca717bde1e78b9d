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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, LeaseLost, NotFound, SwarmstoreError, TaskCancelled
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
    ) -> None:
        self._configure(handler, queues, agent_types, concurrency, agent_type, lease_seconds, poll_interval,
                        max_tasks, until_idle, grace_seconds, install_signals)  # fmt: skip
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
        threads = [
            threading.Thread(target=self._loop, name=f"{self.name}-{i}", daemon=True) for i in range(self.concurrency)
        ]
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
                        time.sleep(0.05)
                    self._hand_back.set()
                if self._hand_back.is_set():
                    self._release_all()
                    break
                time.sleep(0.05)
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

    def _take_slot(self) -> bool:
        with self._lock:
            if self.max_tasks is not None and self._claimed >= self.max_tasks:
                return False
            self._claimed += 1
            return True

    def _loop(self) -> None:
        assert self.agent_id is not None
        tasks = self.store.tasks
        nxt: Task | None = None  # claimed with the previous task's completion
        while not self._stopping.is_set() or nxt is not None:
            if nxt is not None:
                task, nxt = nxt, None
                if self._stopping.is_set():
                    self._give_back(task)  # claimed with the last completion, not started
                    continue
                nxt = self._handle(task)
                continue
            if not self._take_slot():
                self._stopping.set()
                break
            try:
                got = tasks.claim(self.agent_id, self.queues, self.agent_types, self.lease_seconds, 1)
            except SwarmstoreError as exc:
                log.warning("claim failed: %s", exc)
                got = []
            if not got:
                with self._lock:
                    self._claimed -= 1
                if self.until_idle and not self._running and not self._open_work():
                    self._stopping.set()
                    break
                self._stopping.wait(self.poll_interval * random.uniform(0.5, 1.5))
                continue
            nxt = self._handle(got[0])

    def _open_work(self) -> bool:
        return self.store.tasks.has_open_work(self.queues)

    def _handle(self, task: Task) -> Task | None:
        """Run one task to its end; returns the next task if it was claimed with the completion."""
        tasks = self.store.tasks
        token = task.lease_token
        assert token is not None
        with self._lock:
            ctx = self._running.get(task.id)  # (there already if claimed with the last completion)
            if ctx is None:
                ctx = self._running[task.id] = TaskContext(self.store, task, self)
        if ctx.handed_back:
            with self._lock:
                self._running.pop(task.id, None)
            return None
        try:
            try:
                result = self.handler(task, ctx) if self._wants_ctx else self.handler(task)
            except Exception as exc:  # the handler's failure is the task's failed attempt
                if ctx.handed_back:
                    return None
                if ctx.cancelled.is_set():
                    self._count("cancelled")
                    return None
                error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
                try:
                    t = tasks.fail(task.id, token, error)
                    self._count("retried" if t.status == "ready" else "failed")
                except (TaskCancelled, LeaseLost, NotFound) as why:
                    self._dropped(task, why)
                except SwarmstoreError as exc:  # (Busy past the timeout, say): the lease brings it back
                    log.warning("task %s: recording the failure failed: %s", task.id, exc)
                    self._count("lost")
                return None
            if ctx.handed_back:
                return None  # another worker may run it now; this result is dropped
            try:
                if self._stopping.is_set() or not self._take_slot():
                    tasks.complete(task.id, token, result)
                    self._count("completed")
                    return None
                # The step to the next task: completion and claim share one commit.
                try:
                    got = tasks.complete_and_claim(
                        task.id, token, result, worker_id=self.agent_id or self.name, queues=self.queues,
                        agent_types=self.agent_types, lease_seconds=self.lease_seconds,
                    )  # fmt: skip
                except BaseException:
                    with self._lock:
                        self._claimed -= 1
                    raise
                self._count("completed")
                if not got:
                    with self._lock:
                        self._claimed -= 1
                    return None
                with self._lock:
                    self._running[got[0].id] = TaskContext(self.store, got[0], self)
                return got[0]
            except (TaskCancelled, LeaseLost, NotFound) as why:
                self._dropped(task, why)
            except SwarmstoreError as exc:  # (Busy past the timeout, say): the lease brings it back
                log.warning("task %s: completing it failed: %s", task.id, exc)
                self._count("lost")
        finally:
            with self._lock:
                self._running.pop(task.id, None)
        return None

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

    def _dropped(self, task: Task, why: Exception) -> None:
        log.info("task %s: result dropped: %s", task.id, why)
        self._count("cancelled" if isinstance(why, TaskCancelled) else "lost")

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self.stats, what, getattr(self.stats, what) + 1)

    def _heartbeats(self) -> None:
        assert self.agent_id is not None
        every = max(0.05, self.lease_seconds / 3)
        while not self._stopping.wait(every):
            with self._lock:
                running = list(self._running.values())
            for ctx in running:
                try:
                    self.store.tasks.heartbeat(ctx.task.id, ctx.task.lease_token or "-")
                except (TaskCancelled, LeaseLost, NotFound):
                    ctx.cancelled.set()
                except SwarmstoreError as exc:
                    log.warning("heartbeat of %s failed: %s", ctx.task.id, exc)
            try:
                self.store.tasks.rescue_expired()
                status = "busy" if running else "idle"
                self.store.agents.heartbeat(self.agent_id, status, running[0].task.id if running else None)
            except SwarmstoreError as exc:
                log.warning("worker heartbeat failed: %s", exc)

    def _release_all(self) -> None:
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


def _takes_context(handler: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def load_handler(spec: str) -> Callable[..., Any]:
    """``module:function`` -> the function (for ``swarmstore worker --handler``)."""
    import importlib

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidInput("handler", f"{spec!r}: expected module:function")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput("handler", f"{spec!r}: {exc}") from None
    if not callable(obj):
        raise InvalidInput("handler", f"{spec!r} is not callable")
    return obj  # type: ignore[no-any-return]
