"""Agents: registration, heartbeats, status transitions, liveness, listings and their audit rows."""

from __future__ import annotations

import pytest

from swarmstore import Store
from swarmstore.clock import ManualClock
from swarmstore.errors import InvalidInput, InvalidTransition, NotFound


def test_agents_register_heartbeat_and_liveness(store: Store, clock: ManualClock) -> None:
    a = store.agents.register("coder-1", "coder", model="some-model", metadata={"gpu": False})
    assert (a.status, a.alive, a.model, a.metadata) == ("idle", True, "some-model", {"gpu": False})
    busy = store.agents.heartbeat(a.id, "busy", "task-1")
    assert (busy.status, busy.current_task) == ("busy", "task-1")
    assert [x.id for x in store.agents.list()] == [a.id]
    clock.advance(0.01)
    assert [x.id for x in store.agents.list(within=0.01)] == [a.id], "heard from exactly 10 ms ago"
    clock.advance(0.001)
    assert store.agents.list(within=0.01) == [], "an agent that stopped heartbeating is gone"
    assert store.agents.list(alive_only=False, within=0.01)[0].alive is False
    stopped = store.agents.stop(a.id)
    assert stopped.status == "stopped" and stopped.stopped_at is not None
    with pytest.raises(InvalidTransition):
        store.agents.heartbeat(a.id, "busy")
    with pytest.raises(NotFound):
        store.agents.heartbeat("nope")
    with pytest.raises(InvalidInput):
        store.agents.register("", "coder")
    actions = [e.action for e in store.audit.list(entity="agent")]
    assert actions == ["agent.status", "agent.status", "agent.register"]


def test_a_heartbeat_keeps_or_clears_the_current_task_and_audits_only_changes(store: Store, clock: ManualClock) -> None:
    a = store.agents.register("w", "worker")
    busy = store.agents.heartbeat(a.id, "busy", "t-1")
    clock.advance(1)
    kept = store.agents.heartbeat(a.id)
    assert (kept.status, kept.current_task) == ("busy", "t-1"), "no task given: the task is kept"
    assert kept.last_seen_at > busy.last_seen_at
    cleared = store.agents.heartbeat(a.id, "idle", None)
    assert (cleared.status, cleared.current_task) == ("idle", None)
    trail = [(e.action, e.detail) for e in store.audit.list(entity="agent", entity_id=a.id)]
    assert trail == [
        ("agent.status", {"status": "idle", "current_task": None}),
        ("agent.status", {"status": "busy", "current_task": "t-1"}),
        ("agent.register", {"name": "w", "agent_type": "worker"}),
    ], "a heartbeat that changes nothing but the time writes no audit row"
    assert store.agents.get(a.id) == cleared


def test_list_filters_by_type_and_orders_by_last_seen(store: Store, clock: ManualClock) -> None:
    sid = store.sessions.create("app", "u").id
    a = store.agents.register("a", "coder", session_id=sid)
    clock.advance(0.5)
    b = store.agents.register("b", "reviewer")
    clock.advance(0.5)
    store.agents.heartbeat(a.id)
    assert [x.id for x in store.agents.list()] == [a.id, b.id], "most recently seen first"
    assert [x.id for x in store.agents.list(agent_type="reviewer")] == [b.id]
    assert a.session_id == sid
    store.agents.stop(b.id)
    assert [x.id for x in store.agents.list()] == [a.id], "a stopped agent is not alive"
    assert {x.id for x in store.agents.list(alive_only=False)} == {a.id, b.id}
    with pytest.raises(NotFound):
        store.agents.register("c", "coder", session_id="no-such-session")
    assert len(store.agents.list(alive_only=False)) == 2, "a refused registration writes nothing"
