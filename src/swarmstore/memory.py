"""Long-term memory: versioned entries in hierarchical namespaces, soft-deleted, with TTL.

The current version of each key lives in one row (what get/list read, in key order). Every
version ever written is kept in the audit row of the put that wrote it (a snapshot of its content),
so a put costs one current row and one audit row. Deleting flags the current row; a later put on the
key continues its version numbers; purging removes the row and the snapshots.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from . import codec
from .boundary import check_fields, checked
from .clock import _US, EPOCH, from_dt, opt_dt, seconds_us, to_dt
from .context import Context
from .engine.base import Batchable, Cursor, Row
from .errors import Conflict, InvalidInput, NotFound
from .models import Memory, Page
from .namespaces import _VALID as _VALID_NS
from .namespaces import MAX_KEY, children_range
from .params import (
    Batch,
    Count,
    Depth,
    Flag,
    Key,
    Limit,
    MemoryKind,
    Name,
    Namespace,
    Object,
    PageCursor,
    Prefix,
    Seconds,
    Version,
    When,
)
from .validation import decode_cursor, encode_cursor

_TOP = "~"  # sorts after every namespace character
_MISSING: Any = object()


def entity_id(namespace: str, key: str) -> str:
    """The audit log's id of a memory entry: ``namespace/key`` (namespaces never contain '/')."""
    return f"{namespace}/{key}"


_new = object.__new__
# (fields read from a row on first use; see models.Lazy)
_VALUE: dict[str, Any] = {"value": lambda r: orjson.loads(r[2])}
_VALUE_META: dict[str, Any] = {**_VALUE, "metadata": lambda r: orjson.loads(r[5])}


def _memory(r: Row) -> Memory:
    """A current row (memory_cols): the value, and metadata unless empty, decoded on first read.

    Built slot by slot (a dataclass __init__ would need every field); a key never updated shares
    one datetime between created_at and updated_at (immutable: the same value)."""
    m = _new(Memory)
    m.namespace = r[0]
    m.key = r[1]
    m.type = r[3]
    m.version = r[4]
    if r[5] == "{}":
        m.metadata = {}
        m._lazy = _VALUE
    else:
        m._lazy = _VALUE_META
    m._row = r
    m.created_by = r[6]
    m.created_at = created = EPOCH + r[7] * _US
    m.updated_at = created if r[8] == r[7] else EPOCH + r[8] * _US
    m.expires_at = None if r[9] is None else EPOCH + r[9] * _US
    m.deleted = r[10] is not None
    m.updated_by = r[11]
    return m


def _from_snapshot(r: Row) -> Memory:
    """A historical version: (namespace, key, snapshot, version, created_by, created_at, at, deleted_at, actor)."""
    snap = orjson.loads(r[2])
    return Memory(
        r[0],
        r[1],
        snap["value"],
        snap["type"],
        r[3],
        snap["metadata"],
        r[4],
        to_dt(r[5]),
        to_dt(r[6]),
        opt_dt(snap["expires_at"]),
        r[7] is not None,
        r[8],
    )


def _put_audit_row(
    p: _Put, version: int, meta: str, now: int, expires: int | None, aid: int, prev: int | None
) -> tuple[Any, ...]:
    """The audit row of a put, which is also the version's history entry (its snapshot).

    ``aid`` is its id (the key's new head), ``prev`` the key's audit row before it."""
    exp = "null" if expires is None else expires
    return (
        aid,
        now,
        p.actor,
        "memory.put",
        "memory",
        entity_id(p.namespace, p.key),
        p.namespace,
        f'{{"version":{version}}}',
        version,
        f'{{"type":"{p.type}","expires_at":{exp},"metadata":{meta},"value":{p.value}}}',
        prev,
    )


def _change_audit_row(
    aid: int | None, now: int, actor: str | None, action: str, ns: str, key: str, version: int, prev: int | None
) -> tuple[Any, ...]:
    """The audit row of a delete, restore or purge: no snapshot, linked to the key's chain.

    ``aid`` is its id (the key's new head; None for a purge, whose key row is gone)."""
    return (aid, now, actor, action, "memory", entity_id(ns, key), ns, f'{{"version":{version}}}', None, None, prev)


def _written(
    p: _Put, version: int, meta: str, created_by: str | None, created_at: int, now: datetime, expires: int | None
) -> Memory:
    """The Memory a put just wrote, from its prepared input and the upsert's returned columns.

    ``now`` is the write time as a datetime, made once per transaction.
    """
    return Memory(
        p.namespace,
        p.key,
        orjson.loads(p.value),
        p.type,
        version,
        {} if meta == "{}" else orjson.loads(meta),
        created_by,
        now if version == 1 else to_dt(created_at),
        now,
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


class _PutOp(Batchable):
    """One put's write operation. A group commit (the async API) whose operations are all plain
    puts of one store may run them as one batch instead (``run_batch``: the put_many path, ~3x
    less work a put than one statement pair each); ``batch_key`` says which may go together."""

    __slots__ = ("batch_key", "now", "p", "store")

    def __init__(self, store: MemoryStore, p: _Put, now: int) -> None:
        self.store, self.p, self.now = store, p, now
        self.batch_key = store if p.expected_version is None else None  # (a conditional put goes alone)

    def __call__(self, cur: Cursor) -> Memory:
        return self.store._put(cur, self.p, self.now, to_dt(self.now))

    @staticmethod
    def run_batch(cur: Cursor, ops: builtins.list[_PutOp]) -> builtins.list[Memory]:
        now = max(op.now for op in ops)
        return ops[0].store._put_batch(cur, [op.p for op in ops], now, to_dt(now))


class MemoryStore:
    """``store.memory``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e = ctx.engine
        self._q = ctx.engine.q
        self._now = ctx.now_us

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
    ) -> _Put:
        """A checked put's arguments (see ``put``) as a _Put: values encoded, durations in microseconds."""
        limit = self._ctx.max_value_bytes
        # tuple.__new__ skips the NamedTuple's Python-level __new__ (a third of this call's cost).
        return tuple.__new__(
            _Put,
            (
                namespace,
                key,
                codec.dumps(value, "value", limit),
                type,
                None if metadata is None else codec.dumps_dict(metadata, "metadata", limit),
                None if ttl is None else seconds_us(ttl, "ttl"),  # type: ignore[arg-type]
                expected_version,
                self._ctx.actor if actor is None else actor,
            ),
        )

    def _put(self, cur: Cursor, p: _Put, now: int, now_dt: datetime) -> Memory:
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
        version, meta, created_by, created_at, aid, prev = cur.execute(
            self._q.memory_upsert, (p.namespace, p.key, p.type, p.value, p.metadata, p.actor, now, expires)
        ).fetchall()[0]
        # the audit row goes in before the next put of the batch computes its head from max(id)
        cur.execute(self._q.audit_insert_linked, _put_audit_row(p, version, meta, now, expires, aid, prev))
        return _written(p, version, meta, created_by, created_at, now_dt, expires)

    @checked
    def put(
        self,
        namespace: Namespace,
        key: Key,
        value: Any,
        type: MemoryKind = "semantic",
        metadata: Object | None = None,
        ttl: Seconds | None = None,
        expected_version: Count | None = None,
        actor: Name | None = None,
    ) -> Memory:
        """Write a new version of ``namespace``/``key`` (version 1 if new).

        ``metadata=None`` keeps the previous version's metadata; the creator is kept across
        versions. ``ttl`` (seconds or timedelta) hides the entry once it passes.
        ``expected_version`` (0 = must not exist) raises Conflict if another writer got there first.
        """
        p = self._prepare(namespace, key, value, type, metadata, ttl, expected_version, actor)
        return self._e.write(_PutOp(self, p, self._now()))

    @checked
    def put_many(self, items: Batch) -> list[Memory]:
        """Write a batch in one transaction: all items or none. Each item has ``put``'s arguments."""
        prepared: list[_Put] = []
        add = prepared.append
        limit, actor = self._ctx.max_value_bytes, self._ctx.actor
        dumps, opts, reject = orjson.dumps, codec.OPTS, codec.reject
        for i, item in enumerate(items):
            # The common item ({namespace, key, value}, a namespace seen before, a plain value):
            # _prepare_item's checks inlined here, since per-item calls are a third of the time.
            if type(item) is dict and len(item) == 3:
                ns, key, value = item.get("namespace"), item.get("key"), item.get("value", _MISSING)
                if type(ns) is str and ns in _VALID_NS and type(key) is str and 0 < len(key) <= MAX_KEY and key.isprintable():
                    try:
                        raw = dumps(value, default=reject, option=opts)
                    except TypeError:
                        raw = b"null"  # (the slow path below says what is wrong)
                    if value is not _MISSING and b"null" not in raw and len(raw) <= limit:
                        add(tuple.__new__(_Put, (ns, key, raw.decode(), "semantic", None, None, None, actor)))
                        continue
            try:
                add(self._prepare_item(item))
            except InvalidInput as exc:
                raise InvalidInput(f"items[{i}]" + (exc.field and "." + exc.field), exc.message) from None
        if not prepared:
            return []
        now = self._now()

        now_dt = to_dt(now)

        def op(cur: Cursor) -> list[Memory]:
            if any(p.expected_version is not None for p in prepared):
                return [self._put(cur, p, now, now_dt) for p in prepared]
            return self._put_batch(cur, prepared, now, now_dt)

        return self._e.write(op)

    def _prepare_item(self, item: object) -> _Put:
        item = check_fields(item, MemoryStore.put, ("namespace", "key", "value"))
        namespace, key, value = item["namespace"], item["key"], item["value"]
        get = item.get
        return self._prepare(
            namespace,
            key,
            value,
            get("type", "semantic"),
            get("metadata"),
            get("ttl"),
            get("expected_version"),
            get("actor"),
        )

    def _put_batch(self, cur: Cursor, prepared: list[_Put], now: int, now_dt: datetime) -> list[Memory]:
        """Unconditional puts: read what the batch's keys continue from, then one executemany of
        inserts (keys absent), one of updates (keys present) and one of the audit rows, whose ids
        are assigned here (the writer holds the lock)."""
        by_ns: dict[str, list[str]] = {}
        for p in prepared:
            by_ns.setdefault(p.namespace, []).append(p.key)
        queries: list[tuple[str, tuple[str, ...]]]
        if len(by_ns) <= 4:
            queries = [(self._q.memory_batch_existing, (ns, orjson.dumps(keys).decode())) for ns, keys in by_ns.items()]
        else:
            pairs = orjson.dumps(list(dict.fromkeys((p.namespace, p.key) for p in prepared))).decode()
            queries = [(self._q.memory_batch_existing_pairs, (pairs,))]
        # (namespace, key) -> (version, metadata, created_by, created_at, head) as the batch goes on
        known: dict[tuple[str, str], tuple[int, str, str | None, int, int | None]] = {}
        for sql, args in queries:
            for ns, key, version, meta, created_by, created_at, head in cur.execute(sql, args).fetchall():
                known[ns, key] = (version, meta, created_by, created_at, head)
        aid = cur.execute(self._q.audit_max_id).fetchall()[0][0]
        audit_rows: list[tuple[Any, ...]] = []
        out: list[Memory] = []
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        add_insert, add_update, add_audit, add_out = inserts.append, updates.append, audit_rows.append, out.append
        loads = orjson.loads
        for p in prepared:
            ns, key, value, type_, metadata, ttl_us, _, actor = p
            k = (ns, key)
            before = known.get(k)
            aid += 1
            if before is None:
                version, meta, created_by, created_at, prev = 1, metadata or "{}", actor, now_dt, None
                known[k] = (1, meta, actor, now, aid)
                add_param = add_insert
            else:
                add_param = add_update
                version, created_by, prev = before[0] + 1, before[2], before[4]
                meta = before[1] if metadata is None else metadata
                created_at = to_dt(before[3])
                known[k] = (version, meta, created_by, before[3], aid)
            # (the rows of _put_audit_row and _written, inlined: calls are a fifth of this loop's time)
            if ttl_us is None:
                expires, exp_text, expires_at = None, "null", None
            else:
                expires = now + ttl_us
                exp_text, expires_at = str(expires), to_dt(expires)
            add_param((ns, key, type_, value, metadata, actor, now, expires, aid))
            add_audit(
                (aid, now, actor, "memory.put", "memory", f"{ns}/{key}", ns, f'{{"version":{version}}}', version,
                 f'{{"type":"{type_}","expires_at":{exp_text},"metadata":{meta},"value":{value}}}', prev)
            )  # fmt: skip
            add_out(
                Memory(ns, key, loads(value), type_, version, {} if meta == "{}" else loads(meta), created_by,
                       created_at, now_dt, expires_at, False, actor)
            )  # fmt: skip
        # (the inserts first: a key new to the table and put again later in the batch is updated)
        if inserts:
            cur.executemany(self._q.memory_batch_insert, inserts)
        if updates:
            cur.executemany(self._q.memory_batch_update, updates)
        cur.executemany(self._q.audit_insert_linked, audit_rows)
        return out

    @checked
    def delete(self, namespace: Namespace, key: Key, *, actor: Name | None = None) -> None:
        """Soft-delete: the key disappears from get/list, its history stays; ``restore`` undoes it."""
        actor = actor or self._ctx.actor
        now = self._now()

        def op(cur: Cursor) -> None:
            rows = cur.execute(self._q.memory_delete, (namespace, key, now)).fetchall()
            if not rows:
                raise NotFound(f"memory {namespace}/{key} not found")
            version, aid, prev = rows[0]
            row = _change_audit_row(aid, now, actor, "memory.delete", namespace, key, version, prev)
            cur.execute(self._q.audit_insert_linked, row)

        return self._e.write(op)

    @checked
    def restore(self, namespace: Namespace, key: Key, *, actor: Name | None = None) -> Memory:
        """Bring back a soft-deleted key with its last version."""
        actor = actor or self._ctx.actor
        now = self._now()

        def op(cur: Cursor) -> Memory:
            rows = cur.execute(self._q.memory_restore, (namespace, key)).fetchall()
            if not rows:
                if cur.execute(self._q.memory_get_any, (namespace, key)).fetchall():
                    raise Conflict(f"memory {namespace}/{key} is not deleted")
                raise NotFound(f"memory {namespace}/{key} not found")
            m = _memory(rows[0])
            row = _change_audit_row(rows[0][12], now, actor, "memory.restore", namespace, key, m.version, rows[0][13])
            cur.execute(self._q.audit_insert_linked, row)
            return m

        return self._e.write(op)

    @checked
    def purge(
        self,
        prefix: Prefix = "",
        *,
        deleted: Flag = True,
        expired: Flag = True,
        deleted_before: When | None = None,
        actor: Name | None = None,
    ) -> int:
        """Remove deleted and/or expired entries under ``prefix`` for good, with their history.

        Returns how many keys were removed; each gets an audit row.
        """
        actor = actor or self._ctx.actor
        now = self._now()
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
        sql += " RETURNING namespace, key, version, head"

        def op(cur: Cursor) -> int:
            gone = cur.execute(sql, params).fetchall()
            cur.executemany(self._q.memory_forget_history, [(g[3],) for g in gone])
            # The purge row links to the key's chain and, unlike the key's other rows, is indexed:
            # the key's row (its head) is gone, so this is where its trail is found from now on.
            cur.executemany(
                self._q.audit_insert_linked,
                [_change_audit_row(None, now, actor, "memory.purge", ns, k, v, head) for ns, k, v, head in gone],
            )
            return len(gone)

        return self._e.write(op)

    # -- reads ---------------------------------------------------------------------------------

    @checked
    def get(self, namespace: Namespace, key: Key, version: Version | None = None) -> Memory:
        """The current live version, or the exact older ``version`` (history reads work after delete)."""
        if version is None:
            rows = self._e.query(self._q.memory_get, (namespace, key, self._now()))
            if rows:
                return _memory(rows[0])
            raise NotFound(f"memory {namespace}/{key} not found")
        rows = self._e.query(self._q.memory_get_version, (namespace, key, version))
        if not rows:
            raise NotFound(f"memory {namespace}/{key} version {version} not found")
        return _from_snapshot(rows[0])

    @checked
    def history(self, namespace: Namespace, key: Key) -> list[Memory]:
        """Every version of a key, oldest first (also for deleted keys)."""
        rows = self._e.query(self._q.memory_history, (namespace, key))
        if not rows:
            raise NotFound(f"memory {namespace}/{key} not found")
        rows.sort(key=lambda r: r[3])  # (the chain is walked newest first)
        return [_from_snapshot(r) for r in rows]

    @checked
    def list(
        self, prefix: Prefix = "", type: MemoryKind | None = None, limit: Limit = 100, cursor: PageCursor | None = None
    ) -> Page[Memory]:
        """Current live entries under ``prefix`` (segment-exact) in (namespace, key) order."""
        lo, hi = children_range(prefix) if prefix else ("", _TOP)
        exact, after_key, from_ns, from_key = bool(prefix), "", lo, ""
        if cursor is not None:
            cns, ckey = decode_cursor(cursor, "memory", (str, str))
            if cns == prefix:
                after_key = ckey
            else:
                exact, from_ns, from_key = False, cns, ckey
        rows = self._e.query(
            self._q.memory_list, (prefix, after_key, exact, self._now(), type, from_ns, from_key, hi, limit + 1)
        )
        items = [_memory(r) for r in rows[:limit]]
        nxt = encode_cursor("memory", items[-1].namespace, items[-1].key) if len(rows) > limit else None
        return Page(items, nxt)

    @checked
    def namespaces(self, prefix: Prefix = "", max_depth: Depth | None = None) -> builtins.list[str]:
        """Namespaces under ``prefix`` (itself included) that hold live entries, in order."""
        now = self._now()
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
