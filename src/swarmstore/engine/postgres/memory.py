"""The PostgreSQL engine's memory operations (``engine.memory``): SQL text in ``sql/memory.sql``.

Many writers may put one key at once: every write takes the key's row lock with the statement
that changes it (an upsert, or an UPDATE whose condition PostgreSQL checks again after waiting
for the lock), so versions stay gapless and a conditional put sees the version it replaces. The
audit rows get their ids from the log's identity column (``write_audit``): a write changes the
row first (learning the version and the previous head), writes the audit rows, then sets the
keys' heads to their ids, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ops.audit import AuditRecord
from ..ops.memory import (
    MemoryPurge,
    MemoryPut,
    MemoryRow,
    MemoryVersionRow,
    MemoryWritten,
    change_record,
    list_bounds,
    namespace_range,
    snapshot,
)
from ..where import Where, purge_where
from .audit import write_audit
from .search import index_memories, remove_memories

_new = tuple.__new__  # a NamedTuple from a row without its Python-level __new__


class PgMemoryOps:
    """``MemoryOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        from .runner import QUERIES  # (loaded with the engine, which binds this class)

        self._run = runner
        self._q = QUERIES

    # -- reads ---------------------------------------------------------------------------------

    def get(self, namespace: str, key: str, now: int) -> MemoryRow | None:
        rows = self._run.query(self._q.memory_get, (namespace, key, now))
        return rows[0] if rows else None

    def get_any(self, tx: Any, namespace: str, key: str) -> MemoryRow | None:
        rows = tx.execute(self._q.memory_get_any, (namespace, key)).fetchall()
        return rows[0] if rows else None

    def get_version(self, namespace: str, key: str, version: int) -> MemoryVersionRow | None:
        rows = self._run.query(self._q.memory_get_version, {"ns": namespace, "key": key, "version": version})
        return _new(MemoryVersionRow, rows[0]) if rows else None

    def history(self, namespace: str, key: str) -> list[MemoryVersionRow]:
        rows = self._run.query(self._q.memory_history, {"ns": namespace, "key": key})
        rows.sort(key=lambda r: r[3])  # (r[3]: the version)
        return [_new(MemoryVersionRow, r) for r in rows]

    def list_live(
        self, prefix: str, now: int, limit: int, type: str | None = None, after: tuple[str, str] | None = None
    ) -> list[MemoryRow]:
        exact, after_key, from_ns, from_key, hi = list_bounds(prefix, after)
        rows = self._run.query(
            self._q.memory_list,
            {"prefix": prefix, "after_key": after_key, "exact": exact, "now": now, "type": type,
             "from_ns": from_ns, "from_key": from_key, "hi": hi, "limit": limit},
        )  # fmt: skip
        return rows  # type: ignore[no-any-return]

    def list_range(
        self, start: tuple[str, str], hi: str, regex: str | None, now: int, limit: int, type: str | None = None,
        glob: str | None = None, colons: int | None = None,
    ) -> list[MemoryRow]:  # fmt: skip
        return self._run.query(  # type: ignore[no-any-return]
            self._q.memory_list_range,
            {"from_ns": start[0], "from_key": start[1], "hi": hi, "regex": regex, "now": now, "type": type, "limit": limit},
        )

    def namespaces(self, prefix: str, now: int) -> list[str]:
        lo, hi = namespace_range(prefix)
        rows = self._run.query(self._q.memory_namespaces, {"prefix": prefix, "lo": lo, "hi": hi, "now": now})
        return sorted(r[0] for r in rows)  # (code point order: the columns' "C" collation)

    # -- writes --------------------------------------------------------------------------------

    def put(self, tx: Any, put: MemoryPut, now: int) -> MemoryWritten | None:
        expected = put.expected_version
        if expected is None:
            return self._put_one(tx, put, now)
        expires = None if put.ttl_us is None else now + put.ttl_us
        params = {"ns": put.namespace, "key": put.key, "type": put.type, "value": put.value, "meta": put.metadata,
                  "actor": put.actor, "now": now, "expires": expires, "expected": expected}  # fmt: skip
        sql = self._q.memory_put_absent if expected == 0 else self._q.memory_put_expected
        rows = tx.execute(sql, params).fetchall()
        if not rows:
            return None
        index_memories(tx, self._q, [put])
        return self._linked(tx, [put], rows, now)[0]

    def put_many(self, tx: Any, puts: Sequence[MemoryPut], now: int) -> list[MemoryWritten]:
        """Per run of distinct keys (the whole batch, unless a key comes back): one upsert of
        the run's keys (two if some give metadata and some not), their audit rows, their heads."""
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
            out += self._put_run(tx, puts[start:end], now)
            start = end
        return out

    def _put_run(self, tx: Any, puts: Sequence[MemoryPut], now: int) -> list[MemoryWritten]:
        """Unconditional puts of distinct keys."""
        rows: list[Any] = []
        keep = [p for p in puts if p.metadata is None]
        new = [p for p in puts if p.metadata is not None] if len(keep) < len(puts) else []
        for sql, group in ((self._q.memory_put_keep_meta, keep), (self._q.memory_put_new_meta, new)):
            if group:
                params = {
                    "ns": [p.namespace for p in group], "keys": [p.key for p in group],
                    "types": [p.type for p in group], "values": [p.value for p in group],
                    "metas": [p.metadata for p in group], "actors": [p.actor for p in group],
                    "expires": [None if p.ttl_us is None else now + p.ttl_us for p in group], "now": now,
                }  # fmt: skip
                rows += tx.execute(sql, params).fetchall()
        index_memories(tx, self._q, puts)  # (after the upserts: the keys' rows are locked, in order)
        by_key = {(r[0], r[1]): r for r in rows}
        return self._linked(tx, puts, [by_key[p.namespace, p.key] for p in puts], now)

    def _put_one(self, tx: Any, p: MemoryPut, now: int) -> MemoryWritten:
        """One unconditional put: the upsert of a present key takes its audit row's id (and sets
        it as the head), so two statements (the audit row's travels with COMMIT), not three."""
        expires = None if p.ttl_us is None else now + p.ttl_us
        params = {"ns": p.namespace, "key": p.key, "type": p.type, "value": p.value, "meta": p.metadata,
                  "actor": p.actor, "now": now, "expires": expires}  # fmt: skip
        ns, key, version, meta, created_by, created_at, prev, head = tx.execute(
            self._q.memory_put_one, params
        ).fetchone()
        index_memories(tx, self._q, [p])
        record = _new(AuditRecord, (now, p.actor, "memory.put", "memory", f"{ns}/{key}", ns,
                                    {"version": version}, version, snapshot(p, meta, expires), prev))  # fmt: skip
        if head is not None:
            write_audit(tx, [record], [head])
        else:  # (a new key: see memory_put_one)
            ids = write_audit(tx, [record])
            tx.execute(self._q.memory_set_heads, ([ns], [key], ids))
        return _new(MemoryWritten, (version, meta, created_by, created_at, expires))

    def _linked(self, tx: Any, puts: Sequence[MemoryPut], rows: Sequence[Any], now: int) -> list[MemoryWritten]:
        """The puts' audit rows (``rows``: what each one's upsert returned, in order), and the
        keys' heads set to their ids."""
        out: list[MemoryWritten] = []
        records: list[AuditRecord] = []
        for p, (ns, key, version, meta, created_by, created_at, prev) in zip(puts, rows, strict=True):
            expires = None if p.ttl_us is None else now + p.ttl_us
            records.append(_new(AuditRecord, (now, p.actor, "memory.put", "memory", f"{ns}/{key}", ns,
                                              {"version": version}, version, snapshot(p, meta, expires), prev)))  # fmt: skip
            out.append(_new(MemoryWritten, (version, meta, created_by, created_at, expires)))
        ids = write_audit(tx, records)
        tx.execute(self._q.memory_set_heads, ([p.namespace for p in puts], [p.key for p in puts], ids))
        return out

    def delete(self, tx: Any, namespace: str, key: str, now: int, actor: str | None) -> int | None:
        rows = tx.execute(self._q.memory_delete, {"ns": namespace, "key": key, "now": now}).fetchall()
        if not rows:
            return None
        version, prev = rows[0]
        ids = write_audit(tx, [change_record(now, actor, "memory.delete", namespace, key, version, prev)])
        tx.execute(self._q.memory_set_heads, ([namespace], [key], ids))
        return int(version)

    def restore(self, tx: Any, namespace: str, key: str, now: int, actor: str | None) -> MemoryRow | None:
        rows = tx.execute(self._q.memory_restore, (namespace, key)).fetchall()
        if not rows:
            return None
        r = rows[0]
        ids = write_audit(tx, [change_record(now, actor, "memory.restore", namespace, key, r[4], r[12])])
        tx.execute(self._q.memory_set_heads, ([namespace], [key], ids))
        return r[:12]  # type: ignore[no-any-return]

    def purge(self, tx: Any, spec: MemoryPurge, now: int, actor: str | None) -> int:
        where = purge_where(spec, now, Where("%s"))
        if where is None:
            return 0
        sql = "DELETE FROM memories" + where.clause() + " RETURNING namespace, key, version, head"
        gone = tx.execute(sql, where.params).fetchall()
        if not gone:
            return 0
        tx.execute(self._q.memory_forget_history, ([g[3] for g in gone if g[3] is not None],))
        remove_memories(tx, self._q, [(g[0], g[1]) for g in gone])
        # The purge row links to the key's chain and, unlike the key's other rows, is indexed:
        # the key's row (its head) is gone, so this is where its trail is found from now on.
        write_audit(tx, [change_record(now, actor, "memory.purge", ns, k, v, head) for ns, k, v, head in gone])
        return len(gone)
