"""Plain typed objects returned by the store. Timestamps are aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar, overload

T = TypeVar("T")

SessionStatus = Literal["created", "active", "paused", "terminated", "archived"]
MemoryType = Literal["semantic", "episodic", "procedural"]
MEMORY_TYPES: frozenset[str] = frozenset({"semantic", "episodic", "procedural"})


@dataclass(slots=True)
class Session:
    id: str
    app: str
    user: str
    project: str | None
    status: str
    state: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    terminated_at: datetime | None = None
    archived_at: datetime | None = None
    event_count: int = 0


@dataclass(slots=True)
class Event:
    session_id: str
    seq: int
    type: str
    actor: str
    content: Any
    created_at: datetime
    state_delta: dict[str, Any] | None = None


@dataclass(slots=True)
class Memory:
    namespace: str
    key: str
    value: Any
    type: str
    version: int
    metadata: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    deleted: bool = False
    updated_by: str | None = None


@dataclass(slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str | None
    action: str
    entity: str
    entity_id: str
    namespace: str | None
    detail: dict[str, Any]


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a listing: iterate over it; pass ``next_cursor`` back to get the next page."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        return self.items[i]

    def __bool__(self) -> bool:
        return bool(self.items)
