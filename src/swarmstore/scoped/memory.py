"""Memory, documents and search through a scoped view: each call checked against the view's
namespace rules; listings and searches filtered inside their queries.

Every method takes the store's own parameters (``checked_as``): its input is checked as the
store checks it, before any rule, so a malformed call is InvalidInput, never a refusal.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Mapping
from typing import Any

from ..boundary import checked_as
from ..documents import Documents
from ..errors import NotFound
from ..memory import MemoryStore, memory_model, truncated
from ..models import Document, DocumentChunk, Hit, Memory, Page, SyncReport
from ..search.service import SearchService
from ..validation import decode_cursor, encode_cursor
from .scope import Scope


class ScopedMemory:
    """``view.memory``: ``store.memory``'s methods within the view's namespaces."""

    def __init__(self, inner: MemoryStore, scope: Scope, search: SearchService) -> None:
        self._m = inner
        self._s = scope
        self._search = search

    @checked_as(MemoryStore.put)
    def put(self, namespace: str, key: str, value: Any, type: str, metadata: Any, ttl: Any,
            expected_version: Any, actor: Any) -> Memory:  # fmt: skip
        """``store.memory.put`` in a namespace the view may write."""
        self._s.own(actor)
        self._s.write(namespace)
        return self._m.put(namespace, key, value, type, metadata, ttl, expected_version)

    @checked_as(MemoryStore.put_many)
    def put_many(self, items: builtins.list[Any]) -> builtins.list[Memory]:
        """``store.memory.put_many``: every item's namespace must be writable (else nothing is written)."""
        for item in items:
            if isinstance(item, Mapping) and isinstance(item.get("namespace"), str):
                self._s.own(item.get("actor"))
                self._s.write(item["namespace"])
        return self._m.put_many(items)  # (an item without a valid namespace: InvalidInput there)

    @checked_as(MemoryStore.delete)
    def delete(self, namespace: str, key: str, *, actor: Any) -> None:
        self._s.own(actor)
        self._s.write(namespace)
        self._m.delete(namespace, key)

    @checked_as(MemoryStore.restore)
    def restore(self, namespace: str, key: str, *, actor: Any) -> Memory:
        self._s.own(actor)
        self._s.write(namespace)
        return self._m.restore(namespace, key)

    @checked_as(MemoryStore.purge)
    def purge(self, prefix: str, *, actor: Any, **options: Any) -> int:
        """``store.memory.purge``: only when the view may write every namespace under ``prefix``."""
        self._s.own(actor)
        self._s.write_all(prefix)
        return self._m.purge(prefix, **options)

    @checked_as(MemoryStore.get)
    def get(self, namespace: str, key: str, version: Any) -> Memory:
        self._s.read(namespace)
        return self._m.get(namespace, key, version)

    @checked_as(MemoryStore.history)
    def history(self, namespace: str, key: str) -> builtins.list[Memory]:
        self._s.read(namespace)
        return self._m.history(namespace, key)

    @checked_as(MemoryStore.resolve)
    def resolve(self, key: str, scopes: builtins.list[str]) -> Memory:
        """``store.memory.resolve``: every namespace of ``scopes`` must be readable."""
        for namespace in scopes:
            self._s.read(namespace)
        return self._m.resolve(key, scopes)

    @checked_as(MemoryStore.list)
    def list(self, prefix: str, type: str | None, limit: int, cursor: str | None) -> Page[Memory]:
        """The live entries under ``prefix`` that the view may read, in (namespace, key) order: each
        range of readable namespaces is scanned in turn, so a page is full while entries remain."""
        after: tuple[str, str] | None = None
        if cursor is not None:
            cns, ckey = decode_cursor(cursor, "memory", (str, str))
            after = (cns, ckey)
        ops, now = self._m._m, self._m._now()
        rows: builtins.list[Any] = []
        for r in self._s.rules.read.ranges(prefix):
            start = (r.lo, "")
            if after is not None:
                if after[0] >= r.hi:
                    continue
                start = max(start, after)
            rows += ops.list_range(start, r.hi, r.regex, now, limit + 1 - len(rows), type, r.glob, r.colons)
            if len(rows) > limit:
                break
        items = [memory_model(r) for r in rows[:limit]]
        nxt = encode_cursor("memory", items[-1].namespace, items[-1].key) if len(rows) > limit else None
        return Page(items, nxt)

    @checked_as(MemoryStore.namespaces)
    def namespaces(self, prefix: str, max_depth: int | None) -> builtins.list[str]:
        """The readable namespaces under ``prefix`` holding live entries (cut to ``max_depth``)."""
        readable = self._s.rules.read.admits
        return truncated([ns for ns in self._m.namespaces(prefix) if readable(ns)], max_depth)

    @checked_as(MemoryStore.search)
    def search(self, query: str, *, prefix: Any, types: Any, k: int, mode: str, filters: Any) -> builtins.list[Hit]:
        """``store.memory.search`` over the namespaces the view may read."""
        return self._search.find(("memory",), query, prefix, types, k, mode, filters, self._s.rules.read)


class ScopedDocuments:
    """``view.documents``: documents whose namespace the view may read (writes: may write). A
    document without a namespace belongs to the whole store: only a view of ``*`` sees it."""

    def __init__(self, inner: Documents, scope: Scope, search: SearchService) -> None:
        self._d = inner
        self._s = scope
        self._search = search

    def _check(self, doc: Document, action: str) -> Document:
        rules = self._s.rules.write if action == "write" else self._s.rules.read
        if not rules.admits(doc.namespace or ""):
            self._s.deny(action, "document", doc.namespace or "(no namespace)", rules, entity_id=doc.id)
        return doc

    @checked_as(Documents.add)
    def add(self, path_or_id: str, text: str, *, actor: Any, namespace: str | None, **options: Any) -> Document:
        """``store.documents.add`` into a namespace the view may write; an existing document of
        that id must be writable too (a view never takes over another's path)."""
        self._s.own(actor)
        if namespace is None:
            if not self._s.rules.write.everything:
                self._s.deny("write", "document", "(no namespace)", self._s.rules.write, entity_id=path_or_id)
        else:
            self._s.write(namespace, "document")
        with contextlib.suppress(NotFound):
            self._check(self._d.get(path_or_id), "write")
        return self._d.add(path_or_id, text, namespace=namespace, **options)

    @checked_as(Documents.sync)
    def sync(self, directory: Any, glob: str, namespace: str | None, *, actor: Any) -> SyncReport:
        """``store.documents.sync``: only for a view that may write every namespace (a sync may
        replace or remove any document its folder's paths name)."""
        self._s.own(actor)
        self._s.write_all("")
        return self._d.sync(directory, glob, namespace)

    @checked_as(Documents.get)
    def get(self, path_or_id: str, *, with_text: bool) -> Document:
        return self._check(self._d.get(path_or_id, with_text=with_text), "read")

    @checked_as(Documents.chunks)
    def chunks(self, path_or_id: str) -> builtins.list[DocumentChunk]:
        self._check(self._d.get(path_or_id), "read")
        return self._d.chunks(path_or_id)

    @checked_as(Documents.list)
    def list(self, prefix: str, type: str | None, limit: int, cursor: str | None) -> Page[Document]:
        """The documents the view may read whose id starts with ``prefix``, in id order."""
        return self._d._list(prefix, type, limit, cursor, self._s.rules.read)

    @checked_as(Documents.remove)
    def remove(self, path_or_id: str, *, actor: Any) -> None:
        self._s.own(actor)
        self._check(self._d.get(path_or_id), "write")
        self._d.remove(path_or_id)

    @checked_as(Documents.search)
    def search(self, query: str, *, prefix: Any, types: Any, k: int, mode: str, filters: Any) -> builtins.list[Hit]:
        """``store.documents.search`` over the namespaces the view may read."""
        return self._search.find(("chunk",), query, prefix, types, k, mode, filters, self._s.rules.read)
