"""Timing helpers and the result table of the benchmark."""

from __future__ import annotations

import gc
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

    def ratio(self) -> float | None:
        """How many times slower than the raw binding (latency for reads, throughput for writes)."""
        if self.baseline is None:
            return None
        if self.baseline.ops_per_s and self.ops_per_s:
            return self.baseline.ops_per_s / self.ops_per_s
        return None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["baseline"] = None if self.baseline is None else asdict(self.baseline)
        d["ratio_to_raw"] = self.ratio()
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
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1000
    return Result(name, "entry" if per > 1 else "op", n * per, p50, p99, n * per / (total / 1e9))


def fmt_table(results: list[Result]) -> str:
    head = f"{'operation':<34} {'n':>7} {'p50 µs':>9} {'p99 µs':>9} {'ops/s':>10} | {'raw p50':>8} {'raw p99':>8} {'raw ops/s':>10} {'ratio':>6} {'pages':>6}  target"
    lines = [head, "-" * len(head)]
    for r in results:
        b = r.baseline
        raw = f"{b.p50_us:>8.1f} {b.p99_us:>8.1f} {b.ops_per_s:>10,.0f}" if b else f"{'':>8} {'':>8} {'':>10}"
        ratio = r.ratio()
        mark = "" if r.ok is None else ("ok " if r.ok else "MISS ")
        pages = r.extra.get("pages_per_op")
        lines.append(
            f"{r.name:<34} {r.n:>7} {r.p50_us:>9.1f} {r.p99_us:>9.1f} {r.ops_per_s:>10,.0f} | {raw} "
            f"{'' if ratio is None else f'{ratio:.2f}x':>6} {'' if pages is None else f'{pages:.2f}':>6}  {mark}{r.target}"
        )
    return "\n".join(lines)


def pages_per_op(engine: Any, fn: Callable[[], Result]) -> Result:
    """Run a measurement and note the WAL pages its writes appended, per unit of work."""
    written = getattr(engine, "pages_written", None)
    before = None if written is None else written()
    r = fn()
    if written is not None:
        r.extra["pages_per_op"] = (written() - before) / max(1, r.n)
    return r
