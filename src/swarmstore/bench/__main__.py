"""Run the benchmark: ``python -m swarmstore.bench [--quick] [--scale S] [--json FILE]``."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
import tempfile
import time
from typing import Any

import apsw

import swarmstore

from . import access, aio, foundation, frameworks, storm, tasks
from .harness import Result, fmt_table


def _tag(results: list[Result], part: str) -> list[Result]:
    for r in results:
        r.extra["part"] = part  # (which table of the output it belongs to, for the JSON)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m swarmstore.bench", description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0, help="data size multiplier (1.0 = 100k memories, 10k sessions)")
    ap.add_argument("--quick", action="store_true", help="small data and few samples (a smoke run)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--dir", help="where to put the database file (default: a temp dir)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--only",
        choices=("foundation", "aio", "access", "tasks", "search", "storm", "mcp", "frameworks"),
        help="run one part (aio runs on the foundation's rows; search needs the embed extra; mcp the mcp extra)",
    )
    ap.add_argument("--storm-seconds", type=float, default=60.0, help="length of the SIGKILL storm (--only storm)")
    ap.add_argument(
        "--url", help="a postgresql:// server URL: run the PostgreSQL table there (in a database of its own)"
    )
    args = ap.parse_args(argv)
    if args.url:
        return _postgres(args.url, args.quick, args.seed, args.json)
    if args.only == "storm":  # (worker processes killed at random; not part of the full run)
        return storm.main(args.storm_seconds, args.dir, args.seed)
    if args.only == "mcp":  # (its own store and server processes)
        return _mcp_only(args.quick, args.dir, args.json)
    if args.only == "search":  # (its own stores: none of the foundation's data)
        return _search_only(args.quick, args.seed, args.dir, args.json)
    scale = 0.05 if args.quick else args.scale
    n = 2_000 if args.quick else 20_000
    rnd = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="swarmstore-bench-", dir=args.dir)
    path = os.path.join(workdir, "bench.db")
    try:
        t0 = time.perf_counter()
        store = swarmstore.open(path)
        data = foundation.build(store, scale, rnd)
        built = time.perf_counter() - t0
        print(
            f"swarmstore {swarmstore.__version__} | SQLite {apsw.sqlite_lib_version()} (apsw) | "
            f"Python {platform.python_version()} | {os.cpu_count()} CPUs"
        )
        print(
            f"data: {len(data['keys']):,} memories, {len(data['sessions']):,} sessions, built in {built:.1f}s; file {path}"
        )
        print(
            "ratio = swarmstore / raw SQL through apsw on the same file, measured in alternating rounds "
            "(1.00x = as fast): p50 latency for reads (p99 r.: p99 latency), raw ops/s / ours for writes\n"
        )
        results = []
        if args.only in (None, "foundation", "aio"):
            results = _tag(foundation.run(store, path, data, n, rnd), "foundation")
            print(fmt_table(results))
        if args.only in (None, "access"):
            print("\nscoped views (store.scoped) beside the store's own calls and hand-written SQL, same file\n")
            access_results = _tag(access.run(store, path, data, n, rnd), "access")
            print(fmt_table(access_results))
            results += access_results
        if args.only in (None, "aio"):
            print("\nasync API (AsyncStore) against the sync API and aiosqlite, same file\n")
            if aio.aiosqlite is None:
                print("(aiosqlite is not installed: its column stays empty; pip install -e '.[bench]')\n")
            aio_results = _tag(aio.run(path, store, data, n, rnd), "aio")
            print(aio.fmt_table(aio_results))
            results += aio_results
        store.close()
        if args.only in (None, "tasks"):
            print("\ntask queue (its own file)\n")
            task_results = _tag(tasks.run(workdir, args.quick), "tasks")
            print(fmt_table(task_results))
            results += task_results
        quality = None
        if args.only is None:
            quality, search_results = _search(workdir, args.quick, args.seed)
            results += search_results
        if args.only is None and importlib.util.find_spec("mcp") is not None:
            from . import mcp

            results += _tag(mcp.main(args.quick, workdir), "mcp")
        if args.only in (None, "frameworks"):
            print("\nframework adapters beside each framework's own SQLite backend, same operations, same run\n")
            framework_results = _tag(frameworks.run(args.quick, workdir), "frameworks")
            print(fmt_table(framework_results))
            results += framework_results
        if args.json:
            with open(args.json, "w") as f:
                env = {
                    "swarmstore": swarmstore.__version__,
                    "sqlite": apsw.sqlite_lib_version(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "quick": args.quick,
                    "memories": len(data["keys"]),
                    "sessions": len(data["sessions"]),
                }
                body = {"scale": scale, "n": n, "env": env, "results": [r.as_dict() for r in results]}
                if quality is not None:
                    body["search_quality"] = quality
                json.dump(body, f, indent=2)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _search(workdir: str, quick: bool, seed: int) -> tuple[dict[str, Any], list[Result]]:
    from . import search  # (numpy and the model: the embed extra)

    print("\nsearch quality: the labelled set as memories, k=10 (hybrid against the better single retriever: "
          "paired sign test)\n")  # fmt: skip
    quality = search.quality(workdir)
    print(search.fmt_quality(quality))
    print("\nsearch speed (SQLite; raw: the baseline named in the row, alternating rounds)\n")
    results = _tag(search.speed(workdir, quick, seed), "search")
    print(fmt_table(results))
    return quality, results


def _search_only(quick: bool, seed: int, where: str | None, json_file: str | None) -> int:
    workdir = tempfile.mkdtemp(prefix="swarmstore-bench-", dir=where)
    try:
        print(f"swarmstore {swarmstore.__version__} | SQLite {apsw.sqlite_lib_version()} (apsw) | "
              f"Python {platform.python_version()} | {os.cpu_count()} CPUs")  # fmt: skip
        quality, results = _search(workdir, quick, seed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if json_file:
        with open(json_file, "w") as f:
            env = {"swarmstore": swarmstore.__version__, "sqlite": apsw.sqlite_lib_version(),
                   "python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": quick}  # fmt: skip
            body = {"env": env, "results": [r.as_dict() for r in results], "search_quality": quality}
            json.dump(body, f, indent=2)
    return 0


def _mcp_only(quick: bool, where: str | None, json_file: str | None) -> int:
    from . import mcp  # (the mcp extra)

    print(f"swarmstore {swarmstore.__version__} | Python {platform.python_version()} | {os.cpu_count()} CPUs")
    results = _tag(mcp.main(quick, where), "mcp")
    if json_file:
        with open(json_file, "w") as f:
            env = {"swarmstore": swarmstore.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
                   "platform": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "quick": quick}  # fmt: skip
            json.dump({"env": env, "results": [r.as_dict() for r in results]}, f, indent=2)
    return 0


def _postgres(url: str, quick: bool, seed: int, json_file: str | None) -> int:
    from . import postgres  # (psycopg: the postgres extra)

    print(f"swarmstore {swarmstore.__version__} | PostgreSQL at {url} | Python {platform.python_version()} | "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print("ratio = swarmstore / plain psycopg doing the same work, alternating rounds (1.00x = as fast)\n")
    results = _tag(postgres.run(url, quick, seed), "postgres")
    print(fmt_table(results))
    if json_file:
        with open(json_file, "w") as f:
            json.dump({"url": url, "quick": quick, "results": [r.as_dict() for r in results]}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
