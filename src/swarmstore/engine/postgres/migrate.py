"""Numbered migrations (``migrations/NNNN_name.sql``), applied once however many processes open at once."""

from __future__ import annotations

from typing import Any

from psycopg import errors as pg
from psycopg import sql

from ... import errors
from ..base import load_migrations

MIGRATIONS = load_migrations(__package__ or "swarmstore.engine.postgres")
SCHEMA_VERSION = MIGRATIONS[-1][0]

def _version_sql(schema: str | None) -> sql.Composable:
    # (qualified: the search_path also names public, where a store of its own may live)
    table = sql.Identifier(schema, "schema_version") if schema else sql.Identifier("schema_version")
    return sql.SQL("SELECT max(version) FROM {}").format(table)


def current_version(conn: Any, schema: str | None) -> int | None:
    """The store's schema version (None: no swarmstore schema yet). ``conn`` in autocommit."""
    try:
        row = conn.execute(_version_sql(schema)).fetchone()
    except (pg.UndefinedTable, pg.InvalidSchemaName):
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
    current = current_version(conn, schema)  # (up to date, the common case: no lock taken)
    if current == SCHEMA_VERSION:
        return
    if current is not None and current > SCHEMA_VERSION:
        raise _too_new(current, where)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('swarmstore.migrate:' || %s))", (schema or "",))
        # (created only if missing: a role that may not create schemas can use one made for it)
        if schema and not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)"
        )
        current = int(conn.execute(_version_sql(schema)).fetchone()[0] or 0)
        if current > SCHEMA_VERSION:
            raise _too_new(current, where)
        for version, name, text in MIGRATIONS:
            if version > current:
                conn.execute(text.encode())  # (bytes: a script of many statements, sent as it is)
                conn.execute(
                    "INSERT INTO schema_version VALUES (%s, %s, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
                    (version, name),
                )
