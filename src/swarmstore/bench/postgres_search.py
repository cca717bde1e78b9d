"""Search on PostgreSQL beside plain psycopg running the bare pgvector / tsvector query (no
liveness check, no join) on the same rows, in alternating rounds."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg

import swarmstore

from ..clock import now_us
from ..engine.ops.search import SearchFilter, Vector
from ..engine.postgres.search import vector_text
from ..search.query import keyword_query
from .harness import Result, measure_pair

DIM = 384
_WORDS = ["queue", "lease", "worker", "retry", "backoff", "schema", "migration", "index", "cache", "token", "session", "audit", "deploy"]


def run(store: swarmstore.Store, conn: psycopg.Connection[Any], quick: bool, seed: int) -> list[Result]:
    """Exact vector search (a namespace filter keeping a tenth) and keyword search."""
    rng = np.random.default_rng(seed)
    count = 5_000 if quick else 100_000
    e = store.engine
    for lo in range(0, count, 5_000):
        store.memory.put_many(
            [{"namespace": f"vec:p{i % 10}", "key": f"k{i}", "value": f"{_WORDS[i % len(_WORDS)]} item {i}"}
             for i in range(lo, min(count, lo + 5_000))]
        )  # fmt: skip
    store.index()  # (the texts: PostgreSQL wrote them with the puts; nothing to embed without an embedder)
    while pending := e.search.pending(5_000):  # (every item gets a random unit vector)
        block = rng.standard_normal((len(pending), DIM), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        vectors = [Vector(p.id, p.text_hash or b"", block[j].tobytes()) for j, p in enumerate(pending)]
        e.write(lambda tx, v=vectors: e.search.set_vectors(tx, v))  # type: ignore[misc]
    e.search.maintain()  # (as the indexing pass does: past hnsw_min_vectors, the HNSW index)
    queries = rng.standard_normal((32, DIM), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    texts = [vector_text(q.tobytes()) for q in queries]
    spec = SearchFilter(("memory",), "vec:p3")
    bare = (
        "SELECT id FROM search_items WHERE vector IS NOT NULL AND vector_dims(vector) = %s AND namespace = %s"
        " ORDER BY vector <=> %s::vector LIMIT 10"
    )
    out: list[Result] = []
    m = 20 if quick else 100
    r, b = measure_pair(
        f"vector search, {count:,} x {DIM}, 1/10 by namespace",
        lambda i: e.search.semantic(queries[i % 32], spec, now_us(), 10),
        lambda i: conn.execute(bare, (DIM, "vec:p3", texts[i % 32])).fetchall(),
        m,
        3,
    )
    r.read, r.target, r.ok = True, "p50 <=20 ms (beside the bare exact pgvector scan)", r.p50_us <= 20_000
    r.baseline = b
    out.append(r)
    everything = SearchFilter(("memory", "chunk"))
    bare_all = "SELECT id FROM search_items WHERE vector IS NOT NULL ORDER BY vector <=> %s::vector LIMIT 10"
    r, b = measure_pair(
        f"vector search, {count:,} x {DIM}, unfiltered (HNSW)",
        lambda i: e.search.semantic(queries[i % 32], everything, now_us(), 10),
        lambda i: conn.execute(bare_all, (texts[i % 32],)).fetchall(),
        m,
        3,
    )
    r.read, r.baseline = True, b
    out.append(r)
    kq = keyword_query("retry backoff")
    assert kq is not None
    bare_kw = (
        "SELECT id FROM search_items WHERE tsv @@ to_tsquery('english', %s) AND namespace = %s"
        " ORDER BY ts_rank_cd(tsv, to_tsquery('english', %s)) DESC LIMIT 10"
    )
    r, b = measure_pair(
        f"keyword search, {count:,} items, 1/10 by namespace",
        lambda i: e.search.keyword(kq, spec, now_us(), 10),
        lambda i: conn.execute(bare_kw, (kq.tsquery, "vec:p3", kq.tsquery)).fetchall(),
        m * 5,
        10,
    )
    r.read, r.baseline = True, b
    out.append(r)
    return out
