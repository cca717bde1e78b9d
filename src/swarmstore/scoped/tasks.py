"""Tasks through a scoped view: only in the queues its rules admit."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..boundary import checked
from ..engine.ops.tasks import TaskFilter
from ..models import Completions, Page, PruneResult, Task, TaskNode
from ..params import Id, Ids, Limit, Name, PageCursor, TaskStatuses
from ..tasks import Tasks
from ..validation import as_list, check_ids, check_name, check_names
from .scope import Scope


class ScopedTasks:
    """``view.tasks``: ``store.tasks``'s methods on the tasks of the queues the view may use. A
    task it submits may depend on, or be a subtask of, only tasks it can see."""

    def __init__(self, inner: Tasks, scope: Scope) -> None:
        self._t = inner
        self._s = scope

    def _visible(self, task: Task) -> Task:
        if not self._s.rules.queues.admits(task.queue):
            self._s.deny("use", "queue", task.queue, self._s.rules.queues)
        return task

    def _check(self, task_id: object) -> Task:
        return self._visible(self._t.get(check_name(task_id, "task_id")))

    def _seen(self, tasks: Iterable[Task]) -> builtins.list[Task]:
        return [t for t in tasks if self._s.rules.queues.admits(t.queue)]

    def _links(self, options: Mapping[str, Any], refs: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """The prerequisites and parent named (ids, or refs of the same batch) must be visible."""
        self._s.own(options.get("actor"))
        self._s.queue(options.get("queue", "default"))
        for dep in check_ids(options.get("depends_on", ()), "depends_on"):
            if dep not in refs:
                self._check(dep)
        parent = options.get("parent")
        if parent is not None and parent not in refs:
            self._check(parent)

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, summary: Any, payload: Any = None, **options: Any) -> Task:
        """``store.tasks.submit`` into a queue the view may use."""
        self._links(options)
        options.pop("actor", None)
        return self._t.submit(summary, payload, **options)

    def submit_many(self, items: Any, *, actor: Any = None) -> builtins.list[Task]:
        """``store.tasks.submit_many``: every item's queue, prerequisites and parent checked first."""
        self._s.own(actor)
        batch = list(items) if isinstance(items, Iterable) and not isinstance(items, (str, Mapping)) else items
        if isinstance(batch, list):
            refs = {i["ref"] for i in batch if isinstance(i, Mapping) and isinstance(i.get("ref"), str)}
            for item in batch:
                if isinstance(item, Mapping):
                    self._links(item, refs)
        return self._t.submit_many(batch)

    # -- working -------------------------------------------------------------------------------

    def _worker(self, worker_id: Any, queues: Any) -> str:
        """A view claims as its actor (the claim's audit row and the lease name the worker)."""
        self._s.own(worker_id)
        for q in check_names(queues, "queues"):
            self._s.queue(q)
        return self._s.actor

    def claim(self, worker_id: Any = None, queues: Any = ("default",), **options: Any) -> builtins.list[Task]:
        """``store.tasks.claim`` from queues the view may use; the worker is the view's actor."""
        return self._t.claim(self._worker(worker_id, queues), queues, **options)

    def heartbeat(self, task_id: Any, lease_token: Any, lease_seconds: Any = None) -> Task:
        self._check(task_id)
        return self._t.heartbeat(task_id, lease_token, lease_seconds)

    def complete(self, task_id: Any, lease_token: Any, result: Any = None) -> Task:
        self._check(task_id)
        return self._t.complete(task_id, lease_token, result)

    def complete_and_claim(self, task_id: Any, lease_token: Any, result: Any = None, **options: Any) -> builtins.list[Task]:
        self._check(task_id)
        options["worker_id"] = self._worker(options.get("worker_id"), options.get("queues", ("default",)))
        return self._t.complete_and_claim(task_id, lease_token, result, **options)

    def complete_many(self, items: Any, **options: Any) -> Completions:
        batch = list(items) if isinstance(items, Iterable) and not isinstance(items, (str, Mapping)) else items
        if isinstance(batch, list):
            for item in batch:
                if isinstance(item, Sequence) and not isinstance(item, str) and item:
                    self._check(item[0])
        if options.get("claim"):
            options["worker_id"] = self._worker(options.get("worker_id"), options.get("queues", ("default",)))
        return self._t.complete_many(batch, **options)

    def fail(self, task_id: Any, lease_token: Any, error: Any, retry: Any = True) -> Task:
        self._check(task_id)
        return self._t.fail(task_id, lease_token, error, retry)

    def release(self, task_id: Any, lease_token: Any) -> Task:
        self._check(task_id)
        return self._t.release(task_id, lease_token)

    def cancel(self, task_id: Any, cascade: Any = True, reason: Any = None, *, actor: Any = None) -> Task:
        self._s.own(actor)
        self._check(task_id)
        return self._t.cancel(task_id, cascade, reason)

    def retry(self, task_id: Any, *, actor: Any = None) -> Task:
        self._s.own(actor)
        self._check(task_id)
        return self._t.retry(task_id)

    def rescue_expired(self) -> int:
        self._s.all_queues("rescue")
        return self._t.rescue_expired()

    def prune(self, older_than: Any, statuses: Any = ("completed", "failed", "cancelled"), dry_run: Any = False,
              *, actor: Any = None) -> PruneResult:  # fmt: skip
        self._s.own(actor)
        self._s.all_queues("prune")
        return self._t.prune(older_than, statuses, dry_run)

    # -- reading -------------------------------------------------------------------------------

    def get(self, task_id: Any) -> Task:
        return self._check(task_id)

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
        """The tasks of the view's queues matching every given filter, newest first."""
        statuses = None if status is None else as_list(status)
        spec = TaskFilter(statuses, queue, agent_type, parent, session_id, self._s.rules.queues)
        return self._t._page(spec, limit, cursor)

    def children(self, task_id: Any) -> builtins.list[Task]:
        self._check(task_id)
        return self._seen(self._t.children(task_id))

    def tree(self, root_id: Any) -> TaskNode:
        """The task and its subtasks in the view's queues (a subtask elsewhere is left out, with
        everything under it)."""
        self._check(root_id)
        root = self._t.tree(root_id)
        admits = self._s.rules.queues.admits

        def prune(node: TaskNode) -> TaskNode:
            node.children[:] = [prune(c) for c in node.children if admits(c.task.queue)]
            return node

        return prune(root)

    def dependencies(self, task_id: Any) -> builtins.list[Task]:
        self._check(task_id)
        return self._seen(self._t.dependencies(task_id))

    def dependants(self, task_id: Any) -> builtins.list[Task]:
        self._check(task_id)
        return self._seen(self._t.dependants(task_id))

    @checked
    def plan(self, task_ids: Ids) -> builtins.list[builtins.list[str]]:
        for task_id in task_ids:
            self._check(task_id)
        return self._t.plan(task_ids)

    def has_open_work(self, queues: Any = ("default",)) -> bool:
        for q in check_names(queues, "queues"):
            self._s.queue(q)
        return self._t.has_open_work(queues)

    def stats(self) -> dict[str, Any]:
        """``store.tasks.stats`` of the view's queues (a view of some queues only gets their counts:
        the oldest wait and the throughput are the whole store's, so they are left out)."""
        out = self._t.stats()
        if self._s.rules.queues.everything:
            return out
        queues = {q: n for q, n in out["by_queue"].items() if self._s.rules.queues.admits(q)}
        by_status = dict.fromkeys(out["by_status"], 0)
        for counts in queues.values():
            for status, n in counts.items():
                by_status[status] += n
        return {"total": sum(by_status.values()), "by_status": by_status, "by_queue": queues,
                "oldest_ready_wait_s": None, "throughput": None}  # fmt: skip


