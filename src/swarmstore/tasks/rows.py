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


# (fields read from a row on first use; see models.Lazy)
_LAZY: dict[str, Any] = {
    "payload": lambda r: _loads(r.payload),
    "result": lambda r: _loads(r.result),
    "depends_on": lambda r: _loads(r.deps),
    "metadata": lambda r: _loads(r.metadata),
}
_new = object.__new__


def as_task(r: TaskRow, now: int) -> Task:
    """A task row: payload, result, depends_on and metadata decoded on first read.

    Built slot by slot (a dataclass __init__ would need every field); ``score`` is as of ``now``."""
    t = _new(Task)
    t._lazy = _LAZY
    t._row = r
    t.id = r.id
    t.summary = r.summary
    t.queue = r.queue
    t.agent_type = r.agent_type
    t.status = r.status
    t.priority = r.priority
    t.source = r.source
    t.score = (now - r.rank) / S
    t.deadline = None if r.deadline is None else EPOCH + r.deadline * _US
    t.estimated_seconds = None if r.estimated_us is None else r.estimated_us / S
    t.attempt = r.attempt
    t.max_attempts = r.max_attempts
    t.timeout_seconds = r.timeout_us / S
    t.not_before = EPOCH + r.not_before * _US if r.not_before else None
    t.lease_token = r.lease_token
    t.lease_expires_at = None if r.lease_expires_at is None else EPOCH + r.lease_expires_at * _US
    t.worker_id = r.worker_id
    if r.result is None:
        t.result = None
    t.error = r.error
    t.parent_id = r.parent_id
    t.session_id = r.session_id
    t.idempotency_key = r.idempotency_key
    t.on_dependency_failure = r.on_dependency_failure
    t.waiting_on = r.waiting
    t.dependants = r.dependants
    created = r.created_at
    t.created_at = created_dt = EPOCH + created * _US
    t.updated_at = created_dt if r.updated_at == created else EPOCH + r.updated_at * _US
    t.started_at = None if r.started_at is None else EPOCH + r.started_at * _US
    t.finished_at = None if r.finished_at is None else EPOCH + r.finished_at * _US
    return t


class TaskService:
    """What the parts of ``Tasks`` share: the engine, the settings, the clock, reading back."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e: Engine = ctx.engine
        self._now: Callable[[], int] = ctx.now_us
        self._step_keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def _fetch(self, tx: Any, ids: Sequence[str], now: int) -> list[Task]:
        """The tasks, in the order of ``ids``, as this transaction sees them."""
        by_id = {r.id: as_task(r, now) for r in self._e.tasks.read_many(tx, ids)}
        return [by_id[i] for i in ids]

    def _fetch_one(self, tx: Any, task_id: str, now: int) -> Task:
        row = self._e.tasks.read(tx, task_id)
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
        if row.status == "cancelled":
            return TaskCancelled(f"task {task_id} was cancelled" + (f": {row.error}" if row.error else ""))
        if row.lease_token != token:
            return LeaseLost(f"task {task_id}: lease token is stale (the task was rescued and reassigned)")
        return InvalidTransition(f"task {task_id} is {row.status}, not running")


__all__ = ["FINISHED", "OPEN", "TaskService", "as_task", "task_record"]
