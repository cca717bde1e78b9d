"""The PostgreSQL engine's search index (``engine.search``): a tsvector (GIN) for keywords, pgvector
for vectors (exact: ``<=>`` ordered, filters in the same query); SQL text in ``sql/search.sql``.

Texts go to ``to_tsvector('english', ...)`` as their word tokens (``search.query.word_tokens``: as
FTS5's unicode61 tokenizer cuts them, folded), not raw: PostgreSQL's own parser keeps ``a.b_c`` or
``v1.2`` whole (a host, a version), which the query's words would then never match.
"""

from __future__ import annotations

import builtins
import re
import struct
from collections.abc import Sequence
from functools import partial
from typing import Any

from ...search.query import KeywordQuery, fold, word_tokens
from ..ops.search import Candidate, IndexedText, PendingItem, SearchFilter, Vector
from ..where import Where, search_item_where
from .config import HNSW_MIN_VECTORS

_new = tuple.__new__
# At most this much of a text is indexed for keywords: a tsvector holds less than 1 MB, and a
# text of short distinct words takes up to ~4x its size there.
MAX_WORDS_CHARS = 250_000
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_ITEM = "SELECT i.id, i.kind, i.namespace, i.ref, i.seq"
# An item is live when its entity is: a memory not deleted nor expired, a chunk of a document.
_JOINS = (
    " LEFT JOIN memories m ON i.kind = 'memory' AND m.namespace = i.namespace AND m.key = i.ref"
    " LEFT JOIN documents d ON i.kind = 'chunk' AND d.id = i.ref"
)
_LIVE = (
    "(m.namespace IS NOT NULL AND m.deleted_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > ?)"
    " OR d.id IS NOT NULL)"
)


def words(text: str) -> str:
    """What ``to_tsvector`` gets of ``text``: its word tokens, space-separated (no NUL, no lone
    surrogate: neither is a word character), cut at ``MAX_WORDS_CHARS``."""
    # (ASCII, the common case: the same tokens, not folded, which to_tsvector lowercases itself;
    # ~10x cheaper than word_tokens' per-token normalisation)
    out = _NON_WORD.sub(" ", text).strip() if text.isascii() else " ".join(word_tokens(text))
    return out[:MAX_WORDS_CHARS] if len(out) > MAX_WORDS_CHARS else out


def vector_text(vector: bytes | None) -> str | None:
    """A float32 vector as pgvector's text input (``[x,y,...]``; repr is exact for a float32)."""
    if vector is None:
        return None
    return "[" + ",".join(map(repr, struct.unpack(f"<{len(vector) // 4}f", vector))) + "]"


def _approximate(tx: Any, sql: str, params: list[Any], ef: int) -> list[Any]:
    """An HNSW search in its own transaction: the index walked on until the filters let enough
    rows through (pgvector's iterative scan), at least ``ef`` candidates."""
    tx.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    tx.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(int(ef), 1000))}")
    return tx.execute(sql, params).fetchall()  # type: ignore[no-any-return]


def _filters(spec: SearchFilter, now: int, where: Where) -> Where:
    """The conditions of ``spec`` on ``search_items i`` joined to its entities (``_JOINS``)."""
    _entity_filters(spec, now, where)
    return search_item_where(spec, where)


def _entity_filters(spec: SearchFilter, now: int, where: Where) -> Where:
    """The conditions of ``spec`` on the item's entity (``_JOINS``): liveness, metadata."""
    where.add(_LIVE, now)
    for key, value in (spec.metadata or {}).items():
        # (json columns: compared as jsonb, which has equality)
        where.add("coalesce(m.metadata, d.metadata)::jsonb -> ? = ?::jsonb", key, _json(value))
    return where


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


class PgSearchOps:
    """``SearchOps`` on PostgreSQL. ``runner`` runs reads: the engine, or its async view."""

    index_on_write = True  # (a put's tsvector costs it little here: its round trips dominate)

    def __init__(self, runner: Any) -> None:
        from .runner import QUERIES

        self._run = runner
        self._q = QUERIES
        engine = getattr(runner, "engine", runner)  # (the async view's engine, or the engine)
        self._hnsw_min = getattr(getattr(engine, "config", None), "hnsw_min_vectors", HNSW_MIN_VECTORS)
        self._hnsw: set[int] = set()  # dimensions known to have their index

    # -- searches --------------------------------------------------------------------------------

    def keyword(self, query: KeywordQuery, spec: SearchFilter, now: int, limit: int) -> builtins.list[Candidate]:
        # (the terms folded as the indexed words are: lower case, no diacritics; the operators
        # and quotes of the tsquery text are ASCII, which folding leaves alone)
        where = Where("%s", arrays=True)
        where.add("i.tsv @@ q.q")
        _filters(spec, now, where)
        sql, params = where.query(
            f"{_ITEM}, ts_rank_cd(i.tsv, q.q)::float8 FROM (SELECT to_tsquery('english', %s) AS q) q"
            f" CROSS JOIN search_items i{_JOINS}",
            "6 DESC, i.id",
            limit,
        )
        return [_new(Candidate, r) for r in self._run.query(sql, [fold(query.tsquery), *params])]

    def semantic(self, vector: Any, spec: SearchFilter, now: int, limit: int) -> builtins.list[Candidate]:
        import numpy as np

        v = np.asarray(vector, np.float32)
        text = vector_text(v.tobytes())
        # The nearest items that match the item's own columns first (kind, namespace, type: one
        # scan of search_items, no join), then liveness and metadata on those candidates only,
        # taking 4x more candidates until ``limit`` pass or none is left. (Joining every row to
        # its entity before ranking cost 2.4x the scan, measured at 100,000 vectors.)
        near = Where("%s", arrays=True)
        near.add("i.vector IS NOT NULL AND vector_dims(i.vector) = ?", len(v))
        search_item_where(spec, near)
        live = Where("%s", arrays=True)
        _entity_filters(spec, now, live)
        ok = " AND ".join(live.conditions)
        want = max(4 * limit, 64)
        dim = len(v)
        # The HNSW index serves searches of the whole store (or of one kind); a namespace or type
        # filter scans exactly, which it makes cheap, where a walk of the graph through it was
        # measured 10x slower (6 ms against 62 ms for a tenth of 100,000 vectors).
        hnsw = not spec.prefix and spec.types is None and spec.allowed is None and self._has_hnsw(dim)
        while True:
            if hnsw:  # (the index's expression and predicate, and the query vector as a parameter)
                order = f"i.vector::vector({dim}) <=> %s::vector({dim})"
                sql = (
                    f"WITH c AS ({_ITEM}, {order} AS d FROM search_items i{near.clause()} ORDER BY {order} LIMIT %s) "
                    f"SELECT i.id, i.kind, i.namespace, i.ref, i.seq, (1 - i.d)::float8, {ok} FROM c i{_JOINS} "
                    "ORDER BY i.d, i.id"
                )
                params = [text, *near.params, text, want, *live.params]
                rows = self._run.read_snapshot(partial(_approximate, sql=sql, params=params, ef=want))
            else:
                sql = (
                    f"WITH c AS ({_ITEM}, i.vector <=> q.v AS d FROM (SELECT %s::vector AS v) q CROSS JOIN search_items i"
                    f"{near.clause()} ORDER BY d, i.id LIMIT %s) "
                    f"SELECT i.id, i.kind, i.namespace, i.ref, i.seq, (1 - i.d)::float8, {ok} FROM c i{_JOINS} "
                    "ORDER BY i.d, i.id"
                )
                rows = self._run.query(sql, [text, *near.params, want, *live.params])
            found = [_new(Candidate, r[:6]) for r in rows if r[6]]
            if len(found) >= limit:
                return found[:limit]
            if len(rows) < want:
                if not hnsw:  # (every candidate was checked)
                    return found
                hnsw = False  # (the graph walk may stop short of every match: scan exactly)
                continue
            want *= 4

    def _has_hnsw(self, dim: int) -> bool:
        if dim not in self._hnsw and self._run.query(self._q.search_hnsw_exists, (f"search_items_hnsw_{dim}",)):
            self._hnsw.add(dim)
        return dim in self._hnsw

    def maintain(self) -> None:
        """An HNSW index per vector dimension once a store holds ``hnsw_min_vectors`` of them:
        built CONCURRENTLY (writers go on), outside any transaction."""
        for dim, count in self._run.query(self._q.search_vector_counts):
            if count >= self._hnsw_min and not self._has_hnsw(int(dim)):
                d = int(dim)
                self._run.query(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS search_items_hnsw_{d} ON search_items "
                    f"USING hnsw ((vector::vector({d})) vector_cosine_ops) WHERE vector_dims(vector) = {d}"
                )

    # -- indexing --------------------------------------------------------------------------------

    def behind(self) -> bool:
        return False

    def catch_up(self, tx: Any) -> int:
        return 0

    def pending(self, limit: int, texts_only: bool = False) -> builtins.list[PendingItem]:
        return [_new(PendingItem, r) for r in self._run.query(self._q.search_pending, (texts_only, limit))]

    def index_texts(self, tx: Any, items: Sequence[IndexedText]) -> None:
        from ..ops.search import text_hash

        if items:
            tx.execute(
                self._q.search_set_texts,
                ([i.id for i in items], [text_hash(i.text) for i in items], [words(i.text) for i in items]),
            )

    def set_vectors(self, tx: Any, vectors: Sequence[Vector]) -> int:
        if not vectors:
            return 0
        return int(
            tx.execute(
                self._q.search_set_vectors,
                ([v.id for v in vectors], [v.text_hash for v in vectors], [vector_text(v.vector) for v in vectors]),
            ).rowcount
        )

    def embedder(self) -> tuple[str, int] | None:
        rows = dict(self._run.query(self._q.search_meta_embedder))
        return (rows["embedder"], int(rows["dim"])) if "embedder" in rows and "dim" in rows else None

    def set_embedder(self, tx: Any, name: str, dim: int) -> None:
        rows = dict(tx.execute(self._q.search_meta_lock).fetchall())
        if rows and (rows.get("embedder") != name or rows.get("dim") != str(dim)):
            tx.execute(self._q.search_clear_vectors)
        if rows.get("embedder") != name or rows.get("dim") != str(dim):
            tx.execute(self._q.search_meta_set, ("embedder", name))
            tx.execute(self._q.search_meta_set, ("dim", str(dim)))

    def counts(self) -> dict[str, int]:
        items, texts, vectors = self._run.query(self._q.search_counts)[0]
        return {"items": int(items), "pending_texts": int(texts), "pending_vectors": int(vectors)}


def index_memories(tx: Any, q: Any, puts: Sequence[Any]) -> None:
    """The search items of puts (``MemoryPut``s of distinct keys) in their transaction: keyword
    rows rewritten; a changed text's vector becomes pending. Nothing is read back: the statement
    travels with the transaction's next one (see pipeline.py)."""
    from ..ops.search import text_hash

    if len(puts) == 1:
        p = puts[0]
        tx.execute(q.search_upsert_memory, (p.namespace, p.key, p.type, text_hash(p.text), words(p.text)))
        return
    tx.execute(
        q.search_upsert_memories,
        ([p.namespace for p in puts], [p.key for p in puts], [p.type for p in puts],
         [text_hash(p.text) for p in puts], [words(p.text) for p in puts]),
    )  # fmt: skip


def remove_memories(tx: Any, q: Any, keys: Sequence[tuple[str, str]]) -> None:
    """Purged keys' search items, deleted."""
    if keys:
        tx.execute(q.search_remove_memories, ([k[0] for k in keys], [k[1] for k in keys]))
