"""The PostgreSQL engine's documents (``engine.documents``): SQL text in ``sql/documents.sql``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from ...access import Grant
from ...search.chunking import search_text
from ..ops.documents import ChunkRow, DocumentRow, DocumentWrite, NewChunk, document_record
from ..where import Where
from .audit import write_audit
from .search import vector_text, words

_new = tuple.__new__


class PgDocumentOps:
    """``DocumentOps`` on PostgreSQL. ``runner`` runs reads: the engine, or its async view."""

    def __init__(self, runner: Any) -> None:
        from .runner import QUERIES

        self._run = runner
        self._q = QUERIES

    def get(self, doc_id: str) -> DocumentRow | None:
        rows = self._run.query(self._q.document_get, (doc_id,))
        return rows[0] if rows else None

    def list(
        self, prefix: str, type: str | None, after: str | None, limit: int, allowed: Grant | None = None
    ) -> builtins.list[DocumentRow]:
        if allowed is None:
            params = {"prefix": prefix, "after": after or "", "type": type, "limit": limit}
            return self._run.query(self._q.document_list, params)  # type: ignore[no-any-return]
        where = Where("%s")
        where.add("id > ? AND id >= ? AND id < ? || chr(1114111)", after or "", prefix, prefix)
        where.equal("type", type)
        where.admitted("namespace", allowed)
        return self._run.query(*where.query(f"SELECT {self._q.document_cols} FROM documents", "id", limit))  # type: ignore[no-any-return]

    def chunks(self, doc_id: str) -> builtins.list[ChunkRow]:
        return [_new(ChunkRow, r) for r in self._run.query(self._q.document_chunks, (doc_id,))]

    def chunk(self, doc_id: str, seq: int) -> ChunkRow | None:
        rows = self._run.query(self._q.document_chunk, (doc_id, seq))
        return _new(ChunkRow, rows[0]) if rows else None

    def read_many(self, keys: Sequence[tuple[str, int]]) -> builtins.list[tuple[DocumentRow, ChunkRow]]:
        if not keys:
            return []
        rows = self._run.query(self._q.document_read_many, ([k[0] for k in keys], [k[1] for k in keys]))
        return [(r[:15], _new(ChunkRow, r[15:])) for r in rows]

    def hashes(self, origin: str) -> dict[str, str]:
        return dict(self._run.query(self._q.document_hashes, (origin,)))

    def write(self, tx: Any, doc: DocumentWrite, chunks: Sequence[NewChunk], now: int) -> bool:
        q = self._q
        # (locked: two writers of one document take turns, the second comparing with the first's)
        old = tx.execute(q.document_get_locked, (doc.id,)).fetchall()
        if old:
            o = old[0]
            same = (o[1], o[2], o[3], o[4], o[5], o[10]) == (
                doc.namespace, doc.title, doc.type, doc.metadata, doc.sha256, doc.origin
            )  # fmt: skip
            if same:
                return False
            if o[1] != doc.namespace:  # (the chunks' items are keyed by namespace: the old ones go)
                tx.execute(q.search_remove_chunks, (o[1], doc.id, 0))
        tx.execute(
            q.document_insert,
            {"id": doc.id, "ns": doc.namespace, "title": doc.title, "type": doc.type, "meta": doc.metadata,
             "sha": doc.sha256, "text": doc.text, "chunks": len(chunks), "status": doc.status, "error": doc.error,
             "origin": doc.origin, "actor": doc.actor, "now": now},
        )  # fmt: skip
        tx.execute(q.document_chunks_delete, (doc.id,))
        if chunks:
            seqs = builtins.list(range(len(chunks)))
            tx.execute(
                q.document_chunks_insert,
                (doc.id, seqs, [c.heading for c in chunks], [c.text for c in chunks], [c.start for c in chunks],
                 [c.end for c in chunks]),
            )  # fmt: skip
            tx.execute(
                q.search_upsert_chunks,
                (doc.namespace, doc.id, doc.type, seqs, [c.text_hash for c in chunks], [words(search_text(c.heading, c.text)) for c in chunks],
                 [vector_text(c.vector) for c in chunks]),
            )  # fmt: skip
        tx.execute(q.search_remove_chunks, (doc.namespace, doc.id, len(chunks)))
        action = "document.update" if old else "document.add"
        detail = {"sha256": doc.sha256, "chunks": len(chunks), "status": doc.status}
        write_audit(tx, [document_record(now, doc.actor, action, doc.id, doc.namespace, detail)], read_ids=False)
        return True

    def remove(self, tx: Any, doc_id: str, now: int, actor: str | None) -> bool:
        q = self._q
        rows = tx.execute(q.document_delete, (doc_id,)).fetchall()
        if not rows:
            return False
        namespace, chunks = rows[0]
        tx.execute(q.document_chunks_delete, (doc_id,))
        tx.execute(q.search_remove_chunks, (namespace, doc_id, 0))
        write_audit(tx, [document_record(now, actor, "document.remove", doc_id, namespace, {"chunks": chunks})], read_ids=False)
        return True

    def refresh_status(self, tx: Any, doc_ids: Sequence[str], error: str | None) -> None:
        if doc_ids:
            tx.execute(self._q.document_status, {"ids": builtins.list(doc_ids), "error": error})
