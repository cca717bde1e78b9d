"""The SQLite engine's audit operations (``engine.audit``): SQL text in ``sql/audit.sql``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ..ops.audit import AuditRecord

_INSERT = (
    "INSERT INTO audit (id, at, actor, action, entity, entity_id, namespace, detail, version, snapshot, prev) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_dumps = orjson.dumps


def write_audit(cur: Any, records: Sequence[AuditRecord]) -> list[int]:
    """The one path every audit row of the SQLite engine is written by: the rows' ids, in order.

    Ids are assigned here, after the log's last one: the writer holds SQLite's write lock for
    the whole transaction, so no other connection can take them (PostgreSQL uses a sequence)."""
    if not records:
        return []
    first = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM audit").fetchall()[0][0]
    cur.executemany(
        _INSERT,
        [
            (first + i, r.at, r.actor, r.action, r.entity, r.entity_id, r.namespace,
             "{}" if not r.detail else _dumps(r.detail).decode(), r.version, r.snapshot, r.prev)
            for i, r in enumerate(records)
        ],
    )  # fmt: skip
    return list(range(first, first + len(records)))


class SqliteAuditOps:
    """``AuditOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        self._run = runner

    def append(self, tx: Any, records: Sequence[AuditRecord]) -> list[int]:
        """Write audit rows in the caller's transaction; their ids, in order."""
        return write_audit(tx, records)
