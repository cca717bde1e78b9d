"""The audit log: one row per mutation, written in the mutation's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from .boundary import checked
from .clock import _US, EPOCH, from_dt
from .engine.base import Cursor, Engine, Row
from .models import AuditEntry, Page
from .namespaces import children_range
from .paging import newest_first
from .params import EntityId, Limit, Name, PageCursor, Prefix, When

_COLS = "id, at, actor, action, entity, entity_id, namespace, detail"


def record(
    cur: Cursor,
    engine: Engine,
    at: int,
    actor: str | None,
    action: str,
    entity: str,
    entity_id: str,
    namespace: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit row inside the caller's write transaction."""
    text = orjson.dumps(detail).decode() if detail else "{}"
    cur.execute(engine.q.audit_insert, (at, actor, action, entity, entity_id, namespace, text))


def record_many(cur: Cursor, engine: Engine, rows: Sequence[Sequence[Any]]) -> None:
    """Write many audit rows: each is (at, actor, action, entity, entity_id, namespace, detail_json)."""
    if rows:
        cur.executemany(engine.q.audit_insert, rows)


_DETAIL: dict[str, Any] = {"detail": lambda r: orjson.loads(r[7])}  # (decoded on first read: models.Lazy)
_new = object.__new__


def _entry(r: Row) -> AuditEntry:
    """An audit row (``_COLS``), its detail decoded on first read."""
    e = _new(AuditEntry)
    e._lazy = _DETAIL
    e._row = r
    e.id = r[0]
    e.at = EPOCH + r[1] * _US
    e.actor = r[2]
    e.action = r[3]
    e.entity = r[4]
    e.entity_id = r[5]
    e.namespace = r[6]
    return e


class Audit:
    """``store.audit``: read the audit log, newest first."""

    def __init__(self, engine: Engine) -> None:
        self._e = engine

    @checked
    def list(
        self,
        *,
        entity: Name | None = None,
        entity_id: EntityId | None = None,
        actor: Name | None = None,
        action: Name | None = None,
        namespace: Prefix | None = None,
        since: When | None = None,
        until: When | None = None,
        limit: Limit = 100,
        cursor: PageCursor | None = None,
    ) -> Page[AuditEntry]:
        """Audit entries matching every given filter, newest first.

        ``namespace`` is a prefix (segment-exact, as in memory listings); ``action`` may end
        with ``.*`` to match a family (``memory.*``).
        """
        ph = self._e.placeholder
        q = self._e.q
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("entity", entity), ("entity_id", entity_id), ("actor", actor)):
            if value is not None:
                where.append(f"{column} = {ph}")
                params.append(value)
        source = "audit"
        if entity is not None and entity_id is not None:
            # One entity's rows. The index leaves out the busiest kinds (memory, tasks, events),
            # found by their links instead: read those rows by id (then sort them), never the log.
            ids_params = [entity_id, entity_id]
            if entity == "memory":
                ns, _, key = entity_id.partition("/")
                ids, ids_params = q.audit_memory_ids, [ns, key, entity_id]
            elif entity == "task":
                ids = q.audit_task_ids
            elif entity == "session":
                ids = q.audit_session_ids
            else:
                ids = ""
                where.append(q.audit_indexed)
            if ids:
                source = f"(SELECT id AS cid FROM ({ids})) CROSS JOIN audit ON id = cid"
                params = [*ids_params, *params]
        if action is not None:
            if action.endswith(".*"):
                where.append(f"action >= {ph} AND action < {ph}")
                params += [action[:-1], action[:-2] + "/"]
            else:
                where.append(f"action = {ph}")
                params.append(action)
        if namespace:
            lo, hi = children_range(namespace)
            where.append(f"(namespace = {ph} OR (namespace >= {ph} AND namespace < {ph}))")
            params += [namespace, lo, hi]
        if since is not None:
            where.append(f"at >= {ph}")
            params.append(from_dt(since, "since"))
        if until is not None:
            where.append(f"at < {ph}")
            params.append(from_dt(until, "until"))
        return newest_first(self._e, f"SELECT {_COLS} FROM {source}", where, params, cursor, limit, _entry, "audit", int)
