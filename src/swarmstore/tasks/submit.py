"""Submitting tasks: one, or a whole DAG at once (refs, cycle and depth checks, idempotency)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .. import codec
from ..boundary import check_fields, checked
from ..clock import from_dt, seconds_us
from ..engine.ops.audit import AuditRecord
from ..engine.ops.tasks import NewTask
from ..errors import CycleError, DependencyError, InvalidInput, NotFound
from ..ids import new_id
from ..models import Task
from ..params import (
    Attempts,
    Batch,
    Check,
    DependencyPolicy,
    Id,
    IdempotencyKey,
    Ids,
    Name,
    Object,
    Priority,
    Seconds,
    Source,
    Text,
    When,
)
from ..validation import as_list, check_name
from .ranking import UNBLOCK_BONUS, S, deadline_cap, patience
from .rows import FINISHED, OPEN, TaskService

MAX_PREREQUISITES = 50
_new = tuple.__new__
_BATCH_ONLY = {"ref": Check(check_name, "a name other items of the batch use for this task")}


class _New(NamedTuple):
    """A validated submission, before its id and dependency state are known."""

    ref: str | None
    summary: str
    payload: str
    queue: str
    agent_type: str | None
    priority: int
    depends_on: list[str]
    parent: str | None
    session_id: str | None
    deadline: int | None
    estimated: int | None
    max_attempts: int
    timeout: int
    not_before: int
    idempotency_key: str | None
    source: str
    metadata: str
    policy: str


def opt_seconds(value: object, field: str) -> int | None:
    return None if value is None else seconds_us(value, field)  # type: ignore[arg-type]


def _opt_time(value: object, field: str) -> int | None:
    return None if value is None else from_dt(value, field)  # type: ignore[arg-type]


def _where(batch: list[_New], i: int, field: str) -> str:
    return field if len(batch) == 1 else f"items[{i}].{field}"


def _topological(
    batch: list[_New], todo: list[int], deps_of: dict[int, list[str]], ids: dict[int, str], local: dict[str, int]
) -> list[int]:
    """Kahn's algorithm over the batch's inner edges; a leftover means a cycle."""
    indegree = {i: 0 for i in todo}
    users: dict[int, list[int]] = {i: [] for i in todo}
    for i in todo:
        for d in deps_of[i]:
            j = local.get(d)
            if j is not None:
                indegree[i] += 1
                users[j].append(i)
    order = [i for i in todo if indegree[i] == 0]
    k = 0
    while k < len(order):
        for u in users[order[k]]:
            indegree[u] -= 1
            if indegree[u] == 0:
                order.append(u)
        k += 1
    if len(order) < len(todo):
        stuck = [batch[i].ref or ids[i] for i in todo if indegree[i] > 0]
        raise CycleError("depends_on", f"the batch's dependencies form a cycle through {', '.join(stuck[:10])}")
    return order


class Submitting(TaskService):
    @checked
    def submit(
        self,
        summary: Text,
        payload: Any = None,
        *,
        queue: Name = "default",
        agent_type: Name | None = None,
        priority: Priority = 5,
        depends_on: Ids = (),
        parent: Id | None = None,
        session_id: Id | None = None,
        deadline: When | None = None,
        estimated_seconds: Seconds | None = None,
        max_attempts: Attempts = 3,
        timeout_seconds: Seconds = 3600,
        not_before: When | None = None,
        idempotency_key: IdempotencyKey | None = None,
        source: Source = "human",
        metadata: Object | None = None,
        on_dependency_failure: DependencyPolicy = "cancel",
        actor: Name | None = None,
    ) -> Task:
        """Submit one task; it waits (``blocked``) until every task in ``depends_on`` completes.

        The same ``idempotency_key`` returns the existing task. ``on_dependency_failure`` says what
        happens when a prerequisite fails or is cancelled: ``cancel`` this task (default), ``fail``
        it, or ``run`` it anyway.
        """
        item = {
            "summary": summary,
            "payload": payload,
            "queue": queue,
            "agent_type": agent_type,
            "priority": priority,
            "depends_on": depends_on,
            "parent": parent,
            "session_id": session_id,
            "deadline": deadline,
            "estimated_seconds": estimated_seconds,
            "max_attempts": max_attempts,
            "timeout_seconds": timeout_seconds,
            "not_before": not_before,
            "idempotency_key": idempotency_key,
            "source": source,
            "metadata": metadata,
            "on_dependency_failure": on_dependency_failure,
        }
        new = self._prepare(item)
        actor = actor or self._ctx.actor
        return self._e.write(lambda tx: self._submit(tx, [new], actor)[0])

    @checked
    def submit_many(self, items: Batch, *, actor: Name | None = None) -> list[Task]:
        """Submit a whole DAG atomically. Each item has ``submit``'s arguments plus an optional
        ``ref``: a name that ``depends_on`` and ``parent`` of other items in the batch may use
        instead of a task id. Returns the tasks in input order."""
        prepared = []
        for i, item in enumerate(items):
            try:
                fields = check_fields(item, Submitting.submit, ("summary",), _BATCH_ONLY, exclude=("actor",))
                prepared.append(self._prepare(fields))
            except InvalidInput as exc:
                cls = type(exc)
                raise cls(f"items[{i}]" + (exc.field and "." + exc.field), exc.message) from None
        if not prepared:
            return []
        actor = actor or self._ctx.actor
        return self._e.write(lambda tx: self._submit(tx, prepared, actor))

    def _prepare(self, item: Mapping[str, Any]) -> _New:
        """A checked submission (``submit``'s arguments) as a _New: encoded, in microseconds."""
        get = item.get
        limit = self._ctx.max_value_bytes
        deps = as_list(get("depends_on", ()))
        if len(deps) > MAX_PREREQUISITES:
            raise DependencyError("depends_on", f"{len(deps)} prerequisites; at most {MAX_PREREQUISITES} are allowed")
        timeout = seconds_us(get("timeout_seconds", 3600), "timeout_seconds")
        return _New(
            get("ref"),
            item["summary"],
            codec.dumps(get("payload"), "payload", limit),
            get("queue", "default"),
            get("agent_type"),
            get("priority", 5),
            deps,
            get("parent"),
            get("session_id"),
            _opt_time(get("deadline"), "deadline"),
            opt_seconds(get("estimated_seconds"), "estimated_seconds"),
            get("max_attempts", 3),
            timeout if timeout is not None else 3600 * S,
            _opt_time(get("not_before"), "not_before") or 0,
            get("idempotency_key"),
            get("source", "human"),
            codec.dumps_dict(get("metadata"), "metadata", limit),
            get("on_dependency_failure", "cancel"),
        )

    def _submit(self, tx: Any, batch: list[_New], actor: str | None) -> list[Task]:
        ops = self._e.tasks
        now = self._now()
        out: list[str | None] = [None] * len(batch)
        # Idempotency: a known key returns the existing task (and its ref resolves to it).
        refs: dict[str, str] = {}
        todo: list[int] = []
        for i, n in enumerate(batch):
            if n.idempotency_key is not None:
                existing = ops.id_for_key(tx, n.idempotency_key)
                if existing is not None:
                    if self._found_by_key is not None:
                        self._found_by_key(self._fetch_one(tx, existing, now))
                    out[i] = existing
                    if n.ref:
                        refs[n.ref] = existing
                    continue
            todo.append(i)
        ids = {i: new_id() for i in todo}
        for i in todo:
            ref = batch[i].ref
            if ref is not None:
                if ref in refs:
                    raise InvalidInput(f"items[{i}].ref", f"{ref!r} is used twice in the batch")
                refs[ref] = ids[i]
        local = {ids[i]: i for i in todo}
        # Resolve refs, find the external prerequisites and parents.
        deps_of: dict[int, list[str]] = {}
        external: set[str] = set()
        for i in todo:
            resolved = []
            for d in batch[i].depends_on:
                tid = refs.get(d, d)
                if tid == ids[i]:
                    raise CycleError(_where(batch, i, "depends_on"), "a task cannot depend on itself")
                resolved.append(tid)
                if tid not in local:
                    external.add(tid)
            deps_of[i] = list(dict.fromkeys(resolved))
            parent = batch[i].parent
            if parent is not None and refs.get(parent, parent) not in local:
                external.add(refs.get(parent, parent))
        known: dict[str, tuple[str, int]] = {}
        if external:
            for p in ops.prerequisites(tx, sorted(external)):
                known[p.id] = (p.status, p.depth)
        for i in todo:
            for d in deps_of[i]:
                if d not in local and d not in known:
                    raise DependencyError(_where(batch, i, "depends_on"), f"unknown task {d!r}")
            parent = batch[i].parent
            if parent is not None:
                pid = refs.get(parent, parent)
                if pid not in local and pid not in known:
                    raise NotFound(f"{_where(batch, i, 'parent')}: unknown task {parent!r}")
            sid = batch[i].session_id
            if sid is not None and not ops.session_exists(tx, sid):
                raise NotFound(f"{_where(batch, i, 'session_id')}: unknown session {sid!r}")
        order = _topological(batch, todo, deps_of, ids, local)
        # Dependants inside the batch count towards each task's urgency from the start.
        inner_dependants: dict[str, int] = {}
        for i in todo:
            for d in deps_of[i]:
                inner_dependants[d] = inner_dependants.get(d, 0) + 1
        max_depth = self._ctx.max_task_depth
        state: dict[str, tuple[str, int]] = dict(known)  # id -> (status, depth) as the batch is laid out
        rows: list[NewTask] = []
        edges: list[tuple[str, str]] = []
        audits: list[AuditRecord] = []
        bumped: dict[str, int] = {}
        for i in order:
            n, tid = batch[i], ids[i]
            waiting, depth, ended, why = 0, 0, None, None
            for d in deps_of[i]:
                status, ddepth = state[d]
                depth = max(depth, ddepth + 1)
                if status in ("failed", "cancelled") and n.policy != "run":
                    if ended is None:
                        ended = "cancelled" if n.policy == "cancel" else "failed"
                        why = f"dependency {d} {status}"
                elif status not in FINISHED:
                    waiting += 1
                edges.append((tid, d))
                if d not in local and status in OPEN:
                    bumped[d] = bumped.get(d, 0) + 1
            if depth > max_depth:
                raise DependencyError(
                    _where(batch, i, "depends_on"), f"chain of {depth} prerequisites exceeds max depth {max_depth}"
                )
            status = ended or ("blocked" if waiting else "ready")
            state[tid] = (status, depth)
            ready_at = max(now, n.not_before)
            dependants = inner_dependants.get(tid, 0)
            pat = patience(n.priority, n.source, dependants, n.deadline, now)
            cap = deadline_cap(n.deadline, n.estimated)
            parent = None if n.parent is None else refs.get(n.parent, n.parent)
            rows.append(
                _new(NewTask, (
                    tid, n.summary, n.payload, n.queue, n.agent_type, status, n.priority, n.source,
                    ready_at + pat if cap is None else min(ready_at + pat, cap), pat, cap, ready_at if status == "ready" else None, n.not_before,
                    n.deadline, n.estimated, n.max_attempts, n.timeout, parent, n.session_id, n.idempotency_key,
                    n.policy, deps_of[i], waiting, dependants, depth, n.metadata, now, now,
                    now if ended else None, why,
                ))
            )  # fmt: skip
            detail = {"summary": n.summary[:200], "queue": n.queue, "status": status}
            audits.append(_new(AuditRecord, (now, actor, "task.submit", "task", tid, None, detail, None, None, None)))
        ops.insert(tx, rows, edges, audits)
        for d, times in bumped.items():
            for _ in range(times):
                ops.add_dependant(tx, d, UNBLOCK_BONUS)
        for i in todo:
            out[i] = ids[i]
        return self._fetch(tx, [x for x in out if x is not None], now)
