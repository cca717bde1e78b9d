"""Claims and leases: claim, heartbeat, complete (alone, with the next claim, many), fail,
release, and the rescue of tasks whose lease expired."""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from .. import codec
from ..boundary import checked
from ..clock import seconds_us
from ..engine.base import Batchable
from ..engine.ops.tasks import ClaimSpec, task_record
from ..errors import InvalidInput, InvalidTransition, LeaseLost, NotFound, TaskCancelled
from ..models import Completions, Task
from ..params import Batch, ClaimLimit, Count, Flag, Id, Message, Name, Names, NameSet, Seconds
from ..validation import as_list, check_name
from .dag import propagate
from .ranking import S, backoff
from .rows import TaskService, as_task
from .submit import opt_seconds


def claim_spec(
    worker_id: str,
    queues: str | Sequence[str],
    agent_types: Iterable[str] | None,
    lease_seconds: float | timedelta,
    limit: int,
) -> ClaimSpec:
    """A checked claim's arguments, ready for claim_in."""
    types = None if agent_types is None else tuple(as_list(agent_types))
    lease = seconds_us(lease_seconds, "lease_seconds") or 0
    return ClaimSpec(worker_id, tuple(as_list(queues)), types, lease, limit)


class _StepOp(Batchable):
    """One ``complete_and_claim``'s write operation. A group commit (the async API: an
    AsyncWorker's coroutines stepping at once) whose operations are all steps of one store, worker
    and claim may run them as one batch (``run_batch``): the completions, each standing alone,
    then one claim for all that completed, dealt out in order; the expired-lease check and the
    search for candidates run once, not once a step."""

    __slots__ = ("body", "spec", "task_id", "tasks", "token")

    def __init__(self, tasks: Leases, task_id: str, token: str, body: str, spec: ClaimSpec) -> None:
        self.tasks, self.task_id, self.token, self.body, self.spec = tasks, task_id, token, body, spec
        key = (spec.worker_id, spec.queues, spec.types, spec.lease)
        self.batch_key = tasks._step_keys.setdefault(key, key)  # (one object per claim: see aio._batched)

    def __call__(self, tx: Any) -> list[Task]:
        now = self.tasks._now()
        self.tasks._complete_in(tx, self.task_id, self.token, self.body, now)
        return self.tasks._claim_in(tx, now, self.spec)

    @classmethod
    def run_batch(cls, tx: Any, ops: builtins.list[Any]) -> builtins.list[Any]:
        tasks = ops[0].tasks
        now = tasks._now()
        out: builtins.list[builtins.list[Task] | Exception] = []
        wanted = 0
        for op in ops:
            refused = tasks._complete_alone(tx, op.task_id, op.token, op.body, now)
            out.append([] if refused is None else refused)  # (a refused one claims nothing)
            wanted += 0 if refused else op.spec.limit
        claimed = tasks._claim_in(tx, now, ops[0].spec._replace(limit=wanted)) if wanted else []
        at = 0
        for op, got in zip(ops, out, strict=True):
            if isinstance(got, list):
                got += claimed[at : at + op.spec.limit]
                at += op.spec.limit
        return out


class Leases(TaskService):
    @checked
    def claim(
        self,
        worker_id: Name,
        queues: Names = ("default",),
        agent_types: NameSet | None = None,
        lease_seconds: Seconds = 60,
        limit: ClaimLimit = 1,
    ) -> list[Task]:
        """Atomically move up to ``limit`` of the most urgent ready tasks to ``running``.

        Each claimed task gets a lease (``lease_token``, ``lease_expires_at``) that the worker
        keeps alive with ``heartbeat`` and presents to ``complete``/``fail``. Tasks whose lease
        expired are rescued first (retried, or failed after their last attempt).
        ``agent_types`` limits the claim to tasks for those agent types (and untyped tasks).
        """
        spec = claim_spec(worker_id, queues, agent_types, lease_seconds, limit)
        return self._e.write(lambda tx: self._claim_in(tx, self._now(), spec))

    _claim_spec = staticmethod(claim_spec)

    def _claim_in(self, tx: Any, now: int, spec: ClaimSpec) -> list[Task]:
        """The claim, inside the caller's transaction."""
        self._rescue(tx, now, spec.worker_id)
        return [as_task(r, now) for r in self._e.tasks.claim(tx, now, spec, secrets.token_hex(12))]

    def _rescue(self, tx: Any, now: int, actor: str | None) -> int:
        """Give tasks whose lease expired back to the queue (or fail them after their last attempt),
        audited as ``actor``'s doing (the claiming worker, or the store's actor)."""
        ops = self._e.tasks
        expired = ops.expired(tx, now)
        for x in expired:
            if x.attempt < x.max_attempts:
                ops.rescue(tx, x.id, now, "lease expired")
                action = "task.rescue"
            else:
                ops.finish_running(tx, x.id, None, now, "failed", "lease expired on the last attempt", now, False)
                propagate(self._e, tx, x.id, "failed", now, actor)
                action = "task.fail"
            ops.audit(tx, [task_record(now, actor, action, x.id, {"attempt": x.attempt, "reason": "lease expired"})])
        return len(expired)

    def rescue_expired(self) -> int:
        """Rescue tasks whose lease expired now (claims and workers also do it); returns how many."""
        return self._e.write(lambda tx: self._rescue(tx, self._now(), self._ctx.actor))

    @checked
    def heartbeat(self, task_id: Id, lease_token: Name, lease_seconds: Seconds | None = None) -> Task:
        """Extend the lease of a running task (never beyond its timeout).

        Raises TaskCancelled if the task was cancelled, LeaseLost if the token is stale.
        """
        lease = opt_seconds(lease_seconds, "lease_seconds")

        def op(tx: Any) -> Task:
            now = self._now()
            if not self._e.tasks.heartbeat(tx, task_id, lease_token, now, lease):
                raise self._lease_problem(tx, task_id, lease_token)
            return self._fetch_one(tx, task_id, now)

        return self._e.write(op)

    @checked
    def complete(self, task_id: Id, lease_token: Name, result: Any = None) -> Task:
        """Finish a running task with ``result``; dependants with no other prerequisite left become ready."""
        body = self._result_body(result)

        def op(tx: Any) -> Task:
            now = self._now()
            self._complete_in(tx, task_id, lease_token, body, now)
            return self._fetch_one(tx, task_id, now)

        return self._e.write(op)

    @checked
    def complete_and_claim(
        self,
        task_id: Id,
        lease_token: Name,
        result: Any = None,
        *,
        worker_id: Name,
        queues: Names = ("default",),
        agent_types: NameSet | None = None,
        lease_seconds: Seconds = 60,
        limit: ClaimLimit = 1,
    ) -> list[Task]:
        """``complete`` a task, then ``claim`` the next ones, in one transaction: a worker's step
        from one task to the next costs one commit instead of two. Returns the claimed tasks (the
        completed one is not read back: ``get`` it if needed). If the completion fails (a stale
        lease, a cancelled task), it raises as ``complete`` does and nothing is claimed."""
        body = self._result_body(result)
        spec = claim_spec(worker_id, queues, agent_types, lease_seconds, limit)
        return self._e.write(_StepOp(self, task_id, lease_token, body, spec))

    @checked
    def complete_many(
        self,
        items: Batch,
        *,
        claim: Count = 0,
        worker_id: Name | None = None,
        queues: Names = ("default",),
        agent_types: NameSet | None = None,
        lease_seconds: Seconds = 60,
    ) -> Completions:
        """Complete many running tasks in one transaction, each ``(task_id, lease_token[,
        result])``, then (``claim`` > 0, with ``worker_id``) claim up to that many next tasks in
        the same commit: a batching worker's step. Each completion stands alone: a stale lease,
        a cancelled task or a result that cannot be stored fails that one only (its error is in
        ``errors``; nothing of it is written), and the others commit."""
        done: list[tuple[str, str, str] | Exception] = []
        for i, item in enumerate(items):
            try:
                if not isinstance(item, Sequence) or isinstance(item, str) or len(item) not in (2, 3):
                    raise InvalidInput(f"items[{i}]", "each item is (task_id, lease_token[, result])")
                task_id = check_name(item[0], f"items[{i}].task_id")
                token = check_name(item[1], f"items[{i}].lease_token")
                done.append((task_id, token, self._result_body(item[2] if len(item) == 3 else None)))
            except InvalidInput as exc:
                done.append(exc)
        spec = None
        if claim:
            if worker_id is None:
                raise InvalidInput("worker_id", "a claim needs the claiming worker's id")
            spec = claim_spec(worker_id, queues, agent_types, lease_seconds, claim)

        def op(tx: Any) -> Completions:
            now = self._now()
            errors = [d if isinstance(d, Exception) else self._complete_alone(tx, *d, now) for d in done]
            return Completions(errors, self._claim_in(tx, now, spec) if spec else [])

        return self._e.write(op)

    def _result_body(self, result: Any) -> str:
        return codec.dumps(result, "result", self._ctx.max_value_bytes)

    def _complete_alone(self, tx: Any, task_id: str, token: str, body: str, now: int) -> Exception | None:
        """A completion that stands alone in a shared transaction: refused (a stale lease, a
        cancelled or unknown task), it writes nothing and returns why."""
        try:
            self._complete_in(tx, task_id, token, body, now)
        except (NotFound, LeaseLost, TaskCancelled, InvalidTransition) as exc:
            return exc
        return None

    def _complete_in(self, tx: Any, task_id: str, lease_token: str, body: str, now: int) -> None:
        """The completion, inside the caller's transaction; a refused one raises, having written nothing."""
        if self._e.tasks.complete(tx, task_id, lease_token, body, now) is None:
            raise self._lease_problem(tx, task_id, lease_token)

    @checked
    def fail(self, task_id: Id, lease_token: Name, error: Message, retry: Flag = True) -> Task:
        """Record a failed attempt. With ``retry`` and attempts left, the task is ready again after
        an exponential backoff with jitter; otherwise it is ``failed`` and its dependants follow
        their ``on_dependency_failure`` policy."""

        def op(tx: Any) -> Task:
            ops = self._e.tasks
            now = self._now()
            row = ops.lock(tx, task_id)
            task = None if row is None else as_task(row, now)
            if task is None or task.status != "running" or task.lease_token != lease_token:
                raise self._lease_problem(tx, task_id, lease_token)
            attempt = task.attempt
            if retry and attempt < task.max_attempts:
                delay = backoff(self._ctx.retry_base_us, attempt)
                ops.finish_running(tx, task_id, lease_token, now, "ready", error, now + delay, False)
                detail: dict[str, Any] = {"attempt": attempt, "retry_in_s": round(delay / S, 3), "error": error[:200]}
                action = "task.retry"
            else:
                ops.finish_running(tx, task_id, lease_token, now, "failed", error, now, False)
                propagate(self._e, tx, task_id, "failed", now, task.worker_id)
                detail = {"attempt": attempt, "error": error[:200]}
                action = "task.fail"
            ops.audit(tx, [task_record(now, task.worker_id, action, task_id, detail)])
            return self._fetch_one(tx, task_id, now)

        return self._e.write(op)

    @checked
    def release(self, task_id: Id, lease_token: Name) -> Task:
        """Hand a running task back to the queue unfinished (the attempt does not count)."""

        def op(tx: Any) -> Task:
            ops = self._e.tasks
            now = self._now()
            if not ops.finish_running(tx, task_id, lease_token, now, "ready", None, now, True):
                raise self._lease_problem(tx, task_id, lease_token)
            ops.audit(tx, [task_record(now, self._ctx.actor, "task.release", task_id)])
            return self._fetch_one(tx, task_id, now)

        return self._e.write(op)
