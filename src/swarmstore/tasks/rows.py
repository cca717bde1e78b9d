"""Task rows (``engine.ops.tasks.TaskRow``) as ``Task`` models, and what every part of the service shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ..clock import _US, EPOCH
from ..context import Context
from ..engine.base import Engine
from ..engine.ops.audit import AuditRecord
from ..engine.ops.tasks import TaskRow, task_record
from ..errors import InvalidTransition, LeaseLost, NotFound, TaskCancelled
from ..models import Task
from .ranking import S

OPEN = ("blocked", "ready", "running")
FINISHED = ("completed", "failed", "cancelled")


def _loads(text: str) -> Any:
    """orjson.loads, with the common empty values made without the parser (a new [] or {} each
    time: the caller may change it)."""
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return None if text == "null" else orjson.loads(text)


# (fields read from a row on first use; see models.Lazy. TaskRow's payload, result, deps, metadata)
_LAZY: dict[str, Any] = {
    "payload": lambda r: _loads(r[2]),
    "result": lambda r: _loads(r[18]),
    "depends_on": lambda r: _loads(r[24]),
    "metadata": lambda r: _loads(r[27]),
}
_new = object.__new__


def as_task(r: TaskRow, now: int) -> Task:
    """A task row: payload, result, depends_on and metadata decoded on first read.

    Built slot by slot (a dataclass __init__ would need every field); ``score`` is as of ``now``."""
    (task_id, summary, _payload, queue, agent_type, status, priority, source, rank, deadline, estimated_us,
     attempt, max_attempts, timeout_us, not_before, lease_token, lease_expires_at, worker_id, result, error,
     parent_id, session_id, idempotency_key, on_dependency_failure, _deps, waiting, dependants, _metadata,
     created_at, updated_at, started_at, finished_at, _ready_at) = r  # fmt: skip
    t = _new(Task)
    t._lazy = _LAZY
    t._row = r
    t.id = task_id
    t.summary = summary
    t.queue = queue
    t.agent_type = agent_type
    t.status = status
    t.priority = priority
    t.source = source
    t.score = (now - rank) / S
    t.deadline = None if deadline is None else EPOCH + deadline * _US
    t.estimated_seconds = None if estimated_us is None else estimated_us / S
    t.attempt = attempt
    t.max_attempts = max_attempts
    t.timeout_seconds = timeout_us / S
    t.not_before = EPOCH + not_before * _US if not_before else None
    t.lease_token = lease_token
    t.lease_expires_at = None if lease_expires_at is None else EPOCH + lease_expires_at * _US
    t.worker_id = worker_id
    if result is None:
        t.result = None
    t.error = error
    t.parent_id = parent_id
    t.session_id = session_id
    t.idempotency_key = idempotency_key
    t.on_dependency_failure = on_dependency_failure
    t.waiting_on = waiting
    t.dependants = dependants
    t.created_at = created_dt = EPOCH + created_at * _US
    t.updated_at = created_dt if updated_at == created_at else EPOCH + updated_at * _US
    t.started_at = None if started_at is None else EPOCH + started_at * _US
    t.finished_at = None if finished_at is None else EPOCH + finished_at * _US
    return t


class TaskService:
    """What the parts of ``Tasks`` share: the engine, the settings, the clock, reading back."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e: Engine = ctx.engine
        self._now: Callable[[], int] = ctx.now_us
        self._step_keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        # A scoped view's check of a task an idempotency key finds (raises to refuse it).
        self._found_by_key: Callable[[Task], None] | None = None

    def _fetch(self, tx: Any, ids: Sequence[str], now: int) -> list[Task]:
        """The tasks, in the order of ``ids``, as this transaction sees them."""
        if len(ids) == 1:  # (a lone submit: a point read, not a JSON list of one)
            return [self._fetch_one(tx, ids[0], now)]
        by_id = {t.id: t for t in (as_task(r, now) for r in self._e.tasks.read_many(tx, ids))}
        return [by_id[i] for i in ids]

    def _fetch_one(self, tx: Any, task_id: str, now: int, lock: bool = False) -> Task:
        """The task as this transaction sees it (``lock``: its row locked for the change that
        follows, on engines that lock rows), or NotFound."""
        ops = self._e.tasks
        row = ops.lock(tx, task_id) if lock else ops.read(tx, task_id)
        if row is None:
            raise NotFound(f"task {task_id!r} not found")
        return as_task(row, now)

    def _audit(self, tx: Any, records: list[AuditRecord]) -> None:
        self._e.tasks.audit(tx, records)

    def _lease_problem(self, tx: Any, task_id: str, token: str) -> Exception:
        """Why a change through a lease was refused."""
        row = self._e.tasks.read(tx, task_id)
        if row is None:
            return NotFound(f"task {task_id!r} not found")
        task = as_task(row, 0)
        if task.status == "cancelled":
            return TaskCancelled(f"task {task_id} was cancelled" + (f": {task.error}" if task.error else ""))
        if task.lease_token != token:
            return LeaseLost(f"task {task_id}: lease token is stale (the task was rescued and reassigned)")
        return InvalidTransition(f"task {task_id} is {task.status}, not running")


__all__ = ["FINISHED", "OPEN", "TaskService", "as_task", "task_record"]
