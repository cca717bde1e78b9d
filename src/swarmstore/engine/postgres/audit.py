"""The PostgreSQL engine's audit operations (``engine.audit``): SQL text in ``sql/audit.sql``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ..ops.audit import AuditRecord

_COLUMNS = "at, actor, action, entity, entity_id, namespace, detail, version, snapshot, prev"
_INSERT_ONE = (
    f"INSERT INTO audit ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s::jsonb, %s) RETURNING id"
)
# Many rows in one statement: the columns as arrays, unnested in order. The identity column hands
# out ids as the rows are inserted, in ``ord`` order, so the ids sorted are the records' ids in order.
_INSERT_MANY = (
    f"INSERT INTO audit ({_COLUMNS}) "
    "SELECT at, actor, action, entity, entity_id, namespace, detail::jsonb, version, snapshot::jsonb, prev "
    "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
    "%s::bigint[], %s::text[], %s::bigint[]) "
    f"WITH ORDINALITY AS r({_COLUMNS}, ord) ORDER BY ord RETURNING id"
)
_dumps = orjson.dumps


def _detail(r: AuditRecord) -> str:
    return "{}" if not r.detail else _dumps(r.detail).decode()


def write_audit(tx: Any, records: Sequence[AuditRecord]) -> list[int]:
    """The one path every audit row of the PostgreSQL engine is written by: one INSERT ...
    RETURNING for all of them; the rows' ids (from the log's identity sequence), in order.
    ``detail`` is encoded here (orjson; ``orjson.Fragment`` embeds JSON text), ``snapshot`` is
    JSON text; both are stored as jsonb."""
    if not records:
        return []
    if len(records) == 1:
        r = records[0]
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
        self._run = runner

    def append(self, tx: Any, records: Sequence[AuditRecord]) -> list[int]:
        """Write audit rows in the caller's transaction; their ids, in order."""
        return write_audit(tx, records)
