from __future__ import annotations

import threading

import pytest

import swarmstore
from swarmstore import Store
from swarmstore.errors import Conflict, InvalidInput, InvalidTransition, NotFound


def test_create_get_and_duplicate_id(store: Store) -> None:
    s = store.sessions.create("app", "alice", project="acme", state={"goal": "x"}, metadata={"m": 1}, id="s-1")
    assert (s.id, s.app, s.user, s.project, s.status, s.state, s.metadata) == (
        "s-1",
        "app",
        "alice",
        "acme",
        "created",
        {"goal": "x"},
        {"m": 1},
    )
    assert store.sessions.get("s-1") == s
    with pytest.raises(Conflict):
        store.sessions.create("app", "bob", id="s-1")
    assert store.sessions.get("s-1").user == "alice"
    with pytest.raises(NotFound):
        store.sessions.get("nope")


def test_list_filters_and_pagination(store: Store) -> None:
    ids = [store.sessions.create("app", f"u{i % 3}", project="p" if i % 2 else None).id for i in range(10)]
    store.sessions.set_status(ids[0], "active")
    store.sessions.set_status(ids[1], "terminated")
    got, cursor = [], None
    while True:
        page = store.sessions.list(app="app", limit=3, cursor=cursor)
        got += [s.id for s in page]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert got == list(reversed(ids)), "newest first, every session exactly once"
    assert {s.user for s in store.sessions.list(user="u1")} == {"u1"}
    assert len(store.sessions.list(project="p")) == 5
    assert [s.id for s in store.sessions.list(status="active")] == [ids[0]]
    assert {s.id for s in store.sessions.list(status=["active", "terminated"])} == {ids[0], ids[1]}
    with pytest.raises(InvalidInput):
        store.sessions.list(status="running")


def test_status_lifecycle(store: Store) -> None:
    sid = store.sessions.create("app", "u").id
    with pytest.raises(InvalidTransition):
        store.sessions.set_status(sid, "paused")
    with pytest.raises(InvalidTransition):
        store.sessions.set_status(sid, "archived")
    for status in ["active", "paused", "active", "paused"]:
        assert store.sessions.set_status(sid, status).status == status
    s = store.sessions.terminate(sid)
    assert s.status == "terminated" and s.terminated_at is not None and s.archived_at is None
    with pytest.raises(InvalidTransition):
        store.sessions.set_status(sid, "active")
    s = store.sessions.set_status(sid, "archived")
    assert s.archived_at is not None
    with pytest.raises(InvalidTransition):
        store.sessions.set_status(sid, "terminated")
    with pytest.raises(NotFound):
        store.sessions.set_status("nope", "active")


def test_events_sequence_and_paging(store: Store) -> None:
    sid = store.sessions.create("app", "u").id
    for i in range(25):
        e = store.sessions.append_event(sid, "message", "agent", {"i": i})
        assert e.seq == i + 1
    got = store.sessions.get(sid)
    assert got.status == "active", "the first event activates a created session"
    assert got.event_count == 25 and got.updated_at == e.created_at, "updated_at is the last activity"
    assert [s.event_count for s in store.sessions.list(app="app")] == [25]
    seqs, after = [], 0
    while True:
        page = store.sessions.events(sid, after=after, limit=10)
        seqs += [e.seq for e in page]
        if page.next_cursor is None:
            break
        after = int(page.next_cursor)
    assert seqs == list(range(1, 26))
    assert store.sessions.events(sid, after=20, limit=100)[0].content == {"i": 20}
    with pytest.raises(NotFound):
        store.sessions.append_event("nope", "message", "agent", {})
    with pytest.raises(NotFound):
        store.sessions.events("nope")


def test_scoped_state(store: Store) -> None:
    a = store.sessions.create("app", "alice", state={"k": 1, "user:lang": "en", "app:mode": "fast", "temp:t": 1}).id
    b = store.sessions.create("app", "alice").id
    c = store.sessions.create("app", "bob").id
    other = store.sessions.create("other-app", "alice").id
    assert store.sessions.state(a) == {"k": 1, "temp:t": 1, "user:lang": "en", "app:mode": "fast"}
    assert store.sessions.state(b) == {"user:lang": "en", "app:mode": "fast"}, "user: and app: keys are shared"
    assert store.sessions.state(c) == {"app:mode": "fast"}
    assert store.sessions.state(other) == {}
    store.sessions.set_state(b, "user:lang", "fr")
    assert store.sessions.get_state(a, "user:lang") == "fr"
    assert store.sessions.get_state(a, "missing", default=None) is None
    with pytest.raises(NotFound):
        store.sessions.get_state(a, "missing")
    store.sessions.update_state(a, {"x": 2, "temp:y": 3})
    store.sessions.delete_state(a, "k")
    assert store.sessions.state(a) == {"x": 2, "temp:t": 1, "temp:y": 3, "user:lang": "fr", "app:mode": "fast"}
    e = store.sessions.append_event(a, "message", "alice", "hi", state_delta={"temp:z": 1, "x": 3})
    assert e.state_delta == {"temp:z": 1, "x": 3}
    assert store.sessions.state(a) == {"x": 3, "temp:z": 1, "user:lang": "fr", "app:mode": "fast"}, (
        "temp keys set before the event are gone"
    )
    store.sessions.append_event(a, "message", "alice", "again")
    assert "temp:z" not in store.sessions.state(a)
    with pytest.raises(InvalidInput):
        store.sessions.set_state(a, "user:", 1)


def test_terminate_keeps_state_and_blocks_changes(store: Store) -> None:
    sid = store.sessions.create("app", "u", state={"keep": 1, "temp:drop": 1}).id
    store.sessions.append_event(sid, "m", "u", 1, state_delta={"temp:drop2": 2})
    store.sessions.terminate(sid)
    assert store.sessions.state(sid) == {"keep": 1}
    with pytest.raises(InvalidTransition):
        store.sessions.append_event(sid, "m", "u", 2)
    with pytest.raises(InvalidTransition):
        store.sessions.set_state(sid, "keep", 2)
    assert [e.seq for e in store.sessions.events(sid)] == [1]


def test_session_audit(store: Store) -> None:
    sid = store.sessions.create("app", "u", actor="orchestrator").id
    store.sessions.append_event(sid, "m", "agent-1", 1)
    store.sessions.set_state(sid, "k", 1, actor="agent-2")
    store.sessions.terminate(sid, actor="orchestrator")
    rows = list(store.audit.list(entity="session", entity_id=sid))
    assert [(r.action, r.actor) for r in rows] == [
        ("session.status", "orchestrator"),
        ("session.state", "agent-2"),
        ("session.event", "agent-1"),
        ("session.create", "orchestrator"),
    ]
    assert rows[0].detail == {"from": "active", "to": "terminated"}


def test_a_sessions_audit_pages_through_its_events(store: Store) -> None:
    sid = store.sessions.create("app", "u").id
    other = store.sessions.create("app", "u").id
    for i in range(5):
        store.sessions.append_event(sid, "m", f"a{i}", i)
        store.sessions.append_event(other, "m", "x", i)
    store.sessions.set_state(sid, "k", 1)
    seen, cursor = [], None
    while True:
        page = store.audit.list(entity="session", entity_id=sid, limit=3, cursor=cursor)
        seen += [(e.action, e.detail.get("seq")) for e in page]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [("session.state", None)] + [("session.event", s) for s in (5, 4, 3, 2, 1)] + [
        ("session.create", None)
    ]
    assert [e.actor for e in store.audit.list(entity="session", entity_id=sid, action="session.event", actor="a3")] == [
        "a3"
    ]


def test_concurrent_appends_number_events_without_gaps(store_url: str) -> None:
    """Writers on their own connections append to one session at once: every event gets the next
    number, none is lost or duplicated."""
    with swarmstore.open(store_url) as st:
        sid = st.sessions.create("app", "u").id
        errors: list[BaseException] = []

        def append(worker: int) -> None:
            try:
                for i in range(20):
                    st.sessions.append_event(sid, "m", f"w{worker}", i)
            except BaseException as exc:  # (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        seqs = [e.seq for e in st.sessions.events(sid, limit=1000)]
        assert seqs == list(range(1, 81))
        assert st.sessions.get(sid).event_count == 80


def test_concurrent_changes_of_shared_state_lose_no_key(store_url: str) -> None:
    """Sessions of one user and app set different user: and app: keys at once, and different keys
    of one session: every key stays."""
    with swarmstore.open(store_url) as st:
        sids = [st.sessions.create("app", "alice").id for _ in range(4)]
        errors: list[BaseException] = []

        def change(n: int) -> None:
            try:
                for i in range(10):
                    st.sessions.update_state(sids[n], {f"user:k{n}_{i}": i, f"app:k{n}_{i}": i, f"own{i}": n})
                    st.sessions.set_state(sids[0], f"shared{n}_{i}", i)
            except BaseException as exc:  # (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=change, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        state = st.sessions.state(sids[0])
        assert {k for k in state if k.startswith("user:")} == {f"user:k{n}_{i}" for n in range(4) for i in range(10)}
        assert {k for k in state if k.startswith("app:")} == {f"app:k{n}_{i}" for n in range(4) for i in range(10)}
        mine = {f"own{i}": 0 for i in range(10)} | {f"shared{n}_{i}": i for n in range(4) for i in range(10)}
        assert {k: v for k, v in state.items() if ":" not in k} == mine, "one session's own keys, changed at once"


def test_shared_state_too_big_is_refused_and_changes_nothing(store_url: str) -> None:
    with swarmstore.open(store_url, max_value_bytes=200) as st:
        a = st.sessions.create("app", "alice").id
        b = st.sessions.create("app", "alice").id
        st.sessions.set_state(a, "user:x", "x" * 100)
        with pytest.raises(InvalidInput):
            st.sessions.update_state(b, {"user:y": "y" * 100, "mine": 1})
        assert st.sessions.state(b) == {"user:x": "x" * 100}, "the whole change rolled back"
        st.sessions.delete_state(b, "user:x")
        st.sessions.set_state(b, "user:y", "y" * 100)
        assert st.sessions.state(a) == {"user:y": "y" * 100}
