"""``store.documents``: texts indexed for search (path, sha256, chunks), added one by one or synced
from a folder, incrementally by checksum."""

from __future__ import annotations

import builtins
import hashlib
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from . import codec
from .access import Grant
from .boundary import checked
from .clock import to_dt
from .context import Context
from .engine.ops.documents import DocumentRow, DocumentWrite, NewChunk
from .engine.ops.search import text_hash
from .errors import InvalidInput, NotFound, SwarmstoreError
from .models import Document, DocumentChunk, Hit, Page, SyncReport
from .params import (
    DocumentId,
    DocumentText,
    Folder,
    Glob,
    K,
    Limit,
    Name,
    Names,
    Namespace,
    Object,
    PageCursor,
    Prefix,
    Query,
    SearchMode,
    Title,
)
from .search.chunking import chunk_text
from .search.service import SearchService
from .validation import decode_cursor, encode_cursor

MARKDOWN = (".md", ".markdown", ".mdx")


def as_document(r: DocumentRow, with_text: bool = False) -> Document:
    (doc_id, namespace, title, type_, metadata, sha256, text, chunks, status, error, _origin, created_by, updated_by,
     created_at, updated_at) = r  # fmt: skip
    return Document(
        doc_id, namespace or None, title, type_, orjson.loads(metadata), sha256, chunks, status, error,
        to_dt(created_at), to_dt(updated_at), created_by, updated_by, text if with_text else "",
    )  # fmt: skip


class Documents:
    """``store.documents``."""

    def __init__(self, ctx: Context, search: SearchService, chunk_chars: int = 1200, chunk_overlap: int = 150) -> None:
        chunk_text("x", max_chars=chunk_chars, overlap=chunk_overlap)  # (checks the sizes now)
        self._ctx = ctx
        self._e = ctx.engine
        self._search = search
        self._chunk_chars = chunk_chars
        self._chunk_overlap = chunk_overlap

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
        """Store ``text`` under ``path_or_id``, split into chunks, indexed for search in the same
        transaction (their vectors embedded first, outside the write lock). Adding the same text
        again is a no-op that embeds nothing."""
        return self._add(path_or_id, text, title, type, namespace, metadata, actor, None)

    def _add(
        self,
        doc_id: str,
        text: str,
        title: str | None,
        type_: str | None,
        namespace: str | None,
        metadata: Any,
        actor: str | None,
        origin: str | None,
    ) -> Document:
        sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        meta = codec.dumps_dict(metadata, "metadata", self._ctx.max_value_bytes) or "{}"
        write = DocumentWrite(
            doc_id, namespace or "", title, type_, meta, sha, text, "pending", None, origin, actor or self._ctx.actor
        )
        old = self._e.documents.get(doc_id)
        if old is not None and (old[1], old[2], old[3], old[4], old[5], old[10]) == (*write[1:6], origin):
            return as_document(old)  # (the same document: nothing to write, nothing to embed)
        markdown = doc_id.lower().endswith(MARKDOWN) or type_ == "markdown"
        pieces = chunk_text(text, markdown=markdown, max_chars=self._chunk_chars, overlap=self._chunk_overlap)
        texts = [c.search_text for c in pieces]
        vectors: list[bytes | None] = [None] * len(texts)
        status, error = "pending", None
        if self._search.embedder is not None and texts:
            try:
                embedded = self._search.embed(texts)
                vectors = [row.tobytes() for row in embedded]
                status = "indexed"
            except Exception as exc:  # (kept: the chunks are stored, the vectors retried later)
                status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        elif not texts:
            status = "indexed"
        chunks = [
            NewChunk(c.heading, c.text, c.start, c.end, text_hash(t), v)
            for c, t, v in zip(pieces, texts, vectors, strict=True)
        ]
        write = write._replace(status=status, error=error)
        now = self._ctx.now_us()
        embedder = self._search.embedder

        def op(tx: Any) -> None:
            if status == "indexed" and embedder is not None and texts:
                self._e.search.set_embedder(tx, embedder.name, embedder.dim)
            self._e.documents.write(tx, write, chunks, now)

        self._e.write(op)
        row = self._e.documents.get(doc_id)
        assert row is not None
        return as_document(row)

    @checked
    def get(self, path_or_id: DocumentId, *, with_text: bool = False) -> Document:
        """The document (its ``text`` too with ``with_text``), or NotFound."""
        row = self._e.documents.get(path_or_id)
        if row is None:
            raise NotFound(f"document {path_or_id!r} not found")
        return as_document(row, with_text)

    @checked
    def chunks(self, path_or_id: DocumentId) -> builtins.list[DocumentChunk]:
        """The document's chunks, in order."""
        self.get(path_or_id)
        return [DocumentChunk(*c) for c in self._e.documents.chunks(path_or_id)]

    @checked
    def list(
        self, prefix: str = "", type: Name | None = None, limit: Limit = 100, cursor: PageCursor | None = None
    ) -> Page[Document]:
        """Documents whose id starts with ``prefix`` (a path prefix), in id order."""
        return self._list(prefix, type, limit, cursor, None)

    def _list(self, prefix: object, type: str | None, limit: int, cursor: str | None, allowed: Grant | None) -> Page[Document]:
        """``list``, of the documents whose namespace ``allowed`` admits (None: all)."""
        if not isinstance(prefix, str):
            raise InvalidInput("prefix", f"expected a string, got {builtins.type(prefix).__name__}")
        after = None if cursor is None else decode_cursor(cursor, "documents", (str,))[0]
        rows = self._e.documents.list(prefix, type, after, limit + 1, allowed)
        items = [as_document(r) for r in rows[:limit]]
        nxt = encode_cursor("documents", items[-1].id) if len(rows) > limit else None
        return Page(items, nxt)

    @checked
    def remove(self, path_or_id: DocumentId, *, actor: Name | None = None) -> None:
        """Remove the document, its chunks and their index entries (audited); NotFound if absent."""
        now = self._ctx.now_us()
        who = actor or self._ctx.actor
        if not self._e.write(lambda tx: self._e.documents.remove(tx, path_or_id, now, who)):
            raise NotFound(f"document {path_or_id!r} not found")

    @checked
    def sync(
        self, directory: Folder, glob: Glob = "**/*.md", namespace: Namespace | None = None, *, actor: Name | None = None
    ) -> SyncReport:
        """Make the documents synced from ``directory`` match its files (``glob``): new and changed
        files indexed, removed ones removed, unchanged ones left alone (compared by sha256). Ids are
        paths relative to the folder; files reached through ``..`` or symlinks out of it are refused."""
        root = Path(directory).resolve()
        if not root.is_dir():
            raise InvalidInput("directory", f"{directory} is not a folder")
        if ".." in Path(glob).parts or Path(glob).is_absolute():
            raise InvalidInput("glob", "must stay inside the folder (no '..', not absolute)")
        origin = str(root)
        known = self._e.documents.hashes(origin)
        report = SyncReport()
        seen: set[str] = set()
        for path in sorted(root.glob(glob)):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() and not path.is_symlink():
                continue
            real = path.resolve()
            if real != root and root not in real.parents:
                report.failed[rel] = "refused: the file is outside the folder (a symlink)"
                continue
            seen.add(rel)
            try:
                text = real.read_text("utf-8")
                sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
                if known.get(rel) == sha:
                    report.unchanged += 1
                    continue
                doc = self._add(rel, text, None, None, namespace, None, actor, origin)
            except (OSError, UnicodeDecodeError, SwarmstoreError) as exc:
                report.failed[rel] = f"{type(exc).__name__}: {exc}"
                continue
            (report.changed if rel in known else report.added).append(rel)
            if doc.status == "failed" and doc.error:
                report.failed[rel] = doc.error
        now = self._ctx.now_us()
        who = actor or self._ctx.actor
        for rel in sorted(set(known) - seen):
            if self._e.write(partial(self._e.documents.remove, doc_id=rel, now=now, actor=who)):
                report.removed.append(rel)
        return report

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
        """Document chunks matching ``query`` (see ``store.search``)."""
        return self._search.find(("chunk",), query, prefix, types, k, mode, filters)
