"""Which engine's reader and writer a store URL or path takes."""

from __future__ import annotations

from .. import errors
from .base import Reader, Writer


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _sqlite_path(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    if "://" in url:
        raise errors.InvalidInput("url", f"unknown kind of store URL: {url.split('://')[0]}:// (sqlite:/// or postgresql://)")
    if not url or url == ":memory:":
        raise errors.InvalidInput("url", "a copy needs a database file or server, not an in-memory database")
    return url


def open_reader(url: str) -> Reader:
    """The source store, read-only."""
    if _is_postgres(url):
        from .postgres import PgReader

        return PgReader(url)
    from .sqlite import SqliteReader

    return SqliteReader(_sqlite_path(url))


def open_writer(url: str) -> Writer:
    """The destination store, created and migrated if new; refused if it holds any row."""
    if _is_postgres(url):
        from .postgres import PgWriter

        return PgWriter(url)
    from .sqlite import SqliteWriter

    return SqliteWriter(_sqlite_path(url))


def same_store(a: str, b: str) -> bool:
    """Both URLs name one store (a copy onto itself is refused)."""
    if _is_postgres(a) or _is_postgres(b):
        return a == b
    import os

    return os.path.realpath(_sqlite_path(a)) == os.path.realpath(_sqlite_path(b))
