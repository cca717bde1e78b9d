"""Search over memories: keyword, semantic and hybrid, on every engine, sync and async.

Most tests use ``WordsEmbedder`` (a user's embedder through the public protocol: instant and
exact about which texts share words); ``test_meaning_*`` use the shipped model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

import swarmstore
from swarmstore.clock import ManualClock
from swarmstore.errors import Conflict, EmbedderMismatch, EmbedderUnavailable, InvalidInput
from sync_over_async import SyncOverAsync
from toy_embedders import WordsEmbedder


def _open(url: str, api: str, **options: Any) -> Any:
    return swarmstore.open(url, **options) if api == "sync" else SyncOverAsync(url, **options)


@pytest.fixture(params=["sync", "async"])
def wstore(request: pytest.FixtureRequest, store_url: str, clock: ManualClock) -> Iterator[Any]:
    """A store whose embedder is a ``WordsEmbedder`` (as ``wstore.embedder``)."""
    embedder = WordsEmbedder()
    st = _open(store_url, request.param, clock=clock, embedder=embedder)
    st.embedder = embedder
    yield st
    st.close()


def keys(hits: list[Any]) -> list[str]:
    return [h.memory.key for h in hits]


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_a_put_is_found_and_its_hit_says_how(wstore: Any, mode: str) -> None:
    wstore.memory.put("project:acme:config", "bind", {"note": "TELEMETRY_BIND sets the exporter address"})
    wstore.memory.put("project:acme:people", "lunch", "the team eats lunch at noon")
    hits = wstore.search("TELEMETRY_BIND", mode=mode, k=1)
    assert keys(hits) == ["bind"]
    hit = hits[0]
    assert hit.kind == "memory" and hit.memory.namespace == "project:acme:config"
    assert hit.memory.value == {"note": "TELEMETRY_BIND sets the exporter address"}
    assert ("keyword" in hit.retrievers) == (mode != "semantic")
    assert ("semantic" in hit.retrievers) == (mode != "keyword")


@pytest.mark.parametrize("mode", ["keyword", "semantic"])
def test_deleted_and_expired_never_appear_and_restored_ones_do(wstore: Any, clock: ManualClock, mode: str) -> None:
    wstore.memory.put("a", "gone", "alpha bravo charlie")
    wstore.memory.put("a", "brief", "alpha bravo delta", ttl=60)
    wstore.memory.put("a", "stays", "alpha echo foxtrot")
    assert set(keys(wstore.search("alpha bravo", mode=mode))) == {"gone", "brief", "stays"}
    wstore.memory.delete("a", "gone")
    clock.advance(timedelta(seconds=61))
    assert keys(wstore.search("alpha bravo", mode=mode)) == ["stays"]
    wstore.memory.restore("a", "gone")
    assert set(keys(wstore.search("alpha bravo", mode=mode))) == {"gone", "stays"}


@pytest.mark.parametrize("mode", ["keyword", "semantic"])
def test_an_update_replaces_what_is_found(wstore: Any, mode: str) -> None:
    wstore.memory.put("a", "k", "zulu yankee")
    wstore.memory.put("a", "k", "whiskey victor")
    assert keys(wstore.search("whiskey victor", mode=mode, k=1)) == ["k"]
    assert keys(wstore.search("zulu yankee", mode="keyword")) == []
    assert wstore.search("whiskey victor", mode="semantic", k=1)[0].score > 0.99  # (the new text's vector)


def test_the_same_text_again_embeds_nothing(wstore: Any) -> None:
    wstore.memory.put("a", "k", "kilo lima")
    wstore.index()
    before = len(wstore.embedder.embedded)
    wstore.memory.put("a", "k", "kilo lima", metadata={"new": True})
    wstore.index()
    assert len(wstore.embedder.embedded) == before
    wstore.memory.put("a", "k", "kilo mike")
    wstore.index()
    assert wstore.embedder.embedded[before:] == ["kilo mike"]


@pytest.mark.parametrize("mode", ["keyword", "semantic"])
def test_a_purge_takes_entries_out_of_the_index(wstore: Any, mode: str) -> None:
    wstore.memory.put("a", "k", "november oscar")
    wstore.memory.delete("a", "k")
    assert wstore.memory.purge("a", deleted=True) == 1
    assert keys(wstore.search("november oscar", mode=mode)) == []
    assert wstore.engine.search.counts()["items"] == 0
    wstore.memory.put("a", "k", "november papa")
    assert keys(wstore.search("november", mode=mode)) == ["k"]


@pytest.mark.parametrize("mode", ["keyword", "semantic"])
def test_a_rolled_back_batch_leaves_nothing_in_the_index(wstore: Any, mode: str) -> None:
    wstore.memory.put("a", "taken", "quebec")
    with pytest.raises(Conflict):
        wstore.memory.put_many(
            [
                {"namespace": "a", "key": "new", "value": "romeo sierra"},
                {"namespace": "a", "key": "taken", "value": "tango", "expected_version": 0},
            ]
        )
    assert "new" not in keys(wstore.search("romeo sierra", mode=mode))
    assert wstore.memory.list("a").items[0].key == "taken"


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_filters_apply_before_ranking(wstore: Any, mode: str) -> None:
    """Many better matches elsewhere never leave a filtered search short of k hits."""
    for i in range(40):
        wstore.memory.put("project:loud", f"k{i}", "uniform victor whiskey xray uniform victor")
    for i in range(5):
        wstore.memory.put(
            "project:quiet:notes", f"q{i}", f"uniform note {i}", type="episodic", metadata={"team": "red" if i % 2 else "blue"}
        )  # fmt: skip
    hits = wstore.search("uniform victor whiskey", prefix="project:quiet", k=5, mode=mode)
    assert sorted(keys(hits)) == [f"q{i}" for i in range(5)]
    assert sorted(keys(wstore.search("uniform victor", types="episodic", k=5, mode=mode))) == [f"q{i}" for i in range(5)]
    red = wstore.search("uniform victor", filters={"team": "red"}, k=5, mode=mode)
    assert sorted(keys(red)) == ["q1", "q3"]
    assert sorted(keys(wstore.memory.search("uniform", prefix="project:quiet:notes", k=3, mode=mode))) != []
    assert len(wstore.memory.search("uniform", prefix="project:quiet", k=3, mode=mode)) == 3


def test_prefix_is_segment_exact(wstore: Any) -> None:
    wstore.memory.put("project:acme", "a", "yankee")
    wstore.memory.put("project:acme2", "b", "yankee")
    assert keys(wstore.search("yankee", prefix="project:acme", mode="keyword")) == ["a"]


def test_bad_arguments_are_refused(wstore: Any) -> None:
    for kwargs in ({"mode": "fuzzy"}, {"k": 0}, {"k": 10_001}, {"prefix": "bad prefix!"}, {"filters": [1]}):
        with pytest.raises(InvalidInput):
            wstore.search("x", **kwargs)
    with pytest.raises(InvalidInput):
        wstore.search("   ")


def test_a_query_of_symbols_only_finds_nothing_by_keyword(wstore: Any) -> None:
    wstore.memory.put("a", "k", "zulu")
    assert wstore.search('"*^ NEAR( :', mode="keyword") == []


def test_without_an_embedder_keyword_search_works_and_semantic_says_how_to_enable_it(store_url: str) -> None:
    with swarmstore.open(store_url, embedder=None) as st:
        st.memory.put("a", "k", "alpha")
        assert [h.memory.key for h in st.search("alpha", mode="keyword")] == ["k"]
        for mode in ("semantic", "hybrid"):
            with pytest.raises(EmbedderUnavailable, match=r"swarmstore\[embed\]"):
                st.search("alpha", mode=mode)


def test_another_embedder_is_refused_until_reindex(store_url: str) -> None:
    with swarmstore.open(store_url, embedder=WordsEmbedder(64)) as st:
        st.memory.put("a", "k", "alpha bravo")
        st.index()
    other = WordsEmbedder(32, name="test-words-32")
    with pytest.raises(EmbedderMismatch, match="swarmstore reindex"):
        swarmstore.open(store_url, embedder=other)
    assert swarmstore.reindex(store_url, embedder=other) == 1
    assert other.embedded == ["alpha bravo"]
    with swarmstore.open(store_url, embedder=other) as st:
        assert [h.memory.key for h in st.search("alpha", mode="semantic")] == ["k"]


def test_meaning_finds_a_paraphrase_with_no_word_in_common(store: Any) -> None:
    """The shipped model (the default embedder), offline."""
    store.memory.put("project:acme:decisions", "retries", "When the payment API fails we back off exponentially.")
    store.memory.put("project:acme:config", "bind", "TELEMETRY_BIND sets the address the exporter listens on.")
    store.memory.put("project:acme:people", "lunch", "The team eats lunch at noon on Fridays.")
    assert keys(store.search("what did we decide about retrying failed requests?", k=1)) == ["retries"]
    assert keys(store.search("TELEMETRY_BIND", k=1)) == ["bind"]


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_many_closer_deleted_entries_never_leave_a_search_short(wstore: Any, mode: str) -> None:
    """More deleted entries nearer the query than one round of candidates holds: the search takes
    more candidates until k live ones are found."""
    wstore.memory.put_many([{"namespace": "a", "key": f"d{i:03}", "value": "sierra tango uniform"} for i in range(150)])
    for i in range(150):
        wstore.memory.delete("a", f"d{i:03}")
    for i in range(3):
        wstore.memory.put("a", f"live{i}", f"sierra word{i}")
    assert sorted(keys(wstore.search("sierra tango uniform", mode=mode, k=3))) == ["live0", "live1", "live2"]
