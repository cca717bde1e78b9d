"""Tasks through a scoped view: only in the queues its rules admit.

Every method takes the store's own parameters (``checked_as``): input is checked first, as
the store checks it. A task a view submits may depend on, or be a subtask of, only tasks it can
see, and may belong only to a session it may use; an idempotency key never hands it a task of
another queue. A lease step's consequences downstream (a failure's policy) follow the DAG the
submitters declared; an explicit cascade (``cancel``) must stay within the view's queues.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..boundary import checked_as
from ..engine.ops.tasks import TaskFilter
from ..errors import NotFound
from ..models import Completions, Page, PruneResult, Task, TaskNode
from ..sessions import Sessions
from ..tasks import Tasks
from ..validation import as_list, check_ids
from .scope import Scope


class _Hidden(Exception):
    """An idempotency key found a task the view cannot see (raised inside the transaction, which
    rolls back; the view refuses the call after it)."""

    def __init__(self, task: Task) -> None:
        self.task = task


class ScopedTasks:
    """``view.tasks``: ``store.tasks``'s methods on the tasks of the queues the view may use."""

    def __init__(self, inner: Tasks, scope: Scope, sessions: Sessions) -> None:
        self._t = inner
        self._s = scope
        self._sessions = sessions
        inner._found_by_key = self._by_key

    def _by_key(self, task: Task) -> None:
        if not self._s.rules.queues.admits(task.queue):
            raise _Hidden(task)

    def _visible(self, task: Task) -> Task:
        if not self._s.rules.queues.admits(task.queue):
            self._s.deny("use", "queue", task.queue, self._s.rules.queues, entity_id=task.id)
        return task

    def _check(self, task_id: str) -> Task:
        return self._visible(self._t.get(task_id))

    def _seen(self, tasks: Iterable[Task]) -> builtins.list[Task]:
        return [t for t in tasks if self._s.rules.queues.admits(t.queue)]

    def _links(self, options: Mapping[str, Any], refs: Iterable[str] = ()) -> None:
        """The queue, prerequisites, parent (ids, or refs of the same batch) and session of a
        submission must all be the view's."""
        self._s.own(options.get("actor"))
        self._s.queue(options.get("queue", "default"))
        for dep in check_ids(options.get("depends_on", ()), "depends_on"):
            if dep not in refs:
                self._check(dep)
        parent = options.get("parent")
        if isinstance(parent, str) and parent not in refs:
            self._check(parent)
        sid = options.get("session_id")
        if isinstance(sid, str):
            session = self._sessions.get(sid)
            self._s.session(session.app, session.user, sid)

    def _submitting(self, call: Any) -> Any:
        try:
            return call()
        except _Hidden as hidden:
            t = hidden.task
            self._s.deny("use", "queue", t.queue, self._s.rules.queues, entity_id=t.id)

    # -- submitting ----------------------------------------------------------------------------

    @checked_as(Tasks.submit)
    def submit(self, summary: str, payload: Any, **options: Any) -> Task:
        """``store.tasks.submit`` into a queue the view may use."""
        self._links(options)
        options.pop("actor")
        return self._submitting(lambda: self._t.submit(summary, payload, **options))  # type: ignore[no-any-return]

    @checked_as(Tasks.submit_many)
    def submit_many(self, items: builtins.list[Any], *, actor: Any) -> builtins.list[Task]:
        """``store.tasks.submit_many``: every item's queue, prerequisites and parent checked first."""
        self._s.own(actor)
        refs = {i["ref"] for i in items if isinstance(i, Mapping) and isinstance(i.get("ref"), str)}
        for item in items:
            if isinstance(item, Mapping):
                self._links(item, refs)
        return self._submitting(lambda: self._t.submit_many(items))  # type: ignore[no-any-return]

    # -- working -------------------------------------------------------------------------------

    def _worker(self, worker_id: Any, queues: Any) -> str:
        """A view claims as its actor (the claim's audit row and the lease name the worker)."""
        self._s.own(worker_id)
        for q in as_list(queues):
            self._s.queue(q)
        return self._s.actor

    @checked_as(Tasks.claim, worker_id=None)
    def claim(self, worker_id: str | None, queues: Any, agent_types: Any, lease_seconds: Any, limit: int) -> builtins.list[Task]:
        """``store.tasks.claim`` from queues the view may use; the worker is the view's actor
        (another is refused; None: the actor)."""
        return self._t.claim(self._worker(worker_id, queues), queues, agent_types, lease_seconds, limit)

    @checked_as(Tasks.heartbeat)
    def heartbeat(self, task_id: str, lease_token: str, lease_seconds: Any) -> Task:
        self._check(task_id)
        return self._t.heartbeat(task_id, lease_token, lease_seconds)

    @checked_as(Tasks.complete)
    def complete(self, task_id: str, lease_token: str, result: Any) -> Task:
        self._check(task_id)
        return self._t.complete(task_id, lease_token, result)

    @checked_as(Tasks.complete_and_claim, worker_id=None)
    def complete_and_claim(self, task_id: str, lease_token: str, result: Any, *, worker_id: str, queues: Any,
                           **options: Any) -> builtins.list[Task]:  # fmt: skip
        self._check(task_id)
        worker = self._worker(worker_id, queues)
        return self._t.complete_and_claim(task_id, lease_token, result, worker_id=worker, queues=queues, **options)

    @checked_as(Tasks.complete_many)
    def complete_many(self, items: builtins.list[Any], *, claim: int, worker_id: Any, queues: Any,
                      **options: Any) -> Completions:  # fmt: skip
        """``store.tasks.complete_many``: a task the view cannot see (or that does not exist) is
        that item's error, as an unknown one is the store's; the others go ahead."""
        if claim:
            worker_id = self._worker(worker_id, queues)
        mine: builtins.list[int] = []
        errors: builtins.list[Exception | None] = [None] * len(items)
        for i, item in enumerate(items):
            if isinstance(item, Sequence) and not isinstance(item, str) and item and isinstance(item[0], str):
                try:
                    self._check(item[0])
                except (NotFound, PermissionError) as exc:
                    errors[i] = exc
                    continue
            mine.append(i)
        done = self._t.complete_many([items[i] for i in mine], claim=claim, worker_id=worker_id, queues=queues,
                                     **options)  # fmt: skip
        for i, error in zip(mine, done.errors, strict=True):
            errors[i] = error
        return Completions(errors, done.claimed)

    @checked_as(Tasks.fail)
    def fail(self, task_id: str, lease_token: str, error: str, retry: bool) -> Task:
        self._check(task_id)
        return self._t.fail(task_id, lease_token, error, retry)

    @checked_as(Tasks.release)
    def release(self, task_id: str, lease_token: str) -> Task:
        self._check(task_id)
        return self._t.release(task_id, lease_token)

    @checked_as(Tasks.cancel)
    def cancel(self, task_id: str, cascade: bool, reason: Any, *, actor: Any) -> Task:
        """``store.tasks.cancel``; with ``cascade``, everything downstream must be the view's too."""
        self._s.own(actor)
        self._check(task_id)
        if cascade:
            for t in self._downstream(task_id):
                self._visible(t)
        return self._t.cancel(task_id, cascade, reason)

    def _downstream(self, task_id: str) -> builtins.list[Task]:
        """The unfinished tasks a cascading cancel of ``task_id`` would reach."""
        seen: dict[str, Task] = {}
        frontier = [task_id]
        while frontier:
            tid = frontier.pop()
            for t in [*self._t.dependants(tid), *self._t.children(tid)]:
                if t.id not in seen and not t.finished:
                    seen[t.id] = t
                    frontier.append(t.id)
        return list(seen.values())

    @checked_as(Tasks.retry)
    def retry(self, task_id: str, *, actor: Any) -> Task:
        self._s.own(actor)
        self._check(task_id)
        return self._t.retry(task_id)

    def rescue_expired(self) -> int:
        """``store.tasks.rescue_expired``: for a view of every queue."""
        self._s.all_queues("rescue")
        return self._t.rescue_expired()

    @checked_as(Tasks.prune)
    def prune(self, older_than: Any, statuses: Any, dry_run: bool, *, actor: Any) -> PruneResult:
        """``store.tasks.prune``: for a view of every queue."""
        self._s.own(actor)
        self._s.all_queues("prune")
        return self._t.prune(older_than, statuses, dry_run)

    # -- reading -------------------------------------------------------------------------------

    @checked_as(Tasks.get)
    def get(self, task_id: str) -> Task:
        return self._check(task_id)

    @checked_as(Tasks.list)
    def list(self, *, status: Any, queue: Any, agent_type: Any, parent: Any, session_id: Any, limit: int,
             cursor: Any) -> Page[Task]:  # fmt: skip
        """The tasks of the view's queues matching every given filter, newest first."""
        statuses = None if status is None else as_list(status)
        spec = TaskFilter(statuses, queue, agent_type, parent, session_id, self._s.rules.queues)
        return self._t._page(spec, limit, cursor)

    @checked_as(Tasks.children)
    def children(self, task_id: str) -> builtins.list[Task]:
        self._check(task_id)
        return self._seen(self._t.children(task_id))

    @checked_as(Tasks.tree)
    def tree(self, root_id: str) -> TaskNode:
        """The task and its subtasks in the view's queues (a subtask elsewhere is left out, with
        everything under it)."""
        self._check(root_id)
        root = self._t.tree(root_id)
        admits = self._s.rules.queues.admits

        def prune(node: TaskNode) -> TaskNode:
            node.children[:] = [prune(c) for c in node.children if admits(c.task.queue)]
            return node

        return prune(root)

    @checked_as(Tasks.dependencies)
    def dependencies(self, task_id: str) -> builtins.list[Task]:
        self._check(task_id)
        return self._seen(self._t.dependencies(task_id))

    @checked_as(Tasks.dependants)
    def dependants(self, task_id: str) -> builtins.list[Task]:
        self._check(task_id)
        return self._seen(self._t.dependants(task_id))

    @checked_as(Tasks.plan)
    def plan(self, task_ids: builtins.list[str]) -> builtins.list[builtins.list[str]]:
        for task_id in task_ids:
            self._check(task_id)
        return self._t.plan(task_ids)

    @checked_as(Tasks.has_open_work)
    def has_open_work(self, queues: Any) -> bool:
        for q in as_list(queues):
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
