"""The task queue: a DAG of prioritised tasks, claimed atomically by many workers under leases.

Lifecycle::

    blocked --(prerequisites completed)--> ready --claim--> running --complete--> completed
                                             ^                 |--fail (attempts left)--> ready, after backoff
                                             |                 |--fail (last attempt)---> failed
                                             +--retry(failed | cancelled)  lease expired -> ready | failed
    cancel: blocked | ready | running --> cancelled      (completed, failed, cancelled are terminal)

Priority
--------
Every ready task has a *target*: the time by which it should be claimed. Claims take the earliest
target first, then the earliest submitted. ``Task.score`` is ``now - target`` in seconds, so a
higher score is claimed sooner and every waiting task's score grows by one per second (aging: a
task that waits long enough overtakes any task submitted later, so nothing starves)::

    target   = min(ready_at + patience, deadline - estimated - 60 s)        (the second term only with a deadline)
    patience = (10 - priority) * 360 s          each priority step is worth 6 minutes of waiting
               - source bonus                    human 300 s, system 120 s, agent 0 s
               - 60 s * min(dependants, 20)      tasks waiting on this one make it more urgent
               - deadline bonus                  600 s, plus up to 600 s more the nearer the deadline

so a nearer deadline scores higher than a farther one or none, and a deadline close enough to be at
risk takes over (earliest deadline first). Because the target is a fixed time, the order stays
right as time passes without re-ranking; when a dependant arrives the prerequisite's target moves
earlier in the same transaction.
"""

from __future__ import annotations

import builtins
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

import orjson

from . import codec
from .boundary import check_fields, checked
from .clock import _US, EPOCH, from_dt, seconds_us
from .context import Context
from .engine.base import Batchable, Cursor, Row
from .errors import (
    CycleError,
    DependencyError,
    InvalidInput,
    InvalidTransition,
    LeaseLost,
    NotFound,
    StorageError,
    TaskCancelled,
)
from .ids import new_id
from .models import Completions, Page, PruneResult, Task, TaskNode
from .paging import newest_first
from .params import TASK_STATUSES as STATUSES
from .params import (
    Attempts,
    Batch,
    Check,
    ClaimLimit,
    Count,
    DependencyPolicy,
    FinishedStatuses,
    Flag,
    Id,
    IdempotencyKey,
    Ids,
    Limit,
    Message,
    Name,
    Names,
    NameSet,
    Object,
    PageCursor,
    Priority,
    Reason,
    Seconds,
    Source,
    TaskStatuses,
    Text,
    When,
)
from .validation import as_list, check_name

OPEN = ("blocked", "ready", "running")
FINISHED = ("completed", "failed", "cancelled")
MAX_PREREQUISITES = 50

S = 1_000_000  # microseconds per second
PRIORITY_STEP = 360 * S
SOURCE_BONUS = {"human": 300 * S, "system": 120 * S, "agent": 0}
UNBLOCK_BONUS = 60 * S
UNBLOCK_CAP = 20
DEADLINE_BONUS = 600 * S
DEADLINE_HORIZON = 3600 * S
DEADLINE_MARGIN = 60 * S
MAX_BACKOFF = 300 * S
_NOT_CLAIMABLE = "status NOT IN ('ready', 'running')"
_BATCH_ONLY = {"ref": Check(check_name, "a name other items of the batch use for this task")}



def patience(priority: int, source: str, dependants: int, deadline: int | None, now: int) -> int:
    """The wait (µs) a ready task is allowed before it is due; see the module docstring."""
    p = (10 - priority) * PRIORITY_STEP - SOURCE_BONUS[source] - UNBLOCK_BONUS * min(dependants, UNBLOCK_CAP)
    if deadline is not None:
        p -= DEADLINE_BONUS + DEADLINE_BONUS * DEADLINE_HORIZON // (DEADLINE_HORIZON + max(0, deadline - now))
    return p


def deadline_cap(deadline: int | None, estimated: int | None) -> int | None:
    if deadline is None:
        return None
    return deadline - (estimated or 0) - DEADLINE_MARGIN


_DEPENDANTS = 26  # the dependants count's place among task_cols


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
    "payload": lambda r: _loads(r[2]),
    "result": lambda r: _loads(r[18]),
    "depends_on": lambda r: _loads(r[24]),
    "metadata": lambda r: _loads(r[27]),
}
_new = object.__new__


def _task(r: Row, now: int) -> Task:
    """A task row (task_cols): payload, result, depends_on and metadata decoded on first read.

    Built slot by slot (a dataclass __init__ would need every field); ``score`` is as of ``now``."""
    t = _new(Task)
    t._lazy = _LAZY
    t._row = r
    t.id = r[0]
    t.summary = r[1]
    t.queue = r[3]
    t.agent_type = r[4]
    t.status = r[5]
    t.priority = r[6]
    t.source = r[7]
    t.score = (now - r[8]) / S
    t.deadline = None if r[9] is None else EPOCH + r[9] * _US
    t.estimated_seconds = None if r[10] is None else r[10] / S
    t.attempt = r[11]
    t.max_attempts = r[12]
    t.timeout_seconds = r[13] / S
    t.not_before = EPOCH + r[14] * _US if r[14] else None
    t.lease_token = r[15]
    t.lease_expires_at = None if r[16] is None else EPOCH + r[16] * _US
    t.worker_id = r[17]
    if r[18] is None:
        t.result = None
    t.error = r[19]
    t.parent_id = r[20]
    t.session_id = r[21]
    t.idempotency_key = r[22]
    t.on_dependency_failure = r[23]
    t.waiting_on = r[25]
    t.dependants = r[26]
    t.created_at = created = EPOCH + r[28] * _US
    t.updated_at = created if r[29] == r[28] else EPOCH + r[29] * _US
    t.started_at = None if r[30] is None else EPOCH + r[30] * _US
    t.finished_at = None if r[31] is None else EPOCH + r[31] * _US
    return t


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


class _ClaimSpec(NamedTuple):
    """A validated claim: who claims, from which queues, for which agent types (JSON or None)."""

    worker_id: str
    queues: list[str]
    types: str | None
    lease: int
    limit: int


class _StepOp(Batchable):
    """One ``complete_and_claim``'s write operation. A group commit (the async API: an
    AsyncWorker's coroutines stepping at once) whose operations are all steps of one store, worker
    and claim may run them as one batch (``run_batch``): the completions, each standing alone,
    then one claim for all that completed, dealt out in order; the expired-lease check and the
    search for candidates run once, not once a step."""

    __slots__ = ("batch_key", "body", "spec", "task_id", "tasks", "token")

    def __init__(self, tasks: Tasks, task_id: str, token: str, body: str, spec: _ClaimSpec) -> None:
        self.tasks, self.task_id, self.token, self.body, self.spec = tasks, task_id, token, body, spec
        key = (spec.worker_id, tuple(spec.queues), spec.types, spec.lease)
        self.batch_key = tasks._step_keys.setdefault(key, key)  # (one object per claim: see aio._batched)

    def __call__(self, cur: Cursor) -> list[Task]:
        now = self.tasks._now()
        self.tasks._complete_in(cur, self.task_id, self.token, self.body, now, read_back=False)
        return self.tasks._claim_in(cur, now, self.spec)

    @staticmethod
    def run_batch(cur: Cursor, ops: builtins.list[_StepOp]) -> builtins.list[builtins.list[Task] | Exception]:
        tasks = ops[0].tasks
        now = tasks._now()
        out: builtins.list[builtins.list[Task] | Exception] = []
        wanted = 0
        for op in ops:
            refused = tasks._complete_alone(cur, op.task_id, op.token, op.body, now)
            out.append([] if refused is None else refused)  # (a refused one claims nothing)
            wanted += 0 if refused else op.spec.limit
        claimed = tasks._claim_in(cur, now, ops[0].spec._replace(limit=wanted)) if wanted else []
        at = 0
        for op, got in zip(ops, out, strict=True):
            if isinstance(got, list):
                got += claimed[at : at + op.spec.limit]
                at += op.spec.limit
        return out


def _opt_seconds(value: object, field: str) -> int | None:
    return None if value is None else seconds_us(value, field)  # type: ignore[arg-type]


def _opt_time(value: object, field: str) -> int | None:
    return None if value is None else from_dt(value, field)  # type: ignore[arg-type]


class Tasks:
    """``store.tasks``: submit, claim, finish and inspect tasks."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e = ctx.engine
        self._q = ctx.engine.q
        self._now = ctx.now_us
        self._step_keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    # -- submitting ----------------------------------------------------------------------------

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
        return self._e.write(lambda cur: self._submit(cur, [new], actor)[0])

    @checked
    def submit_many(self, items: Batch, *, actor: Name | None = None) -> list[Task]:
        """Submit a whole DAG atomically. Each item has ``submit``'s arguments plus an optional
        ``ref``: a name that ``depends_on`` and ``parent`` of other items in the batch may use
        instead of a task id. Returns the tasks in input order."""
        prepared = []
        for i, item in enumerate(items):
            try:
                fields = check_fields(item, Tasks.submit, ("summary",), _BATCH_ONLY, exclude=("actor",))
                prepared.append(self._prepare(fields))
            except InvalidInput as exc:
                cls = type(exc)
                raise cls(f"items[{i}]" + (exc.field and "." + exc.field), exc.message) from None
        if not prepared:
            return []
        actor = actor or self._ctx.actor
        return self._e.write(lambda cur: self._submit(cur, prepared, actor))

    def _prepare(self, item: Mapping[str, Any]) -> _New:
        """A checked submission (``submit``'s arguments) as a _New: encoded, in microseconds."""
        get = item.get
        limit = self._ctx.max_value_bytes
        summary = item["summary"]
        deps = as_list(get("depends_on", ()))
        if len(deps) > MAX_PREREQUISITES:
            raise DependencyError("depends_on", f"{len(deps)} prerequisites; at most {MAX_PREREQUISITES} are allowed")
        timeout = seconds_us(get("timeout_seconds", 3600), "timeout_seconds")
        return _New(
            get("ref"),
            summary,
            codec.dumps(get("payload"), "payload", limit),
            get("queue", "default"),
            get("agent_type"),
            get("priority", 5),
            deps,
            get("parent"),
            get("session_id"),
            _opt_time(get("deadline"), "deadline"),
            _opt_seconds(get("estimated_seconds"), "estimated_seconds"),
            get("max_attempts", 3),
            timeout if timeout is not None else 3600 * S,
            _opt_time(get("not_before"), "not_before") or 0,
            get("idempotency_key"),
            get("source", "human"),
            codec.dumps_dict(get("metadata"), "metadata", limit),
            get("on_dependency_failure", "cancel"),
        )

    def _submit(self, cur: Cursor, batch: list[_New], actor: str | None) -> list[Task]:
        q = self._q
        now = self._now()
        out: list[str | None] = [None] * len(batch)
        # Idempotency: a known key returns the existing task (and its ref resolves to it).
        refs: dict[str, str] = {}
        todo: list[int] = []
        for i, n in enumerate(batch):
            if n.idempotency_key is not None:
                by_key = cur.execute(q.task_by_key, (n.idempotency_key,)).fetchall()
                if by_key:
                    out[i] = by_key[0][0]
                    if n.ref:
                        refs[n.ref] = by_key[0][0]
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
                    raise CycleError(self._where(batch, i, "depends_on"), "a task cannot depend on itself")
                resolved.append(tid)
                if tid not in local:
                    external.add(tid)
            deps_of[i] = list(dict.fromkeys(resolved))
            parent = batch[i].parent
            if parent is not None and refs.get(parent, parent) not in local:
                external.add(refs.get(parent, parent))
        known: dict[str, tuple[str, int]] = {}
        if external:
            for tid, status, depth in cur.execute(q.task_prereqs, (orjson.dumps(sorted(external)).decode(),)):
                known[tid] = (status, depth)
        for i in todo:
            for d in deps_of[i]:
                if d not in local and d not in known:
                    raise DependencyError(self._where(batch, i, "depends_on"), f"unknown task {d!r}")
            parent = batch[i].parent
            if parent is not None:
                pid = refs.get(parent, parent)
                if pid not in local and pid not in known:
                    raise NotFound(f"{self._where(batch, i, 'parent')}: unknown task {parent!r}")
            sid = batch[i].session_id
            if sid is not None and not cur.execute(q.session_status_of, (sid,)).fetchall():
                raise NotFound(f"{self._where(batch, i, 'session_id')}: unknown session {sid!r}")
        order = self._topological(batch, todo, deps_of, ids, local)
        # Dependants inside the batch count towards each task's urgency from the start.
        inner_dependants: dict[str, int] = {}
        for i in todo:
            for d in deps_of[i]:
                inner_dependants[d] = inner_dependants.get(d, 0) + 1
        max_depth = self._ctx.max_task_depth
        state: dict[str, tuple[str, int]] = dict(known)  # id -> (status, depth) as the batch is laid out
        rows: list[tuple[Any, ...]] = []
        edges: list[tuple[str, str]] = []
        audit_rows: list[tuple[Any, ...]] = []
        aid = cur.execute(q.audit_max_id).fetchall()[0][0]  # (ids of the submit rows, given below)
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
                elif status not in ("completed", "failed", "cancelled"):
                    waiting += 1
                edges.append((tid, d))
                if d not in local and status in OPEN:
                    bumped[d] = bumped.get(d, 0) + 1
            if depth > max_depth:
                raise DependencyError(
                    self._where(batch, i, "depends_on"), f"chain of {depth} prerequisites exceeds max depth {max_depth}"
                )
            status = ended or ("blocked" if waiting else "ready")
            state[tid] = (status, depth)
            ready_at = max(now, n.not_before)
            pat = patience(n.priority, n.source, inner_dependants.get(tid, 0), n.deadline, now)
            cap = deadline_cap(n.deadline, n.estimated)
            rank = ready_at + pat if cap is None else min(ready_at + pat, cap)
            parent = None if n.parent is None else refs.get(n.parent, n.parent)
            rows.append(
                (
                    tid, n.summary, n.payload, n.queue, n.agent_type, status, n.priority, n.source, rank, pat,
                    cap, ready_at if status == "ready" else None, n.not_before, n.deadline, n.estimated,
                    n.max_attempts, n.timeout, parent, n.session_id, n.idempotency_key, n.policy,
                    orjson.dumps(deps_of[i]).decode(), waiting, inner_dependants.get(tid, 0), depth, n.metadata,
                    now, now, now if ended else None, why,
                )
            )  # fmt: skip
            detail = {"summary": n.summary[:200], "queue": n.queue, "status": status}
            aid += 1
            rows[-1] += (aid,)  # the task's audit_head: its submit row
            audit_rows.append((aid, now, actor, "task.submit", "task", tid, None, orjson.dumps(detail).decode(),
                               None, None, None))  # fmt: skip
        cur.executemany(q.task_insert, rows)
        if edges:
            cur.executemany(q.task_dep_insert, edges)
        for d, times in bumped.items():
            for _ in range(times):
                cur.execute(q.task_add_dependant, (d, UNBLOCK_BONUS))
        cur.executemany(q.audit_insert_linked, audit_rows)
        for i in todo:
            out[i] = ids[i]
        return self._fetch(cur, [x for x in out if x is not None], now)

    @staticmethod
    def _where(batch: list[_New], i: int, field: str) -> str:
        return field if len(batch) == 1 else f"items[{i}].{field}"

    def _topological(
        self,
        batch: list[_New],
        todo: list[int],
        deps_of: dict[int, list[str]],
        ids: dict[int, str],
        local: dict[str, int],
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

    def _fetch(self, cur: Cursor, ids: list[str], now: int) -> list[Task]:
        rows = cur.execute(self._q.tasks_by_ids, (orjson.dumps(ids).decode(),)).fetchall()
        by_id = {r[0]: _task(r, now) for r in rows}
        return [by_id[i] for i in ids]

    # -- claiming and finishing ----------------------------------------------------------------

    @checked
    def claim(
        self,
        worker_id: Name,
        queues: Names = ("default",),
        agent_types: NameSet | None = None,
        lease_seconds: Seconds = 60,
        limit: ClaimLimit = 1,
    ) -> list[Task]:
        """Atomically move up to ``limit`` of the most urgent ready tasks to ``running``.

        Each claimed task gets a lease (``lease_token``, ``lease_expires_at``) that the worker
        keeps alive with ``heartbeat`` and presents to ``complete``/``fail``. Tasks whose lease
        expired are rescued first (retried, or failed after their last attempt).
        ``agent_types`` limits the claim to tasks for those agent types (and untyped tasks).
        """
        spec = self._claim_spec(worker_id, queues, agent_types, lease_seconds, limit)
        return self._e.write(lambda cur: self._claim_in(cur, self._now(), spec))

    @staticmethod
    def _claim_spec(
        worker_id: str,
        queues: str | Sequence[str],
        agent_types: Iterable[str] | None,
        lease_seconds: float | timedelta,
        limit: int,
    ) -> _ClaimSpec:
        """A checked claim's arguments, ready for _claim_in."""
        types = None if agent_types is None else orjson.dumps(as_list(agent_types)).decode()
        lease = seconds_us(lease_seconds, "lease_seconds") or 0
        return _ClaimSpec(worker_id, as_list(queues), types, lease, limit)

    def _claim_in(self, cur: Cursor, now: int, spec: _ClaimSpec) -> list[Task]:
        """The claim, inside the caller's transaction."""
        q = self._q
        self._rescue(cur, now)
        found = []
        for qn in spec.queues:
            if spec.types is None:
                found += cur.execute(q.task_candidates, (qn, now, spec.limit)).fetchall()
            else:
                found += cur.execute(q.task_candidates_typed, (qn, now, spec.types, spec.limit)).fetchall()
        if len(spec.queues) > 1:
            found.sort(key=lambda r: (r[1], r[0]))
        token = secrets.token_hex(12)
        tasks = []
        for tid, _rank, attempt in found[: spec.limit]:
            cur.execute(q.audit_insert_task, (now, spec.worker_id, "task.claim", tid, f'{{"attempt":{attempt + 1}}}'))
            rows = cur.execute(q.task_claim, (tid, token, spec.lease, now, spec.worker_id)).fetchall()
            if not rows:  # (cannot happen: the candidates were read in this transaction)
                raise StorageError(f"task {tid} changed during its claim")
            tasks.append(_task(rows[0], now))
        return tasks

    def _rescue(self, cur: Cursor, now: int) -> int:
        """Give tasks whose lease expired back to the queue (or fail them after their last attempt)."""
        expired = cur.execute(self._q.task_expired, (now,)).fetchall()
        for tid, attempt, max_attempts in expired:
            if attempt < max_attempts:
                cur.execute(self._q.task_rescue, (tid, now, "lease expired"))
                action = "task.rescue"
            else:
                cur.execute(
                    self._q.task_finish_running, (tid, None, now, "failed", "lease expired on the last attempt", now, 0)
                )
                self._propagate(cur, tid, "failed", now)
                action = "task.fail"
            self._audit(cur, [(now, None, action, tid, f'{{"attempt":{attempt},"reason":"lease expired"}}')])
        return len(expired)

    def _audit(self, cur: Cursor, rows: Iterable[tuple[int, str | None, str, str, str]]) -> None:
        """Audit rows of task changes, ``(at, actor, action, task_id, detail)``, each linked into
        its task's chain: the row reads the task's head, then the head points at it."""
        q = self._q
        for row in rows:
            cur.execute(q.audit_insert_task, row)
            cur.execute(q.task_set_audit_head, (row[3],))

    def rescue_expired(self) -> int:
        """Rescue tasks whose lease expired now (claims and workers also do it); returns how many."""
        return self._e.write(lambda cur: self._rescue(cur, self._now()))

    def _lease_problem(self, cur: Cursor, task_id: str, token: str) -> Exception:
        rows = cur.execute(self._q.task_get, (task_id,)).fetchall()
        if not rows:
            return NotFound(f"task {task_id!r} not found")
        t = _task(rows[0], self._now())
        if t.status == "cancelled":
            return TaskCancelled(f"task {task_id} was cancelled" + (f": {t.error}" if t.error else ""))
        if t.lease_token != token:
            return LeaseLost(f"task {task_id}: lease token is stale (the task was rescued and reassigned)")
        return InvalidTransition(f"task {task_id} is {t.status}, not running")

    @checked
    def heartbeat(self, task_id: Id, lease_token: Name, lease_seconds: Seconds | None = None) -> Task:
        """Extend the lease of a running task (never beyond its timeout).

        Raises TaskCancelled if the task was cancelled, LeaseLost if the token is stale.
        """
        lease = _opt_seconds(lease_seconds, "lease_seconds")

        def op(cur: Cursor) -> Task:
            now = self._now()
            cur.execute(self._q.audit_insert_task, (now, None, "task.heartbeat", task_id, "{}"))
            if not cur.execute(self._q.task_heartbeat, (task_id, lease_token, now, lease)).fetchall():
                raise self._lease_problem(cur, task_id, lease_token)  # (and the audit row rolls back)
            return self._fetch(cur, [task_id], now)[0]

        return self._e.write(op)

    @checked
    def complete(self, task_id: Id, lease_token: Name, result: Any = None) -> Task:
        """Finish a running task with ``result``; dependants with no other prerequisite left become ready."""
        body = self._result_body(result)

        def op(cur: Cursor) -> Task:
            done = self._complete_in(cur, task_id, lease_token, body, self._now())
            assert done is not None
            return done

        return self._e.write(op)

    @checked
    def complete_and_claim(
        self,
        task_id: Id,
        lease_token: Name,
        result: Any = None,
        *,
        worker_id: Name,
        queues: Names = ("default",),
        agent_types: NameSet | None = None,
        lease_seconds: Seconds = 60,
        limit: ClaimLimit = 1,
    ) -> list[Task]:
        """``complete`` a task, then ``claim`` the next ones, in one transaction: a worker's step
        from one task to the next costs one commit instead of two. Returns the claimed tasks (the
        completed one is not read back: ``get`` it if needed). If the completion fails (a stale
        lease, a cancelled task), it raises as ``complete`` does and nothing is claimed."""
        body = self._result_body(result)
        spec = self._claim_spec(worker_id, queues, agent_types, lease_seconds, limit)
        return self._e.write(_StepOp(self, task_id, lease_token, body, spec))

    @checked
    def complete_many(
        self,
        items: Batch,
        *,
        claim: Count = 0,
        worker_id: Name | None = None,
        queues: Names = ("default",),
        agent_types: NameSet | None = None,
        lease_seconds: Seconds = 60,
    ) -> Completions:
        """Complete many running tasks in one transaction, each ``(task_id, lease_token[,
        result])``, then (``claim`` > 0, with ``worker_id``) claim up to that many next tasks in
        the same commit: a batching worker's step. Each completion stands alone: a stale lease,
        a cancelled task or a result that cannot be stored fails that one only (its error is in
        ``errors``; nothing of it is written), and the others commit."""
        done: list[tuple[str, str, str] | Exception] = []
        for i, item in enumerate(items):
            try:
                if not isinstance(item, Sequence) or isinstance(item, str) or len(item) not in (2, 3):
                    raise InvalidInput(f"items[{i}]", "each item is (task_id, lease_token[, result])")
                task_id = check_name(item[0], f"items[{i}].task_id")
                token = check_name(item[1], f"items[{i}].lease_token")
                done.append((task_id, token, self._result_body(item[2] if len(item) == 3 else None)))
            except InvalidInput as exc:
                done.append(exc)
        spec = None
        if claim:
            if worker_id is None:
                raise InvalidInput("worker_id", "a claim needs the claiming worker's id")
            spec = self._claim_spec(worker_id, queues, agent_types, lease_seconds, claim)

        def op(cur: Cursor) -> Completions:
            now = self._now()
            errors = [d if isinstance(d, Exception) else self._complete_alone(cur, *d, now) for d in done]
            return Completions(errors, self._claim_in(cur, now, spec) if spec else [])

        return self._e.write(op)

    def _result_body(self, result: Any) -> str:
        return codec.dumps(result, "result", self._ctx.max_value_bytes)

    def _complete_alone(self, cur: Cursor, task_id: str, token: str, body: str, now: int) -> Exception | None:
        """A completion that stands alone in a shared transaction: refused (a stale lease, a
        cancelled or unknown task), it writes nothing and returns why."""
        try:
            self._complete_in(cur, task_id, token, body, now, read_back=False)
        except (NotFound, LeaseLost, TaskCancelled, InvalidTransition) as exc:
            cur.execute(self._q.audit_delete_last)  # (the refusal comes after its audit row, the last one)
            return exc
        return None

    def _complete_in(
        self,
        cur: Cursor,
        task_id: str,
        lease_token: str,
        body: str,
        now: int,
        read_back: bool = True,
    ) -> Task | None:
        """The completion, inside the caller's transaction (which must roll back if it raises:
        a refusal comes after the audit row, see _complete_alone); returns the completed task if
        ``read_back``."""
        q = self._q
        cur.execute(q.audit_insert_task, (now, None, "task.complete", task_id, '{"released":0}'))
        args = (task_id, lease_token, body, now)
        rows = cur.execute(q.task_complete if read_back else q.task_complete_quiet, args).fetchall()
        if not rows:
            raise self._lease_problem(cur, task_id, lease_token)  # (and the audit row rolls back)
        done = _task(rows[0], now) if read_back else None
        released = []
        if rows[0][_DEPENDANTS] if read_back else rows[0][0]:
            released = [
                r[0] for r in cur.execute(q.task_release_dependants, (task_id, now)).fetchall() if r[1] == "ready"
            ]
        if released:
            cur.execute(q.task_audit_set_detail, (task_id, f'{{"released":{len(released)}}}'))
            self._audit(cur, [(now, None, "task.ready", r, f'{{"after":"{task_id}"}}') for r in released])
        return done

    @checked
    def fail(self, task_id: Id, lease_token: Name, error: Message, retry: Flag = True) -> Task:
        """Record a failed attempt. With ``retry`` and attempts left, the task is ready again after
        an exponential backoff with jitter; otherwise it is ``failed`` and its dependants follow
        their ``on_dependency_failure`` policy."""

        def op(cur: Cursor) -> Task:
            now = self._now()
            rows = cur.execute(self._q.task_get, (task_id,)).fetchall()
            if not rows or rows[0][5] != "running" or rows[0][15] != lease_token:
                raise self._lease_problem(cur, task_id, lease_token)
            attempt, max_attempts = rows[0][11], rows[0][12]
            if retry and attempt < max_attempts:
                delay = self._backoff(attempt)
                cur.execute(self._q.task_finish_running, (task_id, lease_token, now, "ready", error, now + delay, 0))
                detail = {"attempt": attempt, "retry_in_s": round(delay / S, 3), "error": error[:200]}
                action = "task.retry"
            else:
                cur.execute(self._q.task_finish_running, (task_id, lease_token, now, "failed", error, now, 0))
                self._propagate(cur, task_id, "failed", now)
                detail = {"attempt": attempt, "error": error[:200]}
                action = "task.fail"
            self._audit(cur, [(now, None, action, task_id, orjson.dumps(detail).decode())])
            return self._fetch(cur, [task_id], now)[0]

        return self._e.write(op)

    def _backoff(self, attempt: int) -> int:
        base = self._ctx.retry_base_us * (2 ** min(attempt - 1, 30))
        return int(min(base, MAX_BACKOFF) * random.uniform(0.5, 1.5))

    @checked
    def release(self, task_id: Id, lease_token: Name) -> Task:
        """Hand a running task back to the queue unfinished (the attempt does not count)."""

        def op(cur: Cursor) -> Task:
            now = self._now()
            if not cur.execute(
                self._q.task_finish_running, (task_id, lease_token, now, "ready", None, now, 1)
            ).fetchall():
                raise self._lease_problem(cur, task_id, lease_token)
            self._audit(cur, [(now, None, "task.release", task_id, "{}")])
            return self._fetch(cur, [task_id], now)[0]

        return self._e.write(op)

    def _propagate(self, cur: Cursor, root: str, status: str, now: int) -> None:
        """A task ended without completing: apply each open dependant's failure policy, transitively."""
        frontier = [(root, status)]
        while frontier:
            tid, why = frontier.pop()
            for dep_id, _dep_status, policy, _waiting in cur.execute(self._q.task_dependants_open, (tid,)).fetchall():
                if policy == "run":
                    cur.execute(self._q.task_release_one, (dep_id, now))
                    continue
                new_status = "cancelled" if policy == "cancel" else "failed"
                reason = f"dependency {tid} {why}"
                if cur.execute(self._q.task_end, (dep_id, new_status, reason, now)).fetchall():
                    action = f"task.{'cancel' if new_status == 'cancelled' else 'fail'}"
                    self._audit(cur, [(now, None, action, dep_id, orjson.dumps({"reason": reason}).decode())])
                    frontier.append((dep_id, new_status))

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

        def op(cur: Cursor) -> Task:
            now = self._now()
            rows = cur.execute(self._q.task_get, (task_id,)).fetchall()
            if not rows:
                raise NotFound(f"task {task_id!r} not found")
            status = rows[0][5]
            if status == "cancelled":
                return _task(rows[0], now)
            if status in FINISHED:
                raise InvalidTransition(f"task {task_id} is {status}; finished tasks cannot be cancelled")
            cur.execute(self._q.task_end, (task_id, "cancelled", why, now))
            audit_rows = [(now, actor, "task.cancel", task_id, orjson.dumps({"reason": why}).decode())]
            if cascade:
                below = [r[0] for r in cur.execute(self._q.task_downstream, (task_id,)).fetchall()]
                reason_below = f"upstream task {task_id} cancelled"
                for tid in below:
                    cur.execute(self._q.task_end, (tid, "cancelled", reason_below, now))
                detail = orjson.dumps({"reason": reason_below}).decode()
                audit_rows += [(now, actor, "task.cancel", tid, detail) for tid in below]
            else:
                self._propagate(cur, task_id, "cancelled", now)
            self._audit(cur, audit_rows)
            return self._fetch(cur, [task_id], now)[0]

        return self._e.write(op)

    @checked
    def retry(self, task_id: Id, *, actor: Name | None = None) -> Task:
        """Queue a failed or cancelled task again with fresh attempts (``blocked`` if it still
        waits on prerequisites). Its dependants that were cancelled stay cancelled; blocked ones
        that had counted it as settled (``on_dependency_failure="run"``) wait for it again."""
        actor = actor or self._ctx.actor

        def op(cur: Cursor) -> Task:
            now = self._now()
            rows = cur.execute(self._q.task_get, (task_id,)).fetchall()
            if not rows:
                raise NotFound(f"task {task_id!r} not found")
            if rows[0][5] not in ("failed", "cancelled"):
                raise InvalidTransition(
                    f"task {task_id} is {rows[0][5]}; only failed or cancelled tasks can be retried"
                )
            policy = rows[0][23]
            waiting = 0
            for pid, pstatus in cur.execute(self._q.task_prereq_states, (task_id,)).fetchall():
                if pstatus in ("failed", "cancelled") and policy != "run":
                    raise InvalidTransition(f"task {task_id}: prerequisite {pid} is {pstatus}; retry it first")
                if pstatus in OPEN:
                    waiting += 1
            status = "blocked" if waiting else "ready"
            cur.execute(self._q.task_retry, (task_id, status, waiting, now))
            rewaiting = len(cur.execute(self._q.task_rewait_dependants, (task_id, now)).fetchall())
            # Those attached while it was already settled were never counted as its dependants
            # (its score, the release on completion): count them now, once.
            for _ in range(rewaiting - rows[0][_DEPENDANTS]):
                cur.execute(self._q.task_add_dependant, (task_id, UNBLOCK_BONUS))
            detail = f'{{"status":"{status}","dependants_waiting_again":{rewaiting}}}'
            self._audit(cur, [(now, actor, "task.retry", task_id, detail)])
            return self._fetch(cur, [task_id], now)[0]

        return self._e.write(op)

    # -- reading -------------------------------------------------------------------------------

    @checked
    def get(self, task_id: Id) -> Task:
        """The task with this id, or NotFound."""
        rows = self._e.query(self._q.task_get, (task_id,))
        if not rows:
            raise NotFound(f"task {task_id!r} not found")
        return _task(rows[0], self._now())

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
        ph = self._e.placeholder
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if status is not None:
            statuses = as_list(status)
            where.append(f"status IN ({', '.join([ph] * len(statuses))})")
            params += statuses
            if not {"ready", "running"} & set(statuses):
                where.append(_NOT_CLAIMABLE)  # lets SQLite use the partial index tasks_status
        for column, value in (
            ("queue", queue),
            ("agent_type", agent_type),
            ("parent_id", parent),
            ("session_id", session_id),
        ):
            if value is not None:
                where.append(f"{column} = {ph}")
                params.append(value)
        now = self._now()
        return newest_first(self._e, self._q.task_select, where, params, cursor, limit, lambda r: _task(r, now), "tasks")

    @checked
    def children(self, task_id: Id) -> builtins.list[Task]:
        """Direct subtasks (``parent=task_id``), oldest first."""
        self.get(task_id)
        now = self._now()
        return [_task(r, now) for r in self._e.query(self._q.task_children, (task_id,))]

    @checked
    def tree(self, root_id: Id) -> TaskNode:
        """The task and all its subtasks, transitively, as a tree (children oldest first)."""
        now = self._now()
        rows = self._e.query(self._q.task_subtree, (root_id,))
        if not rows:
            raise NotFound(f"task {root_id!r} not found")
        nodes = {r[0]: TaskNode(_task(r, now)) for r in rows}
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
        return [_task(r, now) for r in self._e.query(self._q.task_dependencies, (task_id,))]

    @checked
    def dependants(self, task_id: Id) -> builtins.list[Task]:
        """The tasks waiting for ``task_id``."""
        self.get(task_id)
        now = self._now()
        return [_task(r, now) for r in self._e.query(self._q.task_dependants, (task_id,))]

    @checked
    def plan(self, task_ids: Ids) -> builtins.list[builtins.list[str]]:
        """Topological batches to finish ``task_ids``: each batch's tasks may run in parallel once
        the batches before it are done. Unfinished prerequisites are included; completed ones are not."""
        ids = as_list(task_ids)
        if not ids:
            return []

        def walk(cur: Cursor) -> dict[str, builtins.list[str]]:
            # Breadth-first through unfinished prerequisites, one statement per level.
            status: dict[str, str] = {}
            deps: dict[str, builtins.list[str]] = {}
            frontier = builtins.list(dict.fromkeys(ids))
            while frontier:
                for tid, st, text in cur.execute(self._q.task_plan_nodes, (orjson.dumps(frontier).decode(),)):
                    status[tid] = st
                    if st != "completed":
                        deps[tid] = orjson.loads(text)
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

    @checked
    def has_open_work(self, queues: Names = ("default",)) -> bool:
        """Whether any of ``queues`` holds a blocked, ready or running task (cheap: index probes)."""
        return any(self._e.query(self._q.task_open_in_queue, (q,))[0][0] for q in as_list(queues))

    def stats(self) -> dict[str, Any]:
        """Counts per status and per queue, the oldest ready task's wait, and recent throughput."""
        now = self._now()

        def read(cur: Cursor) -> dict[str, Any]:
            by_status = {s: 0 for s in STATUSES}
            queues: dict[str, dict[str, int]] = {}
            for queue, status, n in cur.execute(self._q.task_counts).fetchall():
                by_status[status] += n
                queues.setdefault(queue, {})[status] = n
            oldest = cur.execute(self._q.task_oldest_ready).fetchall()[0][0]
            throughput = {}
            for minutes in (1, 5, 15):
                completed, failed = cur.execute(self._q.task_finished_since, (now - minutes * 60 * S,)).fetchall()[0]
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

    # -- retention -----------------------------------------------------------------------------

    @checked
    def prune(
        self,
        older_than: Seconds,
        statuses: FinishedStatuses = FINISHED,
        dry_run: Flag = False,
        *,
        actor: Name | None = None,
    ) -> PruneResult:
        """Remove finished tasks that finished more than ``older_than`` ago (seconds or timedelta),
        never one that an unfinished task still depends on or has as parent."""
        age = seconds_us(older_than, "older_than")
        wanted = as_list(statuses)
        actor = actor or self._ctx.actor

        def op(cur: Cursor) -> PruneResult:
            now = self._now()
            assert age is not None
            ids = [
                r[0]
                for r in cur.execute(
                    self._q.task_prunable, (now - age, orjson.dumps(wanted).decode(), 100_000)
                ).fetchall()
            ]
            if dry_run or not ids:
                return PruneResult(ids, dry_run)
            gone = [(i,) for i in ids]
            # the audit rows first: each links to its task's chain before the task is gone (no
            # head to point at it: the task's row goes)
            cur.executemany(self._q.audit_insert_task, [(now, actor, "task.prune", i, "{}") for i in ids])
            cur.executemany(self._q.task_deps_delete, gone)
            cur.executemany(self._q.task_delete, gone)
            return PruneResult(ids, False)

        return self._e.write(op)

    # -- short ids -----------------------------------------------------------------------------

    @checked
    def _match_ids(self, fragment: Name, limit: ClaimLimit = 2) -> builtins.list[str]:
        """Ids that contain ``fragment``, at most ``limit`` (the CLI's short ids); a scan of the ids.
        Private until the async facade mirrors it."""
        return [r[0] for r in self._e.query(self._q.task_ids_matching, (fragment, limit))]
