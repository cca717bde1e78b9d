"""Numbered migrations (``migrations/NNNN_name.sql``), applied once however many processes open at once."""

from __future__ import annotations

from importlib import resources
from typing import Any

from psycopg import errors as pg
from psycopg import sql

from ... import errors


def _migrations() -> list[tuple[int, str, str]]:
    out = []
    for item in resources.files(__package__ or "swarmstore.engine.postgres").joinpath("migrations").iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name[5:-4], item.read_text()))
    return sorted(out)


MIGRATIONS = _migrations()
SCHEMA_VERSION = MIGRATIONS[-1][0]

_VERSION = "SELECT max(version) FROM schema_version"


def current_version(conn: Any) -> int | None:
    """The store's schema version (None: no swarmstore schema yet). ``conn`` in autocommit."""
    try:
        row = conn.execute(_VERSION).fetchone()
    except pg.UndefinedTable:
        return None
    return int(row[0] or 0)


def _too_new(current: int, where: str) -> errors.SchemaError:
    return errors.SchemaError(
        f"{where} has schema version {current}, newer than this swarmstore (knows up to "
        f"{SCHEMA_VERSION}): upgrade swarmstore to open it"
    )


def migrate(conn: Any, schema: str | None, where: str) -> None:
    """Bring the store up to ``SCHEMA_VERSION``: in one transaction, under a transaction-scoped
    advisory lock keyed by the schema, so that processes opening a new store together wait for
    the first one and then find it done. ``conn``: a connection in autocommit mode, whose
    search_path already names ``schema`` (if given)."""
    current = current_version(conn)  # (up to date, the common case: no lock taken)
    if current == SCHEMA_VERSION:
        return
    if current is not None and current > SCHEMA_VERSION:
        raise _too_new(current, where)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('swarmstore.migrate:' || %s))", (schema or "",))
        if schema:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)"
        )
        current = int(conn.execute(_VERSION).fetchone()[0] or 0)
        if current > SCHEMA_VERSION:
            raise _too_new(current, where)
        for version, name, text in MIGRATIONS:
            if version > current:
                conn.execute(text.encode())  # (bytes: a script of many statements, sent as it is)
                conn.execute(
                    "INSERT INTO schema_version VALUES (%s, %s, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
                    (version, name),
                )
