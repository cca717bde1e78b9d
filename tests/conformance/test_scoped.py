"""Scoped views (``store.scoped``): what a view may read and write, on every engine, sync and async.

Each refusal is checked three ways: the error (kind, name, rule), nothing changed, and the
refusal's own audit row. Listings and searches are checked never to show what the view may not
read and never to come back short because of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import swarmstore
from swarmstore.clock import ManualClock
from swarmstore.errors import InvalidInput, NotFound, PermissionDenied
from sync_over_async import SyncOverAsync
from toy_embedders import WordsEmbedder

RULES: dict[str, Any] = {
    "read": ["project:acme:*", "app:swarm"],
    "write": ["project:acme:scratch:*", "session:{session_id}"],
    "queues": ["research", "review:*"],
    "sessions": ["chat:*"],
    "bind": {"session_id": "S1"},
}


@pytest.fixture
def view(store: Any) -> Any:
    return store.scoped("agent:planner", **RULES)


def denied(store: Any, fn: Any, *args: Any, about: str | None = None, **kwargs: Any) -> PermissionDenied:
    """Call ``fn``, expect PermissionDenied, and check its audit row is the newest (about the
    refused name, or the entity ``about``)."""
    with pytest.raises(PermissionDenied) as info:
        fn(*args, **kwargs)
    row = store.audit.list(limit=1).items[0]
    assert (row.action, row.actor, row.entity_id) == ("access.denied", info.value.actor, about or info.value.name)
    assert info.value.actor.startswith("agent:")
    return info.value


# -- memory -------------------------------------------------------------------------------------


def test_memory_inside_the_rules_works_and_names_the_views_actor(store: Any, view: Any) -> None:
    m = view.memory.put("project:acme:scratch:notes", "k", {"v": 1})
    assert (m.created_by, m.updated_by) == ("agent:planner", "agent:planner")
    assert view.memory.get("project:acme:scratch:notes", "k").value == {"v": 1}
    view.memory.put("session:S1", "draft", "x")
    view.memory.delete("session:S1", "draft")
    assert view.memory.restore("session:S1", "draft").value == "x"
    assert [e.actor for e in store.audit.list(limit=3).items] == ["agent:planner"] * 3


def test_a_write_outside_the_rules_is_refused_changes_nothing_and_is_audited(store: Any, view: Any) -> None:
    store.memory.put("project:acme:decisions", "db", "sqlite")
    e = denied(store, view.memory.put, "project:acme:decisions", "db", "mongodb")
    assert (e.action, e.kind, e.name) == ("write", "memory", "project:acme:decisions")
    assert "project:acme:scratch:*" in str(e) and "project:acme:decisions" in str(e)
    assert store.memory.get("project:acme:decisions", "db").value == "sqlite"
    assert store.memory.get("project:acme:decisions", "db").version == 1
    denied(store, view.memory.delete, "project:acme:decisions", "db")
    denied(store, view.memory.put, "session:S2", "k", 1)  # another session's namespace
    denied(store, view.memory.put, "project:acme:scratch", "k", 1)  # the parent of a '*' rule
    assert store.memory.get("project:acme:decisions", "db").value == "sqlite"


def test_reads_outside_the_rules_are_refused(store: Any, view: Any) -> None:
    store.memory.put("user:bob", "secret", "s")
    for fn, args in ((view.memory.get, ("user:bob", "secret")), (view.memory.history, ("user:bob", "secret"))):
        e = denied(store, fn, *args)
        assert (e.action, e.name) == ("read", "user:bob")
    denied(store, view.memory.get, "app:swarm:sub", "k")  # 'app:swarm' admits itself only
    with pytest.raises(NotFound):
        view.memory.get("app:swarm", "missing")  # readable, absent: NotFound, not a refusal


def test_the_caller_cannot_name_another_actor(store: Any, view: Any) -> None:
    e = denied(store, view.memory.put, "session:S1", "k", 1, actor="human:root")
    assert (e.kind, e.name) == ("actor", "human:root")
    with pytest.raises(NotFound):
        store.memory.get("session:S1", "k")
    view.memory.put("session:S1", "k", 1, actor="agent:planner")  # its own name is fine
    denied(store, view.memory.put_many, [{"namespace": "session:S1", "key": "a", "value": 1, "actor": "x"}])


def test_put_many_is_all_or_nothing_under_the_rules(store: Any, view: Any) -> None:
    items = [{"namespace": "session:S1", "key": "a", "value": 1}, {"namespace": "user:bob", "key": "b", "value": 2}]
    denied(store, view.memory.put_many, items)
    with pytest.raises(NotFound):
        store.memory.get("session:S1", "a")
    assert len(view.memory.put_many(items[:1])) == 1


def test_bad_input_is_invalid_input_before_any_rule(store: Any, view: Any) -> None:
    before = store.audit.list(limit=1).items
    with pytest.raises(InvalidInput):
        view.memory.put("bad namespace!", "k", 1)
    with pytest.raises(InvalidInput):
        view.memory.get("session:S1", "")
    assert store.audit.list(limit=1).items == before  # no refusal recorded for a malformed call


def test_a_listing_holds_only_readable_entries_and_its_pages_are_full(store: Any, view: Any) -> None:
    # Readable and unreadable namespaces interleave in key order: each page must still be full.
    for i in range(12):
        store.memory.put(f"project:acme:{i:02d}", "k", i)
        store.memory.put(f"project:acme{i:02d}", "k", i)  # a sibling, not under project:acme
        store.memory.put(f"project:other:{i:02d}", "k", i)
    store.memory.put("project:acme", "k", "the parent: not admitted by project:acme:*")
    store.memory.put("app:swarm", "rules", "r")
    store.memory.put("app:swarm:deep", "k", "not readable")
    seen, cursor = [], None
    while True:
        page = view.memory.list(limit=5, cursor=cursor)
        seen += [(m.namespace, m.key) for m in page.items]
        if page.next_cursor is None:
            break
        assert len(page.items) == 5
        cursor = page.next_cursor
    expected = [("app:swarm", "rules")] + [(f"project:acme:{i:02d}", "k") for i in range(12)]
    assert seen == expected
    assert [m.namespace for m in view.memory.list("project:acme").items] == [ns for ns, _ in expected[1:]]
    assert view.memory.list("user").items == []
    assert view.memory.namespaces() == [ns for ns, _ in expected]
    assert view.memory.namespaces(max_depth=2) == ["app:swarm", "project:acme"]


def test_resolve_takes_the_most_specific_scope_and_checks_each(store: Any, view: Any) -> None:
    chain = swarmstore.precedence(session="S1", user="alice", app="swarm", project="acme")
    assert chain == ["temp:S1", "session:S1", "user:alice", "app:swarm", "project:acme"]
    store.memory.put("project:acme", "model", "small")
    store.memory.put("app:swarm", "model", "medium")
    store.memory.put("user:alice", "model", "large")
    assert store.memory.resolve("model", chain).value == "large"
    store.memory.delete("user:alice", "model")
    assert store.memory.resolve("model", chain).namespace == "app:swarm"
    with pytest.raises(NotFound):
        store.memory.resolve("nothing", chain)
    assert view.memory.resolve("model", ["session:S1", "app:swarm"]).value == "medium"
    denied(store, view.memory.resolve, "model", chain)  # temp:S1 is not readable


def test_purge_needs_the_whole_subtree(store: Any, view: Any) -> None:
    view.memory.put("project:acme:scratch:a", "k", 1)
    view.memory.delete("project:acme:scratch:a", "k")
    denied(store, view.memory.purge, "project:acme")
    denied(store, view.memory.purge)
    assert view.memory.purge("project:acme:scratch:a") == 1


# -- search and documents -----------------------------------------------------------------------


@pytest.fixture(params=["sync", "async"])
def wstore(request: pytest.FixtureRequest, store_url: str, clock: ManualClock) -> Iterator[Any]:
    opts = {"clock": clock, "embedder": WordsEmbedder()}
    st = swarmstore.open(store_url, **opts) if request.param == "sync" else SyncOverAsync(store_url, **opts)
    yield st
    st.close()


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_search_finds_only_what_the_view_may_read_and_k_of_it(wstore: Any, mode: str) -> None:
    view = wstore.scoped("agent:planner", **RULES)
    for i in range(30):  # unreadable entries first in every ranking: they must not crowd out
        wstore.memory.put(f"user:bob:{i:02d}", "k", "deploy the payment service tonight deploy")
    for i in range(4):
        wstore.memory.put(f"project:acme:{i}", "k", "deploy the payment service")
    hits = view.memory.search("deploy payment service", k=3, mode=mode)
    assert len(hits) == 3 and all(h.memory.namespace.startswith("project:acme:") for h in hits)
    assert {h.memory.namespace for h in view.search("deploy payment", k=10, mode=mode)} == {
        f"project:acme:{i}" for i in range(4)
    }


def test_documents_follow_their_namespace(wstore: Any) -> None:
    view = wstore.scoped("agent:planner", **RULES)
    wstore.documents.add("guide.md", "# Guide\nDeploy with care.", namespace="project:acme:docs")
    wstore.documents.add("hr.md", "# HR\nDeploy salaries.", namespace="hr:private")
    wstore.documents.add("loose.md", "# Loose\nDeploy anything.")
    assert [d.id for d in view.documents.list().items] == ["guide.md"]
    assert view.documents.get("guide.md").namespace == "project:acme:docs"
    assert len(view.documents.chunks("guide.md")) == 1
    assert denied(wstore, view.documents.get, "hr.md", about="hr.md").name == "hr:private"
    denied(wstore, view.documents.get, "loose.md", about="loose.md")  # no namespace: the whole store's
    assert {h.document.id for h in view.documents.search("deploy", mode="keyword")} == {"guide.md"}
    denied(wstore, view.documents.add, "x.md", "# X", namespace="project:acme:docs")  # read-only there
    denied(wstore, view.documents.add, "hr.md", "# Mine now", namespace="project:acme:scratch:d", about="hr.md")
    assert wstore.documents.get("hr.md").namespace == "hr:private"
    assert view.documents.add("mine.md", "# Mine", namespace="project:acme:scratch:d").id == "mine.md"
    denied(wstore, view.documents.remove, "guide.md", about="guide.md")
    view.documents.remove("mine.md")


# -- tasks --------------------------------------------------------------------------------------


def test_tasks_live_in_the_views_queues(store: Any, view: Any) -> None:
    mine = view.tasks.submit("research it", queue="research")
    sub = view.tasks.submit("review it", queue="review:code", parent=mine.id, depends_on=[mine.id])
    other = store.tasks.submit("payroll", queue="finance")
    e = denied(store, view.tasks.submit, "x")  # the default queue is not the view's
    assert (e.kind, e.name) == ("queue", "default")
    denied(store, view.tasks.submit, "x", queue="research", depends_on=[other.id], about=other.id)
    denied(store, view.tasks.submit, "x", queue="research", parent=other.id, about=other.id)
    assert denied(store, view.tasks.get, other.id, about=other.id).name == "finance"
    denied(store, view.tasks.cancel, other.id, about=other.id)
    assert store.tasks.get(other.id).status == "ready"
    assert [t.id for t in view.tasks.list().items] == [sub.id, mine.id]
    assert view.tasks.list(queue="finance").items == []
    assert view.tasks.stats()["by_queue"].keys() == {"research", "review:code"}
    assert view.tasks.plan([mine.id, sub.id]) == [[mine.id], [sub.id]]


def test_a_view_claims_as_its_actor_and_only_from_its_queues(store: Any, view: Any) -> None:
    task = view.tasks.submit("research it", queue="research")
    denied(store, view.tasks.claim, queues=["finance"])
    denied(store, view.tasks.claim, "someone-else", queues=["research"])
    after = view.tasks.submit("then this", queue="research", depends_on=[task.id])
    [claimed] = view.tasks.claim(queues=["research"])
    assert claimed.id == task.id and claimed.worker_id == "agent:planner"
    view.tasks.heartbeat(task.id, claimed.lease_token)
    assert view.tasks.complete(task.id, claimed.lease_token, {"ok": 1}).status == "completed"
    [second] = view.tasks.claim(queues=["research"])
    view.tasks.fail(second.id, second.lease_token, "no luck", retry=False)
    trail = [(e.action, e.actor) for e in store.audit.list(limit=100).items if not e.action.startswith("access.")]
    assert {a for a, _ in trail} >= {"task.claim", "task.heartbeat", "task.complete", "task.ready", "task.fail"}
    assert {who for _, who in trail} == {"agent:planner"}  # every row the view's steps wrote names it
    assert store.tasks.get(after.id).status == "failed"


def test_a_tree_shows_only_the_views_subtasks(store: Any, view: Any) -> None:
    root = view.tasks.submit("root", queue="research")
    store.tasks.submit("hidden", queue="finance", parent=root.id)
    shown = view.tasks.submit("shown", queue="research", parent=root.id)
    assert [c.task.id for c in view.tasks.tree(root.id).children] == [shown.id]
    assert [t.id for t in view.tasks.children(root.id)] == [shown.id]
    assert len(store.tasks.tree(root.id).children) == 2


def test_submit_many_checks_every_item_and_knows_its_own_refs(store: Any, view: Any) -> None:
    items = [{"ref": "a", "summary": "a", "queue": "research"}, {"summary": "b", "queue": "research", "depends_on": ["a"]}]
    assert len(view.tasks.submit_many(items)) == 2
    denied(store, view.tasks.submit_many, [*items, {"summary": "c", "queue": "finance"}])
    assert len(store.tasks.list().items) == 2


# -- sessions -----------------------------------------------------------------------------------


def test_sessions_of_the_views_apps_and_users(store: Any, view: Any) -> None:
    mine = view.sessions.create("chat", "alice")
    theirs = store.sessions.create("billing", "alice")
    denied(store, view.sessions.create, "billing", "bob")
    event = view.sessions.append_event(mine.id, "message", content={"text": "hi"})
    assert event.actor == "agent:planner"
    denied(store, view.sessions.append_event, mine.id, "message", "user:alice")
    view.sessions.set_state(mine.id, "topic", "db")
    assert view.sessions.get_state(mine.id, "topic") == "db"
    denied(store, view.sessions.get, theirs.id)
    denied(store, view.sessions.set_state, theirs.id, "topic", "x")
    assert store.sessions.state(theirs.id) == {}
    assert [s.id for s in view.sessions.list().items] == [mine.id]
    assert view.sessions.list(app="billing").items == []


def test_no_rules_means_no_access(store: Any) -> None:
    nobody = store.scoped("agent:nobody")
    store.memory.put("a", "k", 1)
    store.tasks.submit("t")
    assert nobody.memory.list().items == [] and nobody.tasks.list().items == []
    assert nobody.sessions.list().items == []
    with pytest.raises(PermissionDenied):
        nobody.memory.get("a", "k")


def test_the_view_audit_shows_its_own_rows(store: Any, view: Any) -> None:
    store.memory.put("project:acme:x", "k", 1, actor="someone")
    view.memory.put("session:S1", "k", 1)
    assert {e.actor for e in view.audit.list().items} == {"agent:planner"}


def test_app_state_needs_every_user_of_the_app(store: Any) -> None:
    alice = store.scoped("agent:a", sessions=["chat:alice"])
    s = alice.sessions.create("chat", "alice")
    other = store.sessions.create("chat", "bob")
    alice.sessions.set_state(s.id, "user:theme", "dark")  # alice's own: fine
    denied(store, alice.sessions.set_state, s.id, "app:model", "tiny")
    denied(store, alice.sessions.update_state, s.id, {"x": 1, "app:model": "tiny"})
    denied(store, alice.sessions.append_event, s.id, "m", state_delta={"app:model": "tiny"})
    denied(store, alice.sessions.create, "chat", "alice", state={"app:model": "tiny"})
    assert "app:model" not in store.sessions.state(other.id)
    admin = store.scoped("agent:admin", sessions=["chat:*"])
    admin.sessions.set_state(s.id, "app:model", "large")
    assert store.sessions.state(other.id)["app:model"] == "large"


# -- what a review found: each guarantee below has a line that, removed, turns its test red ------


def test_an_idempotency_key_never_hands_over_another_queues_task(store: Any, view: Any) -> None:
    secret = store.tasks.submit("secret plan", {"password": "p"}, queue="finance", idempotency_key="k1")
    denied(store, view.tasks.submit, "x", queue="research", idempotency_key="k1", about=secret.id)
    items = [{"ref": "r", "summary": "x", "queue": "research", "idempotency_key": "k1"},
             {"summary": "child", "queue": "research", "parent": "r", "depends_on": ["r"]}]  # fmt: skip
    denied(store, view.tasks.submit_many, items, about=secret.id)
    assert [t.id for t in store.tasks.list().items] == [secret.id]  # nothing linked, nothing added
    mine = view.tasks.submit("x", queue="research", idempotency_key="k2")
    assert view.tasks.submit("again", queue="research", idempotency_key="k2").id == mine.id


def test_a_cascade_stays_within_the_views_queues(store: Any, view: Any) -> None:
    mine = view.tasks.submit("root", queue="research")
    theirs = store.tasks.submit("downstream", queue="finance", depends_on=[mine.id])
    denied(store, view.tasks.cancel, mine.id, about=theirs.id)
    assert store.tasks.get(theirs.id).status == "blocked" and store.tasks.get(mine.id).status == "ready"
    assert view.tasks.cancel(mine.id, cascade=False).status == "cancelled"  # its own task alone: fine


def test_tasks_and_agents_point_only_at_the_views_sessions(store: Any, view: Any) -> None:
    bob = store.sessions.create("billing", "bob")
    denied(store, view.tasks.submit, "x", queue="research", session_id=bob.id, about=bob.id)
    denied(store, view.agents.register, "agent:planner", "planner", session_id=bob.id, about=bob.id)
    denied(store, view.agents.register, "someone-else", "planner")
    me = view.agents.register("agent:planner", "planner")
    view.agents.heartbeat(me.id, "busy")
    other = store.agents.register("agent:other", "coder")
    denied(store, view.agents.heartbeat, other.id, "busy", about=other.id)
    denied(store, view.agents.stop, other.id, about=other.id)
    assert store.agents.get(other.id).status == "idle"
    assert {a.id for a in view.agents.list()} == {me.id, other.id}  # every agent may be read


def test_every_session_call_checks_the_session(store: Any, view: Any) -> None:
    bob = store.sessions.create("billing", "bob", state={"k": 1})
    store.sessions.append_event(bob.id, "message", "bob", {"text": "private"})
    for fn, args in (
        (view.sessions.events, (bob.id,)),
        (view.sessions.state, (bob.id,)),
        (view.sessions.get_state, (bob.id, "k")),
        (view.sessions.delete_state, (bob.id, "k")),
        (view.sessions.update_state, (bob.id, {"k": 2})),
        (view.sessions.set_status, (bob.id, "paused")),
        (view.sessions.terminate, (bob.id,)),
        (view.sessions.append_event, (bob.id, "message")),
    ):
        denied(store, fn, *args, about=bob.id)
    assert store.sessions.state(bob.id) == {"k": 1} and store.sessions.get(bob.id).status == "active"


def test_every_lease_step_checks_the_task(store: Any, view: Any) -> None:
    other = store.tasks.submit("payroll", queue="finance")
    [claimed] = store.tasks.claim("w", queues=["finance"])
    token = claimed.lease_token
    for fn, args in (
        (view.tasks.heartbeat, (other.id, token)),
        (view.tasks.complete, (other.id, token)),
        (view.tasks.fail, (other.id, token, "x")),
        (view.tasks.release, (other.id, token)),
        (view.tasks.retry, (other.id,)),
        (view.tasks.dependencies, (other.id,)),
        (view.tasks.dependants, (other.id,)),
        (view.tasks.children, (other.id,)),
        (view.tasks.tree, (other.id,)),
        (view.tasks.plan, ([other.id],)),
    ):
        denied(store, fn, *args, about=other.id)
    assert store.tasks.get(other.id).status == "running"
    done = view.tasks.complete_many([(other.id, token), ("no-such-task", "t")])
    assert isinstance(done.errors[0], PermissionDenied) and isinstance(done.errors[1], NotFound)
    assert store.tasks.get(other.id).status == "running"


def test_the_whole_store_operations_need_every_queue(store: Any, view: Any) -> None:
    denied(store, view.tasks.prune, 60)
    denied(store, view.tasks.rescue_expired)
    denied(store, view.tasks.has_open_work, ["finance"])
    assert view.tasks.has_open_work(["research"]) is False
    task = view.tasks.submit("r", queue="research")
    [claimed] = view.tasks.claim(queues=["research"])
    denied(store, view.tasks.complete_and_claim, task.id, claimed.lease_token, worker_id="x", queues=["research"])
    denied(store, view.tasks.complete_and_claim, task.id, claimed.lease_token, queues=["finance"])
    assert store.tasks.get(task.id).status == "running"
    everything = store.scoped("agent:ops", queues=["*"])
    assert everything.tasks.rescue_expired() == 0 and everything.tasks.prune(60).count == 0


def test_the_view_audit_hides_rows_about_unreadable_namespaces(store: Any, view: Any) -> None:
    wide = store.scoped("agent:planner", write=["*"])  # the same actor, through a wider view
    wide.memory.put("hr:secret", "salary", 1)
    view.memory.put("session:S1", "k", 1)
    assert [e.namespace for e in view.audit.list().items] == ["session:S1"]
    denied(store, view.audit.list, actor="someone-else")


def test_sync_needs_every_namespace(store: Any, view: Any, tmp_path: Any) -> None:
    (tmp_path / "a.md").write_text("# A\n")
    denied(store, view.documents.sync, str(tmp_path), namespace="project:acme:scratch:d", about="*")
    assert store.documents.list().items == []


def test_malformed_input_is_invalid_input_not_a_refusal(store: Any, view: Any) -> None:
    malformed = 0
    for call in (lambda: view.memory.put("user:bob", "", 1), lambda: view.tasks.submit("", queue="finance"),
                 lambda: view.sessions.create("billing", "bob", state=5), lambda: view.tasks.claim(5)):  # fmt: skip
        with pytest.raises(InvalidInput):
            call()
        malformed += 1
    assert malformed == 4 and all(e.action != "access.denied" for e in store.audit.list(limit=10).items)


def test_a_views_search_sees_namespaces_added_after_its_first(wstore: Any) -> None:
    view = wstore.scoped("agent:planner", **RULES)
    wstore.memory.put("project:acme:a", "k", "rotate the signing keys")
    assert len(view.memory.search("rotate signing keys", mode="semantic")) == 1
    wstore.memory.put("user:bob", "k", "rotate the signing keys")  # new namespaces, after the first
    wstore.memory.put("project:acme:b", "k", "rotate the signing keys")
    hits = view.memory.search("rotate signing keys", mode="semantic")
    assert sorted(h.memory.namespace for h in hits) == ["project:acme:a", "project:acme:b"]
