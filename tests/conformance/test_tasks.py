"""Task queue behaviour: submit, DAG rules, claims, leases, retries, cancellation, reads, prune."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import swarmstore
from swarmstore import Store
from swarmstore.clock import ManualClock
from swarmstore.errors import (
    CycleError,
    DependencyError,
    InvalidInput,
    InvalidTransition,
    LeaseLost,
    NotFound,
    TaskCancelled,
)


@pytest.fixture
def fast(store_url: str, clock: ManualClock) -> Iterator[Store]:
    """A store whose retry backoff starts at 20 ms and whose chains are at most 5 deep."""
    st = swarmstore.open(store_url, retry_base_seconds=0.02, max_task_depth=5, clock=clock)
    yield st
    st.close()


def counts(store: Store) -> tuple[int, int]:
    return store.stats()["rows"]["tasks"], store.stats()["rows"]["audit"]


def claim_one(store: Store, worker: str = "w", **kw: object) -> swarmstore.Task:
    got = store.tasks.claim(worker, **kw)  # type: ignore[arg-type]
    assert len(got) == 1, got
    return got[0]


def test_submit_defaults_and_audit(store: Store) -> None:
    t = store.tasks.submit("write the spec", {"file": "spec.md"}, metadata={"team": "a"})
    assert (t.status, t.queue, t.priority, t.attempt, t.max_attempts, t.source) == (
        "ready",
        "default",
        5,
        0,
        3,
        "human",
    )
    assert t.payload == {"file": "spec.md"} and t.metadata == {"team": "a"} and t.depends_on == []
    assert t.timeout_seconds == 3600 and t.lease_token is None and t.result is None
    assert store.tasks.get(t.id) == t or store.tasks.get(t.id).id == t.id
    [entry] = store.audit.list(entity="task", entity_id=t.id)
    assert entry.action == "task.submit" and entry.detail["status"] == "ready"


def test_every_field_reads_back_as_submitted(store: Store) -> None:
    """Each field of a task set to a value of its own comes back in its own attribute, from a
    submit, a read and a claim alike."""
    s = store.sessions.create("app", "u")
    parent = store.tasks.submit("parent")
    pre = store.tasks.submit("pre", priority=10)
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    t = store.tasks.submit(
        "all fields", {"p": [1]}, queue="q1", agent_type="coder", priority=7, depends_on=[pre.id],
        parent=parent.id, session_id=s.id, deadline=deadline, estimated_seconds=90, max_attempts=4,
        timeout_seconds=120, idempotency_key="every-field", source="agent", metadata={"m": True},
        on_dependency_failure="run",
    )  # fmt: skip
    expected = {
        "summary": "all fields", "payload": {"p": [1]}, "queue": "q1", "agent_type": "coder", "priority": 7,
        "status": "blocked", "depends_on": [pre.id], "parent_id": parent.id, "session_id": s.id, "deadline": deadline,
        "estimated_seconds": 90, "max_attempts": 4, "timeout_seconds": 120, "idempotency_key": "every-field",
        "source": "agent", "metadata": {"m": True}, "on_dependency_failure": "run", "waiting_on": 1, "dependants": 0,
        "attempt": 0, "result": None, "error": None, "lease_token": None, "worker_id": None,
    }  # fmt: skip
    for got in (t, store.tasks.get(t.id)):
        assert {k: getattr(got, k) for k in expected} == expected
    assert store.tasks.get(pre.id).dependants == 1
    c = claim_one(store, queues=["default"])
    assert c.id == pre.id
    store.tasks.complete(c.id, c.lease_token or "", {"done": 1})
    [running] = store.tasks.claim("w9", queues=["q1"], agent_types=["coder"])
    assert running.id == t.id and running.status == "running" and running.attempt == 1
    assert running.worker_id == "w9" and running.lease_token and running.started_at is not None
    assert running.lease_expires_at is not None and running.updated_at is not None
    assert {k: getattr(running, k) for k in ("payload", "metadata", "deadline", "parent_id")} == {
        k: expected[k] for k in ("payload", "metadata", "deadline", "parent_id")
    }
    done = store.tasks.complete(running.id, running.lease_token or "", ["ok"])
    assert done.result == ["ok"] and done.finished_at is not None and done.status == "completed"


def test_bad_submissions_store_nothing(fast: Store) -> None:
    a = fast.tasks.submit("a")
    before = counts(fast)
    bad: list[tuple[dict[str, object], type[Exception]]] = [
        ({"summary": ""}, InvalidInput),
        ({"summary": "x", "priority": 11}, InvalidInput),
        ({"summary": "x", "priority": "high"}, InvalidInput),
        ({"summary": "x", "source": "robot"}, InvalidInput),
        ({"summary": "x", "payload": {1, 2}}, InvalidInput),
        ({"summary": "x", "depends_on": ["nope"]}, DependencyError),
        ({"summary": "x", "depends_on": [f"t{i}" for i in range(51)]}, DependencyError),
        ({"summary": "x", "parent": "nope"}, NotFound),
        ({"summary": "x", "session_id": "nope"}, NotFound),
        ({"summary": "x", "deadline": datetime(2030, 1, 1)}, InvalidInput),  # naive datetime
        ({"summary": "x", "max_attempts": 0}, InvalidInput),
        ({"summary": "x", "timeout_seconds": -1}, InvalidInput),
        ({"summary": "x", "on_dependency_failure": "shrug"}, InvalidInput),
    ]
    for kwargs, error in bad:
        with pytest.raises(error):
            fast.tasks.submit(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(CycleError):
        fast.tasks.submit_many([{"summary": "self", "ref": "s", "depends_on": ["s"]}])
    with pytest.raises(CycleError):
        fast.tasks.submit_many(
            [
                {"summary": "x", "ref": "x", "depends_on": ["z", a.id]},
                {"summary": "y", "ref": "y", "depends_on": ["x"]},
                {"summary": "z", "ref": "z", "depends_on": ["y"]},
            ]
        )
    with pytest.raises(InvalidInput) as exc:
        fast.tasks.submit_many([{"summary": "ok"}, {"summary": "bad", "priority": -1}])
    assert exc.value.field == "items[1].priority"
    # a chain deeper than max_task_depth (5 here)
    chain = [{"summary": f"c{i}", "ref": f"c{i}", "depends_on": [f"c{i - 1}"] if i else []} for i in range(7)]
    with pytest.raises(DependencyError, match="max depth"):
        fast.tasks.submit_many(chain)
    assert counts(fast) == before


def test_idempotency_key_returns_the_existing_task(store: Store) -> None:
    a = store.tasks.submit("once", idempotency_key="job-1")
    b = store.tasks.submit("twice", idempotency_key="job-1")
    assert b.id == a.id and b.summary == "once"
    [c, d] = store.tasks.submit_many(
        [{"summary": "again", "idempotency_key": "job-1", "ref": "j"}, {"summary": "after", "depends_on": ["j"]}]
    )
    assert c.id == a.id and d.depends_on == [a.id]
    assert store.stats()["rows"]["tasks"] == 2


def test_dependencies_release_in_order(store: Store) -> None:
    a = store.tasks.submit("a")
    b = store.tasks.submit("b")
    c = store.tasks.submit("c", depends_on=[a.id, b.id])
    assert (c.status, c.waiting_on) == ("blocked", 2)
    assert store.tasks.get(a.id).dependants == 1
    ta = claim_one(store)
    store.tasks.complete(ta.id, ta.lease_token or "", {"done": ta.summary})
    assert store.tasks.get(c.id).status == "blocked"
    tb = claim_one(store)
    assert tb.id != ta.id
    store.tasks.complete(tb.id, tb.lease_token or "")
    after = store.tasks.get(c.id)
    assert (after.status, after.waiting_on) == ("ready", 0)
    assert store.tasks.get(ta.id).result == {"done": ta.summary}
    assert [t.id for t in store.tasks.dependencies(c.id)] == sorted([a.id, b.id])
    assert [t.id for t in store.tasks.dependants(a.id)] == [c.id]
    # a prerequisite that is already completed does not block a new task
    assert store.tasks.submit("d", depends_on=[a.id]).status == "ready"


def test_failed_or_cancelled_prerequisite_at_submit_follows_the_policy(store: Store) -> None:
    gone = store.tasks.submit("gone")
    store.tasks.cancel(gone.id)
    t = store.tasks.submit("x", depends_on=[gone.id])
    assert t.status == "cancelled" and t.error is not None and gone.id in t.error
    assert store.tasks.submit("y", depends_on=[gone.id], on_dependency_failure="fail").status == "failed"
    assert store.tasks.submit("z", depends_on=[gone.id], on_dependency_failure="run").status == "ready"


def test_cancel_cascades_downstream_and_to_subtasks(store: Store) -> None:
    root = store.tasks.submit("feature")
    done = store.tasks.submit("done child", parent=root.id)
    c = claim_one(store)
    assert c.id == root.id or c.id == done.id
    other = store.tasks.submit("other")
    if c.id == root.id:  # make sure the finished task is the child
        store.tasks.release(c.id, c.lease_token or "")
        c = next(t for t in store.tasks.claim("w", limit=10) if t.id == done.id)
    store.tasks.complete(done.id, c.lease_token or "")
    running_child = store.tasks.submit("running child", parent=root.id, priority=10)
    run = claim_one(store)
    assert run.id == running_child.id
    dep = store.tasks.submit("after the feature", depends_on=[root.id])
    grandchild = store.tasks.submit("grandchild", parent=running_child.id, depends_on=[dep.id])
    cancelled = store.tasks.cancel(root.id, reason="scope cut")
    assert cancelled.status == "cancelled" and cancelled.error == "scope cut"
    statuses = {t.id: t.status for t in store.tasks.list(limit=100)}
    assert statuses[done.id] == "completed", "completed tasks are never touched"
    assert statuses[running_child.id] == statuses[dep.id] == statuses[grandchild.id] == "cancelled"
    assert statuses[other.id] in ("ready", "running")
    with pytest.raises(TaskCancelled):
        store.tasks.heartbeat(run.id, run.lease_token or "")
    with pytest.raises(TaskCancelled):
        store.tasks.complete(run.id, run.lease_token or "")
    assert store.tasks.cancel(root.id).status == "cancelled", "cancelling twice is a no-op"
    with pytest.raises(InvalidTransition):
        store.tasks.cancel(done.id)
    with pytest.raises(NotFound):
        store.tasks.cancel("nope")


def test_cancel_without_cascade_applies_the_policies(store: Store) -> None:
    a = store.tasks.submit("a")
    x = store.tasks.submit("x", depends_on=[a.id])
    y = store.tasks.submit("y", depends_on=[a.id], on_dependency_failure="run")
    store.tasks.cancel(a.id, cascade=False)
    assert store.tasks.get(x.id).status == "cancelled"
    assert store.tasks.get(y.id).status == "ready"


def test_retry_requeues_failed_and_cancelled(store: Store) -> None:
    a = store.tasks.submit("a", max_attempts=1)
    b = store.tasks.submit("b", depends_on=[a.id])
    c = claim_one(store)
    store.tasks.fail(c.id, c.lease_token or "", "bad")
    assert store.tasks.get(b.id).status == "cancelled"
    with pytest.raises(InvalidTransition, match="retry it first"):
        store.tasks.retry(b.id)
    again = store.tasks.retry(a.id)
    assert (again.status, again.attempt, again.error) == ("ready", 0, None)
    b2 = store.tasks.retry(b.id)
    assert (b2.status, b2.waiting_on) == ("blocked", 1)
    with pytest.raises(InvalidTransition):
        store.tasks.retry(a.id)  # it is ready, not failed
    c = claim_one(store)
    store.tasks.complete(c.id, c.lease_token or "")
    assert store.tasks.get(b.id).status == "ready"


def test_a_retried_prerequisite_is_waited_for_again_by_run_anyway_dependants(store: Store) -> None:
    # (found by the property test) t depends on `open_one` and on `gone`, which was cancelled
    # first: with on_dependency_failure="run", t waits for open_one only. Retrying `gone` makes it
    # open again, so t must wait for both, and must not become ready when just one of them ends.
    gone = store.tasks.submit("gone")
    store.tasks.cancel(gone.id)
    open_one = store.tasks.submit("open")
    t = store.tasks.submit("t", depends_on=[open_one.id, gone.id], on_dependency_failure="run")
    assert (t.status, t.waiting_on) == ("blocked", 1)
    store.tasks.retry(gone.id)
    assert store.tasks.get(t.id).waiting_on == 2
    [entry] = [e for e in store.audit.list(entity_id=gone.id) if e.action == "task.retry"]
    assert entry.detail["dependants_waiting_again"] == 1
    c = claim_one(store)
    store.tasks.complete(c.id, c.lease_token or "")
    assert (store.tasks.get(t.id).status, store.tasks.get(t.id).waiting_on) == ("blocked", 1)
    c = claim_one(store)
    store.tasks.complete(c.id, c.lease_token or "")
    assert store.tasks.get(t.id).status == "ready"


def test_reads_list_tree_plan_stats(store: Store) -> None:
    sid = store.sessions.create("app", "u").id
    [feat, design, build, test] = store.tasks.submit_many(
        [
            {"summary": "feature", "ref": "f", "session_id": sid},
            {"summary": "design", "ref": "d", "parent": "f"},
            {"summary": "build", "ref": "b", "parent": "f", "depends_on": ["d"]},
            {"summary": "test", "parent": "b", "depends_on": ["b"], "queue": "qa"},
        ]
    )
    tree = store.tasks.tree(feat.id)
    assert [(depth, t.summary) for depth, t in tree.walk()] == [
        (0, "feature"),
        (1, "design"),
        (1, "build"),
        (2, "test"),
    ]
    assert [t.id for t in store.tasks.children(feat.id)] == [design.id, build.id]
    assert store.tasks.plan([test.id]) == [[design.id], [build.id], [test.id]]
    assert store.tasks.plan([test.id, feat.id]) == [sorted([design.id, feat.id]), [build.id], [test.id]]
    with pytest.raises(NotFound):
        store.tasks.plan(["nope"])
    assert [t.id for t in store.tasks.list(session_id=sid)] == [feat.id]
    assert [t.id for t in store.tasks.list(queue="qa")] == [test.id]
    assert [t.id for t in store.tasks.list(parent=feat.id)] == [build.id, design.id]
    assert {t.id for t in store.tasks.list(status=["ready"])} == {feat.id, design.id}
    page1 = store.tasks.list(limit=3)
    page2 = store.tasks.list(limit=3, cursor=page1.next_cursor)
    assert [t.id for t in page1] + [t.id for t in page2] == [test.id, build.id, design.id, feat.id]
    c = claim_one(store)
    assert c.id == design.id, "design unblocks build, so it outranks the feature"
    store.tasks.complete(c.id, c.lease_token or "")
    st = store.tasks.stats()
    assert st["total"] == 4 and st["by_status"] == {
        "blocked": 1, "ready": 2, "running": 0, "completed": 1, "failed": 0, "cancelled": 0,
    }  # fmt: skip
    assert st["by_queue"]["qa"] == {"blocked": 1}
    assert st["throughput"]["1m"]["completed"] == 1 and st["oldest_ready_wait_s"] >= 0
    assert store.tasks.plan([test.id]) == [[build.id], [test.id]], "completed prerequisites drop out"


def test_prune_keeps_what_unfinished_work_needs(store: Store, clock: ManualClock) -> None:
    a = store.tasks.submit("a")
    b = store.tasks.submit("b")
    needed_by = store.tasks.submit("waits on b", depends_on=[b.id])
    for c in store.tasks.claim("w", limit=5):
        store.tasks.complete(c.id, c.lease_token or "")
    assert store.tasks.get(needed_by.id).status == "ready"
    assert store.tasks.prune(older_than=0.01, dry_run=True).removed == [], "finished too recently"
    clock.advance(0.011)
    dry = store.tasks.prune(older_than=0.01, dry_run=True)
    assert dry.dry_run and dry.removed == [a.id], "b stays: an open task depends on it"
    assert store.tasks.get(a.id).status == "completed"
    res = store.tasks.prune(older_than=0.01)
    assert res.removed == [a.id] and not res.dry_run
    assert store.tasks.get(b.id).status == "completed"
    with pytest.raises(NotFound):
        store.tasks.get(a.id)
    assert store.tasks.prune(older_than=3600).count == 0
    assert next(e.action for e in store.audit.list(entity_id=a.id)) == "task.prune"


def test_prune_never_removes_a_prerequisite_of_open_work(store: Store, clock: ManualClock) -> None:
    b = store.tasks.submit("b")
    c = claim_one(store)
    store.tasks.complete(c.id, c.lease_token or "")
    store.tasks.submit("later work", depends_on=[b.id], not_before=clock() + timedelta(hours=1))
    clock.advance(0.02)
    assert store.tasks.prune(older_than=0.01).removed == []
    assert store.tasks.get(b.id).status == "completed"


def test_has_open_work_follows_the_queue_to_the_end(store: Store) -> None:
    assert not store.tasks.has_open_work("q")
    first = store.tasks.submit("first", queue="q")
    second = store.tasks.submit("second", queue="q", depends_on=[first.id])
    store.tasks.submit("elsewhere", queue="other")
    assert store.tasks.has_open_work("q") and store.tasks.has_open_work(["none", "q"])
    [t] = store.tasks.claim("w", queues=["q"])
    assert t.id == first.id and store.tasks.has_open_work("q"), "running and blocked are open"
    store.tasks.complete(t.id, t.lease_token or "")
    [t] = store.tasks.claim("w", queues=["q"])
    assert t.id == second.id
    store.tasks.complete(t.id, t.lease_token or "")
    assert not store.tasks.has_open_work("q") and store.tasks.has_open_work("other")


def test_task_audit_chains_stay_whole_across_rejected_and_releasing_changes(store: Store) -> None:
    root = store.tasks.submit("root")
    dep = store.tasks.submit("dep", depends_on=[root.id])
    c = claim_one(store)
    before = counts(store)
    for bad in (lambda: store.tasks.heartbeat(root.id, "stale"), lambda: store.tasks.complete(root.id, "stale")):
        with pytest.raises(LeaseLost):
            bad()
    assert counts(store) == before, "a rejected change writes no audit row"
    store.tasks.complete(root.id, c.lease_token or "")
    trail = list(store.audit.list(entity="task", entity_id=root.id))
    assert [e.action for e in trail] == ["task.complete", "task.claim", "task.submit"]
    assert trail[0].detail == {"released": 1}
    assert [e.action for e in store.audit.list(entity="task", entity_id=dep.id)] == ["task.ready", "task.submit"]
    d = claim_one(store)
    store.tasks.complete(d.id, d.lease_token or "")
    assert [e.action for e in store.audit.list(entity="task", entity_id=dep.id)] == [
        "task.complete", "task.claim", "task.ready", "task.submit"
    ]  # fmt: skip


def test_a_tasks_audit_trail_by_entity_survives_its_prune(store: Store, clock: ManualClock) -> None:
    t = store.tasks.submit("traced")
    other = store.tasks.submit("other")
    [c] = store.tasks.claim("w")
    assert c.id == t.id
    store.tasks.heartbeat(t.id, c.lease_token or "")
    store.tasks.complete(t.id, c.lease_token or "", {"ok": 1})
    trail = [e.action for e in store.audit.list(entity="task", entity_id=t.id)]
    assert trail == ["task.complete", "task.heartbeat", "task.claim", "task.submit"]
    assert [e.action for e in store.audit.list(entity="task", entity_id=other.id)] == ["task.submit"]
    page = store.audit.list(entity="task", entity_id=t.id, limit=3)
    assert [e.action for e in page] == trail[:3] and page.next_cursor is not None
    rest = store.audit.list(entity="task", entity_id=t.id, cursor=page.next_cursor)
    assert [e.action for e in rest] == trail[3:]
    clock.advance(0.02)
    assert store.tasks.prune(older_than=0.01).removed == [t.id]
    after = [e.action for e in store.audit.list(entity="task", entity_id=t.id)]
    assert after == ["task.prune", *trail], "the trail of a pruned task is still found"
