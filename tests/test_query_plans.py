"""Query plans of the listings and claims, as the code builds them.

Each case calls the public API on a store whose connections are traced (``sql_capture``), then
asks SQLite to explain exactly the statements that ran, with the values bound to them: a change
to the code that assembles a listing's SQL (a filter dropped, an order changed) shows here. Plans
are taken on the file as the store leaves it, with no ANALYZE statistics (swarmstore never runs
ANALYZE), which is what users' stores get.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import swarmstore
from sql_capture import Recorder, Statement, capture_sql, explain
from swarmstore import Store

BIG = ("tasks", "audit", "sessions", "memories", "agents")
_FULL_SCAN = re.compile(rf"^\s*SCAN ({'|'.join(BIG)})\b")


@dataclass
class World:
    """A store with a little of everything, traced, and the ids the cases refer to."""

    st: Store
    path: str
    rec: Recorder
    ids: dict[str, str]

    def run(self, call: Callable[[World], Any]) -> list[Statement]:
        return self.rec.during(lambda: call(self))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = str(Path(tmp_path_factory.mktemp("plans")) / "swarm.db")
    with capture_sql() as rec:
        st = swarmstore.open(path)
        st.sessions.create("app", "u0", project="p", id="s0")
        for i in range(1, 30):
            st.sessions.create("app", f"u{i % 3}", project="p" if i % 2 else None, id=f"s{i}")
        st.sessions.append_event("s0", "message", "bot", {"n": 1})
        root = st.tasks.submit("root", session_id="s0")
        for i in range(60):
            st.tasks.submit(
                f"t{i}",
                parent=root.id,
                session_id="s0" if i % 5 == 0 else None,
                agent_type="coder" if i % 7 == 0 else None,
            )
        # finished tasks of each kind among ready ones: completed, failed, cancelled
        for i in range(15):
            [c] = st.tasks.claim("w")
            if i % 3 == 0:
                st.tasks.complete(c.id, c.lease_token or "", {"i": i})
            elif i % 3 == 1:
                st.tasks.fail(c.id, c.lease_token or "", "boom", retry=False)
            else:
                st.tasks.cancel(c.id)
        st.tasks.claim("w", limit=3)  # some running
        for i in range(40):
            st.memory.put(f"p:a{i % 4}", f"k{i}", i)
        agent = st.agents.register("a1", "coder")
        yield World(st, path, rec, {"root": root.id, "agent": agent.id})
        st.close()


@dataclass(frozen=True)
class Case:
    call: Callable[[World], Any]
    uses: str  # a step its plan must show: the index that does the work
    sorts: bool = False  # a temp B-tree is allowed: it sorts one entity's own rows, found by links
    scans: bool = False  # a full scan is allowed: unfiltered, in the listing's order, stopped by LIMIT


def _second_page(w: World, **filters: Any) -> Any:
    first = w.st.tasks.list(limit=2, **filters)
    assert first.next_cursor is not None
    return w.st.tasks.list(limit=2, cursor=first.next_cursor, **filters)


CASES: dict[str, Case] = {
    "tasks_failed": Case(
        lambda w: w.st.tasks.list(status="failed"), "SEARCH tasks USING INDEX tasks_status (status=?)"
    ),
    "tasks_completed": Case(
        lambda w: w.st.tasks.list(status=["completed"]), "SEARCH tasks USING INDEX tasks_status (status=?)"
    ),
    "tasks_cancelled_next_page": Case(
        lambda w: _second_page(w, status="cancelled"), "SEARCH tasks USING INDEX tasks_status (status=? AND id<?)"
    ),
    "tasks_by_parent": Case(
        lambda w: w.st.tasks.list(parent=w.ids["root"]), "SEARCH tasks USING INDEX tasks_parent (parent_id=?)"
    ),
    "tasks_by_session": Case(
        lambda w: w.st.tasks.list(session_id="s0"), "SEARCH tasks USING INDEX tasks_session (session_id=?)"
    ),
    "sessions_by_app_user": Case(
        lambda w: w.st.sessions.list(app="app", user="u1"),
        "SEARCH sessions USING INDEX sessions_app_user (app=? AND user=?)",
    ),
    "sessions_by_user": Case(lambda w: w.st.sessions.list(user="u2"), "SEARCH sessions USING INDEX sessions_user"),
    "sessions_by_project": Case(
        lambda w: w.st.sessions.list(project="p"), "SEARCH sessions USING INDEX sessions_project (project=?)"
    ),
    "sessions_by_status": Case(
        lambda w: w.st.sessions.list(status="created"), "SEARCH sessions USING INDEX sessions_status (status=?)"
    ),
    "audit_newest": Case(lambda w: w.st.audit.list(), "SCAN audit", scans=True),
    "audit_by_agent": Case(
        lambda w: w.st.audit.list(entity="agent", entity_id=w.ids["agent"]),
        "SEARCH audit USING INDEX audit_entity (entity=? AND entity_id=?)",
    ),
    "audit_by_task": Case(
        lambda w: w.st.audit.list(entity="task", entity_id=w.ids["root"]),
        "SEARCH audit USING INTEGER PRIMARY KEY (rowid=?)",
        sorts=True,
    ),
    "audit_by_memory_key": Case(
        lambda w: w.st.audit.list(entity="memory", entity_id="p:a1/k1"),
        "SEARCH audit USING INTEGER PRIMARY KEY (rowid=?)",
        sorts=True,
    ),
    "audit_by_session": Case(
        lambda w: w.st.audit.list(entity="session", entity_id="s0"),
        "SEARCH audit USING COVERING INDEX audit_events (entity_id=?)",
        sorts=True,
    ),
    "memory_list_prefix": Case(lambda w: w.st.memory.list("p:a1"), "SEARCH memories USING PRIMARY KEY (namespace=?"),
    "memory_list_all_typed": Case(
        lambda w: w.st.memory.list(type="semantic", limit=3), "SEARCH memories USING PRIMARY KEY"
    ),
    "agents_alive": Case(lambda w: w.st.agents.list(), "SEARCH agents USING INDEX agents_seen (last_seen_at>?)"),
    "claim": Case(lambda w: w.st.tasks.claim("w2"), "SEARCH tasks USING INDEX tasks_ready (queue=?)"),
    "claim_typed": Case(
        lambda w: w.st.tasks.claim("w2", agent_types=["coder"]), "SEARCH tasks USING INDEX tasks_ready (queue=?)"
    ),
}


def _show(s: Statement, plan: list[str]) -> str:
    return f"{' '.join(s.sql.split())}\n  {s.bindings}\n" + "\n".join(plan)


def _faults(w: World, stmts: list[Statement], *, sorts: bool = False, scans: bool = False) -> list[str]:
    """The plan steps of ``stmts`` that sort (a temp B-tree) or read a whole table, each shown
    with its statement, bindings and whole plan."""
    out = []
    for s in stmts:
        plan = explain(w.path, s)
        bad = [x for x in plan if (not sorts and "TEMP B-TREE" in x) or (not scans and _FULL_SCAN.match(x))]
        if bad:
            out.append(f"{bad} in {_show(s, plan)}")
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_what_the_code_runs_uses_an_index_and_sorts_nothing(world: World, name: str) -> None:
    case = CASES[name]
    stmts = world.run(case.call)
    assert stmts, f"{name} ran no statement"
    plans = [explain(world.path, s) for s in stmts]
    shown = "\n\n".join(_show(s, p) for s, p in zip(stmts, plans, strict=True))
    assert any(case.uses in line for p in plans for line in p), f"{name} does not use {case.uses!r}:\n{shown}"
    faults = _faults(world, stmts, sorts=case.sorts, scans=case.scans)
    assert not faults, "\n\n".join(faults)


@pytest.mark.xfail(strict=True, reason="an IN list of statuses merges its index runs by sorting them all")
@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.st.tasks.list(status=["completed", "failed"]),
        lambda w: w.st.sessions.list(status=["created", "active"]),
    ],
    ids=["tasks", "sessions"],
)
def test_several_statuses_list_without_sorting(world: World, call: Callable[[World], Any]) -> None:
    stmts = world.run(call)
    assert not _faults(world, stmts)


def _partial_index_where(w: World, index: str) -> str:
    [(sql,)] = w.st.engine.query("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?", (index,))
    return " ".join(str(sql).split()).split(" WHERE ", 1)[1]


def test_a_finished_status_listing_states_the_partial_index_condition(world: World) -> None:
    """SQLite uses a partial index only if the query's WHERE implies the index's own: a listing of
    finished statuses must say ``status NOT IN ('ready', 'running')`` as the index does; a listing
    that includes a claimable status must not (it would hide those tasks)."""
    cond = _partial_index_where(world, "tasks_status")
    [failed] = world.run(lambda w: w.st.tasks.list(status="failed"))
    assert cond in " ".join(failed.sql.split())
    [ready] = world.run(lambda w: w.st.tasks.list(status=["ready", "failed"]))
    assert cond not in " ".join(ready.sql.split())
    listed = world.st.tasks.list(status=["ready", "failed"], limit=1000).items
    assert {t.status for t in listed} == {"ready", "failed"}
    everything = world.st.tasks.list(limit=1000).items
    assert [t.id for t in everything] == sorted((t.id for t in everything), reverse=True), "newest first"
    assert [t.id for t in listed] == [t.id for t in everything if t.status in ("ready", "failed")], "newest first"


def test_one_entity_audit_listing_states_the_audit_index_condition(world: World) -> None:
    """The audit_entity index leaves out memory, task and event rows: an entity listing read
    through it must carry the index's own condition, or SQLite scans the log."""
    cond = _partial_index_where(world, "audit_entity")
    [stmt] = world.run(lambda w: w.st.audit.list(entity="agent", entity_id=w.ids["agent"]))
    assert cond in " ".join(stmt.sql.split())
    assert [e.action for e in world.st.audit.list(entity="agent", entity_id=world.ids["agent"])] == ["agent.register"]
