"""PostgreSQL: swarmstore on a server against plain psycopg doing the same work by hand, in
alternating rounds (``python -m swarmstore.bench --url postgresql://...``).

The baseline is plain psycopg on one autocommit connection, statements sent as text (no
server-side prepared statements, like the engine, so that both work behind a transaction-mode
pooler). Reads run the engine's own statements; writes are what a user would write by hand on the
same tables: the row and its audit row in one transaction. The benchmark runs in a database of its own, created on the server and dropped after.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

import swarmstore
from swarmstore.clock import now_us
from swarmstore.engine.postgres.runner import QUERIES as Q
from swarmstore.ids import new_id
from swarmstore.namespaces import children_range

from . import postgres_search
from .harness import Result, measure_pair
from .tasks import CYCLER

# The baseline worker process: plain psycopg, by hand, one task at a time: a claim transaction
# (the first ready task, SKIP LOCKED, and its audit row), then a completion transaction (the
# status, the result and its audit row), until the queue is empty.
RAW_CYCLER = """
import sys, time, uuid, psycopg
conn = psycopg.connect(sys.argv[1], autocommit=True, prepare_threshold=None)
print("ready", flush=True)
sys.stdin.readline()
start, done, me = time.time(), 0, sys.argv[2]
AUDIT = ("INSERT INTO audit (at, actor, action, entity, entity_id, detail) "
         "VALUES (%s, %s, %s, 'task', %s, '{}'::jsonb)")
while True:
    now, token = int(time.time() * 1e6), uuid.uuid4().hex
    with conn.transaction():
        row = conn.execute(
            "UPDATE tasks SET status = 'running', attempt = attempt + 1, lease_token = %s, worker_id = %s,"
            " lease_expires_at = %s, started_at = %s, updated_at = %s WHERE id IN (SELECT id FROM tasks"
            " WHERE status = 'ready' AND queue = %s AND not_before <= %s ORDER BY rank, id LIMIT 1"
            " FOR UPDATE SKIP LOCKED) RETURNING id",
            (token, me, now + 60_000_000, now, now, sys.argv[4], now)).fetchone()
        if row is not None:
            conn.execute(AUDIT, (now, me, "task.claim", row[0]))
    if row is None:
        break
    now = int(time.time() * 1e6)
    with conn.transaction():
        conn.execute("UPDATE tasks SET status = 'completed', result = 'null', finished_at = %s, updated_at = %s,"
                     " lease_token = NULL WHERE id = %s AND lease_token = %s", (now, now, row[0], token))
        conn.execute(AUDIT, (now, me, "task.complete", row[0]))
    done += 1
print(done, start, time.time(), flush=True)
"""
READ_TARGET = "p50 <=150µs, <=1.5x"
WRITE_TARGET = "<=1.5x psycopg"

# Reads: the very statements the engine runs (its named queries), so the ratio is the library's own cost.
_MEMORY_GET = Q.memory_get
_MEMORY_LIST = Q.memory_list
_SESSION_GET = Q.session_get
_TASK_GET = Q.pg_task_get
_UPSERT = (
    "INSERT INTO memories AS m (namespace, key, version, type, value, metadata, created_by, updated_by,"
    " created_at, updated_at) VALUES (%s, %s, 1, 'semantic', %s, '{}', NULL, NULL, %s, %s)"
    " ON CONFLICT (namespace, key) DO UPDATE SET version = m.version + 1, value = excluded.value,"
    " updated_at = excluded.updated_at, deleted_at = NULL RETURNING version"
)
_AUDIT = (
    "INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail, version, snapshot)"
    " VALUES (%s, NULL, %s, %s, %s, %s, %s, %s, %s)"
)
_EVENT_TOUCH = "UPDATE sessions SET updated_at = %s WHERE id = %s"


@contextmanager
def bench_database(url: str) -> Iterator[str]:
    """A new database on the server of ``url`` for the run (dropped after): its URL."""
    name = f"swarmstore_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _value(rnd: random.Random) -> dict[str, Any]:
    return {"text": "".join(rnd.choices("abcdefghij klmnop", k=rnd.randint(60, 140))), "score": rnd.random()}


def build(store: swarmstore.Store, memories: int, sessions: int, tasks: int, rnd: random.Random) -> dict[str, Any]:
    """Memories in namespaces of 25 keys, sessions with one event each, ready tasks."""
    items = [
        {"namespace": f"user:u{i // 100:04d}:{('facts', 'prefs', 'style', 'notes')[i // 25 % 4]}", "key": f"k{i % 25:03d}",
         "value": _value(rnd)}
        for i in range(memories)
    ]  # fmt: skip
    for i in range(0, len(items), 2_000):
        store.memory.put_many(items[i : i + 2_000])
    sids = []
    for i in range(sessions):
        s = store.sessions.create("bench", f"u{i % 100:03d}", state={"turn": 0})
        store.sessions.append_event(s.id, "started", "orchestrator", {"goal": "bench"})
        sids.append(s.id)
    tids = [t.id for t in store.tasks.submit_many([{"summary": f"t{i}", "queue": "reads"} for i in range(tasks)])]
    return {
        "keys": [(it["namespace"], it["key"]) for it in items],
        "sessions": sids,
        "tasks": tids,
        "prefixes": sorted({str(it["namespace"]).rsplit(":", 1)[0] for it in items}),
    }


def _list_params(prefix: str) -> dict[str, Any]:
    """The first page of a prefix listing, as the engine asks for it (see PgMemoryOps.list_live)."""
    lo, hi = children_range(prefix)
    return {"prefix": prefix, "after_key": "", "exact": True, "now": now_us(), "type": None, "from_ns": lo,
            "from_key": "", "hi": hi, "limit": 21}  # fmt: skip


def _reads(store: swarmstore.Store, conn: psycopg.Connection[Any], data: dict[str, Any], n: int,
           rnd: random.Random) -> list[Result]:  # fmt: skip
    keys = [rnd.choice(data["keys"]) for _ in range(n)]
    sids = [rnd.choice(data["sessions"]) for _ in range(n)]
    tids = [rnd.choice(data["tasks"]) for _ in range(n)]
    prefixes = [rnd.choice(data["prefixes"]) for _ in range(n)]
    out = []
    cases = [
        ("memory get", lambda i: store.memory.get(*keys[i]),
         lambda i: conn.execute(_MEMORY_GET, (*keys[i], now_us())).fetchall()),
        ("session get by id", lambda i: store.sessions.get(sids[i]),
         lambda i: conn.execute(_SESSION_GET, (sids[i],)).fetchall()),
        ("task get by id", lambda i: store.tasks.get(tids[i]), lambda i: conn.execute(_TASK_GET, (tids[i],)).fetchall()),
        ("memory list (prefix, 20)", lambda i: store.memory.list(prefixes[i], limit=20),
         lambda i: conn.execute(_MEMORY_LIST, _list_params(prefixes[i])).fetchall()),
    ]  # fmt: skip
    for name, ours, raw in cases:
        r, b = measure_pair(name, ours, raw, n, warmup=min(200, n))
        r.baseline, r.read, r.target = b, True, READ_TARGET
        ratio = r.ratio()
        r.ok = r.p50_us <= 150 and ratio is not None and ratio <= 1.5 if name != "memory list (prefix, 20)" else None
        if r.ok is None:
            r.target = ""
        out.append(r)
    return out


def _writes(store: swarmstore.Store, conn: psycopg.Connection[Any], data: dict[str, Any], n: int,
            rnd: random.Random) -> list[Result]:  # fmt: skip
    out = []
    values = [orjson.dumps(_value(rnd)).decode() for _ in range(n)]
    sids = [rnd.choice(data["sessions"]) for _ in range(n)]

    def put(i: int) -> None:
        store.memory.put(f"bench:w{i % 50}", f"k{i % 500}", orjson.loads(values[i]))

    def raw_put(i: int) -> None:
        ns, key, t = f"raw:w{i % 50}", f"k{i % 500}", now_us()
        with conn.transaction():
            (version,) = conn.execute(_UPSERT, (ns, key, values[i], t, t)).fetchall()[0]
            snap = orjson.dumps({"type": "semantic", "expires_at": None, "metadata": {},
                                 "value": orjson.Fragment(values[i])}).decode()  # fmt: skip
            conn.execute(_AUDIT, (t, "memory.put", "memory", f"{ns}/{key}", ns, f'{{"version":{version}}}', version, snap))

    def event(i: int) -> None:
        store.sessions.append_event(sids[i], "message", "agent", {"text": values[i]})

    def raw_event(i: int) -> None:
        t = now_us()
        with conn.transaction():
            conn.execute(_EVENT_TOUCH, (t, sids[i]))
            conn.execute(_AUDIT, (t, "session.event", "session", sids[i], None, '{"type":"message"}', None,
                                  orjson.dumps({"text": values[i]}).decode()))  # fmt: skip

    def submit(i: int) -> None:
        store.tasks.submit(f"s{i}", queue="submits", payload={"i": i})

    def raw_submit(i: int) -> None:
        t, tid = now_us(), new_id()
        with conn.transaction():
            conn.execute(
                "INSERT INTO tasks (id, summary, payload, queue, status, priority, source, rank, patience,"
                " ready_at, max_attempts, timeout_us, created_at, updated_at) VALUES"
                " (%s, %s, %s, 'raw', 'ready', 5, 'agent', %s, 1800000000, %s, 3, 3600000000, %s, %s)",
                (tid, f"s{i}", orjson.dumps({"i": i}).decode(), t + 1_800_000_000, t, t, t),
            )
            conn.execute(_AUDIT, (t, "task.submit", "task", tid, None, '{"status":"ready"}', None, None))

    for name, ours, raw in (("memory put", put, raw_put), ("session append_event", event, raw_event),
                            ("task submit", submit, raw_submit)):  # fmt: skip
        r, b = measure_pair(name, ours, raw, n, warmup=min(100, n))
        r.baseline, r.target = b, WRITE_TARGET
        ratio = r.ratio()
        r.ok = ratio is not None and ratio <= 1.5
        out.append(r)
    return out


def _cycles(url: str, store: swarmstore.Store, procs: int, per_run: int, queue: str, script: str = CYCLER) -> float:
    """Claim+complete cycles per second of ``procs`` worker processes draining ``queue``: Worker
    processes, or ``script``'s (the plain psycopg baseline)."""
    for k in range(0, per_run, 2_000):
        store.tasks.submit_many([{"summary": f"c{j}", "queue": queue} for j in range(k, min(per_run, k + 2_000))])
    argv = [sys.executable, "-c", script, url]
    children = [
        subprocess.Popen([*argv, f"pg-{procs}-{i}", "0", queue], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for i in range(procs)
    ]
    for c in children:
        assert c.stdout is not None and c.stdout.readline().strip() == "ready"
    for c in children:
        assert c.stdin is not None
        c.stdin.write("go\n")
        c.stdin.flush()
    done, starts = 0, []
    for c in children:
        out, _ = c.communicate(timeout=600)
        n, s, _e = out.split()
        done += int(n)
        starts.append(float(s))
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(finished_at) FROM tasks WHERE queue = %s", (queue,)).fetchone()
    assert row is not None and done == per_run, (done, per_run)
    return float(done / (row[0] / 1e6 - min(starts)))


def run(url: str, quick: bool, seed: int = 1) -> list[Result]:
    """The PostgreSQL table: reads, writes and claim+complete cycles against plain psycopg."""
    rnd = random.Random(seed)
    n = 500 if quick else 5_000
    out: list[Result] = []
    with bench_database(url) as db:
        store = swarmstore.open(db, embedder=None)
        t0 = time.perf_counter()
        data = build(store, 2_000 if quick else 50_000, 100 if quick else 5_000, 100 if quick else 5_000, rnd)
        print(f"data: {len(data['keys']):,} memories, {len(data['sessions']):,} sessions, "
              f"{len(data['tasks']):,} tasks, built in {time.perf_counter() - t0:.1f}s")  # fmt: skip
        with psycopg.connect(db, autocommit=True, prepare_threshold=None) as conn:
            out += _reads(store, conn, data, n, rnd)
            out += _writes(store, conn, data, n // 2, rnd)
            out += postgres_search.run(store, conn, quick, seed)
        per_run = 500 if quick else 10_000
        rates: dict[int, float] = {}
        raw_rates: dict[int, float] = {}
        for procs in (1, 2, 4):  # (ours and the baseline's, one after the other for each count)
            rates[procs] = _cycles(db, store, procs, per_run, f"cycles-{procs}")
            raw_rates[procs] = _cycles(db, store, procs, per_run, f"raw-cycles-{procs}", RAW_CYCLER)
        for procs, rate in rates.items():
            r = Result(f"claim+complete, {procs} process{'es' if procs > 1 else ''}", "op", per_run, 0, 0, rate)
            r.baseline = Result("raw", "op", per_run, 0, 0, raw_rates[procs])
            if procs == 4:
                r.target, r.ok = ">=3,000/s, grows from 1", rate >= 3_000 and rate > rates[1]
            out.append(r)
        store.close()
    return out
