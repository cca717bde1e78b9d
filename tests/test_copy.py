"""`swarmstore copy`: a whole store into an empty one (SQLite and PostgreSQL), verified.

A store filled through the public API is copied SQLite -> (PostgreSQL when
SWARMSTORE_TEST_POSTGRES is set, else SQLite) -> SQLite; every public read must give the same
answers on the three stores, and every table the same rows and checksum."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

import swarmstore
from cli_helpers import SRC, assert_error, cli
from swarmstore import Store, errors
from swarmstore.clock import ManualClock
from swarmstore.transfer import copy_store, store_checksums
from swarmstore.transfer.canon import TableDigest, json_value

PG = os.environ.get("SWARMSTORE_TEST_POSTGRES")

NS = "project:acme"


def fill(st: Store, clock: ManualClock) -> dict[str, Any]:
    """Every kind of row, through the public API; the ids the reads below need."""
    ids: dict[str, Any] = {}
    # memory: several versions, a deleted and a restored key, an expired and a purged one, numbers
    # jsonb writes differently (1e20, 1.5e-7), keys it reorders, unicode
    for v in range(3):
        st.memory.put(NS, "db", {"choice": f"v{v}", "zeta": 1, "alpha": [1.5e-7, 1e20, 0.1, -0.0]}, actor="planner")
        clock.advance(1)
    st.memory.put(NS, "gone", "to delete", metadata={"b": 2, "a": 1})
    st.memory.put(NS, "back", {"é": "ünï", "long key": "x"}, type="procedural")
    st.memory.delete(NS, "gone")
    st.memory.delete(NS, "back")
    st.memory.restore(NS, "back")
    st.memory.put(NS, "purged", 1)
    st.memory.delete(NS, "purged")
    st.memory.purge(NS)
    st.memory.put("user:bob", "ttl", "brief", ttl=3600)
    for key in ("Zed", "_x", "alpha", "é"):  # (byte order differs from most collations' order)
        st.memory.put(NS, key, key)
    st.memory.put_many([{"namespace": "user:bob", "key": f"k{i}", "value": i} for i in range(30)])
    # sessions: events, state of every scope, a terminated one
    s = st.sessions.create("app", "alice", project="acme", state={"goal": "ship"}, metadata={"m": 1})
    for i in range(5):
        st.sessions.append_event(
            s.id, "message", "planner", {"i": i}, state_delta={"step": i, "temp:draft": "d", "user:lang": "en", "app:v": i}
        )
        clock.advance(0.5)
    st.sessions.set_state(s.id, "app:flag", True)
    st.sessions.delete_state(s.id, "goal")
    s2 = st.sessions.create("app", "bob")
    st.sessions.append_event(s2.id, "note", "bob", "plain text")
    st.sessions.terminate(s2.id)
    ids["sessions"] = [s.id, s2.id]
    # tasks: a parent/child tree with dependencies, completions, a failure with retries, a cancel cascade
    root = st.tasks.submit("root", {"spec": 1}, priority=8)
    a = st.tasks.submit("a", parent=root.id)
    b = st.tasks.submit("b", depends_on=[a.id], parent=root.id)
    c = st.tasks.submit("c", depends_on=[a.id, b.id], parent=root.id)
    flaky = st.tasks.submit("flaky", max_attempts=2)
    doomed = st.tasks.submit("doomed")
    after_doomed = st.tasks.submit("after doomed", depends_on=[doomed.id])
    st.tasks.submit_many([{"summary": "x", "ref": "x"}, {"summary": "y", "depends_on": ["x"]}])
    done = 0
    while done < 6:
        claimed = st.tasks.claim("w1", limit=1)
        if not claimed:
            clock.advance(60)
            continue
        t = claimed[0]
        if t.id == flaky.id:
            st.tasks.fail(t.id, t.lease_token, "boom")
        elif t.id == doomed.id:
            st.tasks.cancel(doomed.id, reason="changed plans")
        elif t.id in (a.id, root.id, b.id):
            st.tasks.complete(t.id, t.lease_token, {"ok": True, "by": t.id})
        else:
            st.tasks.release(t.id, t.lease_token)
            clock.advance(1)
        done += 1
    ids["tasks"] = [root.id, a.id, b.id, c.id, flaky.id, doomed.id, after_doomed.id]
    # agents
    ag = st.agents.register("coder-1", "coder", model="m", metadata={"z": 1, "a": 2})
    st.agents.heartbeat(ag.id, "busy", current_task=c.id)
    ag2 = st.agents.register("coder-2", "coder")
    st.agents.stop(ag2.id)
    ids["agents"] = [ag.id, ag2.id]
    # documents: added, replaced, removed (their search index is rebuilt by the copy, not copied)
    st.documents.add("guide.md", "# Install\n\nUse apt for the kangaroo server.\n\n## More\n\nwombat", metadata={"z": 1, "a": 2})
    st.documents.add("notes/a.txt", "first text", type="note")
    st.documents.add("notes/a.txt", "second text about kangaroo", type="note")
    st.documents.add("old.md", "removed later")
    st.documents.remove("old.md")
    return ids


def _pages(fetch: Callable[..., Any]) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        page = fetch(cursor=cursor)
        out.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return out


def reads(st: Store, ids: dict[str, Any]) -> dict[str, Any]:
    """Every public read of what ``fill`` wrote."""
    out: dict[str, Any] = {}
    for key in ("db", "gone", "back", "purged"):
        try:
            out[f"history {key}"] = st.memory.history(NS, key)
        except errors.NotFound as exc:
            out[f"history {key}"] = repr(exc)
    out["memory"] = _pages(lambda cursor: st.memory.list("", limit=7, cursor=cursor))
    out["namespaces"] = st.memory.namespaces()
    for sid in ids["sessions"]:
        out[f"session {sid}"] = st.sessions.get(sid)
        out[f"events {sid}"] = _pages(lambda cursor, sid=sid: st.sessions.events(sid, int(cursor or 0), limit=2))
        out[f"state {sid}"] = st.sessions.state(sid)
    out["sessions"] = _pages(lambda cursor: st.sessions.list(limit=1, cursor=cursor))
    for tid in ids["tasks"]:
        out[f"task {tid}"] = st.tasks.get(tid)
        out[f"deps {tid}"] = st.tasks.dependencies(tid)
        out[f"dependants {tid}"] = st.tasks.dependants(tid)
    out["tree"] = st.tasks.tree(ids["tasks"][0])
    out["tasks"] = _pages(lambda cursor: st.tasks.list(limit=3, cursor=cursor))
    out["task stats"] = st.tasks.stats()
    out["agents"] = st.agents.list(alive_only=False)
    out["documents"] = _pages(lambda cursor: st.documents.list(limit=1, cursor=cursor))
    out["chunks"] = [st.documents.chunks(d.id) for d in out["documents"]]
    out["keyword search"] = sorted(  # (what is found; the order is each engine's own ranking)
        (h.kind, h.memory.key if h.memory else f"{h.chunk.document}#{h.chunk.seq}")
        for h in st.search("kangaroo alpha", mode="keyword", k=20)
    )
    audit = _pages(lambda cursor: st.audit.list(limit=25, cursor=cursor))
    out["audit"] = audit
    for entity, entity_id in sorted({(e.entity, e.entity_id) for e in audit}):
        out[f"audit {entity} {entity_id}"] = _pages(
            lambda cursor, e=entity, i=entity_id: st.audit.list(entity=e, entity_id=i, limit=10, cursor=cursor)
        )
    return out


@pytest.fixture
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, str]:
    """Source, middle and last store: SQLite, PostgreSQL (or SQLite without a server), SQLite."""
    middle = request.getfixturevalue("pg_url") if PG else str(tmp_path / "middle.db")
    return str(tmp_path / "source.db"), middle, f"sqlite:///{tmp_path / 'last.db'}"


@pytest.fixture
def filled(urls: tuple[str, str, str]) -> tuple[dict[str, Any], ManualClock]:
    clock = ManualClock()
    with swarmstore.open(urls[0], clock=clock, actor="tester") as st:
        return fill(st, clock), clock


def test_copy_there_and_back_keeps_every_read_and_row(urls: tuple[str, str, str], filled: Any) -> None:
    ids, clock = filled
    src, middle, last = urls
    seen: list[tuple[str, int, int]] = []
    # (in batches of 7 rows: every table streams through several, both ways)
    first = copy_store(src, middle, progress=lambda t, n, total: seen.append((t, n, total)), batch=7)
    second = copy_store(middle, last, batch=7)
    assert first.ok and second.ok, (first.mismatched, second.mismatched)
    names = [t.table for t in first.tables]
    assert {"sessions", "memories", "audit", "tasks", "task_deps", "agents", "user_state", "app_state", "documents",
            "document_chunks"} <= set(names)  # fmt: skip
    assert not any(n.startswith("search_") for n in names), "the search index is rebuilt, not copied"
    # the checksums are those of the data, whichever engine holds it
    sums = [store_checksums(u) for u in urls]
    assert sums[0] == sums[1] == sums[2]
    assert sums[0] == {t.table: (t.source_rows, t.source_sha256) for t in first.tables}
    assert {t.table: (t.target_rows, t.target_sha256) for t in second.tables} == sums[0]
    assert all(n > 0 for n, _ in sums[0].values())
    # the progress saw every row of every table, batch by batch
    assert [n for t, n, _ in seen if t == "audit"] == [0, *range(7, sums[0]["audit"][0], 7), sums[0]["audit"][0]]
    assert {(t, n) for t, n, total in seen if n == total and not t.startswith("verify")} == {
        (t.table, t.source_rows) for t in first.tables
    }
    answers = []
    for url in urls:
        with swarmstore.open(url, clock=clock) as st:
            answers.append(reads(st, ids))
    for other in answers[1:]:
        assert other.keys() == answers[0].keys()
        for key in answers[0]:
            assert other[key] == answers[0][key], key


def test_a_copy_goes_on_where_the_source_stopped(urls: tuple[str, str, str], filled: Any) -> None:
    ids, clock = filled
    src, middle, last = urls
    assert copy_store(src, middle).ok and copy_store(middle, last).ok
    results = []
    for url in urls:
        with swarmstore.open(url, clock=clock, actor="later") as st:
            m = st.memory.put(NS, "db", "next")
            ev = st.sessions.append_event(ids["sessions"][0], "message", "x", "next")
            t = st.tasks.submit("new", depends_on=[ids["tasks"][3]])
            st.tasks.cancel(ids["tasks"][3])
            log = [(e.id, e.action, e.entity_id) for e in st.audit.list(limit=5).items]
            history = [h.version for h in st.memory.history(NS, "db")]
            results.append((m.version, ev.seq, st.tasks.get(t.id).status, history, log))
    assert results[0][:4] == (4, 6, "cancelled", [1, 2, 3, 4])
    # the new audit rows take the next ids, the same on every copy (task ids are new, so differ)
    assert all([r[4][i][:2] for i in range(5)] == [results[0][4][i][:2] for i in range(5)] for r in results)
    assert all(r[:4] == results[0][:4] for r in results)


@pytest.mark.skipif(not PG, reason="needs SWARMSTORE_TEST_POSTGRES")
def test_postgres_audit_ids_continue_after_the_copied_ones(urls: tuple[str, str, str], filled: Any) -> None:

    from swarmstore.transfer.postgres import _connect

    src, middle, _ = urls
    assert copy_store(src, middle).ok
    copied = store_checksums(middle)["audit"][0]
    with swarmstore.open(src) as st:
        last = st.audit.list(limit=1).items[0].id
    assert copied == last  # (no id was skipped or reused by the fill: the log is 1..last)
    conn, _ = _connect(middle)
    try:
        row = conn.execute(
            "INSERT INTO audit (at, action, entity, entity_id) VALUES (1, 'x', 'y', 'z') RETURNING id"
        ).fetchone()
        assert row is not None and row[0] == last + 1
    finally:
        conn.rollback()
        conn.close()


@pytest.mark.skipif(not PG, reason="needs SWARMSTORE_TEST_POSTGRES")
def test_postgres_keys_in_a_language_collation_stream_in_byte_order(urls: tuple[str, str, str], filled: Any) -> None:
    # A database made with, say, en_US.UTF-8 sorts text keys as a language does ("_x" < "alpha" <
    # "Zed"), SQLite by bytes ("Zed" < "_x" < "alpha"): the checksums must not depend on it.
    from swarmstore.transfer.postgres import _connect

    src, middle, last = urls

    def collate(name: str) -> None:
        conn, _ = _connect(middle)
        try:
            for column in ("namespace", "key"):
                conn.execute(f'ALTER TABLE memories ALTER COLUMN {column} TYPE text COLLATE "{name}"')
            conn.commit()
        finally:
            conn.close()

    swarmstore.open(middle).close()
    collate("und-x-icu")
    try:
        assert copy_store(src, middle).ok
        assert copy_store(middle, last).ok
        assert store_checksums(src) == store_checksums(middle) == store_checksums(last)
    finally:
        collate("default")  # (the schema is emptied and reused by other tests)


def test_a_store_with_rows_is_refused_and_left_as_it_was(urls: tuple[str, str, str], filled: Any, tmp_path: Path) -> None:
    src, middle, last = urls
    assert copy_store(src, middle).ok
    before = store_checksums(middle)
    swarmstore.open(last).close()  # (an empty source: still refused)
    for source in (src, last):
        with pytest.raises(errors.Conflict, match="not empty"):
            copy_store(source, middle)
    assert store_checksums(middle) == before
    # onto itself: refused
    with pytest.raises(errors.InvalidInput):
        copy_store(src, src)
    # not a store at all: refused, untouched
    junk = tmp_path / "junk.txt"
    junk.write_text("not a database")
    with pytest.raises(errors.StorageError):
        copy_store(src, str(junk))
    assert junk.read_text() == "not a database"


def test_an_empty_store_is_a_valid_destination(urls: tuple[str, str, str], filled: Any) -> None:
    src, middle, _ = urls
    swarmstore.open(middle).close()
    report = copy_store(src, middle)
    assert report.ok and report.rows > 100


def test_the_source_is_read_only(urls: tuple[str, str, str], filled: Any, tmp_path: Path) -> None:
    src = Path(urls[0])
    before = src.read_bytes()
    assert not Path(f"{src}-wal").exists()  # (closed: all in the file)
    assert copy_store(str(src), str(tmp_path / "other.db")).ok
    # not a byte written: the file is as it was, and the WAL that SQLite opens to read is empty
    assert src.read_bytes() == before and Path(f"{src}-wal").read_bytes() == b""


def test_checksums_see_every_difference() -> None:
    def digest(rows: list[tuple[Any, ...]], json: set[str] = {"j"}) -> str:  # noqa: B006
        d = TableDigest("t", ("id", "j", "n"), json)
        d.update(rows)
        return d.hexdigest()

    same = digest([(1, '{"a":1,"b":[1e20,1.5e-7]}', None)])
    # jsonb's rendering of the same value: the same checksum
    assert digest([(1, '{"b": [100000000000000000000, 0.00000015], "a": 1}', None)]) == same
    for other in (
        [(1, '{"a":1,"b":[1e20,1.5e-6]}', None)],
        [(1, '{"a":1,"b":[1e20,1.5e-7]}', 0)],
        [(2, '{"a":1,"b":[1e20,1.5e-7]}', None)],
        [(1, '{"a":"1","b":[1e20,1.5e-7]}', None)],
        [(1, '{"a":1,"b":[1e20,1.5e-7]}', None)] * 2,
        [],
    ):
        assert digest(other) != same, other
    canon = [orjson.dumps(json_value(t, "x")) for t in ('{"b":1,"a":{"d":[2.0],"c":null}}', '{"a": {"c": null, "d": [2]}, "b": 1}')]
    assert canon[0] == canon[1] == b'{"a":{"c":null,"d":[2]},"b":1}'


def test_a_row_lost_in_the_copy_is_reported(urls: tuple[str, str, str], filled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from swarmstore.transfer import copy as copy_module

    src, middle, _ = urls
    real_open = copy_module.open_writer
    dropped: list[Any] = []

    def open_writer(url: str) -> Any:
        w = real_open(url)
        insert = w.insert

        def lossy(plan: Any, rows: Any) -> None:
            if plan.name == "audit" and not dropped:
                dropped.append(rows[0])
                rows = rows[1:]
            insert(plan, rows)

        w.insert = lossy  # type: ignore[method-assign]
        return w

    monkeypatch.setattr(copy_module, "open_writer", open_writer)
    report = copy_store(src, middle)
    assert dropped and not report.ok and report.mismatched == ["audit"]
    [audit] = [t for t in report.tables if t.table == "audit"]
    assert audit.target_rows == audit.source_rows - 1


def test_cli_copies_and_says_so(urls: tuple[str, str, str], filled: Any) -> None:
    src, middle, _ = urls
    r = cli("copy", src, middle)
    assert r.returncode == 0, r.stderr
    assert "verified: 10 tables" in r.stdout and "checksums match" in r.stdout
    assert_error(cli("copy", src, middle), "not empty", "nothing was changed")
    r = cli("copy", src, "sqlite:///" + src + "-copy.db", "--json")
    assert r.returncode == 0 and orjson.loads(r.stdout)["ok"] is True


def test_cli_exits_1_when_the_copy_differs(urls: tuple[str, str, str], filled: Any, tmp_path: Path) -> None:
    # the copy must really differ: a sitecustomize drops one audit row on its way to the file
    (tmp_path / "sitecustomize.py").write_text(
        "from swarmstore.transfer import sqlite\n"
        "_insert = sqlite.SqliteWriter.insert\n"
        "def insert(self, plan, rows):\n"
        "    _insert(self, plan, rows[1:] if plan.name == 'audit' else rows)\n"
        "sqlite.SqliteWriter.insert = insert\n"
    )
    src, _, last = urls
    r = cli("copy", src, last, env={"PYTHONPATH": os.pathsep.join([str(tmp_path), SRC])})
    assert_error(r, "differs", "audit")
    assert "NO" in r.stdout
