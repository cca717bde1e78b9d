"""Which engine's reader and writer a store URL or path takes."""

from __future__ import annotations

import os

from .. import errors
from ..engine import is_postgres_url, sqlite_path
from .base import Reader, Writer


def _sqlite_path(url: str) -> str:
    path = sqlite_path(url)
    if path is None:
        scheme = url.split("://", 1)[0]
        raise errors.InvalidInput("url", f"unknown engine {scheme!r}: use a path, sqlite:///path or postgresql://…")
    if not path or path == ":memory:":
        raise errors.InvalidInput("url", "a copy needs a database file or server, not an in-memory database")
    return path


def open_reader(url: str) -> Reader:
    """The source store, read-only."""
    if is_postgres_url(url):
        from .postgres import PgReader

        return PgReader(url)
    from .sqlite import SqliteReader

    return SqliteReader(_sqlite_path(url))


def open_writer(url: str) -> Writer:
    """The destination store, created and migrated if new; refused if it holds any row."""
    if is_postgres_url(url):
        from .postgres import PgWriter

        return PgWriter(url)
    from .sqlite import SqliteWriter

    return SqliteWriter(_sqlite_path(url))


def same_store(a: str, b: str) -> bool:
    """Both URLs name one store (a copy onto itself is refused)."""
    if is_postgres_url(a) or is_postgres_url(b):
        return a == b
    return os.path.realpath(_sqlite_path(a)) == os.path.realpath(_sqlite_path(b))
