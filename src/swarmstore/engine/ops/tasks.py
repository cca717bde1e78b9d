"""The tasks operations every engine implements (``engine.tasks``), and the rows they return.

The domain (``swarmstore.tasks``) decides: ranks, backoff, dependency policies, what to audit.
The engine runs the statements: it encodes lists, links each task's audit rows into its chain
(``prev``, the task's ``audit_head``) and writes them through its one audit-writing path.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .audit import AuditRecord

if TYPE_CHECKING:
    from ...access import Grant

_new = tuple.__new__


def queue_channel(queue: str) -> str:
    """The wake-up channel (``engine.notify`` / ``engine.wait_for_work``) of a queue's new ready
    work: channel names are short identifiers, queue names are free text."""
    return "tasks_" + hashlib.blake2s(queue.encode(), digest_size=8).hexdigest()


TaskRow = tuple[
    str, str, str, str, str | None, str, int, str, int, int | None, int | None, int, int, int, int,
    str | None, int | None, str | None, str | None, str | None, str | None, str | None, str | None,
    str, str, int, int, str, int, int, int | None, int | None, int | None,
]  # fmt: skip
"""A task as stored: ``(id, summary, payload, queue, agent_type, status, priority, source, rank,
deadline, estimated_us, attempt, max_attempts, timeout_us, not_before, lease_token,
lease_expires_at, worker_id, result, error, parent_id, session_id, idempotency_key,
on_dependency_failure, deps, waiting, dependants, metadata, created_at, updated_at, started_at,
finished_at, ready_at)``: times in µs since the epoch, durations in µs, payload, result, deps and
metadata as JSON text. The driver's own tuple, read by unpacking (``tasks.rows.as_task``): a
NamedTuple a row would cost a listing of 100 tasks ~12 µs to build and ~20 µs in attribute reads."""
TASK_ROW_WIDTH = 33


class NewTask(NamedTuple):
    """A task to insert (``submit``): the domain has worked out its state and rank."""

    id: str
    summary: str
    payload: str  # JSON text (codec-checked)
    queue: str
    agent_type: str | None
    status: str
    priority: int
    source: str
    rank: int
    patience: int
    deadline_cap: int | None
    ready_at: int | None
    not_before: int
    deadline: int | None
    estimated_us: int | None
    max_attempts: int
    timeout_us: int
    parent_id: str | None
    session_id: str | None
    idempotency_key: str | None
    on_dependency_failure: str
    deps: list[str]
    waiting: int
    dependants: int
    depth: int
    metadata: str  # JSON text (codec-checked)
    created_at: int
    updated_at: int
    finished_at: int | None
    error: str | None


class Prereq(NamedTuple):
    id: str
    status: str
    depth: int


class PlanNode(NamedTuple):
    id: str
    status: str
    deps: list[str]


class Expired(NamedTuple):
    id: str
    attempt: int
    max_attempts: int


class OpenDependant(NamedTuple):
    id: str
    status: str
    on_dependency_failure: str
    waiting: int


class StatusCount(NamedTuple):
    queue: str
    status: str
    n: int


class ClaimSpec(NamedTuple):
    """A validated claim: who claims, from which queues, for which agent types (None: any)."""

    worker_id: str
    queues: tuple[str, ...]
    types: tuple[str, ...] | None
    lease: int  # µs
    limit: int


class TaskFilter(NamedTuple):
    """``tasks.list``'s filters (None: not filtered on)."""

    statuses: list[str] | None = None
    queue: str | None = None
    agent_type: str | None = None
    parent_id: str | None = None
    session_id: str | None = None
    queues: Grant | None = None  # a scoped view's queue rules


def task_record(
    at: int, actor: str | None, action: str, task_id: str, detail: Mapping[str, Any] | None = None
) -> AuditRecord:
    """A task change's audit row (its chain link, ``prev``, is the engine's to fill)."""
    return _new(AuditRecord, (at, actor, action, "task", task_id, None, detail, None, None, None))


class TaskOps(Protocol):
    """The task queue's statements. Operations with ``tx`` run in the caller's transaction."""

    # -- stand-alone reads ------------------------------------------------------------------------
    def get(self, task_id: str) -> TaskRow | None:
        """The task, or None."""
        ...

    def list(self, spec: TaskFilter, before: str | None, limit: int) -> builtins.list[TaskRow]:
        """Tasks matching ``spec``, newest (highest id) first, ids below ``before``, at most ``limit``."""
        ...

    def children(self, task_id: str) -> builtins.list[TaskRow]:
        """Direct subtasks, oldest first."""
        ...

    def subtree(self, root_id: str) -> builtins.list[TaskRow]:
        """The task and its subtasks, transitively, in id order."""
        ...

    def dependencies(self, task_id: str) -> builtins.list[TaskRow]:
        """The tasks ``task_id`` waits for, in id order."""
        ...

    def dependants(self, task_id: str) -> builtins.list[TaskRow]:
        """The tasks waiting for ``task_id``, in id order."""
        ...

    def has_open_work(self, queue: str) -> bool:
        """Whether the queue holds a blocked, ready or running task."""
        ...

    def ids_matching(self, fragment: str, limit: int) -> builtins.list[str]:
        """Ids containing ``fragment``, in id order, at most ``limit``."""
        ...

    # -- reads in a transaction ------------------------------------------------------------------
    def read(self, tx: Any, task_id: str) -> TaskRow | None:
        """The task as this transaction sees it, or None."""
        ...

    def lock(self, tx: Any, task_id: str) -> TaskRow | None:
        """The task, or None; no other transaction changes it until this one ends."""
        ...

    def read_many(self, tx: Any, ids: Sequence[str]) -> builtins.list[TaskRow]:
        """The tasks with these ids (any order; unknown ids left out)."""
        ...

    def plan_nodes(self, tx: Any, ids: Sequence[str]) -> builtins.list[PlanNode]:
        """Status and prerequisites of each known id."""
        ...

    def counts(self, tx: Any) -> builtins.list[StatusCount]:
        """How many tasks per queue and status."""
        ...

    def oldest_ready(self, tx: Any) -> int | None:
        """The earliest ``ready_at`` of a ready task."""
        ...

    def finished_since(self, tx: Any, since: int) -> tuple[int, int]:
        """Tasks completed and failed since ``since``."""
        ...

    # -- submitting --------------------------------------------------------------------------------
    def id_for_key(self, tx: Any, key: str) -> str | None:
        """The task with this idempotency key, or None."""
        ...

    def prerequisites(self, tx: Any, ids: Sequence[str]) -> builtins.list[Prereq]:
        """Status and depth of each known id, locked until the transaction ends (a completion
        on another connection then releases the new dependants, or has been seen to)."""
        ...

    def session_exists(self, tx: Any, session_id: str) -> bool: ...

    def insert(
        self, tx: Any, tasks: Sequence[NewTask], edges: Sequence[tuple[str, str]], audits: Sequence[AuditRecord]
    ) -> None:
        """Insert new tasks, their ``(task, prerequisite)`` edges and their submit audit rows
        (``audits[i]`` is ``tasks[i]``'s, and becomes its chain's head)."""
        ...

    def add_dependant(self, tx: Any, task_id: str, bonus: int) -> None:
        """One more dependant for an open task: its patience shrinks by ``bonus`` (for its first
        20 dependants) and, if ready, its rank moves earlier."""
        ...

    # -- leases ------------------------------------------------------------------------------------
    def claim(self, tx: Any, now: int, spec: ClaimSpec, token: str) -> builtins.list[TaskRow]:
        """Move up to ``spec.limit`` of the most urgent claimable tasks (rank, then id; ready,
        ``not_before`` passed, of ``spec.queues`` and, with ``spec.types``, of those agent types or
        untyped) to running under ``token``; audited ``task.claim`` ``{"attempt": n}``. Tasks that
        other transactions hold are skipped, never waited for."""
        ...

    def expired(self, tx: Any, now: int) -> builtins.list[Expired]:
        """Running tasks whose lease ended before ``now`` (at most 1,000)."""
        ...

    def rescue(self, tx: Any, task_id: str, now: int, reason: str) -> None:
        """A running task whose lease expired goes back to ready with its first ready time."""
        ...

    def heartbeat(self, tx: Any, task_id: str, token: str, now: int, lease: int | None) -> bool:
        """Extend a running task's lease (never past its timeout); audited ``task.heartbeat``.
        False (nothing written) if it is not running under ``token``."""
        ...

    def complete(self, tx: Any, task_id: str, token: str, result: str, now: int) -> builtins.list[str] | None:
        """Complete a running task (``result``: JSON text) and release its dependants; audited
        ``task.complete`` ``{"released": n}`` and ``task.ready`` ``{"after": id}`` per released
        one. Returns the released ids; None (nothing written) if it is not running under ``token``."""
        ...

    def finish_running(
        self,
        tx: Any,
        task_id: str,
        token: str | None,
        now: int,
        status: str,
        error: str | None,
        ready_at: int,
        hand_back: bool,
    ) -> bool:
        """A running task's attempt ends: ``status`` "ready" (claimable from ``ready_at``) or
        "failed"; ``hand_back`` un-counts the attempt. False if it is not running (under ``token``)."""
        ...

    # -- the DAG -----------------------------------------------------------------------------------
    def open_dependants(self, tx: Any, task_id: str) -> builtins.list[OpenDependant]: ...

    def release_one(self, tx: Any, task_id: str, now: int) -> None:
        """A blocked task waits for one prerequisite fewer (ready when none is left)."""
        ...

    def end(self, tx: Any, ids: Sequence[str], status: str, reason: str, now: int) -> builtins.list[str]:
        """Cancel or fail open tasks; the ids that were open."""
        ...

    def downstream(self, tx: Any, task_id: str) -> builtins.list[str]:
        """Every open task below ``task_id``: its dependants and subtasks, transitively."""
        ...

    def retry(self, tx: Any, task_id: str, status: str, waiting: int, now: int) -> None:
        """A failed or cancelled task queued again with fresh attempts."""
        ...

    def rewait_dependants(self, tx: Any, task_id: str, now: int) -> int:
        """Blocked dependants of a retried task wait for it again; how many."""
        ...

    def prerequisite_states(self, tx: Any, task_id: str) -> builtins.list[tuple[str, str]]:
        """``(id, status)`` of each prerequisite, locked until the transaction ends."""
        ...

    def audit(self, tx: Any, records: Sequence[AuditRecord]) -> None:
        """Write task audit rows (``task_record``), each linked into its task's chain."""
        ...

    # -- retention ---------------------------------------------------------------------------------
    def prunable(self, tx: Any, before: int, statuses: Sequence[str], limit: int) -> builtins.list[str]:
        """Tasks of ``statuses`` finished before ``before`` that no open task depends on or has as parent."""
        ...

    def delete(self, tx: Any, ids: Sequence[str], at: int, actor: str | None) -> None:
        """Delete tasks and their edges, each with a ``task.prune`` audit row ending its chain."""
        ...
