"""The hybrid ranking's rules on hand-made candidates (no store, no model)."""

from __future__ import annotations

from swarmstore.engine.ops.search import Candidate
from swarmstore.search.fusion import fuse, key_of
from swarmstore.search.query import keyword_query


def _terms(query: str) -> tuple[str, ...]:
    kq = keyword_query(query)
    assert kq is not None
    return kq.terms


def _c(ref: str, score: float) -> Candidate:
    return Candidate(hash(ref) & 0xFFFF, "memory", "ns", ref, 0, score)


SEMANTIC = [_c("near1", 0.62), _c("near2", 0.60), _c("near3", 0.58), _c("near4", 0.40)]


def _order(ranked: list[tuple[tuple[str, str, str, int], float, tuple[str, ...]]]) -> list[str]:
    return [key[2] for key, _, _ in ranked]


def test_an_exact_identifier_hit_outranks_the_semantic_neighbours() -> None:
    # The model places the identifier nowhere near its passage ("exact" is not among the semantic
    # candidates); BM25 finds it and its text holds every query term.
    keyword = [_c("exact", 9.0), _c("near3", 2.0)]
    texts = {key_of(c): "set MAX_RETRY_BUDGET to 8" for c in keyword[:1]}
    texts[key_of(keyword[1])] = "retries back off"
    ranked = fuse(keyword, SEMANTIC, _terms("MAX_RETRY_BUDGET"), texts, "hybrid")
    assert _order(ranked)[0] == "exact"
    assert dict((k[2], r) for k, _, r in ranked)["near3"] == ("semantic", "keyword")


def test_noisy_keyword_hits_do_not_displace_the_semantic_order() -> None:
    # A paraphrase: the keyword hits share one term of four with the query (coverage 0.25).
    keyword = [_c("noise1", 12.0), _c("near4", 11.0), _c("noise2", 10.0)]
    texts = {key_of(c): "the deploy failed" for c in keyword}
    ranked = fuse(keyword, SEMANTIC, _terms("deploy outage over the weekend freeze"), texts, "hybrid")
    order = _order(ranked)
    assert order[:4] == ["near1", "near2", "near3", "near4"]
    assert set(order[4:]) == {"noise1", "noise2"}


def test_single_modes_pass_their_retriever_through() -> None:
    keyword = [_c("a", 3.0), _c("b", 2.0)]
    texts = {key_of(c): "a b" for c in keyword}
    assert fuse(keyword, SEMANTIC, ["a"], texts, "keyword") == [(key_of(c), c.score, ("keyword",)) for c in keyword]
    assert fuse(keyword, SEMANTIC, ["a"], texts, "semantic") == [(key_of(c), c.score, ("semantic",)) for c in SEMANTIC]
