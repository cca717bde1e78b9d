"""Storage engines. Domain services see only :class:`~swarmstore.engine.base.Engine`.

``open_engine(url, **options)`` picks the engine from the URL and checks its options:
``sqlite:///path/to/file.db`` or a plain path: the embedded SQLite engine;
``postgresql://…`` (or ``postgres://…``): the PostgreSQL engine (``pip install "swarmstore[postgres]"``).
"""

from __future__ import annotations

from typing import Any

from .. import errors
from .base import Cursor, Engine, Queries, load_queries

__all__ = ["SQLITE_OPTIONS", "Cursor", "Engine", "Queries", "load_queries", "open_engine", "sqlite_path"]

SQLITE_OPTIONS = ("synchronous", "busy_timeout_ms", "cache_size_kib", "wal_autocheckpoint", "mmap_size", "readonly")
_PG_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url: str) -> bool:
    return url.startswith(_PG_SCHEMES)


def sqlite_path(url: str) -> str | None:
    """The database file of a SQLite URL or plain path (None for a server URL)."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    return None if "://" in url else url


def open_engine(url: str, **options: Any) -> Engine:
    """The engine for a store URL or path, opened (created and migrated if needed)."""
    if not isinstance(url, str) or not url:
        raise errors.InvalidInput("url", "expected a path or URL string")
    if is_postgres_url(url):
        try:
            from .postgres.engine import PostgresEngine
        except ImportError as exc:
            if (exc.name or "").split(".")[0] not in ("psycopg", "psycopg_pool"):
                raise
            raise errors.StorageError(
                f'the PostgreSQL engine needs psycopg 3 and psycopg_pool: pip install "swarmstore[postgres]" ({exc})'
            ) from None
        return PostgresEngine(url, **options)
    path = sqlite_path(url)
    if path is None:
        if url.startswith("sqlite://"):
            raise errors.InvalidInput("url", "SQLite URLs look like sqlite:///path/to/file.db")
        scheme = url.split("://", 1)[0]
        raise errors.InvalidInput("url", f"unknown engine {scheme!r}: use a path, sqlite:///path or postgresql://…")
    unknown = sorted(set(options) - set(SQLITE_OPTIONS))
    if unknown:
        raise errors.InvalidInput(
            "options", f"unknown option(s) for SQLite: {', '.join(unknown)} (known: {', '.join(SQLITE_OPTIONS)})"
        )
    from .sqlite.engine import SqliteEngine

    return SqliteEngine(path, **options)
