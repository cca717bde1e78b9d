"""Search: quality on the labelled set (keyword, semantic, hybrid) and speed beside baselines.

Quality: the passages of ``search_eval.jsonl`` stored as memories in a fresh store (default embedder),
every query run in each mode (k=10), recall@1/@5 and MRR per query kind, a 95% interval for recall@5,
and hybrid's paired sign test against the better single retriever of each kind.

Speed, each beside a baseline measured in alternating rounds:
- query embedding: the embedder's ``embed([query])`` beside the bare ONNX session run on the query's
  token ids (the model's floor);
- vector search: ``engine.search.semantic`` over N random unit vectors (written through the engine's
  ``set_vectors``: no text embedded) with a namespace filter, beside numpy's ``X @ q`` + argpartition
  over the same matrix, unfiltered;
- indexing: ``documents.add`` of ~100-word sections beside the embedder alone on the same chunks;
- a memory put (with its keyword row) beside raw SQL through apsw: the upsert and audit row alone,
  and the same with the search item and FTS row by hand.
"""

from __future__ import annotations

import os
import random
from typing import Any

from .. import open as open_store
from ..clock import now_us
from ..engine.ops.search import SearchFilter, Vector
from ..search.chunking import chunk_text, search_text
from ..search.text import text_of
from . import raw
from .harness import Result, measure_pair
from .search_quality import MODES, compare, load_eval, proportion_interval, score

RETRIEVERS = ("keyword", "semantic", "hybrid")
TARGET_R5 = {"paraphrase": 0.75, "keyword": 0.95}
DIM = 384
_VOCABULARY = (
    "queue lease worker retry backoff schema migration index cache token session audit ledger invoice "
    "deploy rollback canary shard replica snapshot checkpoint webhook tenant quota budget latency "
    "throughput flag release branch review pipeline artifact container cluster node secret rotation "
    "policy alert incident runbook metric trace span sampler parser compiler linter fixture coverage"
)
WORDS = tuple(_VOCABULARY.split(" "))


# -- quality ---------------------------------------------------------------------------------------


def quality(workdir: str) -> dict[str, Any]:
    """Scores of each retriever per query kind, and hybrid against the better single one."""
    ev = load_eval()
    store = open_store(os.path.join(workdir, "search-quality.db"))
    try:
        store.memory.put_many(
            [{"namespace": p.namespace, "key": p.id, "value": p.text, "type": p.type} for p in ev.passages]
        )
        store.index()
        scores = {}
        for mode in RETRIEVERS:
            ranked = {
                q.id: [h.memory.key for h in store.search(q.text, k=10, mode=mode) if h.memory] for q in ev.queries
            }
            scores[mode] = score(ranked, ev.queries)
    finally:
        store.close()
    out: dict[str, Any] = {"passages": len(ev.passages), "queries": len(ev.queries), "modes": {}, "hybrid_vs": {}}
    for mode in RETRIEVERS:
        out["modes"][mode] = {}
        for kind, ks in scores[mode].by_mode.items():
            lo, hi = proportion_interval(round(ks.recall_at_5 * ks.n), ks.n)
            out["modes"][mode][kind] = {
                "n": ks.n, "r1": ks.recall_at_1, "r5": ks.recall_at_5, "mrr": ks.mrr, "r5_lo": lo, "r5_hi": hi,
            }  # fmt: skip
    for kind in MODES:
        best = max(("keyword", "semantic"), key=lambda m: (out["modes"][m][kind]["r5"], out["modes"][m][kind]["mrr"]))
        c = compare(scores["hybrid"], scores[best], kind)
        r5 = out["modes"]["hybrid"][kind]["r5"]
        out["hybrid_vs"][kind] = {
            "against": best, "wins": c.wins, "losses": c.losses, "ties": c.ties, "p": c.p_value,
            "worse_beyond_noise": c.worse_beyond_noise, "target_r5": TARGET_R5[kind], "r5_met": r5 >= TARGET_R5[kind],
        }  # fmt: skip
    return out


def fmt_quality(q: dict[str, Any]) -> str:
    head = f"{'retriever':<10} {'queries':<11} {'n':>4} {'R@1':>6} {'R@5':>6} {'95% interval':>14} {'MRR':>6}"
    lines = [head, "-" * len(head)]
    for mode in RETRIEVERS:
        for kind, s in q["modes"][mode].items():
            lines.append(
                f"{mode:<10} {kind:<11} {s['n']:>4} {s['r1']:>6.3f} {s['r5']:>6.3f} "
                f"{'[' + format(s['r5_lo'], '.2f') + ', ' + format(s['r5_hi'], '.2f') + ']':>14} {s['mrr']:>6.3f}"
            )
    lines.append("")
    for kind, c in q["hybrid_vs"].items():
        verdict = "WORSE beyond noise" if c["worse_beyond_noise"] else "not worse beyond noise"
        r5 = q["modes"]["hybrid"][kind]["r5"]
        lines.append(
            f"hybrid vs {c['against']} on {kind}: {c['wins']} better, {c['losses']} worse, {c['ties']} tied "
            f"(sign test p={c['p']:.2g}): {verdict}; hybrid R@5 {r5:.3f} "
            f"{'ok' if c['r5_met'] else 'MISS'} (target >= {c['target_r5']})"
        )
    return "\n".join(lines)


# -- speed -----------------------------------------------------------------------------------------


def speed(workdir: str, quick: bool, seed: int) -> list[Result]:
    import numpy as np

    from ..search.embedder import default_embedder

    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    out: list[Result] = []
    embedder = default_embedder()
    embedder.load()
    queries = [q.text for q in load_eval().queries]
    n = 100 if quick else 500

    # -- query embedding, beside the bare ONNX session on the query's token ids
    loaded = embedder._ensure_loaded()
    encoded = [loaded.tokenizer.encode(t).ids for t in queries]

    def floor(i: int) -> Any:
        ids = np.asarray([encoded[i % len(encoded)]], np.int64)
        return loaded.session.run(
            None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        )

    r, b = measure_pair("query embedding", lambda i: embedder.embed([queries[i % len(queries)]]), floor, n, 20)
    _pair(out, r, b, "p50 <=10 ms (beside the bare model)", r.p50_us <= 10_000, read=True)

    # -- exact vector search with a namespace filter, beside numpy over the same matrix
    count = 10_000 if quick else 100_000
    store = open_store(os.path.join(workdir, "search-speed.db"))
    try:
        e = store.engine
        for lo in range(0, count, 5000):
            store.memory.put_many(
                [
                    {"namespace": f"vec:p{i % 10}", "key": f"k{i}", "value": f"item {i}"}
                    for i in range(lo, min(count, lo + 5000))
                ]
            )
        matrix = rng.standard_normal((count, DIM), dtype=np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        store._search.index_pending(texts_only=True)  # (the puts' texts; their vectors come next)
        row = 0
        while pending := e.search.pending(5000):
            vectors = [Vector(p.id, p.text_hash or b"", matrix[row + j].tobytes()) for j, p in enumerate(pending)]
            row += len(vectors)
            e.write(lambda tx, v=vectors: e.search.set_vectors(tx, v))  # type: ignore[misc]
        qs = rng.standard_normal((64, DIM), dtype=np.float32)
        qs /= np.linalg.norm(qs, axis=1, keepdims=True)
        spec = SearchFilter(("memory",), "vec:p3")

        def numpy_top(i: int) -> Any:
            s = matrix @ qs[i % 64]
            top = np.argpartition(-s, 10)[:10]
            return top[np.argsort(-s[top])]

        m = 50 if quick else 200
        r, b = measure_pair(
            f"vector search, {count:,} x {DIM}, 1/10 by namespace",
            lambda i: e.search.semantic(qs[i % 64], spec, now_us(), 10),
            numpy_top,
            m,
            5,
        )
        r.extra["note"] = "raw: numpy X @ q + argpartition, unfiltered"
        _pair(out, r, b, "p50 <=20 ms" + (" (at 100k)" if quick else ""), r.p50_us <= 20_000, read=True)
        out += _puts(store, path=os.path.join(workdir, "search-speed.db"), n=2_000 if quick else 10_000)
    finally:
        store.close()

    # -- indexing: documents.add of ~100-word sections, beside the embedder alone on the same chunks
    docs = 3 if quick else 12
    sections = 6
    texts = [
        "\n\n".join(f"## Part {s}\n\n" + " ".join(rnd.choices(WORDS, k=100)) + "." for s in range(sections))
        for _ in range(docs)
    ]
    chunked = [[search_text(c.heading, c.text) for c in chunk_text(t)] for t in texts]
    per = len(chunked[0])
    tokens = sum(len(x) for x in loaded.tokenizer.encode_batch(chunked[0])) / per
    store = open_store(os.path.join(workdir, "search-docs.db"))
    try:
        r, b = measure_pair(
            "indexing (documents.add)",
            lambda i: store.documents.add(f"doc{i}.md", texts[i]),
            lambda i: embedder.embed(chunked[i]),
            docs,
            per=per,
            rounds=min(3, docs),
        )
    finally:
        store.close()
    r.unit = b.unit = "chunk"
    r.extra["model_tokens_per_s"] = b.ops_per_s * tokens
    r.extra["note"] = (
        f"{per} chunks of ~{tokens:.0f} tokens a document; raw: the embedder alone, "
        f"{b.ops_per_s * tokens:,.0f} tokens/s"
    )
    _pair(out, r, b, ">=150 chunks/s", r.ops_per_s >= 150)
    return out


def _puts(store: Any, path: str, n: int) -> list[Result]:
    """A memory put with its keyword indexing (the batch the next search runs, here every 100
    puts, counted in) beside raw SQL without a search row; and, to show why the index is written
    that way, the put by hand with its FTS row in its own transaction beside without it."""
    rc = raw.connect(path)
    rc.execute("CREATE VIRTUAL TABLE IF NOT EXISTS bench_fts USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2')")
    val = {"text": "decision about retries with exponential backoff " * 2, "score": 0.5}
    val_text = '{"text":"' + val["text"] + '","score":0.5}'  # type: ignore[operator]
    text = text_of(val)

    def raw_put(ns: str, key: str, index: bool) -> None:
        rc.execute("BEGIN IMMEDIATE")
        raw.put(rc, ns, key, val_text, now_us())
        if index:
            rc.execute("INSERT INTO bench_fts (text) VALUES (?)", (text,))
        rc.execute("COMMIT")

    def ours(tag: str) -> Any:
        def put(i: int) -> None:
            store.memory.put(f"bench:{tag}:n{i % 50}", f"k{i}", val)
            if i % 100 == 99:
                store._search.index_pending(texts_only=True)  # (what the next search does first)

        return put

    def bare(tag: str, index: bool) -> Any:
        return lambda i: raw_put(f"bench:{tag}:n{i % 50}", f"k{i}", index)

    out: list[Result] = []
    r, b = measure_pair("memory put + its keyword indexing", ours("a"), bare("ra", False), n, engine=store.engine)
    r.extra["note"] = "raw: upsert + audit, no search row; ours: the put, and the batch that indexes it"
    _pair(out, r, b, "<=1.5x a plain put", None)
    r.ok = (r.ratio() or 99.0) <= 1.5
    r, b = measure_pair("raw put with an FTS5 row in its transaction", bare("rc", True), bare("rd", False), n)
    r.extra["note"] = "raw: the same without it (why the index is not written in the put's transaction)"
    _pair(out, r, b, "", None)
    rc.connection.close()
    return out


def _pair(out: list[Result], r: Result, b: Result, target: str, ok: bool | None, read: bool = False) -> None:
    r.baseline, r.target, r.ok, r.read = b, target, ok, read
    out.append(r)
