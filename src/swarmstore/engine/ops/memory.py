"""The memory operations every engine implements (``engine.memory``), and the rows they return.

A memory key's current version lives in one row; every version ever written is the snapshot of
the audit row of the put that wrote it, and the key's audit rows form a chain (the row's head ->
its latest audit row -> ``prev`` -> ...). The engine keeps that chain: each write operation writes
its audit rows through the engine's one audit-writing path, in the caller's transaction.

Times are µs since the epoch. JSON values and metadata travel as JSON text (the domain encodes
them with ``codec``, to check their size, and decodes them lazily).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import orjson

from ...namespaces import children_range
from .audit import AuditRecord

MemoryRow = tuple[str, str, str, str, int, str, str | None, int, int, int | None, int | None, str | None]
"""A key's current row: ``(namespace, key, value, type, version, metadata, created_by, created_at,
updated_at, expires_at, deleted_at, updated_by)``, value and metadata as JSON text (metadata "{}"
when empty). The driver's own tuple, read by unpacking: a NamedTuple a row would cost a listing of
100 rows ~10 µs to build and ~7 µs in attribute reads (15% of it)."""


def live_version(row: MemoryRow | None, now: int) -> int:
    """The version a conditional put compares with: the row's, if it is live at ``now``; else 0."""
    if row is None:
        return 0
    _ns, _key, _value, _type, version, _meta, _by, _at, _upd, expires_at, deleted_at, _upd_by = row
    return version if deleted_at is None and (expires_at is None or expires_at > now) else 0


_TOP = "~"  # sorts after every namespace character


def namespace_range(prefix: str) -> tuple[str, str]:
    """The namespaces strictly under ``prefix`` ("" is every namespace): from ``lo`` (inclusive)
    to ``hi`` (exclusive)."""
    return children_range(prefix) if prefix else ("", _TOP)


class ListBounds(NamedTuple):
    """Where a live listing resumes: the prefix's own namespace from ``after_key`` (while
    ``exact``), then the namespaces under it from (``from_ns``, ``from_key``) up to ``hi``. Two
    ranges in one statement: an equality seek on the key, then a range of namespaces."""

    exact: bool
    after_key: str
    from_ns: str
    from_key: str
    hi: str


def list_bounds(prefix: str, after: tuple[str, str] | None) -> ListBounds:
    """The bounds of a page of ``list_live`` after the entry ``after`` (None: the first page)."""
    lo, hi = namespace_range(prefix)
    if after is None:
        return ListBounds(bool(prefix), "", lo, "", hi)
    if after[0] == prefix:
        return ListBounds(bool(prefix), after[1], lo, "", hi)
    return ListBounds(False, "", after[0], after[1], hi)


class MemoryVersionRow(NamedTuple):
    """One version of a key, from its put's audit row (``snapshot``: JSON text of type,
    expires_at, metadata and value)."""

    namespace: str
    key: str
    snapshot: str
    version: int
    created_by: str | None  # the key's creator
    created_at: int  # the key's creation
    at: int  # when this version was written
    deleted_at: int | None  # the key's, now
    actor: str | None  # who wrote this version


class MemoryPut(NamedTuple):
    """One put to write."""

    namespace: str
    key: str
    value: str  # JSON text
    type: str
    metadata: str | None  # JSON text; None keeps the key's previous metadata ("{}" for a new key)
    ttl_us: int | None  # expires that long after the write
    expected_version: int | None  # the live version it must find (0: none), or None: any
    actor: str | None
    text: str  # what search indexes of the value (``search.text.text_of``)


class MemoryWritten(NamedTuple):
    """What a put wrote, beyond its input."""

    version: int
    metadata: str  # JSON text (the previous version's when the put gave none)
    created_by: str | None
    created_at: int
    expires_at: int | None


class MemoryPurge(NamedTuple):
    """Which entries a purge removes: deleted ones (all, or those deleted before a time) and/or
    expired ones, in ``prefix``'s namespaces (segment-exact; "" is every namespace)."""

    prefix: str
    deleted: bool
    expired: bool
    deleted_before: int | None = None


def snapshot(put: MemoryPut, metadata: str, expires: int | None) -> str:
    """The JSON text of a version's content, kept in its put's audit row (every engine's)."""
    return orjson.dumps(
        {"type": put.type, "expires_at": expires, "metadata": orjson.Fragment(metadata),
         "value": orjson.Fragment(put.value)}
    ).decode()  # fmt: skip


def change_record(
    now: int, actor: str | None, action: str, ns: str, key: str, version: int, prev: int | None
) -> AuditRecord:
    """The audit row of a delete, restore or purge: no snapshot, linked to the key's chain."""
    return tuple.__new__(
        AuditRecord, (now, actor, action, "memory", f"{ns}/{key}", ns, {"version": version}, None, None, prev)
    )


class MemoryOps(Protocol):
    """Memory operations. Those taking ``tx`` run in the caller's write transaction."""

    def get(self, namespace: str, key: str, now: int) -> MemoryRow | None:
        """The key's row if it is live at ``now`` (not deleted, not expired)."""
        ...

    def get_any(self, tx: Any, namespace: str, key: str) -> MemoryRow | None:
        """The key's row, live or not."""
        ...

    def get_version(self, namespace: str, key: str, version: int) -> MemoryVersionRow | None:
        """One version of a key (also of a deleted key), unless purged."""
        ...

    def history(self, namespace: str, key: str) -> list[MemoryVersionRow]:
        """Every version of a key, oldest first; empty if there is none."""
        ...

    def list_live(
        self, prefix: str, now: int, limit: int, type: str | None = None, after: tuple[str, str] | None = None
    ) -> list[MemoryRow]:
        """Live rows in ``prefix``'s namespaces (segment-exact; "" is all), in (namespace, key)
        order, after the entry ``after`` (a page's last), at most ``limit``."""
        ...

    def list_range(
        self, start: tuple[str, str], hi: str, regex: str | None, now: int, limit: int, type: str | None = None,
        glob: str | None = None, colons: int | None = None,
    ) -> list[MemoryRow]:  # fmt: skip
        """Live rows after (namespace, key) ``start`` in namespaces below ``hi`` that match
        ``regex`` (if given; ``glob``: a looser pattern an engine may test first, exact with
        ``colons``, the count of ':'), in (namespace, key) order, at most ``limit``: one range of
        a scoped view's listing (``access.Grant.ranges``)."""
        ...

    def namespaces(self, prefix: str, now: int) -> list[str]:
        """The namespaces under ``prefix`` (itself included) holding live rows, in order."""
        ...

    def put(self, tx: Any, put: MemoryPut, now: int) -> MemoryWritten | None:
        """Write the next version of a key (1 if new, also after a purge; a deleted key's next),
        with its audit row; None, having written nothing, if ``put.expected_version`` is not the
        key's live version (0: no live entry). Concurrent writers of one key get one version each."""
        ...

    def put_many(self, tx: Any, puts: Sequence[MemoryPut], now: int) -> list[MemoryWritten]:
        """Unconditional puts (``expected_version`` None), in order: one result each. A key may
        appear more than once (each put is its next version)."""
        ...

    def delete(self, tx: Any, namespace: str, key: str, now: int, actor: str | None) -> int | None:
        """Soft-delete a live key, with its audit row: its version, or None if it is not live."""
        ...

    def restore(self, tx: Any, namespace: str, key: str, now: int, actor: str | None) -> MemoryRow | None:
        """Undo a key's soft delete, with its audit row: its row, or None if it is not deleted."""
        ...

    def purge(self, tx: Any, spec: MemoryPurge, now: int, actor: str | None) -> int:
        """Remove the entries ``spec`` selects for good, with their versions' snapshots, each with
        a ``memory.purge`` audit row (linked to the key's chain): how many."""
        ...
