"""The PostgreSQL engine's tasks operations (``engine.tasks``): SQL text in ``sql/tasks.sql``.

Many hosts share the queue: claims lock their tasks as they pick them and skip those others hold
(``FOR UPDATE SKIP LOCKED``, one statement a batch); changes through a lease are conditional
UPDATEs; rows read to decide a change are locked (``lock``, ``prerequisites``). A task's audit
rows are written through ``write_audit`` (ids from the log's sequence) after its change has
returned the chain head they link to; the change's transaction then makes them the heads. New
ready work wakes the workers of its queue (``notify`` on ``queue_channel(queue)``) at commit.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from ..base import load_queries
from ..ops.audit import AuditRecord
from ..ops.tasks import (
    TASK_ROW_WIDTH,
    ClaimSpec,
    Expired,
    NewTask,
    OpenDependant,
    PlanNode,
    Prereq,
    StatusCount,
    TaskFilter,
    TaskRow,
    queue_channel,
)
from ..where import Where, task_where
from .audit import write_audit

Q = load_queries(__package__ or "swarmstore.engine.postgres")
_new = tuple.__new__
_TASK = "task"


class PgTaskOps:
    """``TaskOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._run = runner

    def _wake(self, tx: Any, queues: Iterable[str]) -> None:
        for queue in set(queues):
            self._run.notify(tx, queue_channel(queue))

    def _set_heads(self, tx: Any, heads: dict[str, int]) -> None:
        if heads:
            tx.execute(Q.pg_task_set_heads, (builtins.list(heads), builtins.list(heads.values())))

    def _linked(self, tx: Any, records: Sequence[AuditRecord], heads: dict[str, int | None]) -> dict[str, int]:
        """Write ``records``, each after its task's head (``heads``, updated: a task may have
        several rows in one call); the new head of each task."""
        out: dict[str, int] = {}
        todo = builtins.list(records)
        while todo:
            now_round: builtins.list[AuditRecord] = []
            later: builtins.list[AuditRecord] = []
            seen: set[str] = set()
            for r in todo:
                (later if r.entity_id in seen else now_round).append(r)
                seen.add(r.entity_id)
            ids = write_audit(tx, [r._replace(prev=heads.get(r.entity_id)) for r in now_round])
            for r, aid in zip(now_round, ids, strict=True):
                heads[r.entity_id] = out[r.entity_id] = aid
            todo = later
        return out

    # -- stand-alone reads ------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskRow | None:
        rows = self._run.query(Q.pg_task_get, (task_id,))
        return rows[0] if rows else None

    def list(self, spec: TaskFilter, before: str | None, limit: int) -> builtins.list[TaskRow]:
        where = task_where(spec, before, Where("%s", arrays=True))
        return self._run.query(*where.query(Q.pg_task_select, "id DESC", limit))  # type: ignore[no-any-return]

    def children(self, task_id: str) -> builtins.list[TaskRow]:
        return self._run.query(Q.pg_task_children, (task_id,))  # type: ignore[no-any-return]

    def subtree(self, root_id: str) -> builtins.list[TaskRow]:
        return self._run.query(Q.pg_task_subtree, (root_id,))  # type: ignore[no-any-return]

    def dependencies(self, task_id: str) -> builtins.list[TaskRow]:
        return self._run.query(Q.pg_task_dependencies, (task_id,))  # type: ignore[no-any-return]

    def dependants(self, task_id: str) -> builtins.list[TaskRow]:
        return self._run.query(Q.pg_task_dependants, (task_id,))  # type: ignore[no-any-return]

    def has_open_work(self, queue: str) -> bool:
        return bool(self._run.query(Q.pg_task_open_in_queue, {"q": queue})[0][0])

    def ids_matching(self, fragment: str, limit: int) -> builtins.list[str]:
        return [r[0] for r in self._run.query(Q.pg_task_ids_matching, (fragment, limit))]

    # -- reads in a transaction ------------------------------------------------------------------

    def read(self, tx: Any, task_id: str) -> TaskRow | None:
        row = tx.execute(Q.pg_task_get, (task_id,)).fetchone()
        return row  # type: ignore[no-any-return]

    def lock(self, tx: Any, task_id: str) -> TaskRow | None:
        row = tx.execute(Q.pg_task_lock, (task_id,)).fetchone()
        return row  # type: ignore[no-any-return]

    def read_many(self, tx: Any, ids: Sequence[str]) -> builtins.list[TaskRow]:
        return tx.execute(Q.pg_tasks_by_ids, (builtins.list(ids),)).fetchall()  # type: ignore[no-any-return]

    def plan_nodes(self, tx: Any, ids: Sequence[str]) -> builtins.list[PlanNode]:
        rows = tx.execute(Q.pg_task_plan_nodes, (builtins.list(ids),)).fetchall()
        return [PlanNode(i, s, orjson.loads(d)) for i, s, d in rows]

    def counts(self, tx: Any) -> builtins.list[StatusCount]:
        return [_new(StatusCount, r) for r in tx.execute(Q.pg_task_counts).fetchall()]

    def oldest_ready(self, tx: Any) -> int | None:
        value = tx.execute(Q.pg_task_oldest_ready).fetchone()[0]
        return None if value is None else int(value)

    def finished_since(self, tx: Any, since: int) -> tuple[int, int]:
        completed, failed = tx.execute(Q.pg_task_finished_since, (since,)).fetchone()
        return int(completed), int(failed)

    # -- submitting --------------------------------------------------------------------------------

    def id_for_key(self, tx: Any, key: str) -> str | None:
        row = tx.execute(Q.pg_task_by_key, (key,)).fetchone()
        return None if row is None else str(row[0])

    def prerequisites(self, tx: Any, ids: Sequence[str]) -> builtins.list[Prereq]:
        return [_new(Prereq, r) for r in tx.execute(Q.pg_task_prereqs, (builtins.list(ids),)).fetchall()]

    def session_exists(self, tx: Any, session_id: str) -> bool:
        return tx.execute(Q.pg_task_session_exists, (session_id,)).fetchone() is not None

    def insert(
        self, tx: Any, tasks: Sequence[NewTask], edges: Sequence[tuple[str, str]], audits: Sequence[AuditRecord]
    ) -> None:
        if len(tasks) == 1 == len(audits):  # (one round trip less: the id is not read back)
            t = tasks[0]
            write_audit(tx, audits, read_ids=False)
            tx.execute(Q.pg_task_insert_one, (*t[:21], orjson.dumps(t.deps).decode(), *t[22:]))
        else:
            self._insert_many(tx, tasks, audits)
        if edges:
            tx.executemany(Q.pg_task_dep_insert, edges)
        self._wake(tx, (t.queue for t in tasks if t.status == "ready"))

    @staticmethod
    def _insert_many(tx: Any, tasks: Sequence[NewTask], audits: Sequence[AuditRecord]) -> None:
        heads = write_audit(tx, audits)  # (new tasks: no chain before their submit row)
        tx.executemany(
            Q.pg_task_insert,
            [(*t[:21], orjson.dumps(t.deps).decode(), *t[22:], h) for t, h in zip(tasks, heads, strict=True)],
        )

    def add_dependant(self, tx: Any, task_id: str, bonus: int) -> None:
        tx.execute(Q.pg_task_add_dependant, {"id": task_id, "bonus": bonus})

    # -- leases ------------------------------------------------------------------------------------

    def claim(self, tx: Any, now: int, spec: ClaimSpec, token: str) -> builtins.list[TaskRow]:
        args: dict[str, Any] = {
            "token": token, "lease": spec.lease, "now": now, "worker": spec.worker_id, "limit": spec.limit,
            "types": None if spec.types is None else builtins.list(spec.types),
        }  # fmt: skip
        if len(spec.queues) > 1:
            args["queues"] = builtins.list(spec.queues)
            sql = Q.pg_task_claim_queues
        else:
            args["queue"] = spec.queues[0]
            sql = Q.pg_task_claim if spec.types is None else Q.pg_task_claim_typed
        got = tx.execute(sql, args).fetchall()
        if not got:
            return []
        got.sort(key=lambda r: (r[8], r[0]))  # (rank, id): RETURNING has no order
        rows: builtins.list[TaskRow] = [r[:TASK_ROW_WIDTH] for r in got]
        worker = spec.worker_id
        ids = write_audit(
            tx,
            [AuditRecord(now, worker, "task.claim", _TASK, g[0], None, {"attempt": g[11]}, None, None, g[TASK_ROW_WIDTH])
             for g in got],
        )  # fmt: skip
        self._set_heads(tx, {g[0]: aid for g, aid in zip(got, ids, strict=True)})
        return rows

    def expired(self, tx: Any, now: int) -> builtins.list[Expired]:
        return [_new(Expired, r) for r in tx.execute(Q.pg_task_expired, (now,)).fetchall()]

    def rescue(self, tx: Any, task_id: str, now: int, reason: str) -> None:
        self._wake(tx, [r[0] for r in tx.execute(Q.pg_task_rescue, (reason, now, task_id)).fetchall()])

    def heartbeat(self, tx: Any, task_id: str, token: str, now: int, lease: int | None) -> bool:
        row = tx.execute(Q.pg_task_heartbeat, {"id": task_id, "token": token, "now": now, "lease": lease}).fetchone()
        if row is None:
            return False
        [aid] = write_audit(
            tx, [AuditRecord(now, row[1], "task.heartbeat", _TASK, task_id, None, None, None, None, row[0])]
        )
        self._set_heads(tx, {task_id: aid})
        return True

    def complete(self, tx: Any, task_id: str, token: str, result: str, now: int) -> builtins.list[str] | None:
        row = tx.execute(Q.pg_task_complete, (result, now, now, task_id, token)).fetchone()
        if row is None:
            return None
        dependants, head, worker = row  # (the lease holder acts: the audit's actor)
        released: builtins.list[tuple[str, int | None, str]] = []
        if dependants:
            got = tx.execute(Q.pg_task_release_dependants, {"id": task_id, "now": now}).fetchall()
            released = sorted((r[0], r[2], r[3]) for r in got if r[1] == "ready")
        records = [
            AuditRecord(now, worker, "task.complete", _TASK, task_id, None, {"released": len(released)}, None, None, head)
        ]
        after = {"after": task_id}
        records += [AuditRecord(now, worker, "task.ready", _TASK, r, None, after, None, None, h) for r, h, _q in released]
        ids = write_audit(tx, records)
        self._set_heads(tx, {r.entity_id: aid for r, aid in zip(records, ids, strict=True)})
        self._wake(tx, (q for _r, _h, q in released))
        return [r for r, _h, _q in released]

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
        args = {"id": task_id, "token": token, "now": now, "status": status, "error": error, "ready_at": ready_at,
                "back": 1 if hand_back else 0}  # fmt: skip
        rows = tx.execute(Q.pg_task_finish_running, args).fetchall()
        if status == "ready":
            self._wake(tx, (r[0] for r in rows))
        return bool(rows)

    # -- the DAG -----------------------------------------------------------------------------------

    def open_dependants(self, tx: Any, task_id: str) -> builtins.list[OpenDependant]:
        return [_new(OpenDependant, r) for r in tx.execute(Q.pg_task_dependants_open, (task_id,)).fetchall()]

    def release_one(self, tx: Any, task_id: str, now: int) -> None:
        rows = tx.execute(Q.pg_task_release_one, {"id": task_id, "now": now}).fetchall()
        self._wake(tx, (q for s, q in rows if s == "ready"))

    def end(self, tx: Any, ids: Sequence[str], status: str, reason: str, now: int) -> builtins.list[str]:
        if not ids:
            return []
        args = {"ids": builtins.list(ids), "status": status, "reason": reason, "now": now}
        ended = {r[0] for r in tx.execute(Q.pg_task_end, args).fetchall()}
        return [i for i in ids if i in ended]

    def downstream(self, tx: Any, task_id: str) -> builtins.list[str]:
        return [r[0] for r in tx.execute(Q.pg_task_downstream, {"id": task_id}).fetchall()]

    def retry(self, tx: Any, task_id: str, status: str, waiting: int, now: int) -> None:
        args = {"id": task_id, "status": status, "waiting": waiting, "now": now}
        rows = tx.execute(Q.pg_task_retry, args).fetchall()
        if status == "ready":
            self._wake(tx, (r[0] for r in rows))

    def rewait_dependants(self, tx: Any, task_id: str, now: int) -> int:
        return len(tx.execute(Q.pg_task_rewait_dependants, {"id": task_id, "now": now}).fetchall())

    def prerequisite_states(self, tx: Any, task_id: str) -> builtins.list[tuple[str, str]]:
        return [(i, s) for i, s in tx.execute(Q.pg_task_prereq_states, (task_id,)).fetchall()]

    def audit(self, tx: Any, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        ids = builtins.list(dict.fromkeys(r.entity_id for r in records))
        heads: dict[str, int | None] = dict(tx.execute(Q.pg_task_heads, (ids,)).fetchall())
        self._set_heads(tx, self._linked(tx, records, heads))

    # -- retention ---------------------------------------------------------------------------------

    def prunable(self, tx: Any, before: int, statuses: Sequence[str], limit: int) -> builtins.list[str]:
        rows = tx.execute(Q.pg_task_prunable, (before, builtins.list(statuses), limit)).fetchall()
        return [r[0] for r in rows]

    def delete(self, tx: Any, ids: Sequence[str], at: int, actor: str | None) -> None:
        # the audit rows first, each after its task's chain (no head points at a prune row)
        gone = builtins.list(ids)
        heads: dict[str, int | None] = dict(tx.execute(Q.pg_task_heads, (gone,)).fetchall())
        self._linked(tx, [AuditRecord(at, actor, "task.prune", _TASK, i) for i in gone], heads)
        tx.execute(Q.pg_task_deps_delete, (gone,))
        tx.execute(Q.pg_task_delete, (gone,))
