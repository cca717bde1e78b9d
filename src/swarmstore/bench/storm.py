"""The SIGKILL storm: worker processes sharing one store (a SQLite file, or a PostgreSQL database
as from many hosts, each process with its own connections), killed at random moments and
restarted while they work a stream of task DAGs with short leases; then the queue's promises
are checked.

Used by tests/test_storm.py (a short storm) and ``python -m swarmstore.bench --only storm
[--storm-seconds S]`` (a long one, with its figures). A worker process is this module run as
``python -m swarmstore.bench.storm worker DB LOGDIR LEASE``: it logs each execution of a task
(prerequisites seen unfinished at its start included) to its own file in LOGDIR.

Checked at the end: every task final, and the one it should be (a doomed task failed, its
dependants cancelled, every other task completed); exactly one completion audit row per completed
task, none for the others; no task claimed before each of its prerequisites' completion row, nor
seen running with an unfinished prerequisite; ``PRAGMA integrity_check`` ok; no warning in the
workers' logs about a heartbeat of a task that its worker had just completed.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw

import swarmstore
from swarmstore import Task, TaskContext, Worker
from swarmstore.clock import from_dt

BATCH = 12  # tasks per submitted DAG
DOOMED = 0.03  # share of tasks whose handler always raises (max_attempts=2): failed, dependants cancelled
FLAKY = 0.05  # share that fail their first attempt only
ENOUGH = 1000  # attempts of the others: lease expiries alone never fail them


@dataclass
class StormReport:
    seconds: float
    workers: int
    lease_seconds: float
    kills: int = 0
    tasks: int = 0
    final: Counter[str] = field(default_factory=Counter)
    executions: int = 0
    double_completions: int = 0
    wrong_final: list[str] = field(default_factory=list)
    order_violations: list[str] = field(default_factory=list)
    heartbeat_warnings: int = 0  # of the benign race: a task completed under its own heartbeat
    integrity: str = ""
    rescue_to_claim_s: list[float] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every broken promise (empty when the storm found none)."""
        out = []
        if self.double_completions:
            out.append(f"{self.double_completions} task(s) completed more than once")
        if self.wrong_final:
            out.append(f"{len(self.wrong_final)} task(s) not in their expected final state: {self.wrong_final[:5]}")
        if self.order_violations:
            out.append(f"dependants before prerequisites: {self.order_violations[:5]}")
        if self.integrity != "ok":
            out.append(f"integrity_check: {self.integrity}")
        if self.heartbeat_warnings:
            out.append(f"{self.heartbeat_warnings} heartbeat warning(s) in the workers' logs")
        return out

    def latency(self, q: float) -> float | None:
        """A quantile of the time from a task's rescue to its next claim (s)."""
        xs = sorted(self.rescue_to_claim_s)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None

    def summary(self) -> str:
        def s(q: float) -> str:
            v = self.latency(q)
            return "-" if v is None else f"{v:.3f}"

        return (
            f"storm: {self.seconds:.0f} s, {self.workers} workers, {self.lease_seconds:g} s leases: "
            f"{self.kills} SIGKILLs, {self.tasks} tasks ({self.final['completed']} completed, "
            f"{self.final['failed']} failed, {self.final['cancelled']} cancelled as expected, {len(self.wrong_final)} not), "
            f"{self.executions} executions, double completions {self.double_completions}, "
            f"order violations {len(self.order_violations)}, heartbeat warnings {self.heartbeat_warnings}, "
            f"integrity {self.integrity}\n"
            f"rescue -> next claim ({len(self.rescue_to_claim_s)} rescues): "
            f"p50 {s(0.5)} s, p90 {s(0.9)} s, max {s(1.0)} s"
        )


def run_storm(
    workdir: str | Path,
    seconds: float = 10.0,
    workers: int = 3,
    lease_seconds: float = 1.0,
    seed: int = 1,
    backlog: int = 24,
    url: str | None = None,
) -> StormReport:
    """Run a storm in ``workdir`` (the workers' logs go there, and the SQLite file unless ``url``
    names an empty store elsewhere, e.g. on PostgreSQL) and check it. ``backlog``: the unstarted
    tasks kept waiting (a deep one makes a rescued task's rank matter)."""
    rnd = random.Random(seed)
    work = Path(workdir)
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    db = url or str(work / "storm.db")
    report = StormReport(seconds, workers, lease_seconds)
    plan: dict[str, tuple[bool, list[str]]] = {}  # task id -> (doomed, prerequisites)
    with swarmstore.open(db) as st:
        _submit(st, rnd, plan)
        procs = [_spawn(db, logs, lease_seconds) for _ in range(workers)]
        try:
            end = time.monotonic() + seconds
            next_kill = time.monotonic() + rnd.uniform(0.2, 1.0)
            while time.monotonic() < end:
                by_status = st.tasks.stats()["by_status"]
                while by_status["ready"] + by_status["blocked"] < backlog:
                    _submit(st, rnd, plan)  # (workers are busy when killed)
                    by_status["ready"] += BATCH
                if time.monotonic() >= next_kill:
                    i = rnd.randrange(workers)
                    procs[i].send_signal(signal.SIGKILL)
                    procs[i].wait()
                    report.kills += 1
                    procs[i] = _spawn(db, logs, lease_seconds)
                    next_kill = time.monotonic() + rnd.uniform(0.2, 1.0)
                time.sleep(0.05)
            drain = time.monotonic() + max(60.0, 20 * lease_seconds)
            while st.tasks.has_open_work() and time.monotonic() < drain:
                time.sleep(0.1)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    _check(db, logs, plan, report)
    return report


def _submit(st: swarmstore.Store, rnd: random.Random, plan: dict[str, tuple[bool, list[str]]]) -> None:
    """One DAG: each task waits on up to two earlier ones of the batch (sometimes on a task of
    an earlier batch)."""
    earlier = list(plan)[-50:]
    items: list[dict[str, Any]] = []
    for i in range(BATCH):
        deps = [f"r{j}" for j in rnd.sample(range(i), min(i, rnd.choice((0, 1, 1, 2))))]
        if earlier and rnd.random() < 0.1:
            deps.append(rnd.choice(earlier))
        doomed = rnd.random() < DOOMED
        payload = {"ms": rnd.randint(5, 80), "doomed": doomed, "flaky": rnd.random() < FLAKY}
        items.append({"summary": f"storm {len(plan) + i}", "ref": f"r{i}", "payload": payload,
                      "depends_on": deps, "max_attempts": 2 if doomed else ENOUGH, "priority": rnd.randint(3, 7)})  # fmt: skip
    for item, t in zip(items, st.tasks.submit_many(items), strict=True):
        plan[t.id] = (item["payload"]["doomed"], list(t.depends_on))


def _spawn(db: str, logs: Path, lease_seconds: float) -> subprocess.Popen[bytes]:
    root = str(Path(swarmstore.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    err = open(logs / f"stderr-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 (the child owns it)
    with err:
        return subprocess.Popen(
            [sys.executable, "-m", "swarmstore.bench.storm", "worker", db, str(logs), str(lease_seconds)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip


def _final_state(db: str) -> tuple[dict[str, str], list[tuple[int, int, str, str]]]:
    """Every task's status and the tasks' audit rows (id, µs, action, task id), oldest first,
    read through the public API (the same on every engine)."""
    status: dict[str, str] = {}
    audit: list[tuple[int, int, str, str]] = []
    with swarmstore.open(db) as st:
        cursor = None
        while True:
            page = st.tasks.list(limit=1000, cursor=cursor)
            status.update((t.id, t.status) for t in page)
            if (cursor := page.next_cursor) is None:
                break
        while True:
            rows = st.audit.list(entity="task", limit=1000, cursor=cursor)
            audit += [(e.id, from_dt(e.at, "at"), e.action, e.entity_id) for e in rows]
            if (cursor := rows.next_cursor) is None:
                break
    audit.reverse()
    return status, audit


def _integrity(db: str) -> str:
    """SQLite's integrity_check of the file; on PostgreSQL the server keeps its own pages."""
    if db.startswith(("postgresql://", "postgres://")):
        return "ok"
    conn = apsw.Connection(db)
    try:
        return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def _check(db: str, logs: Path, plan: dict[str, tuple[bool, list[str]]], report: StormReport) -> None:
    report.integrity = _integrity(db)
    status, audit = _final_state(db)
    report.tasks = len(status)
    expected: dict[str, str] = {}
    for tid, (doomed, deps) in plan.items():  # (plan is in submission order: prerequisites first)
        ends = {expected[d] for d in deps}
        expected[tid] = "cancelled" if ends - {"completed"} else "failed" if doomed else "completed"
    for tid, want in expected.items():
        got = status.get(tid)
        if got == want:
            report.final[got] += 1
        else:
            report.wrong_final.append(f"{tid}: {got}, expected {want}")
    completions: dict[str, int] = {}  # task id -> its completion's audit id
    first_claim: dict[str, int] = {}
    completed = Counter[str]()
    rescued: dict[str, int] = {}
    for aid, at, action, tid in audit:
        if action == "task.complete":
            completed[tid] += 1
            completions[tid] = aid
        elif action == "task.claim":
            first_claim.setdefault(tid, aid)
            if tid in rescued:
                report.rescue_to_claim_s.append((at - rescued.pop(tid)) / 1e6)
        elif action == "task.rescue":
            rescued[tid] = at
    report.double_completions = sum(n > 1 for n in completed.values())
    report.double_completions += sum(1 for tid, n in completed.items() if n and status.get(tid) != "completed")
    for tid, claim in first_claim.items():
        for d in plan[tid][1]:
            if completions.get(d, claim) >= claim:
                report.order_violations.append(f"{tid} claimed (audit {claim}) before {d} completed")
    for f in logs.glob("exec-*.jsonl"):
        for line in f.read_text().splitlines():
            try:
                run = json.loads(line)
            except ValueError:
                continue  # (the last line of a killed process may be cut short)
            report.executions += 1
            if run["unfinished"]:
                report.order_violations.append(f"{run['id']} ran while {run['unfinished']} were not completed")
    for f in logs.glob("stderr-*.log"):
        report.heartbeat_warnings += f.read_text(errors="replace").count("is completed, not running")


def main(seconds: float, directory: str | None = None, seed: int = 1) -> int:
    """The benchmark's storm (3 s leases and a few seconds of waiting work, as in the soak that
    found a rescued task waiting behind later work): prints its figures; 1 if a promise broke."""
    import shutil
    import tempfile

    workdir = tempfile.mkdtemp(prefix="swarmstore-storm-", dir=directory)
    try:
        report = run_storm(workdir, seconds=seconds, workers=3, lease_seconds=3.0, seed=seed, backlog=400)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report.summary())
    for problem in report.problems():
        print("PROBLEM:", problem)
    return 1 if report.problems() else 0


# -- the worker process ---------------------------------------------------------------------------


def _handler(log_file: Any) -> Any:
    def handle(task: Task, ctx: TaskContext) -> Any:
        unfinished = [d for d in task.depends_on if ctx.store.tasks.get(d).status != "completed"]
        log_file.write(json.dumps({"id": task.id, "attempt": task.attempt, "unfinished": unfinished}) + "\n")
        log_file.flush()  # (at its start: a run cut short by a kill is counted and checked too)
        time.sleep(task.payload["ms"] / 1000)
        if task.payload["doomed"] or (task.payload["flaky"] and task.attempt == 1):
            raise RuntimeError("storm: this attempt fails")
        return {"pid": os.getpid(), "attempt": task.attempt}

    return handle


def _worker_main(db: str, logdir: str, lease: str) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with (
        open(os.path.join(logdir, f"exec-{os.getpid()}.jsonl"), "a") as log_file,
        swarmstore.open(db, retry_base_seconds=0.05) as st,
    ):
        Worker(st, _handler(log_file), concurrency=2, lease_seconds=float(lease), poll_interval=0.05,
               grace_seconds=5).run()  # fmt: skip
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"] and len(sys.argv) == 5:
        raise SystemExit(_worker_main(*sys.argv[2:]))
    raise SystemExit("usage: python -m swarmstore.bench.storm worker DB LOGDIR LEASE")
