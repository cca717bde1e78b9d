"""Property test of group commit: any mix of concurrent writes through ``AsyncStore`` (committed
in groups, on the batch path when the group is all plain puts, each failure isolated) ends exactly
as the same calls made one by one through the sync ``Store``: the same outcome for every call, in
submission order, and the same data and audit rows afterwards."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections import Counter
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swarmstore
import swarmstore.aio
from swarmstore import Event, Memory, Store, Task
from swarmstore.aio import AsyncStore
from swarmstore.errors import NotFound

NAMESPACES = ["g", "g:a", "h"]
KEYS = ["k0", "k1", "k2"]
SESSIONS = ["s0", "s1", "missing"]  # "missing" is never created: appends to it fail

slot = st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(KEYS))
values = st.none() | st.integers(-5, 5) | st.text(max_size=3) | st.lists(st.integers(0, 3), max_size=2)
state_keys = st.sampled_from(["step", "temp:draft", "user:lang", "app:mode"])
put = st.tuples(st.just("put"), slot, values, st.none() | st.integers(0, 3))
plain_put = st.tuples(st.just("put"), slot, values, st.none())
op = st.one_of(
    put,
    put,
    # (an expected_version in a batch can fail it after its first items wrote: all of it must go)
    st.tuples(
        st.just("put_many"), st.lists(st.tuples(slot, values, st.none() | st.integers(0, 2)), min_size=1, max_size=4)
    ),
    st.tuples(st.just("delete"), slot),
    st.tuples(st.just("restore"), slot),
    # (a state delta reads and rewrites the session's state, its user's and its app's in the group)
    st.tuples(
        st.just("append"),
        st.sampled_from(SESSIONS),
        values,
        st.none() | st.dictionaries(state_keys, values, max_size=2),
    ),
    st.tuples(st.just("submit"), st.none() | st.sampled_from(["once", "twice"])),
    # the tasks claimed before the group (a stale token: another's lease), and claims within it
    st.tuples(st.just("complete"), st.integers(0, 2), st.booleans(), values),
    st.tuples(st.just("fail"), st.integers(0, 2), st.booleans(), st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 3)),
    st.tuples(st.just("claim"), st.integers(1, 2)),
)
# A group of plain puts only takes the batch path (one put_many for the whole group): half the examples.
groups = st.lists(plain_put, min_size=2, max_size=30) | st.lists(op, min_size=1, max_size=40)


def _call(store: Any, o: tuple[Any, ...], leases: list[tuple[str, str]]) -> Any:
    """The call ``o`` names, on a Store (its result) or an AsyncStore (a coroutine); ``leases``
    are the (id, token) of the tasks set up in that store (see _prepare)."""
    kind = o[0]
    if kind in ("complete", "fail"):
        task_id, token = leases[o[1]]
        token = token if o[2] else leases[(o[1] + 1) % 3][1]
        if kind == "complete":
            return store.tasks.complete(task_id, token, o[3])
        return store.tasks.fail(task_id, token, "boom", retry=o[3])
    if kind == "cancel":
        return store.tasks.cancel(leases[o[1]][0], cascade=True)
    if kind == "claim":
        return store.tasks.claim("w2", limit=o[1])
    if kind == "put":
        (ns, key), value, expected = o[1], o[2], o[3]
        return store.memory.put(ns, key, value, expected_version=expected)
    if kind == "put_many":
        items = [{"namespace": ns, "key": k, "value": v} for (ns, k), v, _ in o[1]]
        for item, (_, _, expected) in zip(items, o[1], strict=True):
            if expected is not None:
                item["expected_version"] = expected
        return store.memory.put_many(items)
    if kind == "delete":
        return store.memory.delete(*o[1])
    if kind == "restore":
        return store.memory.restore(*o[1])
    if kind == "append":
        return store.sessions.append_event(o[1], "msg", "agent", o[2], state_delta=o[3])
    return store.tasks.submit("t", {"n": 1}, idempotency_key=o[1])


def _outcome(result: Any, task_ids: dict[str, int]) -> Any:
    """What a call's outcome says, without ids and times (which differ between two files)."""
    if isinstance(result, BaseException):
        return type(result).__name__
    if isinstance(result, Memory):
        return ("memory", result.namespace, result.key, result.value, result.version, result.deleted)
    if isinstance(result, list):
        return [_outcome(r, task_ids) for r in result]
    if isinstance(result, Event):
        return ("event", result.session_id, result.seq, result.content, result.state_delta)
    if isinstance(result, Task):  # which submission created it (an idempotent one returns the first)
        return ("task", task_ids.setdefault(result.id, len(task_ids)), result.status, result.attempt)
    return result


def _state(store: Store) -> Any:
    """Every key's history and current entry, every session's events and merged state, the
    tasks, and the audit log's actions and entities in order."""
    memory = {}
    for ns in NAMESPACES:
        for key in KEYS:
            try:
                history = [(m.value, m.version) for m in store.memory.history(ns, key)]
            except NotFound:
                history = []
            try:
                current: Any = store.memory.get(ns, key).version
            except NotFound:
                current = None
            memory[ns, key] = (history, current)
    events = {s: [(e.seq, e.type, e.content) for e in store.sessions.events(s, limit=1000)] for s in SESSIONS[:2]}
    states = {s: store.sessions.state(s) for s in SESSIONS[:2]}
    all_tasks = store.tasks.list(limit=1000).items
    names = {t.id: t.summary for t in all_tasks}  # (ids differ between the two files)
    tasks = sorted(
        (t.summary, t.idempotency_key or "", t.status, t.attempt, orjson.dumps(t.result), _named(t.error, names))
        for t in all_tasks
    )
    audit = [(a.action, a.entity) for a in store.audit.list(limit=10_000)]
    return memory, events, tasks, audit, states


def _named(text: str | None, names: dict[str, str]) -> str:
    for task_id, summary in names.items():
        text = (text or "").replace(task_id, summary)
    return text or ""


def _prepare(store: Store) -> list[tuple[str, str]]:
    """Sessions, a memory, and four tasks: the first three claimed (one lease each), the fourth
    waiting on the first. Returns the tasks' (id, lease token)."""
    for s in SESSIONS[:2]:
        store.sessions.create("app", "u", id=s)
    store.memory.put("g", "k0", "seed")
    tasks = store.tasks.submit_many([{"summary": f"p{i}", "priority": 9 - i, "ref": f"p{i}"} for i in range(3)])
    waiting = store.tasks.submit("p3", depends_on=[tasks[0].id])
    leases = [(t.id, t.lease_token or "") for t in (store.tasks.claim("w")[0] for _ in range(3))]
    assert [store.tasks.get(i).summary for i, _ in leases] == ["p0", "p1", "p2"]
    return [*leases, (waiting.id, "")]


async def _gathered(path: str, group: list[tuple[Any, ...]], leases: list[tuple[str, str]]) -> list[Any]:
    astore: AsyncStore
    async with swarmstore.aio.open(path) as astore:
        groups_before, batched_before = astore._writer.groups, astore._writer.batched
        results = await asyncio.gather(*(_call(astore, o, leases) for o in group), return_exceptions=True)
        committed = astore._writer.groups - groups_before
        assert committed <= 2, f"the {len(group)} calls were not grouped ({committed} transactions)"
        if len(group) > 1 and all(o[0] == "put" and o[3] is None for o in group):
            assert astore._writer.batched - batched_before == len(group), "plain puts take the batch path"
        return results


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups)
def test_a_concurrent_group_ends_as_the_same_calls_one_by_one(group: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        seq_path, grp_path = os.path.join(d, "one-by-one.db"), os.path.join(d, "grouped.db")
        expected: list[Any] = []
        with swarmstore.open(seq_path) as store:
            seq_leases = _prepare(store)
            for o in group:
                try:
                    expected.append(_call(store, o, seq_leases))
                except swarmstore.errors.SwarmstoreError as exc:
                    expected.append(exc)
            want = _state(store)
        with swarmstore.open(grp_path) as store:
            grp_leases = _prepare(store)
        got = asyncio.run(_gathered(grp_path, group, grp_leases))
        seq_ids = {task_id: i for i, (task_id, _) in enumerate(seq_leases)}
        grp_ids = {task_id: i for i, (task_id, _) in enumerate(grp_leases)}
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert _outcome(g, grp_ids) == _outcome(e, seq_ids), f"call {i}: {group[i]}"
        with swarmstore.open(grp_path) as store:
            have = _state(store)
        assert have[0] == want[0], "memory histories"
        assert have[1] == want[1], "session events"
        assert have[2] == want[2], "tasks"
        assert have[4] == want[4], "session states (session, temp, user and app scopes)"
        assert Counter(have[3]) == Counter(want[3]) and have[3] == want[3], "audit rows, in order"
