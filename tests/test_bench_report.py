"""docs/benchmarks.md's generator turns a run's JSON into markdown with every result in it (no timing here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from swarmstore.bench.harness import Result
from swarmstore.bench.report import render


def _run() -> dict[str, object]:
    def res(name: str, part: str, p50: float, ops: float, base: Result | None = None, read: bool = False) -> Result:
        r = Result(name, "op", 100, p50, p50 * 2, ops, base, "p50 <=2x raw", True, {"part": part}, read)
        return r

    rows = [
        res("memory listing (100 rows)", "foundation", 150.0, 5_000, res("raw", "", 100.0, 9_000), read=True),
        res("memory write (new key)", "foundation", 20.0, 30_000, res("raw", "", 15.0, 33_000)),
        res("raw commit of 1 page (floor)", "foundation", 5.0, 100_000),
        res("memory get", "aio", 6.0, 150_000, res("sync", "", 5.0, 160_000)),
        res("claim+complete, 2 processes, Worker", "tasks", 0.0, 20_000),
        res("storm: 200 kills", "storm", 0.0, 1.0),  # a part the generator has no title for
    ]
    rows[0].ok = False
    rows[3].extra["aiosqlite"] = res("aiosqlite", "", 50.0, 10_000).as_dict()
    return {
        "scale": 1.0,
        "n": 100,
        "env": {"date": "2026-01-01 00:00 UTC", "cpus": 2},
        "results": [r.as_dict() for r in rows],
    }


def test_every_result_is_a_table_row() -> None:
    data = _run()
    md = render(data)
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    for r in data["results"]:  # type: ignore[attr-defined]
        assert any(line.startswith(f"| {r['name']} |") for line in rows), r["name"]
    listing = next(line for line in rows if line.startswith("| memory listing"))
    assert "| 1.50x p50 | 1.50x |" in listing, "a read's ratios are its p50 and p99 over raw's"
    assert "p50 <=2x raw: **missed**" in listing
    write = next(line for line in rows if line.startswith("| memory write"))
    assert "| 1.10x ops/s | — |" in write, "a write's ratio is raw ops/s over ours"
    aio = next(line for line in rows if line.startswith("| memory get"))
    assert "| 0.94x |" in aio and "| 15.0x |" in aio, "async rows: vs sync, vs aiosqlite"
    assert "- memory listing (100 rows): 1.50x raw at p50, 1.50x at p99" in md
    assert "## Storm" in md and "## The async API" in md and "## Method" in md


def test_command_line(tmp_path: Path) -> None:
    src = tmp_path / "bench.json"
    src.write_text(json.dumps(_run()))
    out = subprocess.run(
        [sys.executable, "-m", "swarmstore.bench.report", str(src)], capture_output=True, text=True, check=True
    ).stdout
    assert out == render(_run())
    bad = subprocess.run([sys.executable, "-m", "swarmstore.bench.report"], capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_search_section() -> None:
    data = _run()
    row = Result("vector search", "op", 50, 4000.0, 6000.0, 250.0, None, "p50 <=20 ms", True, {"part": "search"}, True)
    row.baseline = Result("raw", "op", 50, 2000.0, 3000.0, 500.0)
    data["results"].append(row.as_dict())  # type: ignore[attr-defined]
    kinds = {"n": 10, "r1": 0.5, "r5": 0.8, "mrr": 0.6, "r5_lo": 0.49, "r5_hi": 0.94}
    data["search_quality"] = {
        "passages": 30,
        "queries": 20,
        "modes": {m: {"paraphrase": kinds, "keyword": kinds} for m in ("keyword", "semantic", "hybrid")},
        "hybrid_vs": {
            "paraphrase": {
                "against": "semantic",
                "wins": 0,
                "losses": 6,
                "ties": 4,
                "p": 0.03,
                "worse_beyond_noise": True,
                "target_r5": 0.75,
                "r5_met": True,
            },
            "keyword": {
                "against": "keyword",
                "wins": 1,
                "losses": 1,
                "ties": 8,
                "p": 1.0,
                "worse_beyond_noise": False,
                "target_r5": 0.95,
                "r5_met": False,
            },
        },
    }
    md = render(data)
    section = md[md.index("## Search") :]
    assert "| hybrid | paraphrase | 10 | 0.500 | 0.800 | 0.49–0.94 | 0.600 |" in section
    assert "on paraphrase queries: 0 better, 6 worse, 4 tied (sign test p = 0.03): **worse beyond noise**" in section
    assert "target ≥ 0.95: **missed**" in section
    assert "| vector search | 50 | 4,000.0 |" in section and "| 2.00x p50 | 2.00x |" in section
    assert "- vector search" not in md, "search rows have other baselines than raw SQL: not in the SQL headline"
