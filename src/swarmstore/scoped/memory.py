"""Memory, documents and search through a scoped view: each call checked against the view's
namespace rules; listings and searches filtered inside their queries."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Mapping
from typing import Any

from ..boundary import checked
from ..documents import Documents
from ..errors import NotFound
from ..memory import MemoryStore, memory_model, truncated
from ..models import Document, DocumentChunk, Hit, Memory, Page, SyncReport
from ..params import (
    Batch,
    Depth,
    DocumentId,
    DocumentText,
    Flag,
    Folder,
    Glob,
    K,
    Key,
    Limit,
    MemoryKind,
    MemoryKinds,
    Name,
    Names,
    Namespace,
    Namespaces,
    Object,
    PageCursor,
    Prefix,
    Query,
    SearchMode,
    Title,
    When,
)
from ..search.service import SearchService
from ..validation import decode_cursor, encode_cursor
from .scope import Scope


class ScopedMemory:
    """``view.memory``: ``store.memory``'s methods within the view's namespaces."""

    def __init__(self, inner: MemoryStore, scope: Scope, search: SearchService) -> None:
        self._m = inner
        self._s = scope
        self._search = search

    def put(
        self,
        namespace: Any,
        key: Any,
        value: Any,
        type: Any = "semantic",
        metadata: Any = None,
        ttl: Any = None,
        expected_version: Any = None,
        actor: Any = None,
    ) -> Memory:
        """``store.memory.put`` in a namespace the view may write."""
        self._s.own(actor)
        self._s.write(namespace)
        return self._m.put(namespace, key, value, type, metadata, ttl, expected_version)

    @checked
    def put_many(self, items: Batch) -> builtins.list[Memory]:
        """``store.memory.put_many``: every item's namespace must be writable (else nothing is written)."""
        for item in items:
            if isinstance(item, Mapping):
                self._s.own(item.get("actor"))
                self._s.write(item.get("namespace"))
        return self._m.put_many(items)

    @checked
    def delete(self, namespace: Namespace, key: Key, *, actor: Name | None = None) -> None:
        self._s.own(actor)
        self._s.write(namespace)
        self._m.delete(namespace, key)

    @checked
    def restore(self, namespace: Namespace, key: Key, *, actor: Name | None = None) -> Memory:
        self._s.own(actor)
        self._s.write(namespace)
        return self._m.restore(namespace, key)

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
        """``store.memory.purge``: only when the view may write every namespace under ``prefix``."""
        self._s.own(actor)
        self._s.write_all(prefix)
        return self._m.purge(prefix, deleted=deleted, expired=expired, deleted_before=deleted_before)

    def get(self, namespace: Any, key: Any, version: Any = None) -> Memory:
        """``store.memory.get`` in a namespace the view may read (the store's call checks the rest)."""
        self._s.read(namespace)
        return self._m.get(namespace, key, version)

    @checked
    def history(self, namespace: Namespace, key: Key) -> builtins.list[Memory]:
        self._s.read(namespace)
        return self._m.history(namespace, key)

    @checked
    def resolve(self, key: Key, scopes: Namespaces) -> Memory:
        """``store.memory.resolve``: every namespace of ``scopes`` must be readable."""
        for namespace in scopes:
            self._s.read(namespace)
        return self._m.resolve(key, scopes)

    @checked
    def list(
        self, prefix: Prefix = "", type: MemoryKind | None = None, limit: Limit = 100, cursor: PageCursor | None = None
    ) -> Page[Memory]:
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
            rows += ops.list_range(start, r.hi, r.regex, now, limit + 1 - len(rows), type, r.glob)
            if len(rows) > limit:
                break
        items = [memory_model(r) for r in rows[:limit]]
        nxt = encode_cursor("memory", items[-1].namespace, items[-1].key) if len(rows) > limit else None
        return Page(items, nxt)

    @checked
    def namespaces(self, prefix: Prefix = "", max_depth: Depth | None = None) -> builtins.list[str]:
        """The readable namespaces under ``prefix`` holding live entries (cut to ``max_depth``)."""
        readable = self._s.rules.read.admits
        return truncated([ns for ns in self._m.namespaces(prefix) if readable(ns)], max_depth)

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
        """``store.memory.search`` over the namespaces the view may read."""
        return self._search.find(("memory",), query, prefix, types, k, mode, filters, self._s.rules.read)


class ScopedDocuments:
    """``view.documents``: documents whose namespace the view may read (writes: may write). A
    document without a namespace belongs to the whole store, outside every view."""

    def __init__(self, inner: Documents, scope: Scope, search: SearchService) -> None:
        self._d = inner
        self._s = scope
        self._search = search

    def _check(self, doc: Document, action: str) -> Document:
        rules = self._s.rules.write if action == "write" else self._s.rules.read
        if not doc.namespace or not rules.admits(doc.namespace):
            self._s.deny(action, "document", doc.namespace or doc.id, rules)
        return doc

    @checked
    def add(
        self,
        path_or_id: DocumentId,
        text: DocumentText,
        *,
        title: Title | None = None,
        type: Name | None = None,
        namespace: Namespace | None = None,
        metadata: Object | None = None,
        actor: Name | None = None,
    ) -> Document:
        """``store.documents.add`` into a namespace the view may write (required in a view); an
        existing document of that id must be writable too."""
        self._s.own(actor)
        if namespace is None:
            self._s.deny("write", "document", path_or_id, "a document added through a view needs a namespace")
        self._s.write(namespace, "document")
        with contextlib.suppress(NotFound):
            self._check(self._d.get(path_or_id), "write")
        return self._d.add(path_or_id, text, title=title, type=type, namespace=namespace, metadata=metadata)

    @checked
    def sync(
        self, directory: Folder, glob: Glob = "**/*.md", namespace: Namespace | None = None, *, actor: Name | None = None
    ) -> SyncReport:
        """``store.documents.sync``: only for a view that may write every namespace (a sync may
        replace or remove any document its folder's paths name)."""
        self._s.own(actor)
        self._s.write_all("")
        return self._d.sync(directory, glob, namespace)

    @checked
    def get(self, path_or_id: DocumentId, *, with_text: Flag = False) -> Document:
        return self._check(self._d.get(path_or_id, with_text=with_text), "read")

    @checked
    def chunks(self, path_or_id: DocumentId) -> builtins.list[DocumentChunk]:
        self._check(self._d.get(path_or_id), "read")
        return self._d.chunks(path_or_id)

    @checked
    def list(
        self, prefix: str = "", type: Name | None = None, limit: Limit = 100, cursor: PageCursor | None = None
    ) -> Page[Document]:
        """The documents the view may read whose id starts with ``prefix``, in id order."""
        return self._d._list(prefix, type, limit, cursor, self._s.rules.read)

    @checked
    def remove(self, path_or_id: DocumentId, *, actor: Name | None = None) -> None:
        self._s.own(actor)
        self._check(self._d.get(path_or_id), "write")
        self._d.remove(path_or_id)

    @checked
    def search(
        self,
        query: Query,
        *,
        prefix: Prefix | None = None,
        types: Names | None = None,
        k: K = 10,
        mode: SearchMode = "hybrid",
        filters: Object | None = None,
    ) -> builtins.list[Hit]:
        """``store.documents.search`` over the namespaces the view may read."""
        return self._search.find(("chunk",), query, prefix, types, k, mode, filters, self._s.rules.read)
