"""Hybrid ranking: the semantic ranking, with strong keyword matches lifted above it.

Plain reciprocal-rank fusion lets BM25's noise win when nothing matches lexically: the best
keyword hits of a paraphrase share a stop word or two with the query and, also appearing somewhere
in the semantic list, outrank the right answer (measured: paraphrase recall@5 0.80 -> 0.27). So
the semantic score ranks, and a keyword hit adds to it only when it is strong: when its text holds
most of the query's content terms (``COVERAGE``). An exact identifier or rare term that the model
cannot place then still comes first, and paraphrases keep their semantic order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..engine.ops.search import Candidate
from .query import word_tokens

COVERAGE = 0.75  # share of the query's content terms a keyword hit must hold to be lifted
LIFT = 1.0  # what a strong keyword hit adds, times its BM25 score relative to the best one's

Key = tuple[str, str, str, int]


def key_of(c: Candidate) -> Key:
    return (c.kind, c.namespace, c.ref, c.seq)


def coverage(terms: Sequence[str], text: str) -> float:
    """The share of ``terms`` (folded query terms) that occur in ``text``, a term matching a word
    it starts (a crude stem: "retries" holds "retri", "deploy" matches "deployment")."""
    if not terms:
        return 0.0
    words = set(word_tokens(text))
    found = 0
    for term in terms:
        stem = term[: max(4, len(term) - 2)]
        if term in words or any(w.startswith(stem) for w in words):
            found += 1
    return found / len(terms)


def fuse(
    keyword: Sequence[Candidate], semantic: Sequence[Candidate], terms: Sequence[str], texts: Mapping[Key, str], mode: str
) -> list[tuple[Key, float, tuple[str, ...]]]:
    """Items ranked best first: (key, score, retrievers that found it)."""
    if mode == "keyword":
        return [(key_of(c), c.score, ("keyword",)) for c in keyword]
    if mode == "semantic":
        return [(key_of(c), c.score, ("semantic",)) for c in semantic]
    scores: dict[Key, float] = {}
    found: dict[Key, list[str]] = {}
    floor = min((c.score for c in semantic), default=0.0)
    for c in semantic:
        scores[key_of(c)] = c.score
        found[key_of(c)] = ["semantic"]
    best = max((c.score for c in keyword), default=0.0)
    for c in keyword:
        key = key_of(c)
        found.setdefault(key, []).append("keyword")
        base = scores.get(key, floor)  # (not among the semantic candidates: at most the last one's)
        lift = 0.0
        if best > 0 and coverage(terms, texts.get(key, "")) >= COVERAGE:
            lift = LIFT * c.score / best
        scores[key] = base + lift
    ranked = sorted(scores, key=lambda k: -scores[k])
    return [(k, scores[k], tuple(found[k])) for k in ranked]
