"""The SQLite engine's memory operations (``engine.memory``): SQL text in ``sql/memory.sql``.

A write sets the key's head to the id its audit row is about to get (the next one: the writer
holds SQLite's write lock for the whole transaction, and ``write_audit`` assigns ids the same
way), so that each put costs one statement on the key's row and its audit row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ... import errors
from ..ops.audit import AuditRecord
from ..ops.memory import (
    MemoryPurge,
    MemoryPut,
    MemoryRow,
    MemoryVersionRow,
    MemoryWritten,
    change_record,
    list_bounds,
    live_version,
    namespace_range,
    snapshot,
)
from ..where import Where, purge_where
from .audit import write_audit, write_audit_row, write_audit_rows

_new = tuple.__new__  # a NamedTuple from a row without its Python-level __new__ (measured ~4x cheaper)
_dumps, _Fragment = orjson.dumps, orjson.Fragment
# A put's audit detail, {"version": n}, as JSON text: encoded once for the common versions.
_VERSION_JSON = [_dumps({"version": v}).decode() for v in range(1024)]


def _linked(tx: Any, record: AuditRecord, head: int) -> None:
    """Write the audit row whose id the statement before already made its key's head."""
    _check_head(record.entity_id, write_audit(tx, [record])[0], head)


def _check_head(entity_id: str, aid: int, head: int) -> None:
    if aid != head:  # (only another writer inside the write lock could do this)
        raise errors.StorageError(f"memory {entity_id}: audit row {aid} is not the key's head {head}")


def _version_json(version: int) -> str:
    return _VERSION_JSON[version] if version < 1024 else _dumps({"version": version}).decode()


class SqliteMemoryOps:
    """``MemoryOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        from .engine import QUERIES  # (engine.py binds this class: imported once both are loaded)

        self._run = runner
        self._q = QUERIES
        self._query = runner.query  # (the hot reads: one attribute lookup less each)
        self._get_sql, self._list_sql = QUERIES.memory_get, QUERIES.memory_list

    # -- reads ---------------------------------------------------------------------------------

    def get(self, namespace: str, key: str, now: int) -> MemoryRow | None:
        rows = self._query(self._get_sql, (namespace, key, now))
        return rows[0] if rows else None

    def get_any(self, tx: Any, namespace: str, key: str) -> MemoryRow | None:
        rows = tx.execute(self._q.memory_get_any, (namespace, key)).fetchall()
        return rows[0] if rows else None

    def get_version(self, namespace: str, key: str, version: int) -> MemoryVersionRow | None:
        rows = self._run.query(self._q.memory_get_version, (namespace, key, version))
        return _new(MemoryVersionRow, rows[0]) if rows else None

    def history(self, namespace: str, key: str) -> list[MemoryVersionRow]:
        rows = self._run.query(self._q.memory_history, (namespace, key))
        rows.sort(key=lambda r: r[3])  # (the chain is walked newest first; r[3] is the version)
        return [_new(MemoryVersionRow, r) for r in rows]

    def list_live(
        self, prefix: str, now: int, limit: int, type: str | None = None, after: tuple[str, str] | None = None
    ) -> list[MemoryRow]:
        exact, after_key, from_ns, from_key, hi = list_bounds(prefix, after)
        rows = self._query(self._list_sql, (prefix, after_key, exact, now, type, from_ns, from_key, hi, limit))
        return rows  # type: ignore[no-any-return]

    def list_range(
        self, start: tuple[str, str], hi: str, regex: str | None, now: int, limit: int, type: str | None = None,
        glob: str | None = None, colons: int | None = None,
    ) -> list[MemoryRow]:  # fmt: skip
        if colons is not None:
            regex = None  # (the GLOB and the count of ':' are exact: no Python call per row)
        params = (*start, hi, regex, now, type, limit, glob, colons)
        return self._run.query(self._q.memory_list_range, params)  # type: ignore[no-any-return]

    def namespaces(self, prefix: str, now: int) -> list[str]:
        out: list[str] = []
        if prefix and self._run.query(self._q.memory_exact_namespace, (prefix, now)):
            out.append(prefix)
        last, hi = namespace_range(prefix)
        while True:  # one index seek per namespace: jump past all keys of the one just found
            rows = self._run.query(self._q.memory_next_namespace, (last, hi, now))
            if not rows:
                return out
            last = rows[0][0]
            out.append(last)

    # -- writes --------------------------------------------------------------------------------

    def put(self, tx: Any, put: MemoryPut, now: int) -> MemoryWritten | None:
        expected = put.expected_version
        if expected is not None and live_version(self.get_any(tx, put.namespace, put.key), now) != expected:
            return None
        ns, key, value, type_, metadata, ttl_us, _, actor, _text = put
        expires = None if ttl_us is None else now + ttl_us
        version, meta, created_by, created_at, head, prev = tx.execute(
            self._q.memory_upsert, (ns, key, type_, value, metadata, actor, now, expires)
        ).fetchall()[0]
        eid = f"{ns}/{key}"
        # (write_audit's row as a plain tuple, its detail as JSON: no AuditRecord to take apart)
        audit_row = (now, actor, "memory.put", "memory", eid, ns, _version_json(version), version,
                     snapshot(put, meta, expires), prev)  # fmt: skip
        _check_head(eid, write_audit_row(tx, audit_row), head)
        return _new(MemoryWritten, (version, meta, created_by, created_at, expires))

    def put_many(self, tx: Any, puts: Sequence[MemoryPut], now: int) -> list[MemoryWritten]:
        """Read what the batch's keys continue from, then per run of distinct keys (the whole batch,
        unless a key comes back) one executemany of inserts (keys absent), one of updates (keys
        present) and their audit rows."""
        known = self._existing(tx, puts)
        out: list[MemoryWritten] = []
        start, n = 0, len(puts)
        while start < n:
            end, seen = start, set()
            while end < n:
                k = (puts[end].namespace, puts[end].key)
                if k in seen:
                    break
                seen.add(k)
                end += 1
            self._put_run(tx, puts[start:end], known, now, out, end < n)
            start = end
        return out

    def _existing(self, tx: Any, puts: Sequence[MemoryPut]) -> dict[tuple[str, str], tuple[Any, ...]]:
        """(namespace, key) -> (version, metadata, created_by, created_at, head) of the keys present."""
        by_ns: dict[str, list[str]] = {}
        for p in puts:
            by_ns.setdefault(p.namespace, []).append(p.key)
        queries: list[tuple[str, tuple[str, ...]]]
        if len(by_ns) <= 4:
            queries = [(self._q.memory_batch_existing, (ns, _dumps(keys).decode())) for ns, keys in by_ns.items()]
        else:
            pairs = _dumps(list(dict.fromkeys((p.namespace, p.key) for p in puts))).decode()
            queries = [(self._q.memory_batch_existing_pairs, (pairs,))]
        known: dict[tuple[str, str], tuple[Any, ...]] = {}
        for sql, args in queries:
            for ns, key, version, meta, created_by, created_at, head in tx.execute(sql, args).fetchall():
                known[ns, key] = (version, meta, created_by, created_at, head)
        return known

    def _put_run(
        self,
        tx: Any,
        puts: Sequence[MemoryPut],
        known: dict[tuple[str, str], tuple[Any, ...]],
        now: int,
        out: list[MemoryWritten],
        more: bool,
    ) -> None:
        """Puts of distinct keys: their audit rows first (their ids are the keys' new heads).
        ``more``: puts follow, which continue from ``known`` (updated here)."""
        records: list[tuple[Any, ...]] = []  # (AuditRecord's fields, the detail as JSON: write_audit_rows)
        inserts: list[list[Any]] = []
        updates: list[list[Any]] = []
        rows: list[list[Any]] = []  # (each insert or update's parameters, in order: its head comes last)
        add_record, add_row, add_out = records.append, rows.append, out.append
        for p in puts:
            ns, key, value, type_, metadata, ttl_us, _, actor, _text = p
            before = known.get((ns, key))
            expires = None if ttl_us is None else now + ttl_us
            row: list[Any] = [ns, key, type_, value, metadata, actor, now, expires, None]
            if before is None:
                version, meta, created_by, created_at, prev = 1, metadata or "{}", actor, now, None
                inserts.append(row)
            else:
                version, created_by, created_at, prev = before[0] + 1, before[2], before[3], before[4]
                meta = before[1] if metadata is None else metadata
                updates.append(row)
            add_row(row)
            # (snapshot() inlined: calls are a fifth of this loop's time)
            add_record((
                now, actor, "memory.put", "memory", f"{ns}/{key}", ns,
                _VERSION_JSON[version] if version < 1024 else _dumps({"version": version}).decode(), version,
                _dumps({"type": type_, "expires_at": expires, "metadata": _Fragment(meta),
                        "value": _Fragment(value)}).decode(),
                prev,
            ))  # fmt: skip
            add_out(_new(MemoryWritten, (version, meta, created_by, created_at, expires)))
        ids = write_audit_rows(tx, records)
        for row, aid in zip(rows, ids, strict=True):
            row[8] = aid
        if more:
            for row, w in zip(rows, out[len(out) - len(rows) :], strict=True):
                known[row[0], row[1]] = (w.version, w.metadata, w.created_by, w.created_at, row[8])
        if inserts:
            tx.executemany(self._q.memory_batch_insert, inserts)
        if updates:
            tx.executemany(self._q.memory_batch_update, updates)

    def delete(self, tx: Any, namespace: str, key: str, now: int, actor: str | None) -> int | None:
        rows = tx.execute(self._q.memory_delete, (namespace, key, now)).fetchall()
        if not rows:
            return None
        version, head, prev = rows[0]
        _linked(tx, change_record(now, actor, "memory.delete", namespace, key, version, prev), head)
        return int(version)

    def restore(self, tx: Any, namespace: str, key: str, now: int, actor: str | None) -> MemoryRow | None:
        rows = tx.execute(self._q.memory_restore, (namespace, key)).fetchall()
        if not rows:
            return None
        r = rows[0]
        _linked(tx, change_record(now, actor, "memory.restore", namespace, key, r[4], r[13]), r[12])
        return r[:12]  # type: ignore[no-any-return]

    def purge(self, tx: Any, spec: MemoryPurge, now: int, actor: str | None) -> int:
        where = purge_where(spec, now, Where())
        if where is None:
            return 0
        sql = "DELETE FROM memories" + where.clause() + " RETURNING namespace, key, version, head"
        gone = tx.execute(sql, where.params).fetchall()
        if not gone:
            return 0
        tx.executemany(self._q.memory_forget_history, [(g[3],) for g in gone])
        # The purge row links to the key's chain and, unlike the key's other rows, is indexed:
        # the key's row (its head) is gone, so this is where its trail is found from now on.
        write_audit(tx, [change_record(now, actor, "memory.purge", ns, k, v, head) for ns, k, v, head in gone])
        return len(gone)
