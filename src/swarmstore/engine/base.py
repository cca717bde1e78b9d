"""The engine contract: connections, transactions and the SQL text; no domain logic."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any, Protocol, TypeVar

R = TypeVar("R")
Row = tuple[Any, ...]


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


class Engine(Protocol):
    """What domain services need from a storage engine."""

    url: str
    q: Queries
    placeholder: str

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one read statement and return all its rows (the fast path of point reads)."""
        ...

    def read(self, fn: Callable[[Cursor], R]) -> R:
        """Run ``fn`` with a read cursor (autocommit: each statement sees the latest commit)."""
        ...

    def read_snapshot(self, fn: Callable[[Cursor], R]) -> R:
        """Run ``fn`` in one read transaction, so several statements see one snapshot."""
        ...

    def write(self, fn: Callable[[Cursor], R]) -> R:
        """Run ``fn`` in one write transaction; commit when it returns, roll back if it raises."""
        ...

    def write_group(
        self, fns: Sequence[Callable[[Cursor], Any]], *, nowait: bool = False
    ) -> list[tuple[bool, Any]] | None:
        """Run many operations in one transaction, each in a savepoint; ``(ok, result_or_error)``
        per operation. One that raises rolls back alone (the async API's group commit).
        ``nowait``: None, having done nothing, unless the write lock is free at once."""
        ...

    def query_nowait(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """``query`` that raises ``Busy`` at once instead of waiting for a lock (event loops)."""
        ...

    def read_nowait(self, fn: Callable[[Cursor], R]) -> R: ...

    def read_snapshot_nowait(self, fn: Callable[[Cursor], R]) -> R: ...

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
