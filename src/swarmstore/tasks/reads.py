"""Reading tasks: one, listings, the subtask tree, prerequisites and dependants, counts."""

from __future__ import annotations

import builtins
from typing import Any

from ..boundary import checked
from ..engine.ops.tasks import TaskFilter
from ..errors import NotFound
from ..models import Page, Task, TaskNode
from ..params import TASK_STATUSES as STATUSES
from ..params import Id, Limit, Name, Names, PageCursor, TaskStatuses
from ..validation import as_list, decode_cursor, encode_cursor
from .ranking import S
from .rows import TaskService, as_task


class Reads(TaskService):
    @checked
    def get(self, task_id: Id) -> Task:
        """The task with this id, or NotFound."""
        row = self._e.tasks.get(task_id)
        if row is None:
            raise NotFound(f"task {task_id!r} not found")
        return as_task(row, self._now())

    @checked
    def list(
        self,
        *,
        status: TaskStatuses | None = None,
        queue: Name | None = None,
        agent_type: Name | None = None,
        parent: Id | None = None,
        session_id: Id | None = None,
        limit: Limit = 100,
        cursor: PageCursor | None = None,
    ) -> Page[Task]:
        """Tasks matching every given filter, newest first."""
        spec = TaskFilter(None if status is None else as_list(status), queue, agent_type, parent, session_id)
        return self._page(spec, limit, cursor)

    def _page(self, spec: TaskFilter, limit: int, cursor: str | None) -> Page[Task]:
        """A page of ``list``'s (checked) filters."""
        before = None if cursor is None else decode_cursor(cursor, "tasks", (str,))[0]
        rows = self._e.tasks.list(spec, before, limit + 1)
        now = self._now()
        items = [as_task(r, now) for r in rows[:limit]]
        nxt = encode_cursor("tasks", items[-1].id) if len(rows) > limit else None
        return Page(items, nxt)

    @checked
    def children(self, task_id: Id) -> builtins.list[Task]:
        """Direct subtasks (``parent=task_id``), oldest first."""
        self.get(task_id)
        now = self._now()
        return [as_task(r, now) for r in self._e.tasks.children(task_id)]

    @checked
    def tree(self, root_id: Id) -> TaskNode:
        """The task and all its subtasks, transitively, as a tree (children oldest first)."""
        now = self._now()
        rows = self._e.tasks.subtree(root_id)
        if not rows:
            raise NotFound(f"task {root_id!r} not found")
        nodes = {t.id: TaskNode(t) for t in (as_task(r, now) for r in rows)}
        for node in nodes.values():  # rows are in id (submit) order, so children stay ordered
            pid = node.task.parent_id
            if node.task.id != root_id and pid in nodes:
                nodes[pid].children.append(node)
        return nodes[root_id]

    @checked
    def dependencies(self, task_id: Id) -> builtins.list[Task]:
        """The tasks ``task_id`` waits for."""
        self.get(task_id)
        now = self._now()
        return [as_task(r, now) for r in self._e.tasks.dependencies(task_id)]

    @checked
    def dependants(self, task_id: Id) -> builtins.list[Task]:
        """The tasks waiting for ``task_id``."""
        self.get(task_id)
        now = self._now()
        return [as_task(r, now) for r in self._e.tasks.dependants(task_id)]

    @checked
    def has_open_work(self, queues: Names = ("default",)) -> bool:
        """Whether any of ``queues`` holds a blocked, ready or running task (cheap: index probes)."""
        return any(self._e.tasks.has_open_work(q) for q in as_list(queues))

    def stats(self) -> dict[str, Any]:
        """Counts per status and per queue, the oldest ready task's wait, and recent throughput."""
        now = self._now()

        def read(tx: Any) -> dict[str, Any]:
            ops = self._e.tasks
            by_status = {s: 0 for s in STATUSES}
            queues: dict[str, dict[str, int]] = {}
            for c in ops.counts(tx):
                by_status[c.status] += c.n
                queues.setdefault(c.queue, {})[c.status] = c.n
            oldest = ops.oldest_ready(tx)
            throughput = {}
            for minutes in (1, 5, 15):
                completed, failed = ops.finished_since(tx, now - minutes * 60 * S)
                throughput[f"{minutes}m"] = {
                    "completed": completed,
                    "failed": failed,
                    "completed_per_s": round(completed / (minutes * 60), 2),
                }
            return {
                "total": sum(by_status.values()),
                "by_status": by_status,
                "by_queue": queues,
                "oldest_ready_wait_s": None if oldest is None else round((now - oldest) / S, 3),
                "throughput": throughput,
            }

        return self._e.read_snapshot(read)
