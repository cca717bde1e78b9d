"""The step core that Worker (threads) and AsyncWorker (coroutines) share: every decision about
a claimed task, none of the I/O.

Each decision that talks to the store is a generator: it yields the calls it wants made
(``Call``: a service of the store, a method, its arguments) and is sent each call's result, or
has the call's ``SwarmstoreError`` thrown in. ``run_sync`` drives one with plain calls,
``run_async`` awaits them, so both workers do exactly the same things in the same order:
complete, complete-and-claim or fail a task (with the handler's traceback), count it, log and
back off when a claim fails, hand tasks back on stop, and stop a handler whose lease was lost.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import traceback
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

from ..errors import InvalidInput, InvalidTransition, LeaseLost, NotFound, SwarmstoreError, TaskCancelled
from ..models import Task
from .handlers import takes_context

log = logging.getLogger("swarmstore.worker")

R = TypeVar("R")
MAX_BACKOFF = 5.0  # seconds: the longest pause after failed claims in a row


class Call(NamedTuple):
    """One call the core wants made: ``store.<service>.<method>(*args, **kwargs)``."""

    service: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}  # noqa: RUF012 (never mutated)


Step = Generator[Call, Any, R]
Done = tuple[str, str, Any]  # a handled task waiting for its completion: (id, lease token, result)


class Flag(Protocol):
    """threading.Event or asyncio.Event: what the core uses of them."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...


class Ctx(Protocol):
    """A running task's context (TaskContext, AsyncTaskContext), as the core sees it."""

    handed_back: bool
    finishing: bool

    @property
    def task(self) -> Task: ...
    @property
    def cancelled(self) -> Flag: ...


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


@dataclass
class WorkerOptions:
    """The options Worker and AsyncWorker share (checked once, here)."""

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

    @classmethod
    def checked(
        cls, handler: Callable[..., Any], queues: str | Sequence[str], agent_types: Sequence[str] | None,
        concurrency: int, agent_type: str, lease_seconds: float, poll_interval: float, max_tasks: int | None,
        until_idle: bool, grace_seconds: float, install_signals: bool,
    ) -> WorkerOptions:  # fmt: skip
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInput("concurrency", "must be an integer >= 1")
        return cls(handler, [queues] if isinstance(queues, str) else list(queues), agent_types, concurrency,
                   agent_type, lease_seconds, poll_interval, max_tasks, until_idle, grace_seconds, install_signals)  # fmt: skip


def wait_for_work(engine: Any, queues: Sequence[str], timeout: float) -> bool:
    """Block up to ``timeout`` s for the engine's wake-up of new work in ``queues`` (True: woken).
    Only for engines with ``caps.wakeups``; a lost notification only costs the timeout (the
    worker polls as well)."""
    from ..engine.ops import tasks as task_ops

    channels = [task_ops.queue_channel(q) for q in queues]
    return engine.wait_for_work(channels, timeout)  # type: ignore[no-any-return]


def failure_text(exc: BaseException) -> str:
    """What a failed attempt records as the task's error: the exception and its traceback."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=5))
    return f"{type(exc).__name__}: {exc}\n{tb}"


class StepCore:
    """The decisions of one worker (thread-safe: a sync Worker's threads share it)."""

    def __init__(self, opts: WorkerOptions) -> None:
        self.opts = opts
        self.stats = WorkerStats()
        self.wants_ctx = takes_context(opts.handler)
        self.agent_id: str | None = None
        self.claimed = 0  # tasks claimed (or being claimed) so far, for max_tasks
        self.claim_failures = 0  # claims that failed in a row
        self._lock = threading.Lock()

    # -- counts and slots ------------------------------------------------------------------------

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self.stats, what, getattr(self.stats, what) + 1)

    def take_slots(self, n: int) -> int:
        """Up to ``n`` more tasks may be claimed (``max_tasks``); returns how many."""
        with self._lock:
            if self.opts.max_tasks is not None:
                n = max(0, min(n, self.opts.max_tasks - self.claimed))
            self.claimed += n
            return n

    def return_slots(self, n: int) -> None:
        with self._lock:
            self.claimed -= n

    # -- registration --------------------------------------------------------------------------

    def register(self, name: str) -> Step[str]:
        agent = yield Call("agents", "register", (name, self.opts.agent_type), {"metadata": {"queues": self.opts.queues}})
        self.agent_id = agent.id
        return agent.id  # type: ignore[no-any-return]

    def stopped(self) -> Step[None]:
        with contextlib.suppress(SwarmstoreError):
            yield Call("agents", "heartbeat", (self.agent_id, "stopped", None))

    # -- a step: completions, then a claim -----------------------------------------------------

    def commit(self, done: list[Done], want: int) -> Step[list[Task]]:
        """Complete ``done`` and claim up to ``want`` more tasks (slots already taken) in one
        write: a lone completion as ``complete_and_claim`` (or ``complete``: the group writer
        batches those of concurrent coroutines), several as ``complete_many``, none as ``claim``.
        A completion refused stands alone; a failed write is logged, and the leases bring its
        tasks back. Returns the claimed tasks (and gives back the slots of those not found)."""
        o = self.opts
        spec = {"worker_id": self.agent_id, "queues": o.queues, "agent_types": o.agent_types,
                "lease_seconds": o.lease_seconds}  # fmt: skip
        got: list[Task] = []
        try:
            if not done:
                if want:
                    got = yield Call("tasks", "claim", (self.agent_id, o.queues, o.agent_types, o.lease_seconds, want))
            elif len(done) == 1:
                task_id, token, result = done[0]
                try:
                    if want:
                        got = yield Call("tasks", "complete_and_claim", (task_id, token, result), {**spec, "limit": want})
                    else:
                        yield Call("tasks", "complete", (task_id, token, result))
                except (TaskCancelled, LeaseLost, NotFound) as why:
                    self.dropped(task_id, why)
                else:
                    self.count("completed")
            else:
                step = yield Call("tasks", "complete_many", (done,), {**spec, "claim": want})
                got = step.claimed
                for (task_id, *_), err in zip(done, step.errors, strict=True):
                    self._completed(task_id, err)
        except SwarmstoreError as exc:  # (Busy past the timeout, say): the leases bring them back
            what = f"committing {len(done)} completion(s)" if done else "claim"
            if want:
                self.claim_failures += 1
                log.warning("%s failed (%s); trying again in about %.2f s", what, exc, self.pause())
            else:
                log.warning("%s failed: %s", what, exc)
            for _ in done:
                self.count("lost")
        else:
            if want:
                self.claim_failures = 0
        if len(got) < want:
            self.return_slots(want - len(got))
        return got

    def _completed(self, task_id: str, err: Exception | None) -> None:
        if err is None:
            self.count("completed")
        elif isinstance(err, TaskCancelled | LeaseLost | NotFound):
            self.dropped(task_id, err)
        else:
            log.warning("task %s: completing it failed: %s", task_id, err)
            self.count("lost")

    def when_idle(self, running: bool) -> Step[float | None]:
        """A claim found nothing (or failed): how long to wait before the next one, or None to
        stop (``until_idle``: nothing running here and no open work left)."""
        idle = not self.claim_failures and self.opts.until_idle and not running
        if idle and not (yield Call("tasks", "has_open_work", (self.opts.queues,))):
            return None
        return self.pause()

    def pause(self) -> float:
        """The poll interval, jittered; after failed claims in a row, doubled for each (≤ 5 s)."""
        base = self.opts.poll_interval
        if self.claim_failures:
            base = min(MAX_BACKOFF, max(base, 0.05) * 2 ** (self.claim_failures - 1))
        return base * random.uniform(0.5, 1.5)

    # -- a handler's outcome -------------------------------------------------------------------

    def may_start(self, ctx: Ctx) -> bool:
        """False if the task was handed back or cancelled before its handler started."""
        if ctx.handed_back:
            return False
        if ctx.cancelled.is_set():
            self.count("cancelled")
            return False
        return True

    def finished(self, ctx: Ctx, result: Any) -> Done | None:
        """The handler returned ``result``: the completion to commit, or None if the task was
        handed back meanwhile (another worker may run it now: the result is dropped)."""
        ctx.finishing = True
        if ctx.handed_back:
            return None
        return (ctx.task.id, ctx.task.lease_token or "-", result)

    def failed(self, ctx: Ctx, exc: BaseException) -> Step[None]:
        """The handler raised: a failed attempt (retried with backoff while attempts remain),
        recorded with its traceback; nothing if the task was handed back or cancelled."""
        ctx.finishing = True
        if ctx.handed_back:
            return
        if ctx.cancelled.is_set():
            self.count("cancelled")
            return
        task = ctx.task
        try:
            t = yield Call("tasks", "fail", (task.id, task.lease_token or "-", failure_text(exc)))
        except (TaskCancelled, LeaseLost, NotFound) as why:
            self.dropped(task.id, why)
        except SwarmstoreError as err:  # (Busy past the timeout, say): the lease brings it back
            log.warning("task %s: recording the failure failed: %s", task.id, err)
            self.count("lost")
        else:
            self.count("retried" if t.status == "ready" else "failed")

    def dropped(self, task_id: str, why: Exception) -> None:
        log.info("task %s: result dropped: %s", task_id, why)
        self.count("cancelled" if isinstance(why, TaskCancelled) else "lost")

    # -- stopping ------------------------------------------------------------------------------

    def give_back(self, ctx: Ctx) -> Step[None]:
        """Hand a claimed task back to the queue (stop): unless it was already."""
        if ctx.handed_back:
            return
        ctx.handed_back = True
        ctx.cancelled.set()
        try:
            yield Call("tasks", "release", (ctx.task.id, ctx.task.lease_token or "-"))
        except SwarmstoreError as exc:
            log.info("task %s: hand-back failed (its lease will expire): %s", ctx.task.id, exc)
        else:
            self.count("handed_back")

    def give_back_all(self, running: Sequence[Ctx]) -> Step[None]:
        """Hand back every running task still this worker's (past the grace period)."""
        for ctx in running:
            if not ctx.cancelled.is_set():
                yield from self.give_back(ctx)

    # -- heartbeats ----------------------------------------------------------------------------

    def beat(self, ctx: Ctx) -> Step[None]:
        """Extend one running task's lease (``ctx`` is from a snapshot of the running tasks);
        if the task was taken away, its handler is told to stop."""
        try:
            yield Call("tasks", "heartbeat", (ctx.task.id, ctx.task.lease_token or "-"))
        except SwarmstoreError as exc:
            if beat_refused(exc, ctx.finishing, ctx.task.id):
                ctx.cancelled.set()

    def tick(self, running: Sequence[Ctx]) -> Step[None]:
        """One heartbeat round: every running lease, the rescue of expired ones, the agent."""
        for ctx in running:
            yield from self.beat(ctx)
        try:
            yield Call("tasks", "rescue_expired")
            status = "busy" if running else "idle"
            yield Call("agents", "heartbeat", (self.agent_id, status, running[0].task.id if running else None))
        except SwarmstoreError as exc:
            log.warning("worker heartbeat failed: %s", exc)


def beat_refused(refusal: SwarmstoreError, finishing: bool, task_id: str) -> bool:
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


class Shell:
    """What both worker shells (threads, coroutines) expose of their step core."""

    core: StepCore

    @property
    def stats(self) -> WorkerStats:
        """The counts so far (completed, failed, retried, cancelled, lost, handed back)."""
        return self.core.stats

    @property
    def agent_id(self) -> str | None:
        return self.core.agent_id

    @agent_id.setter
    def agent_id(self, value: str | None) -> None:
        self.core.agent_id = value


def run_sync(store: Any, step: Step[R]) -> R:
    """Drive ``step`` with plain calls on ``store``."""
    value: Any = None
    error: SwarmstoreError | None = None
    while True:
        try:
            call = step.send(value) if error is None else step.throw(error)
        except StopIteration as end:
            return end.value  # type: ignore[no-any-return]
        try:
            value, error = getattr(getattr(store, call.service), call.method)(*call.args, **call.kwargs), None
        except SwarmstoreError as exc:
            value, error = None, exc


async def run_async(store: Any, step: Step[R]) -> R:
    """Drive ``step`` awaiting each call on ``store`` (an AsyncStore)."""
    value: Any = None
    error: SwarmstoreError | None = None
    while True:
        try:
            call = step.send(value) if error is None else step.throw(error)
        except StopIteration as end:
            return end.value  # type: ignore[no-any-return]
        try:
            pending: Awaitable[Any] = getattr(getattr(store, call.service), call.method)(*call.args, **call.kwargs)
            value, error = await pending, None
        except SwarmstoreError as exc:
            value, error = None, exc
