"""The search index operations every engine implements (``engine.search``), and their rows.

The index holds one item per memory key and per document chunk: a keyword row (BM25 over its
text) and a vector (its text's embedding), written by the memory and document operations in the
entity's own transaction (the text) and by ``set_vectors`` once embedded (outside any write lock).
Searches filter inside the query (kinds, namespace prefix, types, metadata, liveness) before
ranking, so a filter never returns fewer than ``limit`` hits while that many match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from ...access import Grant
    from ...search.query import KeywordQuery


def text_hash(text: str) -> bytes:
    """The digest an item's indexed text is known by (16 bytes of BLAKE2b)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SearchFilter(NamedTuple):
    """What a search may return. ``prefix``: namespaces (segment-exact; "" is all); ``types``:
    the memory's or document's type; ``metadata``: equality on top-level metadata keys."""

    kinds: tuple[str, ...]  # "memory" and/or "chunk"
    prefix: str = ""
    types: tuple[str, ...] | None = None
    metadata: Mapping[str, Any] | None = None
    allowed: Grant | None = None  # a scoped view's readable namespaces (None: all)


class Candidate(NamedTuple):
    """One item a retriever found, best first: what it is and its score (BM25: higher is better,
    the negated bm25(); semantic: the cosine similarity)."""

    id: int
    kind: str
    namespace: str
    ref: str  # the memory's key, or the chunk's document id
    seq: int
    score: float


class PendingItem(NamedTuple):
    """An item whose text or vector is not indexed yet, with what its text is made from: the
    memory's value (JSON text), or the chunk's text and heading."""

    id: int
    kind: str
    namespace: str
    ref: str
    seq: int
    source: str
    heading: str | None
    text_hash: bytes | None


class IndexedText(NamedTuple):
    """An item's text to index now (its keyword row; its vector becomes pending), and the
    ``source`` it was made from (``PendingItem.source``): engines skip an item whose source has
    changed since (another writer's newer text is indexed by a later pass, never overwritten)."""

    id: int
    text: str
    source: str


class Vector(NamedTuple):
    """An embedding to store, for the item's text of that hash (skipped if the text changed since)."""

    id: int
    text_hash: bytes
    vector: bytes  # float32, L2-normalised


class SearchOps(Protocol):
    """The search index. Operations with ``tx`` run in the caller's write transaction."""

    index_on_write: bool  # a memory put writes its item (True), or the next catch_up does

    def keyword(self, query: KeywordQuery, spec: SearchFilter, now: int, limit: int) -> list[Candidate]:
        """Live items matching the keyword query (each engine takes its form of it: ``fts5``,
        ``tsquery``), best first, at most ``limit``."""
        ...

    def semantic(self, vector: Any, spec: SearchFilter, now: int, limit: int) -> list[Candidate]:
        """Live items with a vector, by cosine similarity to ``vector`` (float32, normalised),
        best first, at most ``limit``."""
        ...

    def behind(self) -> bool:
        """Whether entities changed that the items do not follow yet (``catch_up`` then brings
        them in). Engines that index a memory's text in its put's transaction: always False."""
        ...

    def catch_up(self, tx: Any) -> int:
        """Bring the items up to the entities' changes (new or stale items, removed ones): how many."""
        ...

    def pending(self, limit: int, texts_only: bool = False) -> list[PendingItem]:
        """With ``texts_only``, items whose text is to be indexed (``text_hash`` None); else items
        with their text indexed and no vector yet. Oldest first."""
        ...

    def index_texts(self, tx: Any, items: Sequence[IndexedText]) -> None:
        """Write the keyword rows of items whose text was pending."""
        ...

    def set_vectors(self, tx: Any, vectors: Sequence[Vector]) -> int:
        """Store embeddings (of items whose text still has that hash): how many were stored."""
        ...

    def maintain(self) -> None:
        """After vectors were stored, outside any transaction: build what searches of this size
        need (PostgreSQL: an HNSW index past ``hnsw_min_vectors``; SQLite: nothing)."""
        ...

    def embedder(self) -> tuple[str, int] | None:
        """The name and dimension of the embedder the stored vectors were made with (None: none yet)."""
        ...

    def set_embedder(self, tx: Any, name: str, dim: int) -> None:
        """Record the embedder; with another one than before, every vector becomes pending."""
        ...

    def counts(self) -> dict[str, int]:
        """Items by state: ``items``, ``pending_texts``, ``pending_vectors``."""
        ...
