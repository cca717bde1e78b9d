"""Long-term memory: versioned entries in hierarchical namespaces, soft-deleted, with TTL.

The current version of each key lives in one row (what get/list read, in key order); every
version ever written is kept in the history. Deleting flags the current row; a later put on the
key continues its version numbers.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson

from . import audit, codec
from .clock import from_dt, now_us, opt_dt, seconds_us, to_dt
from .context import Context
from .engine.base import Cursor, Row
from .errors import Conflict, InvalidInput, NotFound
from .models import MEMORY_TYPES, Memory, Page
from .namespaces import check_key, check_namespace, check_prefix, children_range
from .validation import check_choice, check_int, check_limit, decode_cursor, encode_cursor

_TOP = "~"  # sorts after every namespace character
_PUT_FIELDS = frozenset({"namespace", "key", "value", "type", "metadata", "ttl", "expected_version", "actor"})


def entity_id(namespace: str, key: str) -> str:
    """The audit log's id of a memory entry: ``namespace/key`` (namespaces never contain '/')."""
    return f"{namespace}/{key}"


def _memory(r: Row) -> Memory:
    meta = r[5]
    return Memory(
        r[0],
        r[1],
        orjson.loads(r[2]),
        r[3],
        r[4],
        {} if meta == "{}" else orjson.loads(meta),
        r[6],
        to_dt(r[7]),
        to_dt(r[8]),
        opt_dt(r[9]),
        r[10] is not None,
        r[11],
    )


def _put_audit_row(p: _Put, version: int, now: int) -> tuple[Any, ...]:
    return (
        now,
        p.actor,
        "memory.put",
        "memory",
        entity_id(p.namespace, p.key),
        p.namespace,
        f'{{"version":{version}}}',
    )


def _written(
    p: _Put, version: int, meta: str, created_by: str | None, created_at: int, now: int, expires: int | None
) -> Memory:
    """The Memory a put just wrote, from its prepared input and the upsert's returned columns."""
    return Memory(
        p.namespace,
        p.key,
        orjson.loads(p.value),
        p.type,
        version,
        {} if meta == "{}" else orjson.loads(meta),
        created_by,
        to_dt(created_at),
        to_dt(now),
        opt_dt(expires),
        False,
        p.actor,
    )


class _Put(NamedTuple):
    namespace: str
    key: str
    value: str
    type: str
    metadata: str | None
    ttl_us: int | None
    expected_version: int | None
    actor: str | None


class MemoryStore:
    """``store.memory``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e = ctx.engine
        self._q = ctx.engine.q

    # -- writes --------------------------------------------------------------------------------

    def _prepare(
        self,
        namespace: object,
        key: object,
        value: object,
        type: object,
        metadata: object,
        ttl: object,
        expected_version: object,
        actor: object,
        where: str = "",
    ) -> _Put:
        limit = self._ctx.max_value_bytes
        return _Put(
            check_namespace(namespace, where + "namespace"),
            check_key(key, where + "key"),
            codec.dumps(value, where + "value", limit),
            type if type in MEMORY_TYPES else check_choice(type, where + "type", sorted(MEMORY_TYPES)),
            None if metadata is None else codec.dumps_dict(metadata, where + "metadata", limit),
            seconds_us(ttl, where + "ttl"),  # type: ignore[arg-type]
            None if expected_version is None else check_int(expected_version, where + "expected_version", 0),
            self._ctx.actor_or_default(actor),  # type: ignore[arg-type]
        )

    def _put(self, cur: Cursor, p: _Put, now: int, audit_rows: list[tuple[Any, ...]]) -> Memory:
        if p.expected_version is not None:
            rows = cur.execute(self._q.memory_get_any, (p.namespace, p.key)).fetchall()
            live = 0
            if rows and rows[0][10] is None and (rows[0][9] is None or rows[0][9] > now):
                live = rows[0][4]
            if live != p.expected_version:
                raise Conflict(
                    f"memory {p.namespace}/{p.key}: expected version {p.expected_version}, "
                    f"but the current version is {live or 'none (no live entry)'}"
                )
        expires = None if p.ttl_us is None else now + p.ttl_us
        version, meta, created_by, created_at = cur.execute(
            self._q.memory_upsert, (p.namespace, p.key, p.type, p.value, p.metadata, p.actor, now, expires)
        ).fetchall()[0]
        audit_rows.append(_put_audit_row(p, version, now))
        return _written(p, version, meta, created_by, created_at, now, expires)

    def put(
        self,
        namespace: str,
        key: str,
        value: Any,
        type: str = "semantic",
        metadata: Mapping[str, Any] | None = None,
        ttl: float | timedelta | None = None,
        expected_version: int | None = None,
        actor: str | None = None,
    ) -> Memory:
        """Write a new version of ``namespace``/``key`` (version 1 if new).

        ``metadata=None`` keeps the previous version's metadata; the creator is kept across
        versions. ``ttl`` (seconds or timedelta) hides the entry once it passes.
        ``expected_version`` (0 = must not exist) raises Conflict if another writer got there first.
        """
        p = self._prepare(namespace, key, value, type, metadata, ttl, expected_version, actor)
        now = now_us()

        def op(cur: Cursor) -> Memory:
            rows: list[tuple[Any, ...]] = []
            m = self._put(cur, p, now, rows)
            cur.execute(self._q.audit_insert, rows[0])
            return m

        return self._e.write(op)

    def put_many(self, items: Iterable[Mapping[str, Any]]) -> list[Memory]:
        """Write a batch in one transaction: all items or none. Each item has ``put``'s arguments."""
        prepared = []
        for i, item in enumerate(items):
            where = f"items[{i}]."
            if not isinstance(item, Mapping):
                raise InvalidInput(f"items[{i}]", f"expected a mapping, got {type(item).__name__}")
            unknown = set(item) - _PUT_FIELDS
            if unknown:
                raise InvalidInput(f"items[{i}]", f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
            for required in ("namespace", "key", "value"):
                if required not in item:
                    raise InvalidInput(where + required, "is required")
            prepared.append(
                self._prepare(
                    item["namespace"],
                    item["key"],
                    item["value"],
                    item.get("type", "semantic"),
                    item.get("metadata"),
                    item.get("ttl"),
                    item.get("expected_version"),
                    item.get("actor"),
                    where,
                )
            )
        if not prepared:
            return []
        now = now_us()

        def op(cur: Cursor) -> list[Memory]:
            rows: list[tuple[Any, ...]] = []
            if any(p.expected_version is not None for p in prepared):
                out = [self._put(cur, p, now, rows) for p in prepared]
            else:
                out = self._put_batch(cur, prepared, now, rows)
            audit.record_many(cur, self._e, rows)
            return out

        return self._e.write(op)

    def _put_batch(
        self, cur: Cursor, prepared: list[_Put], now: int, audit_rows: list[tuple[Any, ...]]
    ) -> list[Memory]:
        """Unconditional puts as one executemany (rows come back in input order)."""
        params = [
            (
                p.namespace,
                p.key,
                p.type,
                p.value,
                p.metadata,
                p.actor,
                now,
                None if p.ttl_us is None else now + p.ttl_us,
            )
            for p in prepared
        ]
        returned = cur.executemany(self._q.memory_upsert, params).fetchall()
        out = []
        for p, prm, (version, meta, created_by, created_at) in zip(prepared, params, returned, strict=True):
            audit_rows.append(_put_audit_row(p, version, now))
            out.append(_written(p, version, meta, created_by, created_at, now, prm[7]))
        return out

    def delete(self, namespace: str, key: str, *, actor: str | None = None) -> None:
        """Soft-delete: the key disappears from get/list, its history stays; ``restore`` undoes it."""
        check_namespace(namespace)
        check_key(key)
        actor = self._ctx.actor_or_default(actor)
        now = now_us()

        def op(cur: Cursor) -> None:
            rows = cur.execute(self._q.memory_delete, (namespace, key, now)).fetchall()
            if not rows:
                raise NotFound(f"memory {namespace}/{key} not found")
            audit.record(
                cur,
                self._e,
                now,
                actor,
                "memory.delete",
                "memory",
                entity_id(namespace, key),
                namespace,
                {"version": rows[0][0]},
            )

        self._e.write(op)

    def restore(self, namespace: str, key: str, *, actor: str | None = None) -> Memory:
        """Bring back a soft-deleted key with its last version."""
        check_namespace(namespace)
        check_key(key)
        actor = self._ctx.actor_or_default(actor)
        now = now_us()

        def op(cur: Cursor) -> Memory:
            rows = cur.execute(self._q.memory_restore, (namespace, key)).fetchall()
            if not rows:
                if cur.execute(self._q.memory_get_any, (namespace, key)).fetchall():
                    raise Conflict(f"memory {namespace}/{key} is not deleted")
                raise NotFound(f"memory {namespace}/{key} not found")
            m = _memory(rows[0])
            audit.record(
                cur,
                self._e,
                now,
                actor,
                "memory.restore",
                "memory",
                entity_id(namespace, key),
                namespace,
                {"version": m.version},
            )
            return m

        return self._e.write(op)

    def purge(
        self,
        prefix: str = "",
        *,
        deleted: bool = True,
        expired: bool = True,
        deleted_before: datetime | None = None,
        actor: str | None = None,
    ) -> int:
        """Remove deleted and/or expired entries under ``prefix`` for good, with their history.

        Returns how many keys were removed; each gets an audit row.
        """
        prefix = check_prefix(prefix)
        actor = self._ctx.actor_or_default(actor)
        now = now_us()
        ph = self._e.placeholder
        conds: list[str] = []
        params: list[Any] = []
        if deleted:
            if deleted_before is None:
                conds.append("deleted_at IS NOT NULL")
            else:
                conds.append(f"deleted_at < {ph}")
                params.append(from_dt(deleted_before, "deleted_before"))
        if expired:
            conds.append(f"expires_at <= {ph}")
            params.append(now)
        if not conds:
            raise InvalidInput("purge", "choose deleted=True and/or expired=True")
        sql = f"DELETE FROM memories WHERE ({' OR '.join(conds)})"
        if prefix:
            lo, hi = children_range(prefix)
            sql += f" AND (namespace = {ph} OR (namespace >= {ph} AND namespace < {ph}))"
            params += [prefix, lo, hi]
        sql += " RETURNING namespace, key, version"

        def op(cur: Cursor) -> int:
            gone = cur.execute(sql, params).fetchall()
            cur.executemany(
                f"DELETE FROM memory_versions WHERE namespace = {ph} AND key = {ph}", [(g[0], g[1]) for g in gone]
            )
            audit.record_many(
                cur,
                self._e,
                [
                    (now, actor, "memory.purge", "memory", entity_id(ns, k), ns, f'{{"version":{v}}}')
                    for ns, k, v in gone
                ],
            )
            return len(gone)

        return self._e.write(op)

    # -- reads ---------------------------------------------------------------------------------

    def get(self, namespace: str, key: str, version: int | None = None) -> Memory:
        """The current live version, or the exact older ``version`` (history reads work after delete)."""
        check_namespace(namespace)
        check_key(key)
        if version is None:
            rows = self._e.query(self._q.memory_get, (namespace, key, now_us()))
        else:
            rows = self._e.query(self._q.memory_get_version, (namespace, key, check_int(version, "version", 1)))
        if not rows:
            what = f"memory {namespace}/{key}" + ("" if version is None else f" version {version}")
            raise NotFound(f"{what} not found")
        return _memory(rows[0])

    def history(self, namespace: str, key: str) -> list[Memory]:
        """Every version of a key, oldest first (also for deleted keys)."""
        check_namespace(namespace)
        check_key(key)
        rows = self._e.query(self._q.memory_history, (namespace, key))
        if not rows:
            raise NotFound(f"memory {namespace}/{key} not found")
        return [_memory(r) for r in rows]

    def list(
        self, prefix: str = "", type: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page[Memory]:
        """Current live entries under ``prefix`` (segment-exact) in (namespace, key) order."""
        prefix = check_prefix(prefix)
        if type is not None:
            check_choice(type, "type", sorted(MEMORY_TYPES))
        limit = check_limit(limit)
        lo, hi = children_range(prefix) if prefix else ("", _TOP)
        exact, after_key, from_ns, from_key = bool(prefix), "", lo, ""
        if cursor is not None:
            cns, ckey = decode_cursor(cursor, 2)
            if not isinstance(cns, str) or not isinstance(ckey, str):
                raise InvalidInput("cursor", "not a cursor made by this listing")
            if cns == prefix:
                after_key = ckey
            else:
                exact, from_ns, from_key = False, cns, ckey
        rows = self._e.query(
            self._q.memory_list, (prefix, after_key, exact, now_us(), type, from_ns, from_key, hi, limit + 1)
        )
        items = [_memory(r) for r in rows[:limit]]
        nxt = encode_cursor(items[-1].namespace, items[-1].key) if len(rows) > limit else None
        return Page(items, nxt)

    def namespaces(self, prefix: str = "", max_depth: int | None = None) -> builtins.list[str]:
        """Namespaces under ``prefix`` (itself included) that hold live entries, in order."""
        prefix = check_prefix(prefix)
        if max_depth is not None:
            check_int(max_depth, "max_depth", 1)
        now = now_us()
        out: builtins.list[str] = []
        if prefix and self._e.query(self._q.memory_exact_namespace, (prefix, now)):
            out.append(prefix)
        last, hi = children_range(prefix) if prefix else ("", _TOP)
        # One index seek per namespace: jump past all keys of the one just found.
        while True:
            rows = self._e.query(self._q.memory_next_namespace, (last, hi, now))
            if not rows:
                break
            last = rows[0][0]
            out.append(last)
        if max_depth is not None:
            out = sorted({":".join(ns.split(":")[:max_depth]) for ns in out})
        return out
