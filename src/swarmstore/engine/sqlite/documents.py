"""The SQLite engine's documents (``engine.documents``): SQL text in ``sql/documents.sql``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from ...access import Grant
from ...search.chunking import search_text
from ..ops.documents import ChunkRow, DocumentRow, DocumentWrite, NewChunk, document_record
from ..where import Where
from .audit import write_audit

_new = tuple.__new__


class SqliteDocumentOps:
    """``DocumentOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        from .engine import QUERIES

        self._run = runner
        self._q = QUERIES

    def get(self, doc_id: str) -> DocumentRow | None:
        rows = self._run.query(self._q.document_get, (doc_id,))
        return rows[0] if rows else None

    def list(
        self, prefix: str, type: str | None, after: str | None, limit: int, allowed: Grant | None = None
    ) -> builtins.list[DocumentRow]:
        if allowed is None:
            return self._run.query(self._q.document_list, (prefix, after or "", type, limit))  # type: ignore[no-any-return]
        where = Where()
        where.add("id > ? AND id >= ? AND id < ? || char(1114111)", after or "", prefix, prefix)
        where.equal("type", type)
        where.admitted("namespace", allowed)
        return self._run.query(*where.query(f"SELECT {self._q.document_cols} FROM documents", "id", limit))  # type: ignore[no-any-return]

    def chunks(self, doc_id: str) -> builtins.list[ChunkRow]:
        return [_new(ChunkRow, r) for r in self._run.query(self._q.document_chunks, (doc_id,))]

    def chunk(self, doc_id: str, seq: int) -> ChunkRow | None:
        rows = self._run.query(self._q.document_chunk, (doc_id, seq))
        return _new(ChunkRow, rows[0]) if rows else None

    def read_many(self, keys: Sequence[tuple[str, int]]) -> builtins.list[tuple[DocumentRow, ChunkRow]]:
        out = []
        for doc_id, seq in keys:
            doc = self.get(doc_id)
            chunk = self.chunk(doc_id, seq) if doc is not None else None
            if doc is not None and chunk is not None:
                out.append((doc, chunk))
        return out

    def hashes(self, origin: str) -> dict[str, str]:
        return dict(self._run.query(self._q.document_hashes, (origin,)))

    def write(self, tx: Any, doc: DocumentWrite, chunks: Sequence[NewChunk], now: int) -> bool:
        q = self._q
        old = tx.execute(q.document_get, (doc.id,)).fetchall()
        if old:
            o = old[0]
            same = (o[1], o[2], o[3], o[4], o[5], o[10]) == (
                doc.namespace, doc.title, doc.type, doc.metadata, doc.sha256, doc.origin
            )  # fmt: skip
            if same:
                return False
            if o[1] != doc.namespace:  # (the chunks' items are keyed by namespace: the old ones go)
                _remove_items(tx, q, o[1], doc.id, 0)
        tx.execute(
            q.document_insert,
            (doc.id, doc.namespace, doc.title, doc.type, doc.metadata, doc.sha256, doc.text, len(chunks), doc.status,
             doc.error, doc.origin, doc.actor, now),
        )  # fmt: skip
        tx.execute(q.document_chunks_delete, (doc.id,))
        for seq, c in enumerate(chunks):
            tx.execute(q.document_chunk_insert, (doc.id, seq, c.heading, c.text, c.start, c.end))
            item = tx.execute(
                q.search_upsert_chunk, (doc.namespace, doc.id, seq, doc.type, c.text_hash, c.vector)
            ).fetchall()[0][0]
            tx.execute(q.search_fts_put, (item, search_text(c.heading, c.text)))
        _remove_items(tx, q, doc.namespace, doc.id, len(chunks))
        action = "document.update" if old else "document.add"
        detail = {"sha256": doc.sha256, "chunks": len(chunks), "status": doc.status}
        write_audit(tx, [document_record(now, doc.actor, action, doc.id, doc.namespace, detail)])
        return True

    def remove(self, tx: Any, doc_id: str, now: int, actor: str | None) -> bool:
        q = self._q
        rows = tx.execute(q.document_delete, (doc_id,)).fetchall()
        if not rows:
            return False
        namespace, chunks = rows[0]
        tx.execute(q.document_chunks_delete, (doc_id,))
        _remove_items(tx, q, namespace, doc_id, 0)
        write_audit(tx, [document_record(now, actor, "document.remove", doc_id, namespace, {"chunks": chunks})])
        return True

    def refresh_status(self, tx: Any, doc_ids: Sequence[str], error: str | None) -> None:
        for doc_id in doc_ids:
            tx.execute(self._q.document_status, (doc_id, error))


def _remove_items(tx: Any, q: Any, namespace: str, doc_id: str, from_seq: int) -> None:
    """The search items of a document's chunks from ``from_seq`` on: keyword rows deleted, items
    marked removed."""
    for (item,) in tx.execute(q.search_remove_chunks, (namespace, doc_id, from_seq)).fetchall():
        tx.execute(q.search_fts_delete, (item,))
