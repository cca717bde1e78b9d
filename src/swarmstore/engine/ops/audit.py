"""The audit operations every engine implements (``engine.audit``), and the rows they return."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from ...access import Grant


class AuditRecord(NamedTuple):
    """One audit row to write. Every audit row of every mutation is written through the engine's
    one audit-writing path, which assigns its id and links it to its entity's chain where the
    entity keeps one (memory keys, tasks)."""

    at: int  # µs since the epoch
    actor: str | None
    action: str  # "memory.put", "task.claim", ...
    entity: str  # "memory", "task", "session", "agent"
    entity_id: str
    namespace: str | None = None
    detail: Mapping[str, Any] | None = None  # encoded by the engine ({} when None)
    version: int | None = None  # the entity's version this row made (memory keys, event seq)
    snapshot: str | None = None  # JSON text: the content of that version (memory puts, events)
    prev: int | None = None  # id of the entity's previous audit row (its chain), when it keeps one


class AuditRow(NamedTuple):
    """One audit row as read back; ``detail`` is JSON text (decoded by the domain on first read)."""

    id: int
    at: int
    actor: str | None
    action: str
    entity: str
    entity_id: str
    namespace: str | None
    detail: str


class AuditFilter(NamedTuple):
    """The filters of an audit listing; each one given narrows it (all None: the whole log)."""

    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None  # an exact action
    action_family: str | None = None  # "memory.": every action that starts with it
    namespace: str | None = None  # a namespace and everything under it (segment-exact)
    since: int | None = None  # at >= since (µs)
    until: int | None = None  # at < until (µs)
    allowed: Grant | None = None  # a scoped view's readable namespaces (rows without one pass)


class AuditOps(Protocol):
    """Writing and reading the audit log."""

    def append(self, tx: Any, records: Sequence[AuditRecord]) -> builtins.list[int]:
        """Write audit rows in the caller's transaction (the engine's one audit-writing path);
        their ids, in order."""
        ...

    def list(self, spec: AuditFilter, before: int | None, limit: int) -> builtins.list[AuditRow]:
        """At most ``limit`` rows matching ``spec`` with ``id < before`` (None: from the newest),
        newest first."""
        ...

    def trail(self, spec: AuditFilter, before: int | None, limit: int) -> builtins.list[AuditRow]:
        """Like ``list`` for one entity's rows (``spec.entity`` and ``spec.entity_id`` set): found
        from the entity itself (its chain, its events), so it costs the trail, not the log."""
        ...
