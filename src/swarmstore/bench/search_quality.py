"""Search quality: the labelled evaluation set, recall@1/recall@5/MRR per query kind, and noise-aware comparisons.

The set (``search_eval.jsonl``, shipped with the package) holds short passages of the kind a software-building swarm
stores and two kinds of queries: ``paraphrase`` (no content word in common with the relevant passage) and
``keyword`` (an identifier or distinctive term from it). Each relevant passage answers its query on its own, so a
query counts as found at rank r when the first relevant passage is at r.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from statistics import NormalDist
from typing import Literal

Mode = Literal["paraphrase", "keyword"]
MODES: tuple[Mode, ...] = ("paraphrase", "keyword")
DEPTH = 10  # MRR is computed over the top 10; a relevant passage further down counts as not found


@dataclass(frozen=True, slots=True)
class Passage:
    id: str
    namespace: str
    type: str
    text: str


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    mode: Mode
    text: str
    relevant: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EvalSet:
    passages: tuple[Passage, ...]
    queries: tuple[Query, ...]

    def of_mode(self, mode: Mode) -> tuple[Query, ...]:
        """The queries of one kind, in file order."""
        return tuple(q for q in self.queries if q.mode == mode)


@dataclass(frozen=True, slots=True)
class KindScores:
    n: int
    recall_at_1: float
    recall_at_5: float
    mrr: float


@dataclass(frozen=True, slots=True)
class Scores:
    """Aggregates per query kind, and each query's rank of its first relevant passage (1-based; None: not in top 10)."""

    by_mode: Mapping[str, KindScores]
    ranks: Mapping[str, int | None]
    modes: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Comparison:
    """A paired comparison of two systems on the same queries (a better rank is a win for A)."""

    wins: int
    losses: int
    ties: int
    p_value: float

    @property
    def worse_beyond_noise(self) -> bool:
        """A loses more queries than it wins and a two-sided sign test says it is not chance (p < 0.05)."""
        return self.losses > self.wins and self.p_value < 0.05


def load_eval() -> EvalSet:
    """The evaluation set shipped as package data (``swarmstore/bench/search_eval.jsonl``)."""
    raw = resources.files("swarmstore.bench").joinpath("search_eval.jsonl").read_text(encoding="utf-8")
    return parse_eval(raw.splitlines())


def parse_eval(lines: Iterable[str]) -> EvalSet:
    """Passages and queries from JSON lines (rows with ``"kind": "query"`` are queries)."""
    passages: list[Passage] = []
    queries: list[Query] = []
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("kind") == "query":
            mode = row["mode"]
            if mode not in MODES:
                raise ValueError(f"query {row['id']}: unknown mode {mode!r}")
            queries.append(Query(row["id"], mode, row["text"], tuple(row["relevant"])))
        else:
            passages.append(Passage(row["id"], row["namespace"], row["type"], row["text"]))
    return EvalSet(tuple(passages), tuple(queries))


def first_relevant_rank(ranked: Sequence[str], relevant: Iterable[str], depth: int = DEPTH) -> int | None:
    """The 1-based rank of the first relevant id among the first ``depth`` results, or None."""
    wanted = set(relevant)
    for i, pid in enumerate(ranked[:depth]):
        if pid in wanted:
            return i + 1
    return None


def score(results: Mapping[str, Sequence[str]], queries: Sequence[Query]) -> Scores:
    """Recall@1, recall@5 and MRR@10 per query kind; ``results`` maps each query id to ranked passage ids."""
    missing = [q.id for q in queries if q.id not in results]
    if missing:
        raise ValueError(f"no results for {len(missing)} queries, e.g. {missing[0]}")
    ranks = {q.id: first_relevant_rank(results[q.id], q.relevant) for q in queries}
    by_mode: dict[str, KindScores] = {}
    for mode in MODES:
        rs = [ranks[q.id] for q in queries if q.mode == mode]
        if rs:
            by_mode[mode] = _aggregate(rs)
    return Scores(by_mode, ranks, {q.id: q.mode for q in queries})


def _aggregate(ranks: Sequence[int | None]) -> KindScores:
    n = len(ranks)
    return KindScores(
        n=n,
        recall_at_1=sum(1 for r in ranks if r == 1) / n,
        recall_at_5=sum(1 for r in ranks if r is not None and r <= 5) / n,
        mrr=sum(1.0 / r for r in ranks if r is not None) / n,
    )


def compare(a: Scores, b: Scores, mode: str | None = None) -> Comparison:
    """Paired sign test of A against B over the queries both scored (of one kind when ``mode`` is given)."""
    wins = losses = ties = 0
    for qid, ra in a.ranks.items():
        if qid not in b.ranks or (mode is not None and a.modes[qid] != mode):
            continue
        ka, kb = _rank_key(ra), _rank_key(b.ranks[qid])
        if ka < kb:
            wins += 1
        elif ka > kb:
            losses += 1
        else:
            ties += 1
    return Comparison(wins, losses, ties, sign_test(wins, losses))


def _rank_key(rank: int | None) -> int:
    return DEPTH + 1 if rank is None else rank


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value of ``wins`` against ``losses`` (ties left out beforehand)."""
    if wins < 0 or losses < 0:
        raise ValueError("counts must be non-negative")
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1))
    return min(1.0, 2.0 * tail / 2.0**n)


def proportion_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion such as recall@5 over n queries."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError("need 0 <= successes <= n and n > 0")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: no rounding residue at 0 and n
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi
