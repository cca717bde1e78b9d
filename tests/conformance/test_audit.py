"""The audit log: filters, families, namespaces, time windows, keyset paging and one entity's trail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from swarmstore import Store
from swarmstore.clock import ManualClock
from swarmstore.errors import InvalidInput


def every(store: Store, **filters: object) -> list[tuple[str, str]]:
    """(action, entity_id) of every entry matching ``filters``, read two at a time."""
    out, cursor = [], None
    while True:
        page = store.audit.list(limit=2, cursor=cursor, **filters)  # type: ignore[arg-type]
        out += [(e.action, e.entity_id) for e in page]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def test_filters_narrow_and_pages_cover_each_entry_once(store: Store, clock: ManualClock) -> None:
    t0 = clock()
    s = store.sessions.create("app", "u", actor="boss").id
    clock.advance(1)
    store.sessions.set_status(s, "active", actor="w1")
    store.sessions.set_state(s, "k", 1, actor="w2")
    store.sessions.append_event(s, "m", "w1", 1)
    clock.advance(1)
    t2 = clock()
    ag = store.agents.register("bot", "coder").id
    store.sessions.set_state(s, "k", 2, actor="w1")
    log = every(store)
    assert log == [
        ("session.state", s),
        ("agent.register", ag),
        ("session.event", s),
        ("session.state", s),
        ("session.status", s),
        ("session.create", s),
    ], "newest first, each entry once across pages"
    ids = [e.id for e in store.audit.list(limit=100)]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert every(store, action="session.*") == [log[0], *log[2:]], "a family: every action that starts with it"
    assert every(store, action="session.state") == [log[0], log[3]]
    assert every(store, action="session.state", actor="w1") == [log[0]]
    assert every(store, actor="w1") == [log[0], log[2], log[4]]
    assert every(store, entity="agent") == [log[1]]
    assert every(store, entity="session", actor="w1") == [log[0], log[2], log[4]]
    assert every(store, since=t2) == log[:2], "since: at or after"
    assert every(store, until=t2) == log[2:], "until: before"
    assert every(store, since=t0 + timedelta(seconds=1), until=t2) == log[2:5]
    assert every(store, entity="agent", entity_id=ag) == [log[1]]
    assert every(store, entity="session", entity_id=s, actor="w1") == [log[0], log[2], log[4]]
    assert every(store, action="agent.*", entity="session") == []
    assert every(store, action="sessio.*") == [], "a family is whole segments"


def test_namespace_and_family_filters_over_memory_rows(store: Store) -> None:
    store.memory.put("proj", "a", 1, actor="w1")
    store.memory.put("proj:sub", "b", 2, actor="w2")
    store.memory.put("project", "c", 3, actor="w1")
    store.sessions.create("app", "u")
    puts = [("memory.put", "project/c"), ("memory.put", "proj:sub/b"), ("memory.put", "proj/a")]
    assert every(store, action="memory.*") == puts
    assert every(store, action="memory.put", actor="w1") == [puts[0], puts[2]]
    assert every(store, namespace="proj") == puts[1:], "a namespace and those under it, segment-exact"
    assert every(store, namespace="proj:sub") == [puts[1]]
    assert every(store, namespace="pro") == []


def test_a_cursor_belongs_to_its_listing(store: Store) -> None:
    for i in range(3):
        store.sessions.create("app", f"u{i}")
    audit_cursor = store.audit.list(limit=1).next_cursor
    sessions_cursor = store.sessions.list(limit=1).next_cursor
    assert audit_cursor is not None and sessions_cursor is not None
    with pytest.raises(InvalidInput):
        store.audit.list(cursor=sessions_cursor)
    with pytest.raises(InvalidInput):
        store.sessions.list(cursor=audit_cursor)
    rest = store.audit.list(cursor=audit_cursor)
    assert len(rest) == 2 and rest.next_cursor is None


def test_an_entry_reads_back_whole(store: Store, clock: ManualClock) -> None:
    sid = store.sessions.create("app", "alice", actor="boss").id
    [e] = store.audit.list(entity="session", entity_id=sid)
    assert (e.action, e.entity, e.entity_id, e.actor, e.namespace, e.at) == (
        "session.create",
        "session",
        sid,
        "boss",
        None,
        clock(),
    )
    assert e.detail == {"app": "app", "user": "alice"}
