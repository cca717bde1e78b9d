"""Sessions and memory: the reference report's operations at realistic sizes on a file database."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any, cast

from .. import Store
from ..clock import _US as US
from ..clock import EPOCH, now_us
from ..codec import loads
from ..engine.sqlite.engine import QUERIES as Q
from ..models import Page
from . import raw
from .harness import Result, measure, measure_pair

LISTING = "p50 <=2x raw"


def build(store: Store, scale: float, rnd: random.Random) -> dict[str, Any]:
    """100k memories (500 users x 4 namespaces x 25 keys + 50 projects x 10 areas x 100 keys) and 10k
    sessions, each started with one event (as live sessions are)."""
    users, projects = max(2, int(500 * scale)), max(2, int(50 * scale))
    items = []
    for u in range(users):
        for ns in ("prefs", "facts", "history", "style"):
            for k in range(25):
                items.append({"namespace": f"user:u{u:03d}:{ns}", "key": f"k{k:03d}", "value": _value(rnd)})
    for p in range(projects):
        for a in range(10):
            for k in range(100):
                items.append({"namespace": f"project:p{p:02d}:area{a}", "key": f"k{k:03d}", "value": _value(rnd)})
    for i in range(0, len(items), 5000):
        store.memory.put_many(items[i : i + 5000])
    sessions = []
    for i in range(max(10, int(10_000 * scale))):
        s = store.sessions.create("bench", f"u{i % users:03d}", project=f"p{i % projects:02d}", state={"turn": 0})
        store.sessions.append_event(s.id, "started", "orchestrator", {"goal": "bench"})
        sessions.append(s.id)
    prefixes = [f"user:u{u:03d}" for u in range(users)] + [
        f"project:p{p:02d}:area{a}" for p in range(projects) for a in range(10)
    ]
    return {"keys": [(i["namespace"], i["key"]) for i in items], "sessions": sessions, "prefixes": prefixes}


def cursors(page: Callable[[int, str | None], Page[Any]], rnd: random.Random, size: int = 5) -> list[tuple[str, str]]:
    """Walk a newest-first listing by pages of ``size``: (the cursor after each page, its last id),
    shuffled, leaving out the last 100 rows (a listing from there would be short)."""
    out: list[tuple[str, str]] = []
    p = page(size, None)
    while p.next_cursor is not None:
        out.append((p.next_cursor, p.items[-1].id))
        p = page(size, p.next_cursor)
    out = out[: max(1, len(out) - 100 // size)]
    rnd.shuffle(out)
    return out


def _value(rnd: random.Random) -> dict[str, Any]:
    return {"text": "".join(rnd.choices("abcdefghij klmnop", k=rnd.randint(60, 140))), "score": rnd.random()}


def run(store: Store, path: str, data: dict[str, Any], n: int, rnd: random.Random) -> list[Result]:
    rc = raw.connect(path)  # the baseline: the store's settings, none of its code
    keys, sids, prefixes = data["keys"], data["sessions"], data["prefixes"]
    rk = [rnd.choice(keys) for _ in range(n)]
    rs = [rnd.choice(sids) for _ in range(n)]
    rp = [rnd.choice(prefixes) for _ in range(n)]
    out: list[Result] = []

    def pair(ours: Result, base: Result, target: str, ok: bool | None, read: bool = False) -> None:
        ours.baseline, ours.target, ours.ok, ours.read = base, target, ok, read
        out.append(ours)

    # -- reads: compared by latency (p50 and p99), the raw query beside each in alternating rounds
    r, b = measure_pair(
        "session get by id",
        lambda i: store.sessions.get(rs[i]),
        lambda i: rc.execute(Q.session_get, (rs[i],)).fetchall(),
        n,
        500,
    )
    pair(r, b, "p99<50µs, <=2.5x raw", r.p99_us < 50 and r.p99_us <= 2.5 * b.p99_us, read=True)

    r, b = measure_pair(
        "memory get",
        lambda i: store.memory.get(*rk[i]),
        lambda i: rc.execute(Q.memory_get, (*rk[i], now_us())).fetchall(),
        n,
        500,
    )
    pair(r, b, "p99<50µs, <=2.5x raw", r.p99_us < 50 and r.p99_us <= 2.5 * b.p99_us, read=True)

    def raw_list(i: int) -> Any:
        p = rp[i]
        return rc.execute(Q.memory_list, (p, "", True, now_us(), None, p + ":", "", p + ";", 101)).fetchall()

    def our_list(i: int) -> None:
        page = store.memory.list(rp[i], limit=100)
        assert len(page) == 100

    m = max(200, n // 10)
    r, b = measure_pair("memory listing (100 rows)", our_list, raw_list, m, 50)
    pair(r, b, LISTING, r.p50_us <= 2 * b.p50_us, read=True)

    # The same listing with every field of every row read, beside the raw rows decoded by hand
    # (JSON parsed, times made datetimes): what a caller that uses all of it pays.
    def raw_list_read(i: int) -> Any:
        return [
            (ns, k, loads(v), t, ver, loads(meta), by, EPOCH + c * US, EPOCH + u * US, e and EPOCH + e * US, d, ub)
            for ns, k, v, t, ver, meta, by, c, u, e, d, ub in raw_list(i)[:100]
        ]

    def our_list_read(i: int) -> Any:
        return [
            (x.namespace, x.key, x.value, x.type, x.version, x.metadata, x.created_by, x.created_at, x.updated_at,
             x.expires_at, x.deleted, x.updated_by)
            for x in store.memory.list(rp[i], limit=100)
        ]  # fmt: skip

    r, b = measure_pair("memory listing, every field read", our_list_read, raw_list_read, m, 50)
    pair(r, b, "", None, read=True)

    # Sessions, newest first, from places all along the list: the cursors of short pages, and the
    # last id of each for the raw query.
    at = cursors(lambda k, c: store.sessions.list(limit=k, cursor=c), rnd)

    def raw_sessions(i: int) -> Any:
        last = at[i % len(at)][1]
        return rc.execute(Q.session_select + " WHERE id < ? ORDER BY id DESC LIMIT ?", (last, 101)).fetchall()

    r, b = measure_pair(
        "session listing (100 rows)", lambda i: store.sessions.list(cursor=at[i % len(at)][0]), raw_sessions, m, 50
    )
    pair(r, b, LISTING, r.p50_us <= 2 * b.p50_us, read=True)

    # -- the machine's floor: raw commits of 0, 1 and 4 pages on the same file (what any write
    # transaction costs here before its SQL; the pages column says how many each write row needs)
    for k in range(4):
        rc.execute(f"CREATE TABLE IF NOT EXISTS bench_floor{k} (x)")

    def raw_commit(pages: int) -> Callable[[int], None]:
        def go(i: int) -> None:
            rc.execute("BEGIN IMMEDIATE")
            for k in range(pages):
                rc.execute(f"INSERT INTO bench_floor{k} VALUES (?)", (i,))
            rc.execute("COMMIT")

        return go

    for pages in (0, 1, 4):
        f = measure(f"raw commit of {pages} page{'s' * (pages != 1)} (floor)", raw_commit(pages), n, 200)
        f.extra["pages_per_op"] = float(pages)
        out.append(f)
    for k in range(4):
        rc.execute(f"DROP TABLE bench_floor{k}")

    # -- writes: one transaction per call, each with its audit row
    w = min(n, 20_000)

    def raw_put(ns: str, key: str, value: str) -> None:
        rc.execute("BEGIN IMMEDIATE")
        raw.put(rc, ns, key, value, now_us())
        rc.execute("COMMIT")

    val = {"text": "x" * 120, "score": 0.5}
    val_text = '{"text":"' + "x" * 120 + '","score":0.5}'
    e = store.engine
    r, b = measure_pair(
        "memory write (new key)",
        lambda i: store.memory.put(f"bench:new:n{i % 50}", f"k{i}", val),
        lambda i: raw_put(f"bench:raw:n{i % 50}", f"k{i}", val_text),
        w,
        engine=e,
    )
    pair(r, b, ">=15,000/s", r.ops_per_s >= 15_000)

    r, b = measure_pair(
        "memory update (new version)",
        lambda i: store.memory.put(rk[i % n][0], rk[i % n][1], val),
        lambda i: raw_put(rk[(i + 7) % n][0], rk[(i + 7) % n][1], val_text),
        w,
        engine=e,
    )
    pair(r, b, ">=15,000/s", r.ops_per_s >= 15_000)

    content = {"role": "assistant", "text": "y" * 100}
    content_text = '{"role":"assistant","text":"' + "y" * 100 + '"}'

    def raw_append(sid: str) -> None:
        t = now_us()
        rc.execute("BEGIN IMMEDIATE")
        status, temp_set, last = rc.execute(Q.session_for_append, (sid,)).fetchall()[0]
        seq = cast(int, last) + 1
        rc.execute(Q.event_insert, (t, "agent", sid, f'{{"seq":{seq},"type":"message"}}', seq, content_text))
        if status == "created" or temp_set:
            rc.execute(Q.session_touch, (t, sid))
        rc.execute("COMMIT")

    r, b = measure_pair(
        "event append",
        lambda i: store.sessions.append_event(rs[i % n], "message", "agent", content),
        lambda i: raw_append(rs[(i + 3) % n]),
        w,
        engine=e,
    )
    pair(r, b, ">=15,000/s", r.ops_per_s >= 15_000)

    batches = 50

    def raw_many(i: int) -> None:
        t = now_us()
        ns = f"bench:rawbatch:b{i}"
        keys = [f"k{j}" for j in range(1000)]
        rc.execute("BEGIN IMMEDIATE")
        known = {r[1]: r[1:] for r in rc.execute(Q.memory_batch_existing, (ns, json.dumps(keys))).fetchall()}
        aid = cast(int, rc.execute(Q.audit_max_id).fetchall()[0][0])
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        audit_rows = []
        for k in keys:
            aid += 1
            v, prev = (cast(int, known[k][1]) + 1, known[k][5]) if k in known else (1, None)
            snap = f'{{"type":"semantic","expires_at":null,"metadata":{{}},"value":{val_text}}}'
            (updates if k in known else inserts).append((ns, k, "semantic", val_text, None, None, t, None, aid))
            audit_rows.append(
                (aid, t, None, "memory.put", "memory", f"{ns}/{k}", ns, f'{{"version":{v}}}', v, snap, prev)
            )
        rc.executemany(Q.memory_batch_insert, inserts)
        rc.executemany(Q.memory_batch_update, updates)
        rc.executemany(Q.audit_insert_linked, audit_rows)
        rc.execute("COMMIT")

    r, b = measure_pair(
        "put_many (1,000 entries)",
        lambda i: store.memory.put_many(
            [{"namespace": f"bench:batch:b{i}", "key": f"k{j}", "value": val} for j in range(1000)]
        ),
        raw_many,
        batches,
        1,
        per=1000,
        engine=e,
    )
    pair(r, b, ">=100,000 entries/s", r.ops_per_s >= 100_000)

    def raw_create(i: int) -> None:
        for j in range(50):
            t = now_us()
            sid = f"raw-{i}-{j}-{t}"
            rc.execute("BEGIN IMMEDIATE")
            rc.execute(Q.session_insert, (sid, "bench", "burst", None, "{}", "{}", "{}", t, t)).fetchall()
            rc.execute(Q.audit_insert, (t, "burst", "session.create", "session", sid, None, "{}"))
            rc.execute(Q.session_get, (sid,)).fetchall()
            rc.execute("COMMIT")

    r, b = measure_pair(
        "session create (50 in a row)",
        lambda i: [store.sessions.create("bench", "burst") for _ in range(50)],
        raw_create,
        20,
        2,
    )
    r.extra["note"] = "p50/p99 are per burst of 50"
    pair(r, b, "(async target in issue 5)", r.p99_us < 2_000_000)
    r.ok = None
    rc.connection.close()
    return out
