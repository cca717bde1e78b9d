"""The PostgreSQL end of a copy: the database read and written through psycopg, table by table."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import sql

from .. import errors
from ..engine.postgres import adapt, config
from ..engine.postgres.migrate import SCHEMA_VERSION
from ..engine.postgres.runner import QUERIES
from .base import BATCH, Reader, Rows
from .schema import ENGINE_TABLES, Plan, TableInfo, is_copied

_TEXT = frozenset({"text", "character varying", "character"})
_JSON = frozenset({"json", "jsonb"})  # (json: kept as written, e.g. documents.metadata)


Conn = psycopg.Connection[tuple[Any, ...]]


def _connect(url: str, snapshot: bool = False) -> tuple[Conn, str]:
    """A connection to the store at ``url`` as the engine makes them (no server-side prepared
    statements), but in transactions and with jsonb read by psycopg's own loaders (the reads
    below ask for ``::text``); and the store's schema, which every statement names (the search
    path also holds public, where a store may live too). ``snapshot``: one read-only
    repeatable-read transaction, from the first statement on."""
    cfg = config.parse(url, {})
    kwargs = {k: v for k, v in adapt.connect_kwargs(cfg).items() if k != "context"}
    try:
        conn = psycopg.connect(cfg.conninfo, **{**kwargs, "autocommit": False})
    except psycopg.Error as exc:
        raise errors.StorageError(f"cannot connect to {cfg.url}: {str(exc).strip()}") from None
    try:
        if snapshot:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
        if cfg.schema:
            return conn, cfg.schema
        row = conn.execute("SELECT current_schema()").fetchone()
        return conn, str(row[0] if row and row[0] else "public")
    except psycopg.Error as exc:
        conn.close()
        raise errors.StorageError(f"cannot read {cfg.url}: {exc}") from None


def _label(url: str) -> str:
    return config.parse(url, {}).url  # (the URL with any password hidden)


def _catalog(conn: Conn, schema: str) -> tuple[dict[str, TableInfo], dict[tuple[str, str], str]]:
    """The tables of ``schema``, and every column's type."""
    rows = conn.execute(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE' AND c.is_generated = 'NEVER'"
        " ORDER BY c.table_name, c.ordinal_position",
        (schema,),
    ).fetchall()
    pks = conn.execute(
        "SELECT r.relname, a.attname FROM pg_index i"
        " JOIN pg_class r ON r.oid = i.indrelid JOIN pg_namespace n ON n.oid = r.relnamespace"
        " JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        " WHERE i.indisprimary AND n.nspname = %s ORDER BY 1, k.n",
        (schema,),
    ).fetchall()
    columns: dict[str, list[str]] = {}
    types: dict[tuple[str, str], str] = {}
    for table, column, dtype in rows:
        columns.setdefault(table, []).append(column)
        types[table, column] = dtype
    keys: dict[str, list[str]] = {}
    for table, column in pks:
        keys.setdefault(table, []).append(column)
    out = {
        t: TableInfo(t, tuple(cols), tuple(keys.get(t, ())), frozenset(c for c in cols if types[t, c] in _JSON))
        for t, cols in columns.items()
    }
    return out, types


def _compact(text: str) -> str:
    # jsonb's text has spaces after ':' and ','; SQLite stores hold JSON compact. The standard
    # library keeps big integers exact (orjson would read them as floats).
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))


class PgReader:
    """A PostgreSQL store read in one snapshot (a read-only repeatable-read transaction)."""

    def __init__(self, url: str) -> None:
        self.label = _label(url)
        self._conn, self._schema = _connect(url, snapshot=True)
        try:
            self._tables, self._types = _catalog(self._conn, self._schema)
        except psycopg.Error as exc:
            self._conn.close()
            raise errors.StorageError(f"cannot read {self.label}: {exc}") from None
        if "schema_version" not in self._tables:
            self._conn.close()
            raise errors.StorageError(f"{self.label} is not a swarmstore store (it has no schema_version table)")
        row = self._conn.execute(
            sql.SQL("SELECT max(version) FROM {}").format(sql.Identifier(self._schema, "schema_version"))
        ).fetchone()
        version = int(row[0] or 0) if row else 0
        if version != SCHEMA_VERSION:
            self._conn.close()
            raise errors.SchemaError(
                f"{self.label} has schema version {version}, this swarmstore writes {SCHEMA_VERSION}: "
                + ("open it once with this swarmstore to migrate it, then copy" if version < SCHEMA_VERSION
                   else "copy it with the swarmstore that wrote it")
            )  # fmt: skip

    def tables(self) -> Mapping[str, TableInfo]:
        return self._tables

    def count(self, table: str) -> int:
        row = self._conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self._schema, table))).fetchone()
        return int(row[0]) if row else 0

    def batches(self, plan: Plan, size: int = BATCH) -> Iterator[Rows]:
        cols = sql.SQL(", ").join(
            sql.SQL("{}::text").format(sql.Identifier(c)) if c in plan.json else sql.Identifier(c) for c in plan.columns
        )
        # Text keys in byte order (collation "C"), as SQLite compares them: both ends stream the
        # rows in one order, which the checksums need.
        order = sql.SQL(", ").join(
            sql.SQL('{} COLLATE "C"').format(sql.Identifier(c))
            if self._types[plan.name, c] in _TEXT
            else sql.Identifier(c)
            for c in plan.pk
        )
        query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(cols, sql.Identifier(self._schema, plan.name), order)
        json_at = [i for i, c in enumerate(plan.columns) if c in plan.json]
        try:
            with self._conn.cursor(name="swarmstore_copy") as cur:
                cur.itersize = size
                cur.execute(query)
                while rows := cur.fetchmany(size):
                    if json_at:
                        rows = [_compacted(r, json_at) for r in rows]
                    yield rows
        except psycopg.Error as exc:
            raise errors.StorageError(f"reading table {plan.name} of {self.label}: {exc}") from None

    def close(self) -> None:
        with suppress(psycopg.Error):
            self._conn.rollback()
        self._conn.close()


def _compacted(row: tuple[Any, ...], json_at: Sequence[int]) -> tuple[Any, ...]:
    out = list(row)
    for i in json_at:
        if out[i] is not None:
            out[i] = _compact(out[i])
    return tuple(out)


class PgWriter:
    """An empty PostgreSQL store being filled, in one transaction (rows sent with COPY).

    The schema is made by ``swarmstore.open`` (the engine's migrations); a database already
    holding swarmstore rows is refused before that, so a refused destination is left as it was."""

    def __init__(self, url: str) -> None:
        self.label = _label(url)
        self.url = url
        self._refuse_if_used()
        import swarmstore

        swarmstore.open(url).close()  # (creates and migrates the schema)
        self._conn, self._schema = _connect(url)
        try:
            self._tables, _ = _catalog(self._conn, self._schema)
            self._conn.rollback()
        except psycopg.Error as exc:
            self._conn.close()
            raise errors.StorageError(f"cannot read {self.label}: {exc}") from None

    def _refuse_if_used(self) -> None:
        conn, schema = _connect(self.url)
        try:
            tables, _ = _catalog(conn, schema)
            if tables and not any(t in tables for t in ENGINE_TABLES):
                raise errors.StorageError(
                    f"{self.label} holds tables of something else ({', '.join(sorted(tables)[:5])}): "
                    "copy into an empty database or schema; nothing was copied"
                )
            _refuse_rows(conn, self.label, schema, [t for t in tables if is_copied(t)])
        except psycopg.Error as exc:
            raise errors.StorageError(f"cannot read {self.label}: {exc}") from None
        finally:
            conn.close()

    def tables(self) -> Mapping[str, TableInfo]:
        return self._tables

    def begin(self, plans: Sequence[Plan]) -> None:
        try:
            # Other writers wait until the copy commits (readers do not): no row can slip in
            # between the check below and the copy.
            self._conn.execute(
                sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                    sql.SQL(", ").join(sql.Identifier(self._schema, p.name) for p in plans)
                )
            )
            _refuse_rows(self._conn, self.label, self._schema, [p.name for p in plans])
        except psycopg.Error as exc:
            self.rollback()
            raise errors.StorageError(f"cannot lock the tables of {self.label}: {exc}") from None
        except BaseException:
            self.rollback()
            raise

    def insert(self, plan: Plan, rows: Rows) -> None:
        query = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(self._schema, plan.name), sql.SQL(", ").join(sql.Identifier(c) for c in plan.columns)
        )
        try:
            with self._conn.cursor() as cur, cur.copy(query) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation as exc:
            raise errors.Conflict(f"copying table {plan.name}: {exc}") from None
        except psycopg.Error as exc:
            raise errors.StorageError(f"copying table {plan.name}: {exc}") from None

    def commit(self) -> None:
        try:
            # Ids that come from sequences (the audit log's): the next one follows the copied ids.
            for table in self._tables:
                for column in self._tables[table].columns:
                    seq = self._conn.execute(
                        "SELECT pg_get_serial_sequence(%s, %s)", (sql.Identifier(self._schema, table).as_string(self._conn), column)
                    ).fetchone()
                    if seq and seq[0]:
                        self._conn.execute(
                            sql.SQL("SELECT setval(%s, coalesce(max({c}), 0) + 1, false) FROM {t}").format(
                                c=sql.Identifier(column), t=sql.Identifier(self._schema, table)
                            ),
                            (seq[0],),
                        )
            # The search index is not copied (schema.DERIVED_PREFIX): an item per memory and
            # chunk, their texts and vectors indexed by the store's next search (or reindex).
            self._conn.execute(
                sql.SQL("SET LOCAL search_path = {}, public").format(sql.Identifier(self._schema))
            )
            self._conn.execute(QUERIES.search_rebuild)
            self._conn.commit()
        except psycopg.Error as exc:
            raise errors.StorageError(f"committing the copy into {self.label}: {exc}") from None

    def rollback(self) -> None:
        with suppress(psycopg.Error):
            self._conn.rollback()

    def reader(self) -> Reader:
        return PgReader(self.url)

    def close(self) -> None:
        self._conn.close()


def _refuse_rows(conn: Conn, label: str, schema: str, tables: Sequence[str]) -> None:
    used = [
        t
        for t in tables
        if conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(schema, t))).fetchone() is not None
    ]
    if used:
        raise errors.Conflict(
            f"the destination {label} is not empty (rows in {', '.join(sorted(used))}): "
            "a copy goes into an empty database or schema; nothing was changed"
        )
