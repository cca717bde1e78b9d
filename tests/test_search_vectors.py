"""The SQLite engine's in-process vector index follows what other connections write."""

from __future__ import annotations

from pathlib import Path

import swarmstore
from toy_embedders import WordsEmbedder


def keys(hits: list[swarmstore.Hit]) -> list[str]:
    return [h.memory.key for h in hits if h.memory is not None]


def test_a_store_sees_vectors_another_store_wrote_and_drops_what_it_removed(tmp_path: Path) -> None:
    path = str(tmp_path / "swarm.db")
    with swarmstore.open(path, embedder=WordsEmbedder()) as a, swarmstore.open(path, embedder=WordsEmbedder()) as b:
        a.memory.put("n", "first", "alpha bravo")
        assert keys(a.search("alpha bravo", mode="semantic")) == ["first"]  # (a's matrix is built now)
        b.memory.put("n", "second", "alpha bravo charlie")
        b.index()  # (b embeds it: a must read the new vector, not embed it again)
        assert set(keys(a.search("alpha bravo charlie", mode="semantic", k=5))) == {"first", "second"}
        assert keys(a.search("alpha bravo charlie", mode="semantic", k=1)) == ["second"]
        b.memory.put("n", "second", "xray yankee")  # (a new text: its vector pending, then new)
        assert keys(a.search("xray yankee", mode="semantic", k=1)) == ["second"]
        b.memory.delete("n", "second")
        b.memory.purge("n", deleted=True)
        assert keys(a.search("xray yankee", mode="semantic", k=5)) == ["first"]


def test_the_matrix_grows_past_its_first_capacity(tmp_path: Path) -> None:
    # (8,192 hash buckets: a word shares its bucket with at most a couple of the others, a tie)
    with swarmstore.open(str(tmp_path / "swarm.db"), embedder=WordsEmbedder(8192)) as st:
        st.memory.put_many([{"namespace": "n", "key": f"k{i}", "value": f"word{i} common"} for i in range(3000)])
        for i in (7, 1500, 2999):  # (rows before, across and after the first growth of the matrix)
            hits = st.search(f"word{i} common", mode="semantic", k=3)
            assert f"k{i}" in keys(hits) and hits[0].score > 0.999


def test_an_indexing_pass_never_overwrites_a_newer_text_another_process_indexed(tmp_path: Path) -> None:
    """Process a reads a pending text; b puts a new value and indexes it; a's late write of the old
    text must be skipped (found by review: it overwrote b's keyword row and the key was lost)."""
    import orjson

    from swarmstore.engine.ops.search import IndexedText
    from swarmstore.search.text import text_of

    path = str(tmp_path / "swarm.db")
    with swarmstore.open(path, embedder=None) as a, swarmstore.open(path, embedder=None) as b:
        a.memory.put("n", "k", "alpha retries backoff")
        e = a.engine
        e.write(e.search.catch_up)
        [stale] = e.search.pending(10, True)  # (a has read the first value)
        b.memory.put("n", "k", "bravo telemetry bind")
        assert keys(b.search("bravo", mode="keyword")) == ["k"]  # (b indexed the second one)
        late = IndexedText(stale.id, text_of(orjson.loads(stale.source)), stale.source)
        e.write(lambda tx: e.search.index_texts(tx, [late]))
        assert keys(b.search("bravo", mode="keyword")) == ["k"]
        assert keys(b.search("alpha", mode="keyword")) == []
        b.memory.put("n", "k", "charlie")  # (and a pass whose source is still current does write)
        e.write(e.search.catch_up)
        [fresh] = e.search.pending(10, True)
        e.write(lambda tx: e.search.index_texts(tx, [IndexedText(fresh.id, "charlie", fresh.source)]))
        assert keys(a.search("charlie", mode="keyword")) == ["k"]
