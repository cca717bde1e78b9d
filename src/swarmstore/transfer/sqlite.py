"""The SQLite end of a copy: the file read and written through apsw, table by table."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from typing import Any

import apsw

from .. import errors
from ..engine.sqlite import files
from ..engine.sqlite.engine import QUERIES, SCHEMA_VERSION
from ..engine.sqlite.errors import translate
from .base import BATCH, Reader, Rows
from .schema import Plan, TableInfo, is_copied


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _catalog(conn: apsw.Connection) -> dict[str, TableInfo]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    out = {}
    for name in names:
        # (cid, name, type, notnull, default, position in the primary key or 0)
        info: list[tuple[Any, ...]] = conn.execute(f"PRAGMA table_info({_ident(name)})").fetchall()
        columns = tuple(str(r[1]) for r in info)
        pk = tuple(str(r[1]) for r in sorted((r for r in info if r[5]), key=lambda r: int(r[5])))
        out[name] = TableInfo(name, columns, pk, frozenset())
    return out


def _schema_version(conn: apsw.Connection, label: str) -> int:
    try:
        return int(conn.execute("SELECT max(version) FROM schema_version").fetchall()[0][0] or 0)
    except apsw.SQLError:
        raise errors.StorageError(f"{label} is not a swarmstore store (it has no schema_version table)") from None


class SqliteReader:
    """A SQLite store, opened read-only, read in one snapshot (a read transaction held open)."""

    def __init__(self, path: str) -> None:
        self.label = path
        if not os.path.isfile(path):
            raise errors.StorageError(f"no store at {path}")
        files.check_path(path)
        try:
            self._conn = apsw.Connection(
                files.read_only_uri(path), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
            )
            self._conn.set_busy_timeout(5000)
            self._conn.execute("BEGIN")
            version = _schema_version(self._conn, path)
            self._tables = _catalog(self._conn)  # (the first read fixes the snapshot)
        except apsw.Error as exc:
            self._conn.close()
            raise files.open_error(path, exc) from exc
        except errors.SwarmstoreError:
            self._conn.close()
            raise
        if version != SCHEMA_VERSION:
            self._conn.close()
            raise errors.SchemaError(
                f"{path} has schema version {version}, this swarmstore writes {SCHEMA_VERSION}: "
                + ("open it once with this swarmstore to migrate it, then copy" if version < SCHEMA_VERSION
                   else "copy it with the swarmstore that wrote it")
            )  # fmt: skip

    def tables(self) -> Mapping[str, TableInfo]:
        return self._tables

    def count(self, table: str) -> int:
        rows: list[tuple[Any, ...]] = self._conn.execute(f"SELECT count(*) FROM {_ident(table)}").fetchall()
        return int(rows[0][0])

    def batches(self, plan: Plan, size: int = BATCH) -> Iterator[Rows]:
        cols = ", ".join(_ident(c) for c in plan.columns)
        order = ", ".join(_ident(c) for c in plan.pk)
        try:
            cur = self._conn.cursor().execute(f"SELECT {cols} FROM {_ident(plan.name)} ORDER BY {order}")
            batch: Rows = []
            for row in cur:
                batch.append(row)
                if len(batch) >= size:
                    yield batch
                    batch = []
            if batch:
                yield batch
        except apsw.Error as exc:
            raise translate(exc) from exc

    def close(self) -> None:
        with suppress(apsw.Error):
            self._conn.execute("COMMIT")
        self._conn.close()


class SqliteWriter:
    """An empty SQLite store being filled, in one write transaction.

    The file is created and migrated by ``swarmstore.open``, so the destination has exactly the
    schema this swarmstore makes; an existing file is checked for rows first, read-only, so a
    refused destination is not even migrated."""

    def __init__(self, path: str) -> None:
        self.label = path
        self.path = path
        files.check_path(path)
        self.created = not os.path.exists(path)
        if not self.created:
            self._refuse_if_used()
        import swarmstore

        swarmstore.open(path).close()  # (creates and migrates it)
        self._conn = apsw.Connection(path)
        self._conn.set_busy_timeout(5000)
        self._tables = _catalog(self._conn)

    def _refuse_if_used(self) -> None:
        conn = apsw.Connection(files.read_only_uri(self.path), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
        try:
            tables = _catalog(conn)
            if tables and "schema_version" not in tables:
                raise errors.StorageError(f"{self.path} is not a swarmstore store: nothing was copied")
            _refuse_rows(conn, self.path, [t for t in tables if is_copied(t)])
        except apsw.Error as exc:
            raise files.open_error(self.path, exc) from exc
        finally:
            conn.close()

    def tables(self) -> Mapping[str, TableInfo]:
        return self._tables

    def begin(self, plans: Sequence[Plan]) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            _refuse_rows(self._conn, self.path, [p.name for p in plans])
        except BaseException:
            self.rollback()
            raise

    def insert(self, plan: Plan, rows: Rows) -> None:
        cols = ", ".join(_ident(c) for c in plan.columns)
        marks = ", ".join("?" for _ in plan.columns)
        try:
            self._conn.executemany(f"INSERT INTO {_ident(plan.name)} ({cols}) VALUES ({marks})", rows)
        except apsw.Error as exc:
            raise _insert_error(plan.name, exc) from exc

    def commit(self) -> None:
        try:
            self._conn.execute(QUERIES.search_rebuild)
            self._conn.execute("COMMIT")
        except apsw.Error as exc:
            raise translate(exc) from exc

    def rollback(self) -> None:
        with suppress(apsw.Error):
            if not self._conn.getautocommit():
                self._conn.execute("ROLLBACK")

    def reader(self) -> Reader:
        return SqliteReader(self.path)

    def close(self) -> None:
        self._conn.close()


def _refuse_rows(conn: apsw.Connection, label: str, tables: Sequence[str]) -> None:
    used = [t for t in tables if conn.execute(f"SELECT 1 FROM {_ident(t)} LIMIT 1").fetchall()]
    if used:
        raise errors.Conflict(
            f"the destination {label} is not empty (rows in {', '.join(sorted(used))}): "
            "a copy goes into a new file or an empty store; nothing was changed"
        )


def _insert_error(table: str, exc: apsw.Error) -> errors.SwarmstoreError:
    err = translate(exc)
    return type(err)(f"copying table {table}: {err}")
