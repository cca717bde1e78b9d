"""The SQLite engine's audit operations (``engine.audit``): SQL text in ``sql/audit.sql``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import orjson

from ...namespaces import children_range
from ..ops.audit import AuditFilter, AuditRecord, AuditRow
from ..where import Where, audit_where

# One row (the common case: an event, a session or agent change): the id SQLite gives a rowid
# table without AUTOINCREMENT is the same max(id) + 1, and one statement costs less than two.
# (Read back with last_insert_rowid: RETURNING measured ~8x slower than the insert itself.)
_INSERT_ONE = (
    "INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail, version, snapshot, prev) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_COLS = "SELECT id, at, actor, action, entity, entity_id, namespace, detail FROM "
_dumps = orjson.dumps
_new = tuple.__new__


def write_audit(cur: Any, records: Sequence[AuditRecord]) -> list[int]:
    """The one path every audit row of the SQLite engine is written by: the rows' ids, in order.

    Ids are assigned by SQLite, after the log's last one: the writer holds SQLite's write lock
    for the whole transaction, so no other connection can take them (PostgreSQL uses a sequence)."""
    if len(records) == 1:
        r = records[0]
        detail = r[6]  # (the record's fields are _INSERT_ONE's columns, in order)
        return [write_audit_row(cur, (*r[:6], "{}" if not detail else _dumps(detail).decode(), *r[7:]))]
    return write_audit_rows(cur, [(*r[:6], "{}" if not r[6] else _dumps(r[6]).decode(), *r[7:]) for r in records])


def write_audit_row(cur: Any, row: tuple[Any, ...]) -> int:
    """``write_audit`` of one row given as a plain tuple, ``AuditRecord``'s fields in order with
    the detail as JSON text (hot paths: an event append): its id."""
    cur.execute(_INSERT_ONE, row)
    return cur.connection.last_insert_rowid()  # type: ignore[no-any-return]


def write_audit_rows(cur: Any, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """``write_audit_row`` of many rows (hot paths: a batch of puts): their ids, in order.

    SQLite gives a rowid table without AUTOINCREMENT max(id) + 1 a row, so one executemany's
    rows get consecutive ids, the last one ``last_insert_rowid`` (no statement to read the first)."""
    n = len(rows)
    if n < 2:
        return [write_audit_row(cur, rows[0])] if n else []
    cur.executemany(_INSERT_ONE, rows)
    last: int = cur.connection.last_insert_rowid()
    return list(range(last - n + 1, last + 1))


class SqliteAuditOps:
    """``AuditOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        from .engine import QUERIES  # (here: the engine module imports this one)

        self._q = QUERIES
        self._run = runner

    def append(self, tx: Any, records: Sequence[AuditRecord]) -> builtins.list[int]:
        """Write audit rows in the caller's transaction; their ids, in order."""
        return write_audit(tx, records)

    def list(self, spec: AuditFilter, before: int | None, limit: int) -> builtins.list[AuditRow]:
        return self._select("audit", (), self._where(spec, before), limit)

    def trail(self, spec: AuditFilter, before: int | None, limit: int) -> builtins.list[AuditRow]:
        # The audit_entity index leaves out the busiest kinds (memory, tasks, events), found by
        # their links instead: read those rows by id (then sort them), never the log.
        q = self._q
        entity, eid = spec.entity, spec.entity_id
        assert entity is not None and eid is not None
        where = self._where(spec, before)
        if entity == "memory":
            ns, _, key = eid.partition("/")
            ids, ids_params = q.audit_memory_ids, [ns, key, eid]
        elif entity == "task":
            ids, ids_params = q.audit_task_ids, [eid, eid]
        elif entity == "session":
            ids, ids_params = q.audit_session_ids, [eid, eid]
        else:
            where.add(q.audit_indexed)
            return self._select("audit", (), where, limit)
        source = f"(SELECT id AS cid FROM ({ids})) CROSS JOIN audit ON id = cid"
        return self._select(source, ids_params, where, limit)

    def _select(self, source: str, source_params: Sequence[Any], where: Where, limit: int) -> builtins.list[AuditRow]:
        sql, params = where.query(_COLS + source, "id DESC", limit)
        return [_new(AuditRow, r) for r in self._run.query(sql, [*source_params, *params])]

    @staticmethod
    def _where(spec: AuditFilter, before: int | None) -> Where:
        where = audit_where(spec, before, Where())
        if spec.action_family is not None:
            where.add("action >= ? AND action < ?", spec.action_family, spec.action_family[:-1] + "/")
        if spec.namespace:
            lo, hi = children_range(spec.namespace)
            where.add("(namespace = ? OR (namespace >= ? AND namespace < ?))", spec.namespace, lo, hi)
        return where
