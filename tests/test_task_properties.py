"""Property tests of the task DAG and queue against invariants, over random DAGs and op sequences."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swarmstore
from swarmstore.errors import CycleError, InvalidTransition, SwarmstoreError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPEN = ("blocked", "ready", "running")

# A DAG: task i may depend on any earlier task (so it is acyclic by construction).
dags = st.integers(1, 25).flatmap(
    lambda n: st.lists(
        st.tuples(st.integers(0, 10), st.sets(st.integers(0, max(0, n - 1)), max_size=4)), min_size=n, max_size=n
    )
)


def _items(dag: list[tuple[int, set[int]]]) -> list[dict[str, Any]]:
    return [
        {"summary": f"t{i}", "ref": f"t{i}", "priority": p, "depends_on": [f"t{j}" for j in sorted(deps) if j < i]}
        for i, (p, deps) in enumerate(dag)
    ]


@SETTINGS
@given(dags)
def test_plan_batches_respect_every_edge(dag: list[tuple[int, set[int]]]) -> None:
    with tempfile.TemporaryDirectory() as d, swarmstore.open(os.path.join(d, "p.db")) as store:
        tasks = store.tasks.submit_many(_items(dag))
        batches = store.tasks.plan([t.id for t in tasks])
        where = {tid: k for k, batch in enumerate(batches) for tid in batch}
        assert sorted(where) == sorted(t.id for t in tasks), "every task planned exactly once"
        assert sum(len(b) for b in batches) == len(tasks)
        for t in tasks:
            for p in t.depends_on:
                assert where[p] < where[t.id], "a prerequisite runs in an earlier batch"
            # each task is as early as its prerequisites allow
            assert where[t.id] == (max((where[p] for p in t.depends_on), default=-1) + 1)
        for t in tasks:
            assert t.status == ("blocked" if t.depends_on else "ready")


@SETTINGS
@given(dags, st.data())
def test_a_back_edge_is_always_a_cycle_and_stores_nothing(dag: list[tuple[int, set[int]]], data: st.DataObject) -> None:
    items = _items(dag)
    # add an edge from an ancestor back to a descendant: find any path j -> ... -> i
    edges = [(i, int(d[1:])) for i, it in enumerate(items) for d in it["depends_on"]]
    if not edges:
        i = data.draw(st.integers(0, len(items) - 1))
        items[i]["depends_on"].append(f"t{i}")  # self-dependency
    else:
        i, j = data.draw(st.sampled_from(edges))  # i depends on j; now j depends on i as well
        items[j]["depends_on"].append(f"t{i}")
    with tempfile.TemporaryDirectory() as d, swarmstore.open(os.path.join(d, "p.db")) as store:
        try:
            store.tasks.submit_many(items)
            raise AssertionError("a cycle was accepted")
        except CycleError:
            pass
        assert store.stats()["rows"]["tasks"] == 0


ops = st.lists(
    st.tuples(
        st.sampled_from(["submit", "submit", "claim", "complete", "complete", "fail", "cancel", "retry"]),
        st.integers(0, 1000),
        st.integers(0, 1000),
        st.booleans(),
    ),
    min_size=1,
    max_size=50,
)


@SETTINGS
@given(ops)
def test_queue_invariants_hold_after_every_operation(sequence: list[tuple[str, int, int, bool]]) -> None:
    with tempfile.TemporaryDirectory() as d, swarmstore.open(os.path.join(d, "q.db"), retry_base_seconds=1e-6) as store:
        tokens: dict[str, str] = {}
        completed: set[str] = set()
        claimed_twice: set[str] = set()
        for op, a, b, flag in sequence:
            ids = [t.id for t in store.tasks.list(limit=1000)]
            pick = ids[a % len(ids)] if ids else None
            try:
                if op == "submit":
                    deps = [ids[(a + k) % len(ids)] for k in range(b % 3)] if ids else []
                    policy = ("cancel", "fail", "run")[b % 3]
                    store.tasks.submit(
                        f"s{a}", depends_on=deps, priority=a % 11, on_dependency_failure=policy, max_attempts=2
                    )
                elif op == "claim":
                    for t in store.tasks.claim("w", limit=1 + a % 3):
                        assert t.id not in tokens or tokens[t.id] != t.lease_token
                        if t.id in tokens:
                            claimed_twice.add(t.id)
                        tokens[t.id] = t.lease_token or ""
                elif op in ("complete", "fail") and pick is not None and pick in tokens:
                    if op == "complete":
                        store.tasks.complete(pick, tokens[pick], {"by": "test"})
                        completed.add(pick)
                    else:
                        store.tasks.fail(pick, tokens[pick], "err", retry=flag)
                elif op == "cancel" and pick is not None:
                    store.tasks.cancel(pick, cascade=flag)
                elif op == "retry" and pick is not None:
                    store.tasks.retry(pick)
            except (InvalidTransition, SwarmstoreError):
                pass
            _check(store, completed)


def _check(store: swarmstore.Store, completed: set[str]) -> None:
    tasks = {t.id: t for t in store.tasks.list(limit=1000)}
    for t in tasks.values():
        if t.id in completed:
            assert t.status == "completed", "completed is terminal and never cancelled"
        open_prereqs = [p for p in t.depends_on if tasks[p].status in OPEN]
        if t.status == "blocked":
            assert t.waiting_on == len(open_prereqs) > 0, "a blocked task waits on exactly its open prerequisites"
        if t.status in ("ready", "running"):
            assert t.waiting_on == 0
        if t.status == "running":
            assert t.lease_token and t.lease_expires_at is not None
        else:
            assert t.lease_expires_at is None
        if t.status in ("completed", "failed", "cancelled"):
            assert t.finished_at is not None
        assert 0 <= t.attempt <= t.max_attempts


# A batching worker's step: which claimed task each completion names (an index into the claimed
# ones, taken modulo), with a good or a stale lease token, or an id that is no task.
completions = st.lists(
    st.tuples(st.integers(0, 100), st.sampled_from(["good", "good", "good", "stale", "unknown"]), st.integers(0, 9)),
    max_size=12,
)


@SETTINGS
@given(dags, st.integers(1, 8), st.sets(st.integers(0, 100), max_size=2), completions, st.integers(0, 4))
def test_complete_many_ends_as_completes_one_by_one_then_a_claim(
    dag: list[tuple[int, set[int]]], first: int, cancels: set[int], items: list[tuple[int, str, int]], claim: int
) -> None:
    """``complete_many(items, claim=N)`` (each completion standing alone in one transaction, then
    one claim) ends exactly as each ``complete`` called on its own, then ``claim(limit=N)``:
    the same error at each position (duplicates, stale leases, cancelled and unknown tasks
    included), the same tasks claimed, the same task states and audit actions."""
    outcomes = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for batched in (True, False):
        # One instant for both runs: one by one, each completion would ready its dependants at a
        # later time than the last, and ranks (which age from the ready time) would differ.
        clock = swarmstore.ManualClock(start)
        with tempfile.TemporaryDirectory() as d, swarmstore.open(os.path.join(d, "c.db"), clock=clock) as store:
            tasks = store.tasks.submit_many(_items(dag))
            summary = {t.id: t.summary for t in tasks}
            running = store.tasks.claim("w", limit=first)
            for c in cancels:
                if running:
                    store.tasks.cancel(running[c % len(running)].id, cascade=False)
            calls: list[tuple[str, str, int]] = []
            for k, kind, value in items:
                if not running:
                    break
                t = running[k % len(running)]
                token = t.lease_token or ""
                calls.append(
                    ("t-none" if kind == "unknown" else t.id, token + "x" if kind == "stale" else token, value)
                )
            errors: list[str | None] = []
            if batched:
                done = store.tasks.complete_many(calls, claim=claim, worker_id="w")
                errors = [None if e is None else type(e).__name__ for e in done.errors]
                claimed = done.claimed
            else:
                for task_id, token, value in calls:
                    try:
                        store.tasks.complete(task_id, token, value)
                        errors.append(None)
                    except SwarmstoreError as exc:
                        errors.append(type(exc).__name__)
                claimed = store.tasks.claim("w", limit=claim) if claim else []
            state = sorted(
                (t.summary, t.status, t.result, t.attempt, t.waiting_on, t.lease_token is None)
                for t in store.tasks.list(limit=1000)
            )
            audit = sorted((a.action, summary.get(a.entity_id, a.entity_id)) for a in store.audit.list(limit=10_000))
            outcomes.append((errors, [summary[t.id] for t in claimed], state, audit))
    batched_outcome, one_by_one = outcomes
    assert batched_outcome[0] == one_by_one[0], "each completion's error"
    assert batched_outcome[1] == one_by_one[1], "the tasks claimed, in order"
    assert batched_outcome[2] == one_by_one[2], "every task's state"
    assert batched_outcome[3] == one_by_one[3], "the audit actions"
