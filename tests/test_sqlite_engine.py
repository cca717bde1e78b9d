"""SQLite-specific behaviour: schema migrations, pragmas, query plans of the hot queries."""

from __future__ import annotations

import os

import apsw
import pytest

import swarmstore
from swarmstore.clock import to_dt
from swarmstore.engine.sqlite.engine import QUERIES as Q
from swarmstore.engine.sqlite.engine import SCHEMA_VERSION
from swarmstore.errors import Conflict, SchemaError


def test_schema_created_and_reopen_is_idempotent(db_path: str) -> None:
    with swarmstore.open(db_path) as st:
        st.memory.put("a", "k", 1)
        assert st.stats()["schema_version"] == SCHEMA_VERSION
    with swarmstore.open("sqlite:///" + db_path) as st:
        assert st.memory.get("a", "k").value == 1
    conn = apsw.Connection(db_path)
    assert conn.execute("SELECT count(*) FROM schema_version").fetchall()[0][0] == SCHEMA_VERSION


def test_newer_schema_is_refused(db_path: str) -> None:
    swarmstore.open(db_path).close()
    conn = apsw.Connection(db_path)
    conn.execute("INSERT INTO schema_version VALUES (999, 'future', 0)")
    conn.close()
    with pytest.raises(SchemaError, match="999"):
        swarmstore.open(db_path)


def _undo_search(conn: apsw.Connection) -> None:
    """Schema 8's tables gone, as in a file written before it (migration 8 then makes them again)."""
    for table in ("search_items", "search_fts", "search_meta", "documents", "document_chunks"):
        conn.execute(f"DROP TABLE {table}")


def _undo_events_in_audit(conn: apsw.Connection) -> None:
    """Give a current file (with no events) the events table of schemas 2-5 again."""
    from swarmstore.engine.sqlite.engine import MIGRATIONS

    events = "CREATE TABLE events" + MIGRATIONS[0][2].split("CREATE TABLE events", 1)[1].split(";")[0]
    trigger = (
        "CREATE TRIGGER events_audit" + MIGRATIONS[1][2].split("CREATE TRIGGER events_audit", 1)[1].split("END;")[0]
    )
    conn.execute(events + "; ALTER TABLE events ADD COLUMN audit_id INTEGER;")
    conn.execute(trigger + "END; DROP INDEX audit_events;")


def test_a_schema_3_file_with_running_tasks_migrates_and_its_chains_continue(db_path: str) -> None:
    """A file made by schema 3 (task audit rows linked by a trigger on the audit table) opened by
    this version: migrations 0004 and 0005 apply, and the tasks' audit trails continue."""
    from swarmstore.engine.sqlite.engine import MIGRATIONS

    with swarmstore.open(db_path) as st:
        t = st.tasks.submit("before the upgrade")
        other = st.tasks.submit("other")
        [c] = st.tasks.claim("w")
        assert c.id == t.id
    schema3_trigger = next(sql for v, _, sql in MIGRATIONS if v == 3).split("CREATE TRIGGER", 1)[1].split("END;")[0]
    conn = apsw.Connection(db_path)
    conn.execute("CREATE TRIGGER" + schema3_trigger + "END;")
    _undo_events_in_audit(conn)
    _undo_search(conn)
    conn.execute("DELETE FROM schema_version WHERE version >= 4")
    conn.close()
    with swarmstore.open(db_path) as st:
        assert st.engine.schema_version() == SCHEMA_VERSION
        assert not st.engine.query("SELECT 1 FROM sqlite_schema WHERE name = 'task_audit_link'"), (
            "every task change links its own audit row: no trigger runs for every audit row"
        )
        st.tasks.heartbeat(t.id, c.lease_token or "")
        nxt = st.tasks.complete_and_claim(t.id, c.lease_token or "", {"ok": 1}, worker_id="w")
        assert [x.id for x in nxt] == [other.id]
        trail = [e.action for e in st.audit.list(entity="task", entity_id=t.id)]
        assert trail == ["task.complete", "task.heartbeat", "task.claim", "task.submit"]
        assert [e.action for e in st.audit.list(entity="task", entity_id=other.id)] == ["task.claim", "task.submit"]
        assert st.engine.query("PRAGMA integrity_check")[0][0] == "ok"


def test_a_schema_5_file_keeps_every_event_when_events_move_into_the_audit_log(db_path: str) -> None:
    """Schema 6 keeps events as their audit rows: each event of a schema-5 file (its content, type,
    actor, time and state delta) is still read back, numbering continues, and the session's audit
    trail still lists each event once."""
    with swarmstore.open(db_path) as st:
        a = st.sessions.create("app", "u", id="sa")
        b = st.sessions.create("app", "u", id="sb")
        st.audit.list(entity="session", entity_id="sa")
    conn = apsw.Connection(db_path)
    _undo_events_in_audit(conn)
    _undo_search(conn)
    conn.execute("DELETE FROM schema_version WHERE version >= 6")
    insert = (
        "INSERT INTO events (session_id, seq, type, actor, content, state_delta, created_at, audit_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(id), 0) + 1 FROM audit))"
    )
    for seq in (1, 2, 3):
        conn.execute(insert, ("sa", seq, "message", f"agent{seq}", f'{{"n":{seq}}}', None, 1_000 + seq))
    conn.execute(insert, ("sb", 1, "tool", "bot", '["x"]', '{"k":1}', 2_000))
    # an event whose audit row is missing (a file damaged by hand) is kept too
    conn.execute(
        "INSERT INTO events (session_id, seq, type, actor, content, state_delta, created_at, audit_id)"
        " VALUES ('sb', 2, 'note', 'bot', 'null', NULL, 2001, 999999)"
    )
    conn.execute("DELETE FROM audit WHERE id = 999999")
    conn.close()

    with swarmstore.open(db_path) as st:
        assert st.engine.schema_version() == SCHEMA_VERSION
        got = [(e.seq, e.type, e.actor, e.content, e.state_delta) for e in st.sessions.events("sa")]
        assert got == [(1, "message", "agent1", {"n": 1}, None), (2, "message", "agent2", {"n": 2}, None),
                       (3, "message", "agent3", {"n": 3}, None)]  # fmt: skip
        sb = list(st.sessions.events("sb"))
        assert [(e.seq, e.type, e.content, e.state_delta) for e in sb] == [
            (1, "tool", ["x"], {"k": 1}),
            (2, "note", None, None),
        ]
        assert sb[0].created_at == to_dt(2_000)
        assert st.sessions.get("sa").event_count == 3
        assert st.sessions.append_event("sa", "message", "agent4").seq == 4, "numbering continues"
        trail = [e.detail.get("seq") for e in st.audit.list(entity="session", entity_id="sa")]
        assert trail == [4, 3, 2, 1, None], "each event once, then the session's creation"
        assert st.stats()["rows"]["events"] == 6
        assert (a.id, b.id) == ("sa", "sb")
        with pytest.raises(Conflict):
            st.engine.write(lambda cur: cur.execute(st.engine.q.event_insert, (1, "x", "sa", "{}", 2, "null")))
        assert st.engine.query("PRAGMA integrity_check")[0][0] == "ok"


def test_a_schema_1_file_migrates_with_its_history(db_path: str) -> None:
    """A file written by the first release (history in memory_versions, a next_seq counter on
    sessions) opens with every version, event and audit row intact, and keeps working."""
    from swarmstore.engine.sqlite.engine import MIGRATIONS

    version, name, sql = MIGRATIONS[0]
    conn = apsw.Connection(db_path)
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    conn.execute(sql)
    conn.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    conn.execute("INSERT INTO schema_version VALUES (?, ?, 0)", (version, name))
    up = (
        "INSERT INTO memories (namespace, key, version, type, value, metadata, created_by, updated_by, created_at,"
        " updated_at, expires_at, deleted_at) VALUES ('p:a', 'db', 1, 'semantic', ?, '{}', 'bob', 'bob', ?, ?, NULL, NULL)"
        " ON CONFLICT (namespace, key) DO UPDATE SET version = version + 1, value = excluded.value,"
        " metadata = ?, updated_by = 'eve', updated_at = excluded.updated_at"
    )
    audit = "INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail) VALUES (?, ?, 'memory.put', 'memory', 'p:a/db', 'p:a', ?)"
    for v, (value, meta) in enumerate(
        [('{"choice":"sqlite"}', "{}"), ('"postgres"', '{"why":"scale"}'), ("[1,2.5,null]", "{}")], 1
    ):
        t = 1_700_000_000_000_000 + v
        conn.execute(up, (value, t, t, meta))
        conn.execute(audit, (t, "bob" if v == 1 else "eve", f'{{"version":{v}}}'))
    conn.execute(
        "INSERT INTO sessions (id, app, user, status, next_seq, created_at, updated_at) VALUES ('s1', 'app', 'u', 'active', 2, 1, 1)"
    )
    for seq in (1, 2):
        conn.execute("INSERT INTO events VALUES ('s1', ?, 'message', 'a', '{}', NULL, ?)", (seq, seq))
        conn.execute(
            "INSERT INTO audit (at, actor, action, entity, entity_id, detail) VALUES (?, 'a', 'session.event', 'session', 's1', ?)",
            (seq, f'{{"seq":{seq},"type":"message"}}'),
        )
    conn.close()

    with swarmstore.open(db_path) as st:
        assert st.stats()["schema_version"] == SCHEMA_VERSION
        history = st.memory.history("p:a", "db")
        assert [(m.version, m.value, m.metadata) for m in history] == [
            (1, {"choice": "sqlite"}, {}),
            (2, "postgres", {"why": "scale"}),
            (3, [1, 2.5, None], {}),
        ]
        assert st.memory.get("p:a", "db", version=2).value == "postgres"
        assert st.memory.put("p:a", "db", "next").version == 4
        assert [m.version for m in st.memory.history("p:a", "db")] == [1, 2, 3, 4]
        assert st.sessions.append_event("s1", "message", "a").seq == 3, "numbering continues"
        assert st.sessions.get("s1").event_count == 3
        puts = st.audit.list(entity="memory", entity_id="p:a/db", limit=10)
        assert [e.detail["version"] for e in puts] == [4, 3, 2, 1], "the old audit rows are still found, one per put"
        trail = st.audit.list(entity="session", entity_id="s1")
        assert [e.detail.get("seq") for e in trail] == [3, 2, 1], "old and new event rows alike"
    check = apsw.Connection(db_path)
    tables = {r[0] for r in check.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    assert "memory_versions" not in tables
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_pragmas(db_path: str) -> None:
    with swarmstore.open(db_path, synchronous="full") as st:

        def check(cur: apsw.Cursor) -> tuple[str, int, int]:
            return (
                cur.execute("PRAGMA journal_mode").fetchall()[0][0],
                cur.execute("PRAGMA synchronous").fetchall()[0][0],
                cur.execute("PRAGMA foreign_keys").fetchall()[0][0],
            )

        assert st.engine.read(check) == ("wal", 2, 1)


def plan(conn: apsw.Connection, sql: str, params: tuple[object, ...]) -> str:
    return "\n".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())


# Named statements, run as written (their hand-made bindings only pick the plan's shape). The
# listings that code assembles from filters are explained as they run: see test_query_plans.py.
HOT = {
    "session_get": (Q.session_get, ("id",)),
    "session_for_append": (Q.session_for_append, ("id",)),
    "memory_batch_existing": (Q.memory_batch_existing, ("ns", '["k"]')),
    "memory_batch_existing_pairs": (Q.memory_batch_existing_pairs, ('[["ns", "k"]]',)),
    "session_touch": (Q.session_touch, (1, "id")),
    "events_page": (Q.events_page, ("id", 0, 100)),
    "memory_get": (Q.memory_get, ("ns", "k", 1)),
    "memory_get_version": (Q.memory_get_version, ("ns", "k", 1)),
    "memory_history": (Q.memory_history, ("ns", "k")),
    "memory_forget_history": (Q.memory_forget_history, (1,)),
    "memory_list": (Q.memory_list, ("p", "", 1, 1, None, "p:", "", "p;", 101)),
    "memory_next_namespace": (Q.memory_next_namespace, ("a", "b", 1)),
    "memory_delete": (Q.memory_delete, ("ns", "k", 1)),
    "session_state_view": (Q.session_state_view, ("id",)),
    "task_candidates": (Q.task_candidates, ("default", 1, 5)),
    "task_candidates_typed": (Q.task_candidates_typed, ("default", 1, '["coder"]', 5)),
    "task_claim": (Q.task_claim, ("a", "tok", 1, 1, "w", 1)),
    "task_expired": (Q.task_expired, (1,)),
    "task_get": (Q.task_get, ("a",)),
    "task_by_key": (Q.task_by_key, ("k",)),
    "task_heartbeat": (Q.task_heartbeat, ("a", "tok", 1, None)),
    "task_lease_check": (Q.task_lease_check, ("a",)),
    "task_complete": (Q.task_complete, ("a", "null", 1, 1)),
    "task_head": (Q.task_head, ("a",)),
    "task_heads": (Q.task_heads, ('["a"]',)),
    "task_set_audit_head": (Q.task_set_audit_head, ("a", 1)),
    "task_release_dependants": (Q.task_release_dependants, ("a", 1)),
    "task_dependants_open": (Q.task_dependants_open, ("a",)),
    "task_children": (Q.task_children, ("a",)),
    "task_subtree": (Q.task_subtree, ("a",)),
    "task_downstream": (Q.task_downstream, ("a",)),
    "task_plan_nodes": (Q.task_plan_nodes, ('["a"]',)),
    "task_finished_since": (Q.task_finished_since, (1,)),
    "task_open_in_queue": (Q.task_open_in_queue, ("default",)),
}


@pytest.mark.parametrize("name", sorted(HOT))
def test_hot_queries_use_an_index_and_no_temp_btree(db_path: str, name: str) -> None:
    with swarmstore.open(db_path) as st:
        st.memory.put("ns", "k", 1)
        a = st.tasks.submit("a")
        st.tasks.submit("b", depends_on=[a.id], parent=a.id)
    conn = apsw.Connection(db_path)
    conn.execute("ANALYZE")
    sql, params = HOT[name]
    text = plan(conn, sql, params)
    assert "TEMP B-TREE" not in text, text
    for line in text.splitlines():
        # json_each is the bound list of ids; a recursive CTE scans its own queue and its seed row
        if line.startswith("SCAN") and not any(w in line for w in ("json_each", "CONSTANT ROW")):
            if line in ("SCAN s", "SCAN b", "SCAN n", "SCAN sub", "SCAN below", "SCAN need", "SCAN chain"):
                continue
            assert "USING" in line, f"full scan in {name}: {text}"


def test_wal_stays_bounded(db_path: str) -> None:
    limit = 3000
    st = swarmstore.open(db_path, wal_autocheckpoint=limit)
    for i in range(6000):
        st.memory.put(f"wal:n{i % 20}", f"k{i}", {"i": i, "pad": "x" * 200})
    wal = os.path.getsize(db_path + "-wal")
    # the checkpointer's passes run while writes go on, and rewind once the WAL is twice the limit:
    # it stays near that (plus what one pass lets the writer append, more on a loaded machine)
    assert wal < 3 * limit * (4096 + 24), f"WAL grew to {wal} bytes"
    st.close()
    with swarmstore.open(db_path) as again:
        assert again.memory.get("wal:n19", "k5999").value["i"] == 5999


def test_a_long_reader_elsewhere_never_stalls_writes_for_long(db_path: str) -> None:
    """A checkpoint cannot rewind the WAL past another connection's open snapshot; it must then
    give up quickly rather than hold this process's writers."""
    import time

    limit = 500
    st = swarmstore.open(db_path, wal_autocheckpoint=limit)
    st.memory.put("r", "seed", 0)
    reader = apsw.Connection(db_path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM memories").fetchall()  # holds its snapshot open
    worst = 0.0
    for i in range(3000):
        t = time.perf_counter()
        st.memory.put(f"r:n{i % 10}", f"k{i}", {"pad": "x" * 300})
        worst = max(worst, time.perf_counter() - t)
    reader.execute("COMMIT")
    reader.close()
    assert worst < 1.0, f"a write waited {worst:.2f} s behind the checkpointer"
    for i in range(2000):  # with the reader gone, the WAL is rewound again
        st.memory.put(f"r:m{i % 10}", f"k{i}", {"pad": "x" * 300})
    time.sleep(0.5)
    st.memory.put("r", "last", 1)
    st.close()
    with swarmstore.open(db_path) as again:
        assert again.memory.get("r", "last").value == 1
        assert len(again.memory.list("r", limit=1000)) == 1000


def test_pages_written_counts_the_writers_page_writes(db_path: str) -> None:
    with swarmstore.open(db_path) as st:
        e = st.engine
        before = e.pages_written()
        for i in range(10):
            st.memory.put("pw", f"k{i}", i)
        after_writes = e.pages_written()
        assert after_writes - before >= 10, "each committed write writes at least one page"
        for i in range(10):
            st.memory.get("pw", f"k{i}")
        assert e.pages_written() == after_writes, "reads write nothing"


def test_checks_still_refuse_bad_values_and_writes_build_no_in_list_tables(db_path: str) -> None:
    """Schema 7 writes its CHECKs as ORs: they refuse what the IN lists refused, and the hot writes
    no longer build a temporary B-tree of constants per run (what an IN list of 3+ costs)."""
    with swarmstore.open(db_path) as st:
        st.sessions.create("app", "u", id="s1")
        st.memory.put("ns", "k", 1)
        t = st.tasks.submit("t", idempotency_key="once")
        st.tasks.submit("u")
        st.agents.register("a", "coder")
    conn = apsw.Connection(db_path)
    for bad in (
        "UPDATE sessions SET status = 'gone'",
        "UPDATE memories SET type = 'other'",
        "UPDATE tasks SET status = 'lost'",
        "UPDATE tasks SET on_dependency_failure = 'ignore'",
        "UPDATE agents SET status = 'asleep'",
        f"UPDATE tasks SET idempotency_key = 'once' WHERE id <> '{t.id}'",
    ):
        with pytest.raises(apsw.ConstraintError):
            conn.execute(bad)
    conn.execute("UPDATE tasks SET idempotency_key = NULL")  # many tasks may have no key
    for name, args in (
        ("memory_upsert", ("ns", "k", "semantic", "1", None, None, 1, None)),
        ("session_set_status", ("active", 1, "s1", "created")),
        ("task_claim", ("a", "tok", 1, 1, "w", 1)),
        ("task_complete", ("a", "null", 1, 1)),
        ("task_insert", tuple([None] * 31)),
    ):
        ops = conn.execute("EXPLAIN " + getattr(Q, name), args).fetchall()
        assert not [op for op in ops if op[1] == "OpenEphemeral" and op[5] == "k(1,B)"], name
