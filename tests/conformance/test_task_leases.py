"""Task queue behaviour: claims (order, filters), leases, completions (alone, stepping to the
next task, many at once), failures with retries, and hand-backs."""

from __future__ import annotations

from datetime import timedelta

import pytest

import swarmstore
from swarmstore import Store
from swarmstore.clock import ManualClock
from swarmstore.errors import (
    InvalidInput,
    InvalidTransition,
    LeaseLost,
)

from .test_tasks import claim_one, counts, fast

__all__ = ["fast"]  # (the fixture, shared with test_tasks.py)


def test_claim_order_priority_deadline_unblocking_and_age(store: Store, clock: ManualClock) -> None:
    now = clock()
    low = store.tasks.submit("low", priority=1)
    high = store.tasks.submit("high", priority=9)
    far = store.tasks.submit("far deadline", deadline=now + timedelta(days=30))
    near = store.tasks.submit("near deadline", deadline=now + timedelta(hours=1))
    mid = store.tasks.submit("no deadline")
    hub = store.tasks.submit("unblocks three")
    for i in range(3):
        store.tasks.submit(f"after hub {i}", depends_on=[hub.id])
    clock.advance(1)
    same = store.tasks.submit("no deadline, later")
    scores = {t.id: t.score for t in store.tasks.list(status="ready")}
    assert scores[near.id] > scores[far.id] > scores[mid.id], "nearer deadline > farther > none"
    assert scores[high.id] > scores[mid.id] > scores[low.id]
    assert scores[hub.id] > scores[mid.id], "a task that unblocks others is more urgent"
    assert scores[mid.id] > scores[same.id], "same priority: the older one first"
    order = [t.id for t in store.tasks.claim("w", limit=100)]
    assert order == sorted(scores, key=lambda i: (-scores[i], i))
    assert order.index(near.id) < order.index(far.id) < order.index(mid.id) < order.index(same.id)
    assert order[-1] == low.id


def test_scores_age(store: Store, clock: ManualClock) -> None:
    t = store.tasks.submit("waits")
    assert store.tasks.get(t.id).score == t.score, "no time passed"
    clock.advance(10)
    later = store.tasks.get(t.id)
    assert later.score > t.score


def test_claim_filters_queues_and_agent_types(store: Store) -> None:
    store.tasks.submit("default")
    mail = store.tasks.submit("mail", queue="mail")
    coder = store.tasks.submit("code", queue="mail", agent_type="coder", priority=9)
    assert store.tasks.claim("w", queues="nothing") == []
    assert [t.id for t in store.tasks.claim("w", queues=["mail"], agent_types=["writer"], limit=5)] == [mail.id]
    assert [t.id for t in store.tasks.claim("w", queues=("mail", "default"), agent_types=["coder"])] == [coder.id]
    assert [t.summary for t in store.tasks.claim("w", queues=("mail", "default"))] == ["default"]


def test_not_before_delays_a_claim(store: Store, clock: ManualClock) -> None:
    store.tasks.submit("later", not_before=clock() + timedelta(milliseconds=80))
    assert store.tasks.claim("w") == []
    clock.advance(0.079)
    assert store.tasks.claim("w") == []
    clock.advance(0.001)
    assert [t.summary for t in store.tasks.claim("w")] == ["later"]


def test_lease_heartbeat_stale_token_and_rescue(store: Store, clock: ManualClock) -> None:
    t = store.tasks.submit("job", max_attempts=2)
    first = claim_one(store, "w1", lease_seconds=0.05)
    assert (first.status, first.attempt, first.worker_id) == ("running", 1, "w1")
    assert first.lease_expires_at is not None
    beat = store.tasks.heartbeat(t.id, first.lease_token or "", lease_seconds=0.05)
    assert beat.lease_expires_at is not None and beat.lease_expires_at >= first.lease_expires_at
    with pytest.raises(LeaseLost):
        store.tasks.complete(t.id, "not-the-token")
    clock.advance(0.05)
    assert store.tasks.claim("w2") == [], "the lease still holds at its expiry"
    clock.advance(0.001)
    second = claim_one(store, "w2", lease_seconds=0.05)  # the claim rescued the expired lease first
    assert (second.id, second.attempt, second.worker_id) == (t.id, 2, "w2")
    assert second.lease_token != first.lease_token
    with pytest.raises(LeaseLost):
        store.tasks.complete(t.id, first.lease_token or "")
    with pytest.raises(LeaseLost):
        store.tasks.heartbeat(t.id, first.lease_token or "")
    clock.advance(0.051)  # the last attempt's lease expires too: failed, not retried
    assert store.tasks.rescue_expired() == 1
    done = store.tasks.get(t.id)
    assert done.status == "failed" and "lease expired" in (done.error or "")
    assert [e.action for e in store.audit.list(entity_id=t.id)][:2] == ["task.fail", "task.claim"]


def test_complete_and_claim_moves_to_the_next_task_in_one_step(store: Store) -> None:
    first = store.tasks.submit("first", priority=9)
    after = store.tasks.submit("after first", depends_on=[first.id], priority=9)
    other = store.tasks.submit("other", priority=1)
    typed = store.tasks.submit("for a reviewer", agent_type="reviewer", priority=10)
    c = claim_one(store, "w1", agent_types=["coder"])
    assert c.id == first.id
    tasks_before, audit_before = counts(store)
    nxt = store.tasks.complete_and_claim(c.id, c.lease_token or "", {"ok": 1}, worker_id="w1",
                                         agent_types=["coder"], lease_seconds=30)  # fmt: skip
    done = store.tasks.get(first.id)
    assert (done.status, done.result, done.lease_expires_at) == ("completed", {"ok": 1}, None)
    assert done.finished_at is not None
    # the dependant released by this very completion is claimable by the claim in the same step
    assert [t.id for t in nxt] == [after.id]
    assert (nxt[0].status, nxt[0].attempt, nxt[0].worker_id) == ("running", 1, "w1")
    assert nxt[0].lease_expires_at is not None and nxt[0].started_at is not None
    assert nxt[0].lease_expires_at - nxt[0].started_at <= timedelta(seconds=30)
    assert counts(store) == (tasks_before, audit_before + 3)  # complete, ready (released), claim
    assert [e.action for e in store.audit.list(entity_id=after.id)][:2] == ["task.claim", "task.ready"]
    [completion] = [e for e in store.audit.list(entity_id=first.id) if e.action == "task.complete"]
    assert completion.detail == {"released": 1}
    # limit and filters work as in claim; an empty queue claims nothing and still completes
    nxt2 = store.tasks.complete_and_claim(nxt[0].id, nxt[0].lease_token or "", worker_id="w1",
                                          agent_types=["coder"], limit=5)  # fmt: skip
    assert store.tasks.get(after.id).status == "completed" and [t.id for t in nxt2] == [other.id]
    nxt3 = store.tasks.complete_and_claim(nxt2[0].id, nxt2[0].lease_token or "", worker_id="w1",
                                          agent_types=["coder"])  # fmt: skip
    assert store.tasks.get(other.id).status == "completed" and nxt3 == []
    assert store.tasks.get(typed.id).status == "ready"


def test_complete_and_claim_claims_nothing_when_the_completion_fails(store: Store) -> None:
    a = store.tasks.submit("a")
    store.tasks.submit("b")
    c = claim_one(store)
    before = counts(store)
    with pytest.raises(LeaseLost):
        store.tasks.complete_and_claim(c.id, "stale-token", worker_id="w")
    with pytest.raises(InvalidInput):
        store.tasks.complete_and_claim(c.id, c.lease_token or "", worker_id="w", lease_seconds=0)
    with pytest.raises(InvalidInput):
        store.tasks.complete_and_claim(c.id, c.lease_token or "", worker_id="w", queues=[])
    assert counts(store) == before
    assert store.tasks.get(c.id).status == "running"
    assert [t.status for t in store.tasks.list(status="ready")] == ["ready"]
    store.tasks.cancel(a.id if c.id == a.id else c.id)
    with pytest.raises(swarmstore.errors.TaskCancelled):
        store.tasks.complete_and_claim(c.id, c.lease_token or "", worker_id="w")
    assert len(store.tasks.list(status="ready")) == 1, "the failed step claimed nothing"


def test_complete_many_commits_each_completion_alone_and_claims_after_them(store: Store) -> None:
    a, b, c, d = store.tasks.submit_many([{"summary": s, "priority": 9} for s in "abcd"])
    after_a = store.tasks.submit("after a", depends_on=[a.id], priority=10)
    later = store.tasks.submit("later", priority=1)
    running = store.tasks.claim("w1", limit=4)
    assert {t.id for t in running} == {a.id, b.id, c.id, d.id}
    tok = {t.id: t.lease_token or "" for t in running}
    store.tasks.cancel(c.id)
    tasks_before, audit_before = counts(store)
    step = store.tasks.complete_many(
        [
            (a.id, tok[a.id], {"n": 1}),
            (b.id, "stale-token", 2),
            (c.id, tok[c.id]),
            (d.id, tok[d.id], {1, 2}),  # (a set is no JSON)
            ("no-such-task", "x"),
            (b.id, tok[b.id]),
        ],
        claim=5,
        worker_id="w2",
        lease_seconds=30,
    )
    assert [type(e).__name__ if e else None for e in step.errors] == [
        None, "LeaseLost", "TaskCancelled", "InvalidInput", "NotFound", None,
    ]  # fmt: skip
    assert step.completed == 2
    # the refused ones wrote nothing: no audit row, d still running with its lease
    assert (store.tasks.get(a.id).status, store.tasks.get(a.id).result) == ("completed", {"n": 1})
    assert (store.tasks.get(b.id).status, store.tasks.get(b.id).result) == ("completed", None)
    assert store.tasks.get(c.id).status == "cancelled"
    assert (store.tasks.get(d.id).status, store.tasks.get(d.id).lease_token) == ("running", tok[d.id])
    # the claim sees what the completions released, in the same commit
    assert [t.id for t in step.claimed] == [after_a.id, later.id]
    assert all((t.status, t.worker_id) == ("running", "w2") for t in step.claimed)
    # 2 completions, 1 release, 2 claims
    assert counts(store) == (tasks_before, audit_before + 5)
    assert store.audit.list(entity_id=d.id).items[0].action == "task.claim"
    # no claim without a worker id; nothing to complete is a plain claim
    with pytest.raises(InvalidInput):
        store.tasks.complete_many([(d.id, tok[d.id])], claim=1)
    with pytest.raises(InvalidInput):
        store.tasks.complete_many([(d.id, tok[d.id])], claim=1, worker_id="w", queues=[])
    assert store.tasks.get(d.id).status == "running"
    assert store.tasks.complete_many([], claim=1, worker_id="w3").claimed == []
    bad = store.tasks.complete_many(["ab", (d.id,)])
    assert [type(e).__name__ for e in bad.errors] == ["InvalidInput", "InvalidInput"]


def test_heartbeat_never_extends_past_the_timeout(store: Store) -> None:
    store.tasks.submit("short", timeout_seconds=0.05)
    t = claim_one(store, lease_seconds=60)
    assert t.lease_expires_at is not None and t.started_at is not None
    assert t.lease_expires_at - t.started_at <= timedelta(seconds=0.05)
    beat = store.tasks.heartbeat(t.id, t.lease_token or "", lease_seconds=60)
    assert beat.lease_expires_at is not None and beat.lease_expires_at - t.started_at <= timedelta(seconds=0.05)


def test_fail_retries_with_backoff_then_fails_and_cancels_dependants(fast: Store, clock: ManualClock) -> None:
    t = fast.tasks.submit("flaky", max_attempts=2)
    after = fast.tasks.submit("after", depends_on=[t.id])
    runs = fast.tasks.submit("runs anyway", depends_on=[t.id], on_dependency_failure="run")
    c = claim_one(fast)
    retried = fast.tasks.fail(c.id, c.lease_token or "", "boom")
    assert (retried.status, retried.attempt, retried.error) == ("ready", 1, "boom")
    assert retried.not_before is not None
    assert clock() + timedelta(seconds=0.01) <= retried.not_before <= clock() + timedelta(seconds=0.03), "20 ms ±50%"
    assert fast.tasks.claim("w") == [], "not claimable during its backoff"
    clock.advance(retried.not_before - clock() - timedelta(microseconds=1))
    assert fast.tasks.claim("w") == [], "still in its backoff"
    clock.advance(0.000001)
    c2 = claim_one(fast)
    assert (c2.id, c2.attempt) == (t.id, 2)
    failed = fast.tasks.fail(c2.id, c2.lease_token or "", "boom again")
    assert failed.status == "failed" and failed.finished_at is not None
    a = fast.tasks.get(after.id)
    assert a.status == "cancelled" and t.id in (a.error or "")
    assert fast.tasks.get(runs.id).status == "ready"
    with pytest.raises(InvalidTransition):
        fast.tasks.complete(t.id, c2.lease_token or "")
    # no retry requested: fails at once
    fast.tasks.submit("fatal")
    c3 = claim_one(fast)
    assert fast.tasks.fail(c3.id, c3.lease_token or "", "no", retry=False).status == "failed"


def test_release_hands_back_without_counting_the_attempt(store: Store) -> None:
    store.tasks.submit("t")
    c = claim_one(store)
    back = store.tasks.release(c.id, c.lease_token or "")
    assert (back.status, back.attempt, back.lease_token) == ("ready", 0, None)
    assert claim_one(store).attempt == 1
