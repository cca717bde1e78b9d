from __future__ import annotations

from datetime import timedelta

import pytest

from swarmstore import Store
from swarmstore.clock import ManualClock
from swarmstore.errors import Conflict, InvalidInput, NotFound


def test_put_creates_then_versions(store: Store) -> None:
    m1 = store.memory.put(
        "project:acme:decisions", "db", {"choice": "sqlite"}, actor="planner", metadata={"src": "adr"}
    )
    assert (m1.version, m1.value, m1.created_by, m1.metadata) == (1, {"choice": "sqlite"}, "planner", {"src": "adr"})
    m2 = store.memory.put("project:acme:decisions", "db", {"choice": "postgres"}, actor="coder")
    assert m2.version == 2
    assert m2.created_by == "planner", "creator is kept across versions"
    assert m2.metadata == {"src": "adr"}, "metadata=None keeps the previous metadata"
    assert m2.updated_by == "coder"
    got = store.memory.get("project:acme:decisions", "db")
    assert (got.version, got.value, got.created_by) == (2, {"choice": "postgres"}, "planner")
    assert store.memory.get("project:acme:decisions", "db", version=1).value == {"choice": "sqlite"}
    assert [m.value["choice"] for m in store.memory.history("project:acme:decisions", "db")] == ["sqlite", "postgres"]


def test_metadata_replaced_when_given_and_type_changes(store: Store) -> None:
    store.memory.put("a", "k", 1, metadata={"x": 1})
    m = store.memory.put("a", "k", 2, type="procedural", metadata={"y": 2})
    assert m.metadata == {"y": 2} and m.type == "procedural"
    assert store.memory.get("a", "k").type == "procedural"


def test_expected_version(store: Store) -> None:
    store.memory.put("a", "k", 1, expected_version=0)
    with pytest.raises(Conflict):
        store.memory.put("a", "k", 2, expected_version=0)
    store.memory.put("a", "k", 2, expected_version=1)
    with pytest.raises(Conflict):
        store.memory.put("a", "k", 3, expected_version=1)
    assert store.memory.get("a", "k").value == 2
    assert len(store.memory.history("a", "k")) == 2


def test_soft_delete_restore_and_reput(store: Store) -> None:
    store.memory.put("user:alice", "k", "v1")
    store.memory.delete("user:alice", "k")
    with pytest.raises(NotFound):
        store.memory.get("user:alice", "k")
    assert [m.key for m in store.memory.list("user:alice")] == []
    assert len(store.memory.history("user:alice", "k")) == 1, "history survives a delete"
    with pytest.raises(NotFound):
        store.memory.delete("user:alice", "k")
    restored = store.memory.restore("user:alice", "k")
    assert restored.value == "v1" and not restored.deleted
    with pytest.raises(Conflict):
        store.memory.restore("user:alice", "k")
    store.memory.delete("user:alice", "k")
    m = store.memory.put("user:alice", "k", "v2", expected_version=0)
    assert m.version == 2, "a put on a deleted key continues the version numbers"
    assert store.memory.get("user:alice", "k").value == "v2"


def test_prefix_listing_is_segment_exact(store: Store) -> None:
    for ns in [
        "user:alice",
        "user:alice:prefs",
        "user:alice:prefs:deep",
        "user:alice2",
        "user:alice-x",
        "user:alic",
        "user",
    ]:
        store.memory.put(ns, "k", ns)
    got = [m.namespace for m in store.memory.list("user:alice")]
    assert got == ["user:alice", "user:alice:prefs", "user:alice:prefs:deep"]
    assert [m.namespace for m in store.memory.list("user:alice:prefs")] == ["user:alice:prefs", "user:alice:prefs:deep"]
    assert len(store.memory.list("")) == 7
    assert store.memory.namespaces("user:alice") == ["user:alice", "user:alice:prefs", "user:alice:prefs:deep"]
    assert store.memory.namespaces("user:alice", max_depth=2) == ["user:alice"]


def test_wildcards_are_plain_characters(store: Store) -> None:
    store.memory.put("a_b", "100%_done*", 1)
    store.memory.put("axb", "k", 2)
    store.memory.put("a", "k", 3)
    assert [m.namespace for m in store.memory.list("a_b")] == ["a_b"], "_ matches only itself"
    assert [m.namespace for m in store.memory.list("a")] == ["a"]
    for bad in ["%", "*", "a%", "a*", "a:%", "a:", ":a", "a::b", "a b"]:
        with pytest.raises(InvalidInput):
            store.memory.list(bad)
    assert store.memory.get("a_b", "100%_done*").value == 1


def test_listing_pagination_and_type_filter(store: Store) -> None:
    items = [
        {"namespace": f"p:n{i % 3}", "key": f"k{i:02d}", "value": i, "type": "episodic" if i % 2 else "semantic"}
        for i in range(25)
    ]
    items.append({"namespace": "p", "key": "root", "value": -1})
    store.memory.put_many(items)
    seen, cursor = [], None
    while True:
        page = store.memory.list("p", limit=4, cursor=cursor)
        seen += [(m.namespace, m.key) for m in page]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == 26 and len(set(seen)) == 26
    assert seen[0] == ("p", "root")
    assert {m.type for m in store.memory.list("p", type="episodic")} == {"episodic"}
    assert len(store.memory.list("p", type="episodic")) == 12


def test_ttl_hides_at_once_and_purge_removes(store: Store, clock: ManualClock) -> None:
    store.memory.put("t", "short", 1, ttl=0.05)
    store.memory.put("t", "long", 2, ttl=timedelta(hours=1))
    store.memory.put("t", "gone", 3)
    store.memory.delete("t", "gone")
    assert store.memory.get("t", "short").expires_at is not None
    clock.advance(0.049)
    assert store.memory.get("t", "short").value == 1, "not yet expired"
    clock.advance(0.001)
    with pytest.raises(NotFound):
        store.memory.get("t", "short")
    assert [m.key for m in store.memory.list("t")] == ["long"]
    assert store.memory.purge("t") == 2
    with pytest.raises(NotFound):
        store.memory.history("t", "short")
    with pytest.raises(NotFound):
        store.memory.restore("t", "gone")
    assert store.memory.get("t", "long").value == 2
    # purge removed the key and its history, so it restarts at version 1 with a one-entry history
    assert store.memory.put("t", "short", 9).version == 1
    assert [(m.version, m.value) for m in store.memory.history("t", "short")] == [(1, 9)]
    with pytest.raises(NotFound):
        store.memory.get("t", "gone", version=1)
    # the audit trail of the purged keys stays; only their content is gone
    actions = [e.action for e in store.audit.list(entity="memory", entity_id="t/gone")]
    assert actions == ["memory.purge", "memory.delete", "memory.put"]


def test_history_keeps_each_versions_own_type_metadata_ttl_and_actor(store: Store) -> None:
    store.memory.put("h", "k", {"a": 1}, type="episodic", metadata={"src": "x"}, actor="ann")
    store.memory.put("h", "k", [1, 2], type="procedural", ttl=3600, actor="bob")
    store.memory.put("h", "k", "three", metadata={"src": "y"})
    h = store.memory.history("h", "k")
    assert [(m.version, m.value, m.type, m.metadata, m.updated_by) for m in h] == [
        (1, {"a": 1}, "episodic", {"src": "x"}, "ann"),
        (2, [1, 2], "procedural", {"src": "x"}, "bob"),
        (3, "three", "semantic", {"src": "y"}, None),
    ]
    assert h[0].expires_at is None and h[1].expires_at is not None and h[2].expires_at is None
    assert all(m.created_by == "ann" for m in h)
    assert store.memory.get("h", "k", version=2) == h[1]
    assert h[0].updated_at <= h[1].updated_at <= h[2].updated_at


def test_put_many_is_all_or_nothing(store: Store) -> None:
    store.memory.put("b", "existing", 0)
    with pytest.raises(InvalidInput) as exc:
        store.memory.put_many(
            [{"namespace": "b", "key": "x", "value": 1}, {"namespace": "b", "key": "y", "value": {1, 2}}]
        )
    assert exc.value.field == "items[1].value"
    with pytest.raises(Conflict):
        store.memory.put_many(
            [
                {"namespace": "b", "key": "x", "value": 1},
                {"namespace": "b", "key": "existing", "value": 1, "expected_version": 5},
            ]
        )
    assert [m.key for m in store.memory.list("b")] == ["existing"]
    out = store.memory.put_many(
        [{"namespace": "b", "key": "x", "value": 1}, {"namespace": "b", "key": "x", "value": 2}]
    )
    assert [m.version for m in out] == [1, 2]
    assert store.memory.put_many([]) == []


@pytest.mark.parametrize("namespaces", [2, 9])  # (a few namespaces, or many: read by pairs)
def test_put_many_across_namespaces_continues_every_key(store: Store, namespaces: int) -> None:
    """Keys present, deleted and new, some repeated, across several namespaces: every put gets
    the next version of its own key, and the history of each key is the sequence of its puts."""
    store.memory.put("m:n0", "k0", "old", metadata={"m": 1})
    store.memory.put("m:n1", "k1", "gone")
    store.memory.delete("m:n1", "k1")
    items = [{"namespace": f"m:n{i % namespaces}", "key": f"k{i % 3}", "value": i} for i in range(30)]
    out = store.memory.put_many(items)
    seen: dict[tuple[str, str], int] = {("m:n0", "k0"): 1, ("m:n1", "k1"): 1}
    for item, m in zip(items, out, strict=True):
        k = (item["namespace"], item["key"])
        seen[k] = seen.get(k, 0) + 1
        assert (m.namespace, m.key, m.value, m.version) == (*k, item["value"], seen[k])
    for (ns, key), last in seen.items():
        history = store.memory.history(ns, key)
        assert [m.version for m in history] == list(range(1, last + 1))
        assert store.memory.get(ns, key).version == last
    assert store.memory.get("m:n0", "k0").metadata == {"m": 1}, "metadata kept across versions"


def test_audit_rows_for_memory(store: Store) -> None:
    store.memory.put("ns", "k", 1, actor="a1")
    store.memory.put("ns", "k", 2, actor="a2")
    store.memory.delete("ns", "k", actor="a3")
    store.memory.restore("ns", "k", actor="a4")
    rows = list(store.audit.list(entity="memory", entity_id="ns/k"))
    assert [(r.action, r.actor, r.detail["version"]) for r in rows] == [
        ("memory.restore", "a4", 2),
        ("memory.delete", "a3", 2),
        ("memory.put", "a2", 2),
        ("memory.put", "a1", 1),
    ]
    assert all(r.namespace == "ns" for r in rows)
    assert len(store.audit.list(action="memory.*")) == 4
    assert len(store.audit.list(actor="a2")) == 1
    assert len(store.audit.list(namespace="ns")) == 4 and len(store.audit.list(namespace="other")) == 0


def test_a_keys_audit_trail_spans_purges_and_pages(store: Store) -> None:
    for i in range(3):
        store.memory.put("tr", "k", i, actor=f"w{i}")
    store.memory.put("tr", "other", 0)
    store.memory.delete("tr", "k")
    assert store.memory.purge("tr") == 1
    store.memory.put_many(
        [{"namespace": "tr", "key": "k", "value": "again"}, {"namespace": "tr", "key": "k", "value": "more"}]
    )
    everything = [(e.action, e.detail["version"]) for e in store.audit.list(entity="memory", entity_id="tr/k")]
    assert everything == [
        ("memory.put", 2), ("memory.put", 1),  # after the purge: a new key, versions from 1
        ("memory.purge", 3), ("memory.delete", 3), ("memory.put", 3), ("memory.put", 2), ("memory.put", 1),
    ]  # fmt: skip
    pages, cursor = [], None
    while True:
        page = store.audit.list(entity="memory", entity_id="tr/k", limit=2, cursor=cursor)
        pages += [(e.action, e.detail["version"]) for e in page]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == everything
    assert [e.actor for e in store.audit.list(entity="memory", entity_id="tr/k", actor="w1")] == ["w1"]
    assert [m.value for m in store.memory.history("tr", "k")] == ["again", "more"]
