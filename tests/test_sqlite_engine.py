"""SQLite-specific behaviour: schema migrations, pragmas, query plans of the hot queries."""

from __future__ import annotations

import os

import apsw
import pytest

import swarmstore
from swarmstore.engine.sqlite.engine import QUERIES as Q
from swarmstore.engine.sqlite.engine import SCHEMA_VERSION
from swarmstore.errors import SchemaError


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


HOT = {
    "session_get": (Q.session_get, ("id",)),
    "session_for_append": (Q.session_for_append, ("id",)),
    "session_touch": (Q.session_touch, (1, "id")),
    "events_page": (Q.events_page, ("id", 0, 100)),
    "memory_get": (Q.memory_get, ("ns", "k", 1)),
    "memory_get_version": (Q.memory_get_version, ("ns", "k", "ns/k", 1)),
    "memory_history": (Q.memory_history, ("ns", "k", "ns/k")),
    "memory_forget_history": (Q.memory_forget_history, ("ns/k",)),
    "memory_list": (Q.memory_list, ("p", "", 1, 1, None, "p:", "", "p;", 101)),
    "memory_next_namespace": (Q.memory_next_namespace, ("a", "b", 1)),
    "memory_delete": (Q.memory_delete, ("ns", "k", 1)),
    "session_state_all": (Q.session_state_all, ("id",)),
    "audit_by_entity": (
        "SELECT * FROM audit WHERE entity = ? AND entity_id = ? ORDER BY id DESC LIMIT 100",
        ("memory", "a/k"),
    ),
    "audit_newest": ("SELECT * FROM audit ORDER BY id DESC LIMIT 100", ()),
    "sessions_by_app_user": (
        "SELECT id FROM sessions WHERE app = ? AND user = ? ORDER BY id DESC LIMIT 100",
        ("a", "u"),
    ),
    "sessions_by_status": ("SELECT id FROM sessions WHERE status IN (?) ORDER BY id DESC LIMIT 100", ("active",)),
    "task_candidates": (Q.task_candidates, ("default", 1, None, 5)),
    "task_candidates_typed": (Q.task_candidates, ("default", 1, '["coder"]', 5)),
    "task_claim": (Q.task_claim, ("a", "tok", 1, 1, "w")),
    "task_expired": (Q.task_expired, (1,)),
    "task_get": (Q.task_get, ("a",)),
    "task_by_key": (Q.task_by_key, ("k",)),
    "task_heartbeat": (Q.task_heartbeat, ("a", "tok", 1, None)),
    "task_complete": (Q.task_complete, ("a", "tok", "null", 1)),
    "task_release_dependants": (Q.task_release_dependants, ("a", 1)),
    "task_dependants_open": (Q.task_dependants_open, ("a",)),
    "task_children": (Q.task_children, ("a",)),
    "task_subtree": (Q.task_subtree, ("a",)),
    "task_downstream": (Q.task_downstream, ("a",)),
    "task_plan_nodes": (Q.task_plan_nodes, ('["a"]',)),
    "task_finished_since": (Q.task_finished_since, (1,)),
    "tasks_by_status": (
        "SELECT id FROM tasks WHERE status IN (?) AND status NOT IN ('ready', 'running') ORDER BY id DESC LIMIT 100",
        ("failed",),
    ),
    "tasks_by_parent": ("SELECT id FROM tasks WHERE parent_id = ? ORDER BY id DESC LIMIT 100", ("a",)),
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
            if line in ("SCAN s", "SCAN b", "SCAN n", "SCAN sub", "SCAN below", "SCAN need"):
                continue
            assert "USING" in line or name == "audit_newest", f"full scan in {name}: {text}"


def test_wal_stays_bounded(db_path: str) -> None:
    limit = 3000
    st = swarmstore.open(db_path, wal_autocheckpoint=limit)
    for i in range(6000):
        st.memory.put(f"wal:n{i % 20}", f"k{i}", {"i": i, "pad": "x" * 200})
    wal = os.path.getsize(db_path + "-wal")
    assert wal < (limit + 2500) * (4096 + 24), f"WAL grew to {wal} bytes"
    st.close()
    with swarmstore.open(db_path) as again:
        assert again.memory.get("wal:n19", "k5999").value["i"] == 5999
