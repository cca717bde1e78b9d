"""The SQLite engine's tasks operations (``engine.tasks``): SQL text in ``sql/tasks.sql``.

Audit rows go through ``write_audit`` after the engine has read the task's chain head (its
``prev``); the change then makes the new row the head. Every write runs under SQLite's write lock
(one writer at a time), so rows read in the transaction stay as read until it ends.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import orjson

from ..base import load_queries
from ..ops.audit import AuditRecord
from ..ops.tasks import (
    ClaimSpec,
    Expired,
    NewTask,
    OpenDependant,
    PlanNode,
    Prereq,
    StatusCount,
    TaskFilter,
    TaskRow,
)
from ..where import Where, task_where
from .audit import write_audit

Q = load_queries(__package__ or "swarmstore.engine.sqlite")
_new = tuple.__new__
_DEPS = NewTask._fields.index("deps")
_dumps = orjson.dumps
_TASK = "task"
# tasks_status leaves ready and running tasks out; saying so lets the planner use it


def _json_list(values: Sequence[str]) -> str:
    return _dumps(builtins.list(values)).decode()


def _linked(cur: Any, records: Sequence[AuditRecord], heads: dict[str, int | None]) -> dict[str, int]:
    """Write ``records``, each chained after its task's head (``heads``, updated in place: a task
    may have several rows in one call); the new head of each task."""
    out: dict[str, int] = {}
    todo = builtins.list(records)
    while todo:
        now_round: builtins.list[AuditRecord] = []
        later: builtins.list[AuditRecord] = []
        seen: set[str] = set()
        for r in todo:
            (later if r.entity_id in seen else now_round).append(r)
            seen.add(r.entity_id)
        ids = write_audit(cur, [r._replace(prev=heads.get(r.entity_id)) for r in now_round])
        for r, aid in zip(now_round, ids, strict=True):
            heads[r.entity_id] = out[r.entity_id] = aid
        todo = later
    return out


class SqliteTaskOps:
    """``TaskOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        self._run = runner

    # -- stand-alone reads ------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskRow | None:
        rows = self._run.query(Q.task_get, (task_id,))
        return rows[0] if rows else None

    def list(self, spec: TaskFilter, before: str | None, limit: int) -> builtins.list[TaskRow]:
        where = task_where(spec, before, Where())
        return self._run.query(*where.query(Q.task_select, "id DESC", limit))  # type: ignore[no-any-return]

    def children(self, task_id: str) -> builtins.list[TaskRow]:
        return self._run.query(Q.task_children, (task_id,))  # type: ignore[no-any-return]

    def subtree(self, root_id: str) -> builtins.list[TaskRow]:
        return self._run.query(Q.task_subtree, (root_id,))  # type: ignore[no-any-return]

    def dependencies(self, task_id: str) -> builtins.list[TaskRow]:
        return self._run.query(Q.task_dependencies, (task_id,))  # type: ignore[no-any-return]

    def dependants(self, task_id: str) -> builtins.list[TaskRow]:
        return self._run.query(Q.task_dependants, (task_id,))  # type: ignore[no-any-return]

    def has_open_work(self, queue: str) -> bool:
        return bool(self._run.query(Q.task_open_in_queue, (queue,))[0][0])

    def ids_matching(self, fragment: str, limit: int) -> builtins.list[str]:
        return [r[0] for r in self._run.query(Q.task_ids_matching, (fragment, limit))]

    # -- reads in a transaction ------------------------------------------------------------------

    def read(self, tx: Any, task_id: str) -> TaskRow | None:
        rows = tx.execute(Q.task_get, (task_id,)).fetchall()
        return rows[0] if rows else None

    lock = read  # (the write lock keeps every row as read until the transaction ends)

    def read_many(self, tx: Any, ids: Sequence[str]) -> builtins.list[TaskRow]:
        return tx.execute(Q.tasks_by_ids, (_json_list(ids),)).fetchall()  # type: ignore[no-any-return]

    def plan_nodes(self, tx: Any, ids: Sequence[str]) -> builtins.list[PlanNode]:
        return [PlanNode(i, s, orjson.loads(d)) for i, s, d in tx.execute(Q.task_plan_nodes, (_json_list(ids),))]

    def counts(self, tx: Any) -> builtins.list[StatusCount]:
        return [_new(StatusCount, r) for r in tx.execute(Q.task_counts)]

    def oldest_ready(self, tx: Any) -> int | None:
        value: int | None = tx.execute(Q.task_oldest_ready).fetchall()[0][0]
        return value

    def finished_since(self, tx: Any, since: int) -> tuple[int, int]:
        completed, failed = tx.execute(Q.task_finished_since, (since,)).fetchall()[0]
        return completed, failed

    # -- submitting --------------------------------------------------------------------------------

    def id_for_key(self, tx: Any, key: str) -> str | None:
        rows = tx.execute(Q.task_by_key, (key,)).fetchall()
        return rows[0][0] if rows else None

    def prerequisites(self, tx: Any, ids: Sequence[str]) -> builtins.list[Prereq]:
        return [_new(Prereq, r) for r in tx.execute(Q.task_prereqs, (_json_list(ids),))]

    def session_exists(self, tx: Any, session_id: str) -> bool:
        return bool(tx.execute(Q.task_session_exists, (session_id,)).fetchall())

    def insert(
        self, tx: Any, tasks: Sequence[NewTask], edges: Sequence[tuple[str, str]], audits: Sequence[AuditRecord]
    ) -> None:
        heads = write_audit(tx, audits)  # (new tasks: no chain before their submit row)
        rows = []
        for task, head in zip(tasks, heads, strict=True):
            row = list(task)  # (a list edited in place: half the cost of splicing the tuple)
            row[_DEPS] = _dumps(task.deps).decode()  # (JSON text, for json_each)
            row.append(head)
            rows.append(row)
        if len(rows) == 1:  # (a lone submit: execute costs less than an executemany of one)
            tx.execute(Q.task_insert, rows[0])
        else:
            tx.executemany(Q.task_insert, rows)
        if edges:
            tx.executemany(Q.task_dep_insert, edges)

    def add_dependant(self, tx: Any, task_id: str, bonus: int) -> None:
        tx.execute(Q.task_add_dependant, (task_id, bonus))

    # -- leases ------------------------------------------------------------------------------------

    def claim(self, tx: Any, now: int, spec: ClaimSpec, token: str) -> builtins.list[TaskRow]:
        found: builtins.list[Any] = []
        types = None if spec.types is None else _json_list(spec.types)
        for qn in spec.queues:
            if types is None:
                found += tx.execute(Q.task_candidates, (qn, now, spec.limit)).fetchall()
            else:
                found += tx.execute(Q.task_candidates_typed, (qn, now, types, spec.limit)).fetchall()
        if not found:
            return []
        if len(spec.queues) > 1:
            found.sort(key=lambda r: (r[1], r[0]))
            del found[spec.limit :]
        worker = spec.worker_id
        ids = write_audit(
            tx, [_new(AuditRecord, (now, worker, "task.claim", _TASK, tid, None, {"attempt": attempt + 1}, None, None, head))
                 for tid, _rank, attempt, head in found],
        )  # fmt: skip
        claim = Q.task_claim
        lease = spec.lease
        return [
            tx.execute(claim, (r[0], token, lease, now, worker, aid)).fetchall()[0]
            for r, aid in zip(found, ids, strict=True)
        ]

    def expired(self, tx: Any, now: int) -> builtins.list[Expired]:
        return [_new(Expired, r) for r in tx.execute(Q.task_expired, (now,))]

    def rescue(self, tx: Any, task_id: str, now: int, reason: str) -> None:
        tx.execute(Q.task_rescue, (task_id, now, reason))

    def heartbeat(self, tx: Any, task_id: str, token: str, now: int, lease: int | None) -> bool:
        rows = tx.execute(Q.task_heartbeat, (task_id, token, now, lease)).fetchall()
        if not rows:
            return False
        [aid] = write_audit(
            tx, [AuditRecord(now, rows[0][1], "task.heartbeat", _TASK, task_id, None, None, None, None, rows[0][0])]
        )
        tx.execute(Q.task_set_audit_head, (task_id, aid))
        return True

    def complete(self, tx: Any, task_id: str, token: str, result: str, now: int) -> builtins.list[str] | None:
        rows = tx.execute(Q.task_lease_check, (task_id,)).fetchall()
        if not rows or rows[0][0] != "running" or rows[0][1] != token:
            return None
        _status, _token, dependants, head, worker = rows[0]  # (the lease holder acts: the audit's actor)
        released: builtins.list[tuple[str, int | None]] = []
        if dependants:
            released = [(r[0], r[2]) for r in tx.execute(Q.task_release_dependants, (task_id, now)) if r[1] == "ready"]
        records = [_new(AuditRecord, (now, worker, "task.complete", _TASK, task_id, None, {"released": len(released)},
                                      None, None, head))]  # fmt: skip
        if released:
            after = {"after": task_id}
            records += [AuditRecord(now, worker, "task.ready", _TASK, r, None, after, None, None, h) for r, h in released]
        ids = write_audit(tx, records)
        tx.execute(Q.task_complete, (task_id, result, now, ids[0]))
        if released:
            tx.executemany(Q.task_set_audit_head, [(r, aid) for (r, _h), aid in zip(released, ids[1:], strict=True)])
        return [r for r, _h in released]

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
        args = (task_id, token, now, status, error, ready_at, 1 if hand_back else 0)
        return bool(tx.execute(Q.task_finish_running, args).fetchall())

    # -- the DAG -----------------------------------------------------------------------------------

    def open_dependants(self, tx: Any, task_id: str) -> builtins.list[OpenDependant]:
        return [_new(OpenDependant, r) for r in tx.execute(Q.task_dependants_open, (task_id,))]

    def release_one(self, tx: Any, task_id: str, now: int) -> None:
        tx.execute(Q.task_release_one, (task_id, now)).fetchall()

    def end(self, tx: Any, ids: Sequence[str], status: str, reason: str, now: int) -> builtins.list[str]:
        return [i for i in ids if tx.execute(Q.task_end, (i, status, reason, now)).fetchall()]

    def downstream(self, tx: Any, task_id: str) -> builtins.list[str]:
        return [r[0] for r in tx.execute(Q.task_downstream, (task_id,))]

    def retry(self, tx: Any, task_id: str, status: str, waiting: int, now: int) -> None:
        tx.execute(Q.task_retry, (task_id, status, waiting, now)).fetchall()

    def rewait_dependants(self, tx: Any, task_id: str, now: int) -> int:
        return len(tx.execute(Q.task_rewait_dependants, (task_id, now)).fetchall())

    def prerequisite_states(self, tx: Any, task_id: str) -> builtins.list[tuple[str, str]]:
        return [(i, s) for i, s in tx.execute(Q.task_prereq_states, (task_id,))]

    def audit(self, tx: Any, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        if len(records) == 1:
            tid = records[0].entity_id
            heads: dict[str, int | None] = {tid: tx.execute(Q.task_head, (tid,)).fetchall()[0][0]}
        else:
            heads = dict(
                tx.execute(
                    Q.task_heads, (_json_list(builtins.list(dict.fromkeys(r.entity_id for r in records))),)
                ).fetchall()
            )
        tx.executemany(Q.task_set_audit_head, _linked(tx, records, heads).items())

    # -- retention ---------------------------------------------------------------------------------

    def prunable(self, tx: Any, before: int, statuses: Sequence[str], limit: int) -> builtins.list[str]:
        return [r[0] for r in tx.execute(Q.task_prunable, (before, _json_list(statuses), limit))]

    def delete(self, tx: Any, ids: Sequence[str], at: int, actor: str | None) -> None:
        # the audit rows first: each links to its task's chain before the task is gone (no head
        # points at a prune row: the task's row goes)
        heads = dict(tx.execute(Q.task_heads, (_json_list(ids),)).fetchall())
        _linked(tx, [AuditRecord(at, actor, "task.prune", _TASK, i) for i in ids], heads)
        gone = [(i,) for i in ids]
        tx.executemany(Q.task_deps_delete, gone)
        tx.executemany(Q.task_delete, gone)
