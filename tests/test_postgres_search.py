"""The PostgreSQL engine's search index: what tests/conformance/test_search.py cannot see from the
public API of both engines (pgvector where the store's schema does not hold it, the tsvector's
words, the migration's backfill, exact cosine ranking, a copy's rebuilt index).

Vectors come from ``Bag``, a small deterministic embedder (the ``Embedder`` protocol is the
store's to plug into), so the expected rankings are known exactly."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg import sql

import swarmstore
from pg_schemas import PgSchemas
from swarmstore import errors
from swarmstore.clock import ManualClock
from swarmstore.engine.ops.memory import MemoryPut
from swarmstore.engine.postgres import migrate
from swarmstore.transfer import copy_store


class Bag:
    """An embedder whose vector of a text is the normalised count of its words in ``VOCAB``."""

    VOCAB = ("alpha", "beta", "gamma", "delta", "retry", "deploy", "cache", "other")

    def __init__(self, name: str = "bag", dim: int = 8) -> None:
        self.name, self.dim = name, dim

    def embed(self, texts: Sequence[str]) -> Any:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                w = w.strip(".,:;!?\"'")
                out[i, self.VOCAB.index(w) % self.dim if w in self.VOCAB else self.dim - 1] += 1.0
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
        return out


@pytest.fixture
def open_store(pg_url: str) -> Iterator[Any]:
    opened: list[Any] = []

    def make(**options: Any) -> Any:
        st = swarmstore.open(pg_url, clock=options.pop("clock", ManualClock()), **options)
        opened.append(st)
        return st

    yield make
    for st in opened:
        st.close()


def _schema(url: str) -> str:
    return url.rsplit("schema=", 1)[1]


def test_pgvector_lives_outside_the_store_schema_and_two_stores_share_it(pg_schemas: PgSchemas) -> None:
    a, b = pg_schemas.take(), pg_schemas.take()
    try:
        stores = [swarmstore.open(pg_schemas.url(s), embedder=Bag()) for s in (a, b)]
        for i, st in enumerate(stores):
            st.memory.put("ns", "k", f"alpha retry {i}")
        with psycopg.connect(pg_schemas.base_url, autocommit=True) as conn:
            where = conn.execute(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'"
            ).fetchone()
            assert where is not None and where[0] not in (a, b)
        for i, st in enumerate(stores):
            hits = st.search("alpha retry", mode="semantic", k=5)
            assert [h.memory.value for h in hits if h.memory] == [f"alpha retry {i}"]
            st.close()
    finally:
        pg_schemas.give_back(a)
        pg_schemas.give_back(b)


def test_migration_backfills_items_of_existing_memories(pg_schemas: PgSchemas) -> None:
    """A store at schema 2 with memories: opening it adds their items (texts pending), and the
    next search indexes and finds them."""
    schema = pg_schemas.take()
    try:
        with psycopg.connect(pg_schemas.base_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(schema)))
            conn.execute("CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)")
            for version, name, text in migrate.MIGRATIONS:
                if version <= 2:
                    conn.execute(text.encode())
                    conn.execute("INSERT INTO schema_version VALUES (%s, %s, 0)", (version, name))
            conn.execute(
                "INSERT INTO memories (namespace, key, version, type, value, created_at, updated_at)"
                " VALUES ('old:ns', 'k', 1, 'semantic', '{\"note\": \"TELEMETRY_BIND is set at boot\"}', 1, 1)"
            )
        st = swarmstore.open(pg_schemas.url(schema))
        try:
            assert st.engine.search.counts() == {"items": 1, "pending_texts": 1, "pending_vectors": 1}
            hits = st.search("TELEMETRY_BIND", mode="keyword")
            assert [(h.memory.namespace, h.memory.key) for h in hits if h.memory] == [("old:ns", "k")]
            assert st.engine.search.counts()["pending_texts"] == 0
        finally:
            st.close()
    finally:
        pg_schemas.give_back(schema)


def test_identifiers_are_indexed_word_by_word_and_diacritics_folded(open_store: Any) -> None:
    """PostgreSQL's parser would keep ``retry.max_attempts`` and ``v1.2`` whole (a host, a version):
    the index gets FTS5's words, so the query's words find them, as on SQLite."""
    st = open_store()
    st.memory.put("ns", "cfg", "set retry.max_attempts to 5 in v1.2, and TELEMETRY_BIND=0.0.0.0")  # (ASCII)
    st.memory.put("ns", "accents", {"note": "the café_host runs naïve checks"})
    st.memory.put("ns", "noise", "nothing to see here")
    for query in ("retry", "max_attempts", "attempts", "TELEMETRY_BIND", "bind", "v1.2"):
        hits = st.search(query, mode="keyword")
        assert [h.memory.key for h in hits if h.memory] == ["cfg"], query
    for query in ("cafe", "CAFÉ", "cafe_host", "naive", "NAÏVE"):
        hits = st.search(query, mode="keyword")
        assert [h.memory.key for h in hits if h.memory] == ["accents"], query


def test_a_nul_character_in_a_value_is_indexed_without_it(open_store: Any) -> None:
    st = open_store()
    st.memory.put("ns", "k", {"t": "left\u0000right side"})
    assert [h.memory.key for h in st.search("right", mode="keyword") if h.memory] == ["k"]


def test_a_rolled_back_put_leaves_no_item_and_a_purge_removes_it(open_store: Any) -> None:
    st = open_store()
    e = st.engine

    def put_then_fail(tx: Any) -> None:
        e.memory.put(tx, MemoryPut("ns", "k", '"alpha"', "semantic", None, None, None, None, "alpha"), 1)
        tx.flush()  # (the statements reached the server: the rollback undoes them)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        e.write(put_then_fail)
    assert e.search.counts()["items"] == 0
    st.memory.put("ns", "k", "alpha")
    st.memory.put_many([{"namespace": "ns", "key": f"m{i}", "value": f"alpha {i}"} for i in range(3)])
    assert e.search.counts() == {"items": 4, "pending_texts": 0, "pending_vectors": 4}
    st.memory.delete("ns", "k")
    st.memory.purge("ns")
    assert e.search.counts()["items"] == 3
    assert [h.memory.key for h in st.search("alpha", mode="keyword") if h.memory] == ["m0", "m1", "m2"]


def test_semantic_is_exact_cosine_and_filters_before_ranking(open_store: Any) -> None:
    st = open_store(embedder=Bag())
    # 30 close matches in "near", 3 far ones in "far:x": the filter must still yield all 3
    st.memory.put_many([{"namespace": "near", "key": f"n{i}", "value": "alpha alpha beta"} for i in range(30)])
    st.memory.put_many(
        [{"namespace": "far:x", "key": f"f{i}", "value": "alpha " + "other " * (3 - i)} for i in range(3)]
    )
    st.memory.put("far", "gone", "alpha")
    st.memory.delete("far", "gone")
    hits = st.search("alpha", mode="semantic", prefix="far", k=3)
    assert [h.memory.key for h in hits if h.memory] == ["f2", "f1", "f0"]  # (by distance, not id)
    q = Bag().embed(["alpha"])[0]
    for h in hits:
        assert h.memory is not None
        v = Bag().embed([h.memory.value])[0]
        assert h.score == pytest.approx(float(q @ v), abs=1e-5)
    assert len(st.search("alpha", mode="semantic", k=5)) == 5


def test_metadata_filter_compares_json_values(open_store: Any) -> None:
    st = open_store()
    st.memory.put("ns", "a", "alpha one", metadata={"team": "red", "n": 1})
    st.memory.put("ns", "b", "alpha two", metadata={"team": "blue", "n": 2})
    st.documents.add("doc.md", "alpha in a document", metadata={"team": "red"})
    hits = st.search("alpha", mode="keyword", filters={"team": "red"})
    assert sorted((h.kind, h.memory.key if h.memory else h.chunk.document) for h in hits) == [
        ("chunk", "doc.md"), ("memory", "a")
    ]  # fmt: skip
    assert [h.memory.key for h in st.search("alpha", mode="keyword", filters={"n": 2}) if h.memory] == ["b"]


def test_another_embedder_makes_every_vector_pending(open_store: Any, pg_url: str) -> None:
    st = open_store(embedder=Bag())
    st.memory.put("ns", "k", "alpha")
    st.documents.add("d.md", "beta gamma")
    st.search("alpha", mode="semantic")
    assert st.engine.search.embedder() == ("bag", 8)
    assert st.engine.search.counts()["pending_vectors"] == 0
    with pytest.raises(errors.EmbedderMismatch):
        open_store(embedder=Bag("bag4", 4))
    st.engine.write(lambda tx: st.engine.search.set_embedder(tx, "bag4", 4))
    assert st.engine.search.counts()["pending_vectors"] == 2
    assert st.documents.get("d.md").status == "indexed"  # (status is refreshed by the next indexing)
    other = open_store(embedder=Bag("bag4", 4))
    assert [h.memory.key for h in other.search("alpha", mode="semantic") if h.memory] == ["k"]
    assert other.documents.get("d.md").status == "indexed"


def test_documents_replace_their_chunks_items_and_list_in_byte_order(open_store: Any) -> None:
    st = open_store(embedder=Bag())
    long = "\n\n".join(f"# Part {i}\n" + "alpha beta gamma " * 40 for i in range(6))
    d = st.documents.add("Zed.md", long, namespace="docs")
    assert d.chunks > 2 and st.engine.search.counts()["items"] == d.chunks
    assert st.documents.add("Zed.md", long, namespace="docs").updated_at == d.updated_at  # (a no-op)
    st.documents.add("Zed.md", "# Short\nalpha cache", namespace="docs")  # (fewer chunks: the rest go)
    assert st.engine.search.counts() == {"items": 1, "pending_texts": 0, "pending_vectors": 0}
    st.documents.add("Zed.md", "# Short\ndeploy cache", namespace="other")
    assert st.engine.search.counts() == {"items": 1, "pending_texts": 0, "pending_vectors": 0}
    assert [h.chunk.document for h in st.search("deploy", mode="keyword", prefix="other") if h.chunk] == ["Zed.md"]
    assert st.search("alpha", mode="keyword") == []
    for name in ("_x.md", "a.md", "é.md"):
        st.documents.add(name, "text")
    assert [x.id for x in st.documents.list()] == ["Zed.md", "_x.md", "a.md", "é.md"]
    st.documents.remove("Zed.md")
    assert st.engine.search.counts()["items"] == 3
    trail = st.audit.list(entity="document")
    assert {a.action for a in trail} == {"document.add", "document.update", "document.remove"}


def test_a_copy_rebuilds_the_index_and_keeps_document_metadata(open_store: Any, pg_url: str, tmp_path: Path) -> None:
    src = str(tmp_path / "src.db")
    with swarmstore.open(src) as st:
        st.memory.put("ns", "k", "TELEMETRY_BIND at boot")
        st.documents.add("d.md", "# Deploy\nwe deploy on tuesdays", metadata={"big": 2.552781687800143e16, "a": 1})
        meta = st.documents.get("d.md").metadata
    copy_store(src, pg_url)
    st = open_store()
    assert st.engine.search.counts()["items"] == 2
    assert [h.memory.key for h in st.search("TELEMETRY_BIND", mode="keyword") if h.memory] == ["k"]
    assert [h.chunk.document for h in st.search("tuesdays", mode="keyword") if h.chunk] == ["d.md"]
    assert st.documents.get("d.md").metadata == meta
    back = str(tmp_path / "back.db")
    copy_store(pg_url, back)
    with swarmstore.open(back) as st2:
        assert st2.documents.get("d.md").metadata == meta
        assert [h.memory.key for h in st2.search("TELEMETRY_BIND", mode="keyword") if h.memory] == ["k"]


def test_the_async_engine_view_searches_and_writes_documents(open_store: Any) -> None:
    """The async API's view of the engine (psycopg's async connections through the bridge) has the
    same search and document operations."""
    import asyncio

    from swarmstore.engine.bridge import spawn
    from swarmstore.engine.ops.documents import DocumentWrite, NewChunk
    from swarmstore.engine.ops.search import SearchFilter, text_hash
    from swarmstore.search.query import keyword_query

    st = open_store()
    st.memory.put("ns", "k", "TELEMETRY_BIND at boot")
    view = st.engine.for_async()

    def work() -> tuple[Any, Any, Any]:
        doc = DocumentWrite("a.md", "", None, None, "{}", "0" * 64, "deploy on tuesdays", "pending", None, None, None)
        chunk = NewChunk("", "deploy on tuesdays", 0, 18, text_hash("deploy on tuesdays"), None)
        view.write(lambda tx: view.documents.write(tx, doc, [chunk], 5))
        kq = keyword_query("TELEMETRY_BIND tuesdays")
        assert kq is not None
        found = view.search.keyword(kq, SearchFilter(("memory", "chunk")), 10, 10)
        return found, view.documents.read_many([("a.md", 0)]), view.search.counts()

    async def main() -> tuple[Any, Any, Any]:
        try:
            return await spawn(work)
        finally:
            await view.aclose()

    found, read, counts = asyncio.run(main())
    assert sorted((c.kind, c.ref) for c in found) == [("chunk", "a.md"), ("memory", "k")]
    assert read[0][1].text == "deploy on tuesdays"
    assert counts == {"items": 2, "pending_texts": 0, "pending_vectors": 2}


def test_past_hnsw_min_vectors_an_hnsw_index_is_built_and_searches_go_through_it(open_store: Any, pg_url: str) -> None:
    """Below the threshold no index (an exact scan); past it, the index pass builds one per
    dimension, the query plan walks it, and the answers (a small set: recall is exact) and the
    filters before ranking stay those of the exact search."""
    words = [f"w{i}" for i in range(40)]

    class Random:
        name, dim = "random-16", 16

        def embed(self, texts: Sequence[str]) -> Any:
            out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(16) for t in texts])
            return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    st = open_store(embedder=Random(), hnsw_min_vectors=50)
    st.memory.put_many([{"namespace": f"n{i % 2}", "key": f"k{i}", "value": words[i]} for i in range(40)])
    st.index()
    index = "search_items_hnsw_16"
    with psycopg.connect(pg_url.split("?")[0], autocommit=True) as conn:
        def exists() -> bool:
            return bool(conn.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                                     (_schema(pg_url), index)).fetchall())  # fmt: skip
        assert not exists()  # (40 vectors: below 50)
        exact = [h.memory.key for h in st.search("w7", mode="semantic", k=5)]
        st.memory.put_many([{"namespace": "n2", "key": f"x{i}", "value": f"extra {i}"} for i in range(20)])
        st.index()
        assert exists()
        conn.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(_schema(pg_url))))
        conn.execute("SET enable_seqscan = off")
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT id FROM search_items i WHERE vector_dims(i.vector) = 16 AND i.vector IS NOT NULL"
            " ORDER BY i.vector::vector(16) <=> %s::vector(16) LIMIT 5", ("[" + ",".join(["0.25"] * 16) + "]",)
        ).fetchall())  # fmt: skip
        assert index in plan
    hits = st.search("w7", mode="semantic", k=5)  # (the whole store: through the index)
    assert hits[0].memory.key == exact[0] == "k7"  # (its own text: the nearest)
    filtered = st.search("w7", mode="semantic", prefix="n1", k=5)  # (k7 is in n1; 20 keys there)
    assert len(filtered) == 5 and all(h.memory.namespace == "n1" for h in filtered)
    assert filtered[0].memory.key == "k7"
