"""Scoring maths of the search quality benchmark (swarmstore.bench.search_quality), on hand-computed examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmstore.bench.search_quality import (
    MODES,
    Query,
    compare,
    first_relevant_rank,
    load_eval,
    proportion_interval,
    score,
    sign_test,
)


def q(qid: str, *relevant: str, mode: str = "paraphrase") -> Query:
    return Query(qid, mode, f"text of {qid}", tuple(relevant))  # type: ignore[arg-type]


def test_hand_computed_recall_and_mrr() -> None:
    queries = [q("q1", "a"), q("q2", "b"), q("q3", "c"), q("q4", "d")]
    results = {
        "q1": ["a", "x", "y"],  # rank 1
        "q2": ["x", "y", "b"],  # rank 3
        "q3": ["x", "y", "z", "w", "v", "c"],  # rank 6: out of recall@5, in MRR
        "q4": ["x"] * 10 + ["d"],  # rank 11: beyond the MRR depth of 10
    }
    s = score(results, queries)
    k = s.by_mode["paraphrase"]
    assert k.n == 4
    assert k.recall_at_1 == pytest.approx(1 / 4)
    assert k.recall_at_5 == pytest.approx(2 / 4)
    assert k.mrr == pytest.approx((1 + 1 / 3 + 1 / 6 + 0) / 4)
    assert s.ranks == {"q1": 1, "q2": 3, "q3": 6, "q4": None}
    assert "keyword" not in s.by_mode


def test_rank_five_counts_for_recall_at_5_and_ten_for_mrr() -> None:
    s = score({"q1": ["x", "y", "z", "w", "a"]}, [q("q1", "a")])
    assert s.by_mode["paraphrase"].recall_at_5 == 1.0
    assert s.by_mode["paraphrase"].mrr == pytest.approx(0.2)
    assert first_relevant_rank(["x"] * 9 + ["a"], ["a"]) == 10
    assert first_relevant_rank(["x"] * 10 + ["a"], ["a"]) is None


def test_either_relevant_passage_answers_the_query() -> None:
    s = score({"q1": ["x", "y", "z", "b", "a"]}, [q("q1", "a", "b")])
    assert s.ranks["q1"] == 4
    assert s.by_mode["paraphrase"].recall_at_5 == 1.0
    assert s.by_mode["paraphrase"].mrr == pytest.approx(0.25)


def test_kinds_are_scored_apart() -> None:
    queries = [q("p1", "a"), q("k1", "b", mode="keyword"), q("k2", "c", mode="keyword")]
    s = score({"p1": ["x", "a"], "k1": ["b"], "k2": []}, queries)
    assert s.by_mode["paraphrase"].mrr == pytest.approx(0.5)
    assert s.by_mode["paraphrase"].recall_at_1 == 0.0
    assert s.by_mode["keyword"].n == 2
    assert s.by_mode["keyword"].recall_at_1 == pytest.approx(0.5)
    assert s.by_mode["keyword"].mrr == pytest.approx(0.5)


def test_a_query_without_results_is_refused() -> None:
    with pytest.raises(ValueError, match="q2"):
        score({"q1": ["a"]}, [q("q1", "a"), q("q2", "b")])


def test_sign_test_exact_values() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(3, 3) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32)
    assert sign_test(0, 5) == pytest.approx(2 / 32)
    assert sign_test(10, 1) == pytest.approx(2 * (1 + 11) / 2048)
    assert sign_test(6, 4) == pytest.approx(2 * (1 + 10 + 45 + 120 + 210) / 1024)
    with pytest.raises(ValueError):
        sign_test(-1, 2)


def test_paired_comparison_counts_wins_losses_ties() -> None:
    queries = [q("q1", "a"), q("q2", "a"), q("q3", "a"), q("q4", "a", mode="keyword"), q("q5", "a")]
    a = score({"q1": ["a"], "q2": ["x", "a"], "q3": [], "q4": ["a"], "q5": ["x"] * 9 + ["a"]}, queries)
    b = score({"q1": ["x", "a"], "q2": ["a"], "q3": ["z"], "q4": ["x", "a"], "q5": ["x"] * 10 + ["a"]}, queries)
    c = compare(a, b, "paraphrase")
    assert (c.wins, c.losses, c.ties) == (2, 1, 1)  # q3: both miss, a tie; q5: rank 10 beats a miss
    assert c.p_value == 1.0
    assert not c.worse_beyond_noise
    both = compare(a, b)
    assert (both.wins, both.losses, both.ties) == (3, 1, 1)


def test_worse_beyond_noise_needs_a_significant_loss() -> None:
    queries = [q(f"q{i}", "a") for i in range(12)]
    good = score({f"q{i}": ["a"] for i in range(12)}, queries)
    bad = score({f"q{i}": ["x", "a"] if i < 11 else ["a"] for i in range(12)}, queries)
    c = compare(bad, good)
    assert (c.wins, c.losses, c.ties) == (0, 11, 1)
    assert c.worse_beyond_noise
    assert not compare(good, bad).worse_beyond_noise
    few = score({f"q{i}": ["x", "a"] if i < 3 else ["a"] for i in range(12)}, queries)
    assert not compare(few, good).worse_beyond_noise  # 0 wins, 3 losses: p = 0.25


def test_wilson_interval() -> None:
    lo, hi = proportion_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3)
    assert hi == pytest.approx(0.9433, abs=1e-3)
    assert proportion_interval(0, 20)[0] == 0.0
    assert proportion_interval(20, 20)[1] == 1.0
    wide, narrow = proportion_interval(50, 100, 0.99), proportion_interval(50, 100, 0.9)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    for bad in ((1, 0), (3, 2), (-1, 5)):
        with pytest.raises(ValueError):
            proportion_interval(*bad)
    with pytest.raises(ValueError):
        proportion_interval(1, 2, 1.0)


IDS = st.sampled_from([f"p{i}" for i in range(15)])
RANKING = st.lists(IDS, max_size=14, unique=True)


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[Query], dict[str, list[str]]]:
    n = draw(st.integers(1, 8))
    queries = [
        q(f"q{i}", *draw(st.lists(IDS, min_size=1, max_size=2, unique=True)), mode=draw(st.sampled_from(MODES)))
        for i in range(n)
    ]
    return queries, {x.id: draw(RANKING) for x in queries}


@given(runs())
def test_metrics_are_bounded_and_ordered(run: tuple[list[Query], dict[str, list[str]]]) -> None:
    queries, results = run
    for k in score(results, queries).by_mode.values():
        for v in (k.recall_at_1, k.recall_at_5, k.mrr):
            assert 0.0 <= v <= 1.0
        assert k.recall_at_1 <= k.mrr + 1e-12
        assert k.recall_at_1 <= k.recall_at_5
        # MRR is at most 1 for the found-in-top-5 share and 1/6 for the rest
        assert k.mrr <= k.recall_at_5 + (1 - k.recall_at_5) / 6 + 1e-12


@given(runs(), st.data())
def test_lifting_a_relevant_passage_never_lowers_a_score(
    run: tuple[list[Query], dict[str, list[str]]], data: st.DataObject
) -> None:
    queries, results = run
    target = data.draw(st.sampled_from(queries))
    ranked = results[target.id]
    hits = [i for i, pid in enumerate(ranked) if pid in target.relevant and i > 0]
    if not hits:
        return
    i = data.draw(st.sampled_from(hits))
    lifted = [*ranked]
    lifted[i - 1], lifted[i] = lifted[i], lifted[i - 1]
    before = score(results, queries)
    after = score({**results, target.id: lifted}, queries)
    b, a = before.by_mode[target.mode], after.by_mode[target.mode]
    assert a.recall_at_1 >= b.recall_at_1
    assert a.recall_at_5 >= b.recall_at_5
    assert a.mrr >= b.mrr
    assert compare(after, before).losses == 0


def test_the_shipped_set_loads() -> None:
    ev = load_eval()
    ids = {p.id for p in ev.passages}
    assert len(ev.passages) >= 250
    assert {m: len(ev.of_mode(m)) >= 90 for m in MODES} == {"paraphrase": True, "keyword": True}
    assert all(set(x.relevant) <= ids for x in ev.queries)
    perfect = score({x.id: list(x.relevant) for x in ev.queries}, ev.queries)
    assert all(k.mrr == 1.0 for k in perfect.by_mode.values())
