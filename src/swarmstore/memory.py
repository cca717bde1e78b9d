"""Long-term memory: versioned entries in hierarchical namespaces, soft-deleted, with TTL.

The current version of each key lives in one row (what get/list read, in key order). Every
version ever written is kept in the audit row of the put that wrote it (a snapshot of its content),
so a put costs one current row and one audit row. Deleting flags the current row; a later put on the
key continues its version numbers; purging removes the row and the snapshots.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

import orjson

from . import codec
from .boundary import check_fields, checked
from .clock import _US, EPOCH, from_dt, opt_dt, seconds_us, to_dt
from .context import Context
from .engine.base import Batchable
from .engine.ops.memory import MemoryPurge, MemoryPut, MemoryRow, MemoryVersionRow, live_version
from .errors import Conflict, InvalidInput, NotFound
from .models import Hit, Memory, Page
from .namespaces import _VALID as _VALID_NS
from .namespaces import MAX_KEY, check_namespace
from .params import (
    Batch,
    Count,
    Depth,
    Flag,
    K,
    Key,
    Limit,
    MemoryKind,
    MemoryKinds,
    Name,
    Namespace,
    Namespaces,
    Object,
    PageCursor,
    Prefix,
    Query,
    SearchMode,
    Seconds,
    Version,
    When,
)
from .search.text import text_of
from .validation import decode_cursor, encode_cursor

_MISSING: Any = object()


def _no_text(value: Any) -> str:
    """(engines that read a put's text later, from the stored value: nothing to compute now)"""
    return ""


def entity_id(namespace: str, key: str) -> str:
    """The audit log's id of a memory entry: ``namespace/key`` (namespaces never contain '/')."""
    return f"{namespace}/{key}"


_new = object.__new__
# (fields read from a row on first use; see models.Lazy. 2 and 5: MemoryRow's value and metadata)
_VALUE: dict[str, Any] = {"value": lambda r: orjson.loads(r[2])}
_VALUE_META: dict[str, Any] = {**_VALUE, "metadata": lambda r: orjson.loads(r[5])}


def memory_model(r: MemoryRow) -> Memory:
    """A current row: the value, and metadata unless empty, decoded on first read.

    Built slot by slot (a dataclass __init__ would need every field); a key never updated shares
    one datetime between created_at and updated_at (immutable: the same value)."""
    namespace, key, _value, type_, version, metadata, created_by, created_at, updated_at, expires_at, deleted_at, \
        updated_by = r  # fmt: skip
    m = _new(Memory)
    m.namespace = namespace
    m.key = key
    m.type = type_
    m.version = version
    if metadata == "{}":
        m.metadata = {}
        m._lazy = _VALUE
    else:
        m._lazy = _VALUE_META
    m._row = r
    m.created_by = created_by
    m.created_at = created = EPOCH + created_at * _US
    m.updated_at = created if updated_at == created_at else EPOCH + updated_at * _US
    m.expires_at = None if expires_at is None else EPOCH + expires_at * _US
    m.deleted = deleted_at is not None
    m.updated_by = updated_by
    return m


def _from_snapshot(r: MemoryVersionRow) -> Memory:
    """A historical version, from its put's audit snapshot."""
    snap = orjson.loads(r.snapshot)
    return Memory(
        r.namespace,
        r.key,
        snap["value"],
        snap["type"],
        r.version,
        snap["metadata"],
        r.created_by,
        to_dt(r.created_at),
        to_dt(r.at),
        opt_dt(snap["expires_at"]),
        r.deleted_at is not None,
        r.actor,
    )


def _written(p: MemoryPut, meta: str, version: int, created_by: str | None, created: datetime, now: datetime,
             expires: datetime | None) -> Memory:  # fmt: skip
    """The Memory a put just wrote: its value decoded from the put's JSON on first read (see
    models.Lazy), like a row's; built slot by slot (a dataclass __init__ costs 2.5x as much)."""
    m = _new(Memory)
    m.namespace = p.namespace
    m.key = p.key
    m.type = p.type
    m.version = version
    m.metadata = {} if meta == "{}" else orjson.loads(meta)
    m._lazy = _VALUE
    m._row = p  # (a MemoryPut: its value is the JSON text written)
    m.created_by = created_by
    m.created_at = created
    m.updated_at = now
    m.expires_at = expires
    m.deleted = False
    m.updated_by = p.actor
    return m


def _conflict(p: MemoryPut, row: MemoryRow | None, now: int) -> Conflict:
    """The error of a conditional put whose expected version is not the live one."""
    live = live_version(row, now)
    return Conflict(
        f"memory {p.namespace}/{p.key}: expected version {p.expected_version}, "
        f"but the current version is {live or 'none (no live entry)'}"
    )


class _PutOp(Batchable):
    """One put's write operation. A group commit (the async API) whose operations are all plain
    puts of one store may run them as one batch instead (``run_batch``: the put_many path, ~3x
    less work a put than one statement pair each); ``batch_key`` says which may go together."""

    __slots__ = ("now", "p", "store")

    def __init__(self, store: MemoryStore, p: MemoryPut, now: int) -> None:
        self.store, self.p, self.now = store, p, now
        self.batch_key = store if p.expected_version is None else None  # (a conditional put goes alone)

    def __call__(self, tx: Any) -> Memory:
        return self.store._put(tx, self.p, self.now, to_dt(self.now))

    @classmethod
    def run_batch(cls, tx: Any, ops: builtins.list[Any]) -> builtins.list[Any]:
        now = max(op.now for op in ops)
        return ops[0].store._put_batch(tx, [op.p for op in ops], now, to_dt(now))  # type: ignore[no-any-return]


class MemoryStore:
    """``store.memory``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e = ctx.engine
        self._now = ctx.now_us
        self._m = ctx.engine.memory
        self._searcher: Any = None  # (the store's SearchService, set by the store)
        self._text = text_of if ctx.engine.search.index_on_write else _no_text

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
    ) -> MemoryPut:
        """A checked put's arguments (see ``put``): values encoded, durations in microseconds."""
        limit = self._ctx.max_value_bytes
        # tuple.__new__ skips the NamedTuple's Python-level __new__ (a third of this call's cost).
        return tuple.__new__(
            MemoryPut,
            (
                namespace,
                key,
                codec.dumps(value, "value", limit),
                type,
                None if metadata is None else codec.dumps_dict(metadata, "metadata", limit),
                None if ttl is None else seconds_us(ttl, "ttl"),  # type: ignore[arg-type]
                expected_version,
                self._ctx.actor if actor is None else actor,
                self._text(value),
            ),
        )

    def _put(self, tx: Any, p: MemoryPut, now: int, now_dt: datetime) -> Memory:
        ops = self._m
        w = ops.put(tx, p, now)
        if w is None:
            raise _conflict(p, ops.get_any(tx, p.namespace, p.key), now)
        created = now_dt if w.version == 1 else to_dt(w.created_at)
        return _written(p, w.metadata, w.version, w.created_by, created, now_dt, opt_dt(w.expires_at))

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
        prepared: list[MemoryPut] = []
        add = prepared.append
        limit, actor = self._ctx.max_value_bytes, self._ctx.actor
        dumps, opts, reject, text = orjson.dumps, codec.OPTS, codec.reject, self._text
        for i, item in enumerate(items):
            # The common item ({namespace, key, value}, a namespace seen before, a plain value):
            # _prepare_item's checks inlined here, since per-item calls are a third of the time.
            if type(item) is dict and len(item) == 3:
                ns, key, value = item.get("namespace"), item.get("key"), item.get("value", _MISSING)
                if (
                    type(ns) is str
                    and ns in _VALID_NS
                    and type(key) is str
                    and 0 < len(key) <= MAX_KEY
                    and key.isprintable()
                ):
                    try:
                        raw = dumps(value, default=reject, option=opts)
                    except TypeError:
                        raw = b"null"  # (the slow path below says what is wrong)
                    if value is not _MISSING and b"null" not in raw and len(raw) <= limit:
                        add(tuple.__new__(MemoryPut, (ns, key, raw.decode(), "semantic", None, None, None, actor, text(value))))
                        continue
            try:
                add(self._prepare_item(item))
            except InvalidInput as exc:
                raise InvalidInput(f"items[{i}]" + (exc.field and "." + exc.field), exc.message) from None
        if not prepared:
            return []
        now = self._now()
        now_dt = to_dt(now)

        def op(tx: Any) -> list[Memory]:
            if any(p.expected_version is not None for p in prepared):
                return [self._put(tx, p, now, now_dt) for p in prepared]
            return self._put_batch(tx, prepared, now, now_dt)

        return self._e.write(op)

    def _prepare_item(self, item: object) -> MemoryPut:
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

    def _put_batch(self, tx: Any, prepared: list[MemoryPut], now: int, now_dt: datetime) -> list[Memory]:
        """Unconditional puts, as one batch operation of the engine."""
        written = self._m.put_many(tx, prepared, now)
        out: builtins.list[Memory] = []
        add, loads, new = out.append, orjson.loads, _new
        for p, w in zip(prepared, written, strict=True):
            # (_written inlined: a call a put is a sixth of this loop's time)
            m = new(Memory)
            m.namespace = p.namespace
            m.key = p.key
            m.type = p.type
            m.version = version = w.version
            meta = w.metadata
            m.metadata = {} if meta == "{}" else loads(meta)
            m._lazy = _VALUE
            m._row = p
            m.created_by = w.created_by
            m.created_at = now_dt if version == 1 else to_dt(w.created_at)
            m.updated_at = now_dt
            expires = w.expires_at
            m.expires_at = None if expires is None else to_dt(expires)
            m.deleted = False
            m.updated_by = p.actor
            add(m)
        return out

    @checked
    def delete(self, namespace: Namespace, key: Key, *, actor: Name | None = None) -> None:
        """Soft-delete: the key disappears from get/list, its history stays; ``restore`` undoes it."""
        actor = actor or self._ctx.actor
        now = self._now()

        def op(tx: Any) -> None:
            if self._m.delete(tx, namespace, key, now, actor) is None:
                raise NotFound(f"memory {namespace}/{key} not found")

        return self._e.write(op)

    @checked
    def restore(self, namespace: Namespace, key: Key, *, actor: Name | None = None) -> Memory:
        """Bring back a soft-deleted key with its last version."""
        actor = actor or self._ctx.actor
        now = self._now()

        def op(tx: Any) -> Memory:
            ops = self._m
            row = ops.restore(tx, namespace, key, now, actor)
            if row is None:
                if ops.get_any(tx, namespace, key) is not None:
                    raise Conflict(f"memory {namespace}/{key} is not deleted")
                raise NotFound(f"memory {namespace}/{key} not found")
            return memory_model(row)

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
        if not (deleted or expired):
            raise InvalidInput("purge", "choose deleted=True and/or expired=True")
        spec = MemoryPurge(
            prefix, deleted, expired, None if deleted_before is None else from_dt(deleted_before, "deleted_before")
        )
        actor = actor or self._ctx.actor
        now = self._now()
        return self._e.write(lambda tx: self._m.purge(tx, spec, now, actor))

    # -- reads ---------------------------------------------------------------------------------

    @checked
    def get(self, namespace: Namespace, key: Key, version: Version | None = None) -> Memory:
        """The current live version, or the exact older ``version`` (history reads work after delete)."""
        if version is None:
            row = self._m.get(namespace, key, self._now())
            if row is not None:
                return memory_model(row)
            raise NotFound(f"memory {namespace}/{key} not found")
        old = self._m.get_version(namespace, key, version)
        if old is None:
            raise NotFound(f"memory {namespace}/{key} version {version} not found")
        return _from_snapshot(old)

    @checked
    def history(self, namespace: Namespace, key: Key) -> list[Memory]:
        """Every version of a key, oldest first (also for deleted keys)."""
        rows = self._m.history(namespace, key)
        if not rows:
            raise NotFound(f"memory {namespace}/{key} not found")
        return [_from_snapshot(r) for r in rows]

    @checked
    def list(
        self, prefix: Prefix = "", type: MemoryKind | None = None, limit: Limit = 100, cursor: PageCursor | None = None
    ) -> Page[Memory]:
        """Current live entries under ``prefix`` (segment-exact) in (namespace, key) order."""
        after: tuple[str, str] | None = None
        if cursor is not None:
            cns, ckey = decode_cursor(cursor, "memory", (str, str))
            after = (cns, ckey)
        rows = self._m.list_live(prefix, self._now(), limit + 1, type, after)
        items = [memory_model(r) for r in rows[:limit]]
        nxt = encode_cursor("memory", items[-1].namespace, items[-1].key) if len(rows) > limit else None
        return Page(items, nxt)

    @checked
    def search(
        self,
        query: Query,
        *,
        prefix: Prefix | None = None,
        types: MemoryKinds | None = None,
        k: K = 10,
        mode: SearchMode = "hybrid",
        filters: Object | None = None,
    ) -> builtins.list[Hit]:
        """Live entries matching ``query``, best first (``hit.memory``); see ``store.search``."""
        return self._searcher.find(("memory",), query, prefix, types, k, mode, filters)  # type: ignore[no-any-return]

    @checked
    def resolve(self, key: Key, scopes: Namespaces) -> Memory:
        """The live entry ``key`` of the first namespace of ``scopes`` that holds it: list them most
        specific first (``precedence(...)`` makes the usual temp > session > user > app > project
        chain). ``memory.namespace`` says which one answered; NotFound if none holds the key."""
        now = self._now()
        for namespace in scopes:
            row = self._m.get(namespace, key, now)
            if row is not None:
                return memory_model(row)
        raise NotFound(f"memory {key!r} not found in {', '.join(scopes)}")

    @checked
    def namespaces(self, prefix: Prefix = "", max_depth: Depth | None = None) -> builtins.list[str]:
        """Namespaces under ``prefix`` (itself included) that hold live entries, in order."""
        return truncated(self._m.namespaces(prefix, self._now()), max_depth)


def truncated(namespaces: builtins.list[str], max_depth: int | None) -> builtins.list[str]:
    """``namespaces`` cut to their first ``max_depth`` segments (None: as they are), in order."""
    if max_depth is None:
        return namespaces
    return sorted({":".join(ns.split(":")[:max_depth]) for ns in namespaces})


def precedence(
    *, session: str | None = None, user: str | None = None, app: str | None = None, project: str | None = None
) -> builtins.list[str]:
    """The namespaces an agent's lookup walks, most specific first: ``temp:<session>``,
    ``session:<session>``, ``user:<user>``, ``app:<app>``, ``project:<project>`` (those given),
    for ``memory.resolve(key, precedence(...))``."""
    chain = [("temp", session), ("session", session), ("user", user), ("app", app), ("project", project)]
    return [check_namespace(f"{scope}:{name}", scope) for scope, name in chain if name is not None]
