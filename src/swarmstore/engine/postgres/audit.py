"""The PostgreSQL engine's audit operations (``engine.audit``): SQL text in ``sql/audit.sql``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import orjson

from ..ops.audit import AuditFilter, AuditRecord, AuditRow
from ..where import Where, audit_where
from .runner import QUERIES

_COLUMNS = "at, actor, action, entity, entity_id, namespace, detail, version, snapshot, prev"
_INSERT_ONE = (
    f"INSERT INTO audit ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s::json, %s) RETURNING id"
)
_INSERT_ONE_UNREAD = _INSERT_ONE.removesuffix(" RETURNING id")
_INSERT_ONE_ID = (
    f"INSERT INTO audit (id, {_COLUMNS}) OVERRIDING SYSTEM VALUE "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s::json, %s)"
)
# Many rows in one statement: the columns as arrays, unnested in order. The identity column hands
# out ids as the rows are inserted, in ``ord`` order, so the ids sorted are the records' ids in order.
_INSERT_MANY = (
    f"INSERT INTO audit ({_COLUMNS}) "
    "SELECT at, actor, action, entity, entity_id, namespace, detail::jsonb, version, snapshot::json, prev "
    "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
    "%s::bigint[], %s::text[], %s::bigint[]) "
    f"WITH ORDINALITY AS r({_COLUMNS}, ord) ORDER BY ord RETURNING id"
)
_SELECT = "SELECT id, at, actor, action, entity, entity_id, namespace, detail FROM audit"
_dumps = orjson.dumps
_new = tuple.__new__


def _detail(r: AuditRecord) -> str:
    return "{}" if not r.detail else _dumps(r.detail).decode()


def write_audit(
    tx: Any, records: Sequence[AuditRecord], ids: Sequence[int] | None = None, *, read_ids: bool = True
) -> list[int]:
    """The one path every audit row of the PostgreSQL engine is written by: one INSERT ...
    RETURNING for all of them; the rows' ids (from the log's identity sequence), in order.
    ``detail`` is encoded here (orjson; ``orjson.Fragment`` embeds JSON text), ``snapshot`` is
    JSON text; detail is stored as jsonb, snapshot as json (the text as written: see migration 0002).
    ``ids``: for one record, an id the caller already took from the sequence (see below).
    ``read_ids=False``: the caller does not need the ids (``[]`` back): nothing is read, so the
    INSERT reaches the server with the transaction's next statement (see pipeline.py)."""
    if not records:
        return []
    if ids is not None:
        # ids the caller took from the log's sequence itself (nextval('audit_id_seq'), in the
        # statement that needed them): nothing to read back, so the row travels with the next one
        assert len(records) == 1 == len(ids)
        r = records[0]
        tx.execute(_INSERT_ONE_ID, (ids[0], r.at, r.actor, r.action, r.entity, r.entity_id, r.namespace,
                                    _detail(r), r.version, r.snapshot, r.prev))  # fmt: skip
        return list(ids)
    if len(records) == 1:
        r = records[0]
        if not read_ids:
            tx.execute(_INSERT_ONE_UNREAD, (r.at, r.actor, r.action, r.entity, r.entity_id, r.namespace,
                                            _detail(r), r.version, r.snapshot, r.prev))  # fmt: skip
            return []
        row = (r.at, r.actor, r.action, r.entity, r.entity_id, r.namespace, _detail(r), r.version, r.snapshot, r.prev)
        return [tx.execute(_INSERT_ONE, row).fetchone()[0]]
    columns = (
        [r.at for r in records],
        [r.actor for r in records],
        [r.action for r in records],
        [r.entity for r in records],
        [r.entity_id for r in records],
        [r.namespace for r in records],
        [_detail(r) for r in records],
        [r.version for r in records],
        [r.snapshot for r in records],
        [r.prev for r in records],
    )
    return sorted(row[0] for row in tx.execute(_INSERT_MANY, columns).fetchall())


class PgAuditOps:
    """``AuditOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._q = QUERIES
        self._run = runner

    def append(self, tx: Any, records: Sequence[AuditRecord]) -> builtins.list[int]:
        """Write audit rows in the caller's transaction; their ids, in order."""
        return write_audit(tx, records)

    def list(self, spec: AuditFilter, before: int | None, limit: int) -> builtins.list[AuditRow]:
        return self._select(self._where(spec, before, Where("%s")), limit)

    def trail(self, spec: AuditFilter, before: int | None, limit: int) -> builtins.list[AuditRow]:
        # The audit_entity index leaves out the busiest kinds (memory, tasks, events), found by
        # their links instead, as on SQLite.
        q = self._q
        entity, eid = spec.entity, spec.entity_id
        assert entity is not None and eid is not None
        where = Where("%s")
        if entity == "memory":
            ns, _, key = eid.partition("/")
            where.add(f"id IN ({q.audit_memory_ids})", ns, key, eid)
        elif entity == "task":
            where.add(f"id IN ({q.audit_task_ids})", eid, eid)
        elif entity == "session":
            where.add(f"id IN ({q.audit_session_ids})", eid, eid)
        else:
            where.add(q.audit_indexed)
        return self._select(self._where(spec, before, where), limit)

    def _select(self, where: Where, limit: int) -> builtins.list[AuditRow]:
        return [_new(AuditRow, r) for r in self._run.query(*where.query(_SELECT, "id DESC", limit))]

    @staticmethod
    def _where(spec: AuditFilter, before: int | None, where: Where) -> Where:
        audit_where(spec, before, where)
        if spec.action_family is not None:
            where.add("starts_with(action, ?)", spec.action_family)
        if spec.namespace:
            # (starts_with, not a range: the range of SQLite's byte order depends on the collation here)
            where.add("(namespace = ? OR starts_with(namespace, ?))", spec.namespace, spec.namespace + ":")
        return where
