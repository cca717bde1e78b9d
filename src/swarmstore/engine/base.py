"""The engine contract: what domain services need from a storage engine, at the level of operations.

Services never see SQL. They call named operations on the engine's operation sets
(``engine.memory``, ``engine.sessions``, ``engine.tasks``, ``engine.agents``, ``engine.audit``;
the protocols are in ``engine/ops/``) with Python-typed parameters (lists as lists, JSON as
objects or as JSON text already checked by ``codec``) and get named rows back. Each engine owns its
SQL text, dynamic filters, binding, JSON encoding, ids, audit linking and error mapping.

An operation that takes a ``tx`` runs inside the transaction a service opened with
``engine.write`` (or ``engine.read_snapshot``, for reads that must see one snapshot); the
others run on their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    from .ops import AgentOps, AuditOps, DocumentOps, MemoryOps, SearchOps, SessionOps, TaskOps

R = TypeVar("R")
Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an engine can do, for the services, the async API and the tests to adapt to."""

    name: str  # "sqlite" or "postgresql"
    multi_host: bool  # processes on many hosts may share the store
    serialised_writes: bool  # one write transaction at a time (a write lock), never concurrent ones
    local_reads: bool  # reads are in-process and short: an event loop may run them itself
    wakeups: bool  # the engine can wake idle workers when work arrives (LISTEN/NOTIFY)
    group_commit: bool  # write_group: many operations in one transaction, each isolated


class Tx(Protocol):
    """An open transaction, as operations receive it (each engine's own cursor type)."""

    def execute(self, sql: str, params: Any = ...) -> Any: ...


class Batchable:
    """A write operation (a callable of a ``Tx``) that a group commit may run together with others.

    Operations in one group whose ``batch_key`` is the same object (not None) may be run as one
    ``run_batch(tx, ops)`` call instead of one call each: it returns one outcome per operation, in
    order (an exception instance: that operation failed alone). Subclasses set ``batch_key`` in
    their ``__init__`` (None: this one always runs alone)."""

    __slots__ = ("batch_key",)
    batch_key: object | None
    batchable: ClassVar[bool] = True

    def __call__(self, tx: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def run_batch(cls, tx: Any, ops: list[Any]) -> list[Any]:
        raise NotImplementedError


class Cursor(Protocol):
    """The DB-API-like subset every engine's cursor offers to domain code."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any: ...


class Queries:
    """Named SQL statements of one engine, read from its ``queries.sql`` (``-- name: x`` blocks)."""

    def __init__(self, statements: dict[str, str]) -> None:
        self._statements = statements
        for name, sql in statements.items():
            setattr(self, name, sql)

    def __getattr__(self, name: str) -> str:  # only reached for unknown names
        raise AttributeError(f"no query named {name!r}")

    def names(self) -> list[str]:
        return list(self._statements)


_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.M)


_INCLUDE = re.compile(r"\{\{(\w+)\}\}")


def _compact(sql: str) -> str:
    """The statement without its comment lines and indentation. The binding looks each statement
    up in its cache by hashing and comparing the whole text at every execute (and every row of an
    executemany): ~1 ns a byte, measured; the comments are for readers of queries.sql."""
    lines = (line.strip() for line in sql.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("--"))


def load_queries(package: str, folder: str = "sql") -> Queries:
    """The named statements of every ``*.sql`` file in ``folder`` of ``package`` (one file per
    entity). A statement may embed another of any file as ``{{name}}`` (a shared column list, say)."""
    raw: dict[str, str] = {}
    for item in sorted(resources.files(package).joinpath(folder).iterdir(), key=lambda i: i.name):
        if item.name.endswith(".sql"):
            parts = _NAME.split(item.read_text())
            for i in range(1, len(parts), 2):
                if parts[i] in raw:
                    raise ValueError(f"query {parts[i]!r} is defined twice")
                raw[parts[i]] = _compact(parts[i + 1]).rstrip(";")

    def resolve(name: str, seen: tuple[str, ...] = ()) -> str:
        if name in seen:
            raise ValueError(f"query {name!r} embeds itself")
        return _INCLUDE.sub(lambda m: resolve(m.group(1), (*seen, name)), raw[name])

    return Queries({name: resolve(name) for name in raw})


def load_migrations(package: str) -> list[tuple[int, str, str]]:
    """The numbered migrations of an engine (``migrations/NNNN_name.sql`` in ``package``):
    (number, name, SQL), in order."""
    out = []
    for item in resources.files(package).joinpath("migrations").iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name[5:-4], item.read_text()))
    return sorted(out)


class Engine(Protocol):
    """A storage engine as the services see it: operation sets and transactions."""

    url: str

    @property
    def caps(self) -> Capabilities: ...
    @property
    def memory(self) -> MemoryOps: ...
    @property
    def sessions(self) -> SessionOps: ...
    @property
    def tasks(self) -> TaskOps: ...
    @property
    def agents(self) -> AgentOps: ...
    @property
    def audit(self) -> AuditOps: ...
    @property
    def documents(self) -> DocumentOps: ...
    @property
    def search(self) -> SearchOps: ...

    def read(self, fn: Callable[[Any], R]) -> R:
        """Run ``fn(tx)`` with a read handle (each statement sees the latest commit)."""
        ...

    def read_snapshot(self, fn: Callable[[Any], R]) -> R:
        """Run ``fn(tx)`` in one read transaction, so several operations see one snapshot."""
        ...

    def write(self, fn: Callable[[Any], R]) -> R:
        """Run ``fn(tx)`` in one write transaction; commit when it returns, roll back if it raises."""
        ...

    def write_group(self, fns: Sequence[Callable[[Any], Any]], *, nowait: bool = False) -> list[tuple[bool, Any]] | None:
        """Run many operations in one transaction, each isolated; ``(ok, result_or_error)`` per
        operation. ``nowait``: None, having done nothing, unless the write lock is free at once."""
        ...

    def stats(self) -> dict[str, Any]:
        """The engine's own figures: its name, schema version, sizes."""
        ...

    def counts(self) -> dict[str, int]:
        """Rows per kind: sessions, events, memories_live, memories_all, memory_versions, audit,
        tasks, agents."""
        ...

    def notify(self, tx: Any, channel: str, payload: str = "") -> None:
        """Wake ``wait_for_work`` callers on ``channel`` once ``tx`` commits (engines without
        wake-ups, ``caps.wakeups`` False: nothing)."""
        ...

    def wait_for_work(self, channels: Sequence[str], timeout: float) -> bool:
        """Wait until one of ``channels`` is notified (True) or ``timeout`` seconds pass (False).
        Engines without wake-ups return False at once. A notification may be lost or spurious:
        callers poll as well; this only shortens their idle waits."""
        ...

    def close(self) -> None: ...
