"""Plain typed objects returned by the store. Timestamps are aware UTC datetimes.

The objects of a listing may leave their JSON fields (``value``, ``state``, ``payload``...) undecoded
until first read: see :class:`Lazy`. They behave as if decoded on construction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

T = TypeVar("T")
_get = object.__getattribute__
_DECODING = threading.Lock()


class Lazy:
    """Base of the models a row decoder may build with some fields left unset (``object.__new__``,
    then the cheap fields assigned): ``_row`` is the row and ``_lazy`` maps each unset field to the
    function that decodes it from the row. The first read of such a field decodes and stores it (a
    slot read fails, so Python calls ``__getattr__``); later reads are plain slot reads. Fields,
    equality, repr, ``dataclasses.asdict``/``replace``, copies and pickles are those of the whole
    object, since they all read the fields. A field assigned before its first read keeps the assigned
    value. (A listing of 100 rows has ~1 µs per row on top of SQLite: decoding JSON nobody reads
    would take a quarter of it.)"""

    __slots__ = ("_lazy", "_row")
    _lazy: Any  # dict[str, Callable[[row], Any]] (Any: mypy looks for slots in the dataclass only)
    _row: Any

    if not TYPE_CHECKING:  # (to type checkers, a misspelt field stays an error)

        def __getattr__(self, name: str) -> Any:
            if name[:1] != "_":
                try:
                    decode = self._lazy[name]  # (unset ``_lazy``: an object built whole by __init__)
                except (AttributeError, KeyError):
                    pass
                else:
                    with _DECODING:  # two threads reading it first get the same object
                        try:
                            return _get(self, name)
                        except AttributeError:
                            value = decode(self._row)
                            setattr(self, name, value)
                            return value
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self)

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        # The fields only, decoded (the row and its decoders are not part of the value).
        return None, {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


SessionStatus = Literal["created", "active", "paused", "terminated", "archived"]
MemoryType = Literal["semantic", "episodic", "procedural"]
MEMORY_TYPES: frozenset[str] = frozenset({"semantic", "episodic", "procedural"})


@dataclass(slots=True)
class Session(Lazy):
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
class Memory(Lazy):
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
class AuditEntry(Lazy):
    id: int
    at: datetime
    actor: str | None
    action: str
    entity: str
    entity_id: str
    namespace: str | None
    detail: dict[str, Any]


TaskStatus = Literal["blocked", "ready", "running", "completed", "failed", "cancelled"]
AgentStatus = Literal["idle", "busy", "stopping", "stopped"]


@dataclass(slots=True)
class Task(Lazy):
    """A unit of work in the queue. ``score`` is the claim urgency at read time (higher = sooner):
    seconds past the time by which the task should have been claimed (see ``swarmstore.tasks``)."""

    id: str
    summary: str
    payload: Any
    queue: str
    status: str
    priority: int
    score: float
    attempt: int
    max_attempts: int
    lease_token: str | None
    lease_expires_at: datetime | None
    worker_id: str | None
    result: Any
    error: str | None
    parent_id: str | None
    depends_on: list[str]
    created_at: datetime
    agent_type: str | None = None
    source: str = "human"
    session_id: str | None = None
    deadline: datetime | None = None
    estimated_seconds: float | None = None
    timeout_seconds: float = 3600.0
    not_before: datetime | None = None
    idempotency_key: str | None = None
    on_dependency_failure: str = "cancel"
    waiting_on: int = 0
    dependants: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


@dataclass(slots=True)
class TaskNode:
    """One task of a tree (``tasks.tree``) with its subtasks."""

    task: Task
    children: list[TaskNode] = field(default_factory=list)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Task]]:
        """Every task of the tree, depth first, with its depth (the root is 0)."""
        yield depth, self.task
        for child in self.children:
            yield from child.walk(depth + 1)


@dataclass(slots=True)
class Agent(Lazy):
    id: str
    name: str
    agent_type: str
    model: str | None
    session_id: str | None
    status: str
    current_task: str | None
    metadata: dict[str, Any]
    registered_at: datetime
    last_seen_at: datetime
    stopped_at: datetime | None = None
    alive: bool = True


@dataclass(slots=True)
class PruneResult:
    """What ``tasks.prune`` removed (or would remove, with ``dry_run``)."""

    removed: list[str]
    dry_run: bool = False

    @property
    def count(self) -> int:
        return len(self.removed)


@dataclass(slots=True)
class Completions:
    """What ``tasks.complete_many`` did: each completion's error, in the order given (None: it
    committed), and the tasks claimed in the same transaction."""

    errors: list[Exception | None]
    claimed: list[Task] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return sum(e is None for e in self.errors)


@dataclass(slots=True)
class Document:
    """An indexed text: ``status`` is ``indexed`` once every chunk has its vector, ``pending``
    until then, ``failed`` (``error`` says why) when embedding failed (retried by the next pass)."""

    id: str
    namespace: str | None
    title: str | None
    type: str | None
    metadata: dict[str, Any]
    sha256: str
    chunks: int
    status: str
    error: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    updated_by: str | None = None
    text: str = field(default="", repr=False)


@dataclass(slots=True)
class DocumentChunk:
    """A piece of a document: ``heading`` is its markdown heading path ("Install > Linux")."""

    document: str
    seq: int
    heading: str
    text: str
    start: int
    end: int


@dataclass(slots=True)
class SyncReport:
    """What ``documents.sync`` did, by document id (paths relative to the folder)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Hit:
    """One search result: ``memory`` or ``chunk`` (with its ``document``) is set, as ``kind`` says;
    ``retrievers`` says which found it ("keyword", "semantic"); higher ``score`` ranks first."""

    score: float
    kind: str
    retrievers: tuple[str, ...]
    memory: Memory | None = None
    chunk: DocumentChunk | None = None
    document: Document | None = None


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
