"""The audit operations every engine implements (``engine.audit``), and the rows they return."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol


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


class AuditOps(Protocol):
    """audit operations (to be declared by the engine-boundary move of issue 14)."""
