"""The DAG: what happens downstream when a task ends without completing, cancel, retry, plan."""

from __future__ import annotations

import builtins
from typing import Any

from ..boundary import checked
from ..engine.base import Engine
from ..engine.ops.tasks import task_record
from ..errors import InvalidTransition, NotFound
from ..models import Task
from ..params import Flag, Id, Ids, Name, Reason
from ..validation import as_list
from .ranking import UNBLOCK_BONUS
from .rows import FINISHED, OPEN, TaskService


def propagate(e: Engine, tx: Any, root: str, status: str, now: int, actor: str | None) -> None:
    """A task ended without completing: apply each open dependant's failure policy, transitively
    (audited as ``actor``'s doing: whoever ended it)."""
    ops = e.tasks
    frontier = [(root, status)]
    while frontier:
        tid, why = frontier.pop()
        for dep in ops.open_dependants(tx, tid):
            if dep.on_dependency_failure == "run":
                ops.release_one(tx, dep.id, now)
                continue
            new_status = "cancelled" if dep.on_dependency_failure == "cancel" else "failed"
            reason = f"dependency {tid} {why}"
            if ops.end(tx, [dep.id], new_status, reason, now):
                action = f"task.{'cancel' if new_status == 'cancelled' else 'fail'}"
                ops.audit(tx, [task_record(now, actor, action, dep.id, {"reason": reason})])
                frontier.append((dep.id, new_status))


class Dag(TaskService):
    @checked
    def cancel(
        self, task_id: Id, cascade: Flag = True, reason: Reason | None = None, *, actor: Name | None = None
    ) -> Task:
        """Cancel a task and, with ``cascade``, every unfinished task downstream of it (its
        dependants and subtasks, transitively). A running task is marked cancelled: its worker
        learns at its next heartbeat. Completed tasks are never touched. Without ``cascade`` the
        dependants follow their ``on_dependency_failure`` policy."""
        actor = actor or self._ctx.actor
        why = "cancelled" if reason is None else reason

        def op(tx: Any) -> Task:
            ops = self._e.tasks
            now = self._now()
            task = self._fetch_one(tx, task_id, now, lock=True)
            if task.status == "cancelled":
                return task
            if task.status in FINISHED:
                raise InvalidTransition(f"task {task_id} is {task.status}; finished tasks cannot be cancelled")
            ops.end(tx, [task_id], "cancelled", why, now)
            records = [task_record(now, actor, "task.cancel", task_id, {"reason": why})]
            if cascade:
                reason_below = f"upstream task {task_id} cancelled"
                below = ops.end(tx, ops.downstream(tx, task_id), "cancelled", reason_below, now)
                detail = {"reason": reason_below}
                records += [task_record(now, actor, "task.cancel", tid, detail) for tid in below]
            else:
                propagate(self._e, tx, task_id, "cancelled", now, actor)
            ops.audit(tx, records)
            return self._fetch_one(tx, task_id, now)

        return self._e.write(op)

    @checked
    def retry(self, task_id: Id, *, actor: Name | None = None) -> Task:
        """Queue a failed or cancelled task again with fresh attempts (``blocked`` if it still
        waits on prerequisites). Its dependants that were cancelled stay cancelled; blocked ones
        that had counted it as settled (``on_dependency_failure="run"``) wait for it again."""
        actor = actor or self._ctx.actor

        def op(tx: Any) -> Task:
            ops = self._e.tasks
            now = self._now()
            task = self._fetch_one(tx, task_id, now, lock=True)
            if task.status not in ("failed", "cancelled"):
                raise InvalidTransition(
                    f"task {task_id} is {task.status}; only failed or cancelled tasks can be retried"
                )
            waiting = 0
            for pid, pstatus in ops.prerequisite_states(tx, task_id):
                if pstatus in ("failed", "cancelled") and task.on_dependency_failure != "run":
                    raise InvalidTransition(f"task {task_id}: prerequisite {pid} is {pstatus}; retry it first")
                if pstatus in OPEN:
                    waiting += 1
            status = "blocked" if waiting else "ready"
            ops.retry(tx, task_id, status, waiting, now)
            rewaiting = ops.rewait_dependants(tx, task_id, now)
            # Those attached while it was already settled were never counted as its dependants
            # (its score, the release on completion): count them now, once.
            for _ in range(rewaiting - task.dependants):
                ops.add_dependant(tx, task_id, UNBLOCK_BONUS)
            detail = {"status": status, "dependants_waiting_again": rewaiting}
            ops.audit(tx, [task_record(now, actor, "task.retry", task_id, detail)])
            return self._fetch_one(tx, task_id, now)

        return self._e.write(op)

    @checked
    def plan(self, task_ids: Ids) -> builtins.list[builtins.list[str]]:
        """Topological batches to finish ``task_ids``: each batch's tasks may run in parallel once
        the batches before it are done. Unfinished prerequisites are included; completed ones are not."""
        ids = as_list(task_ids)
        if not ids:
            return []

        def walk(tx: Any) -> dict[str, builtins.list[str]]:
            # Breadth-first through unfinished prerequisites, one statement per level.
            status: dict[str, str] = {}
            deps: dict[str, builtins.list[str]] = {}
            frontier = builtins.list(dict.fromkeys(ids))
            while frontier:
                for node in self._e.tasks.plan_nodes(tx, frontier):
                    status[node.id] = node.status
                    if node.status != "completed":
                        deps[node.id] = node.deps
                if len(status) < len(set(ids)):
                    missing = [t for t in ids if t not in status]
                    raise NotFound(f"unknown task(s): {', '.join(missing[:10])}")
                frontier = builtins.list(
                    dict.fromkeys(d for t in frontier if t in deps for d in deps[t] if d not in status)
                )
            return deps

        deps = self._e.read_snapshot(walk)
        need = set(deps)  # unfinished tasks (pruned prerequisites are finished by definition)
        prereqs = {t: [d for d in ds if d in need] for t, ds in deps.items()}
        users: dict[str, builtins.list[str]] = {t: [] for t in need}
        indegree = {t: len(p) for t, p in prereqs.items()}
        for t, ps in prereqs.items():
            for p in ps:
                users[p].append(t)
        batch = sorted(t for t, n in indegree.items() if n == 0)
        out = []
        while batch:
            out.append(batch)
            nxt = []
            for t in batch:
                for u in users[t]:
                    indegree[u] -= 1
                    if indegree[u] == 0:
                        nxt.append(u)
            batch = sorted(nxt)
        return out
