"""Storage engines. Domain services see only :class:`~swarmstore.engine.base.Engine`."""

from __future__ import annotations

from .base import Cursor, Engine, Queries, load_queries

__all__ = ["Cursor", "Engine", "Queries", "load_queries", "open_engine"]


def open_engine(url: str, **options: object) -> Engine:
    """Pick the engine for a store URL or path."""
    if url.startswith(("postgresql://", "postgres://")):
        from .. import errors

        raise errors.InvalidInput("url", "the PostgreSQL engine is not available yet")
    from .sqlite.engine import SqliteEngine

    path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url
    if url.startswith("sqlite://") and not url.startswith("sqlite:///"):
        from .. import errors

        raise errors.InvalidInput("url", "SQLite URLs look like sqlite:///path/to/file.db")
    return SqliteEngine(path, **options)  # type: ignore[arg-type]
