"""The audit log: one row per mutation, written in the mutation's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from .access import Grant
from .boundary import checked
from .clock import _US, EPOCH, from_dt
from .engine.base import Engine
from .engine.ops.audit import AuditFilter, AuditRow
from .models import AuditEntry, Page
from .paging import before, page
from .params import EntityId, Limit, Name, PageCursor, Prefix, When

_DETAIL: dict[str, Any] = {"detail": lambda r: orjson.loads(r.detail)}  # (decoded on first read: models.Lazy)
_new = object.__new__


def _entry(r: AuditRow) -> AuditEntry:
    """An audit row, its detail decoded on first read."""
    e = _new(AuditEntry)
    e._lazy = _DETAIL
    e._row = r
    e.id = r.id
    e.at = EPOCH + r.at * _US
    e.actor = r.actor
    e.action = r.action
    e.entity = r.entity
    e.entity_id = r.entity_id
    e.namespace = r.namespace
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
        return self._page(entity, entity_id, actor, action, namespace, since, until, limit, cursor, None)

    def _page(
        self,
        entity: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        namespace: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
        allowed: Grant | None = None,
    ) -> Page[AuditEntry]:
        """``list``'s (checked) filters; ``allowed``: a scoped view's readable namespaces (rows
        about other namespaces left out; rows without one kept)."""
        family = action is not None and action.endswith(".*")
        spec = AuditFilter(
            entity,
            entity_id,
            actor,
            None if family else action,
            action[:-1] if family and action is not None else None,
            namespace or None,
            None if since is None else from_dt(since, "since"),
            None if until is None else from_dt(until, "until"),
            allowed,
        )
        last = before(cursor, "audit", int)
        ops = self._e.audit
        rows = (ops.trail if entity is not None and entity_id is not None else ops.list)(spec, last, limit + 1)
        return page(rows, limit, _entry, "audit")
