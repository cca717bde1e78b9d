"""Timing helpers and the result table of the benchmark."""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Result:
    name: str
    unit: str  # "op" or "entry"
    n: int
    p50_us: float
    p99_us: float
    ops_per_s: float
    baseline: Result | None = None
    target: str = ""
    ok: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    read: bool = False  # compared by latency (p50, p99), not by throughput

    def ratio(self) -> float | None:
        """How many times slower than the raw binding: p50 latency for reads, throughput for writes.

        (A read's throughput ratio flatters it: the mean hides the slow half, e.g. 2.05x by ops/s
        where p50 said 2.63x.)"""
        b = self.baseline
        if b is None:
            return None
        if self.read:
            return self.p50_us / b.p50_us if b.p50_us else None
        return b.ops_per_s / self.ops_per_s if b.ops_per_s and self.ops_per_s else None

    def ratio_p99(self) -> float | None:
        """A read's p99 latency over the raw one (None for writes)."""
        b = self.baseline
        return self.p99_us / b.p99_us if self.read and b is not None and b.p99_us else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["baseline"] = None if self.baseline is None else asdict(self.baseline)
        d["ratio_to_raw"] = self.ratio()
        d["ratio_basis"] = None if self.baseline is None else ("p50" if self.read else "ops/s")
        d["ratio_p99"] = self.ratio_p99()
        return d


def measure(name: str, fn: Callable[[int], Any], n: int, warmup: int = 0, per: int = 1) -> Result:
    """Call ``fn(i)`` n times; each call does ``per`` units of work (for batches).

    The benchmark's own data (100k keys and the like) is frozen out of the garbage collector
    first, so collections scanning it do not land on whichever side happens to be measured.
    """
    gc.collect()
    gc.freeze()
    for i in range(warmup):
        fn(i)
    samples = []
    clock = time.perf_counter_ns
    start = clock()
    for i in range(n):
        t = clock()
        fn(i)
        samples.append(clock() - t)
    total = clock() - start
    return _result(name, samples, total, n * per, per > 1)


def _result(name: str, samples: list[int], total_ns: int, units: int, batches: bool) -> Result:
    """p50 and p99 of the samples (ns per call), and units of work per second over ``total_ns``."""
    xs = sorted(samples)
    p50 = xs[len(xs) // 2] / 1000
    p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))] / 1000
    return Result(name, "entry" if batches else "op", units, p50, p99, units / (total_ns / 1e9))


def measure_pair(
    name: str,
    ours: Callable[[int], Any],
    raw: Callable[[int], Any],
    n: int,
    warmup: int = 0,
    per: int = 1,
    rounds: int = 5,
    engine: Any = None,
) -> tuple[Result, Result]:
    """Measure swarmstore's call and its raw-SQL twin in alternating rounds (ours, raw, ours, ...),
    each over the same indices, so that the host's changing speed falls on both alike (measured
    one after the other, a ratio could swing by 2x with the hour). ``engine``: note the WAL pages
    swarmstore's writes appended, per unit of work."""
    gc.collect()
    gc.freeze()
    for i in range(warmup):
        ours(i)
        raw(i)
    clock = time.perf_counter_ns
    samples: tuple[list[int], list[int]] = ([], [])
    totals = [0, 0]
    written = getattr(engine, "pages_written", None)
    pages = 0
    bounds = [n * k // rounds for k in range(rounds + 1)]
    for lo, hi in itertools.pairwise(bounds):
        for side, fn in enumerate((ours, raw)):
            before = written() if side == 0 and written is not None else 0
            out = samples[side]
            start = clock()
            for i in range(lo, hi):
                t = clock()
                fn(i)
                out.append(clock() - t)
            totals[side] += clock() - start
            if side == 0 and written is not None:
                pages += written() - before
    ours_r = _result(name, samples[0], totals[0], n * per, per > 1)
    if written is not None:
        ours_r.extra["pages_per_op"] = pages / max(1, n * per)
    return ours_r, _result("raw", samples[1], totals[1], n * per, per > 1)


def fmt_table(results: list[Result]) -> str:
    head = (
        f"{'operation':<34} {'n':>7} {'p50 µs':>9} {'p99 µs':>9} {'ops/s':>10} | {'raw p50':>8} {'raw p99':>8}"
        f" {'raw ops/s':>10} {'ratio':>9} {'p99 r.':>6} {'pages':>6}  target"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        b = r.baseline
        raw = f"{b.p50_us:>8.1f} {b.p99_us:>8.1f} {b.ops_per_s:>10,.0f}" if b else f"{'':>8} {'':>8} {'':>10}"
        ratio, r99 = r.ratio(), r.ratio_p99()
        shown = "" if ratio is None else f"{ratio:.2f}x {'p50' if r.read else 'ops'}"
        mark = "" if r.ok is None else ("ok " if r.ok else "MISS ")
        pages = r.extra.get("pages_per_op")
        lines.append(
            f"{r.name:<34} {r.n:>7} {r.p50_us:>9.1f} {r.p99_us:>9.1f} {r.ops_per_s:>10,.0f} | {raw} "
            f"{shown:>9} {'' if r99 is None else f'{r99:.2f}x':>6} {'' if pages is None else f'{pages:.2f}':>6}"
            f"  {mark}{r.target}"
        )
    return "\n".join(lines)
