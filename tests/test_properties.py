"""Property tests: versioning and prefix listing against a plain-Python model."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swarmstore
from swarmstore.errors import NotFound
from swarmstore.namespaces import covers

segment = st.sampled_from(["a", "a2", "a-b", "a.b", "ab", "b", "_", "a_"])
namespaces = st.lists(segment, min_size=1, max_size=3).map(":".join)
keys = st.sampled_from(["k", "k2", "%", "_", "*"])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=5,
)
ops = st.lists(
    st.tuples(st.sampled_from(["put", "put", "put", "batch", "delete", "restore"]), namespaces, keys, json_values),
    min_size=1,
    max_size=40,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(ops)
def test_history_is_the_sequence_of_puts(sequence: list[tuple[str, str, str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as d, swarmstore.open(os.path.join(d, "p.db")) as store:
        puts: dict[tuple[str, str], list[Any]] = {}
        live: dict[tuple[str, str], bool] = {}
        for op, ns, key, value in sequence:
            k = (ns, key)
            if op == "put":
                m = store.memory.put(ns, key, value)
                puts.setdefault(k, []).append(value)
                live[k] = True
                assert m.version == len(puts[k])
            elif op == "batch":
                # the batch path computes versions itself: the same key twice in one batch, and a
                # neighbour key (new or present: one batch inserts some keys and updates others)
                k2 = (ns, key + "2")
                got = store.memory.put_many(
                    [
                        {"namespace": ns, "key": key, "value": value},
                        {"namespace": ns, "key": k2[1], "value": value},
                        {"namespace": ns, "key": key, "value": [value]},
                    ]
                )
                puts.setdefault(k, []).extend([value, [value]])
                puts.setdefault(k2, []).append(value)
                live[k] = live[k2] = True
                assert [m.version for m in got] == [len(puts[k]) - 1, len(puts[k2]), len(puts[k])]
                assert store.memory.get(ns, key).version == len(puts[k])
            elif op == "delete":
                try:
                    store.memory.delete(ns, key)
                    assert live.get(k), "delete succeeded on a key that is not live"
                    live[k] = False
                except NotFound:
                    assert not live.get(k)
            else:
                try:
                    store.memory.restore(ns, key)
                    assert k in live and not live[k]
                    live[k] = True
                except swarmstore.errors.SwarmstoreError:
                    assert live.get(k, True)
        for k, values in puts.items():
            assert [m.value for m in store.memory.history(*k)] == values
            assert [m.version for m in store.memory.history(*k)] == list(range(1, len(values) + 1))
            if live[k]:
                cur = store.memory.get(*k)
                assert (cur.value, cur.version) == (values[-1], len(values))
            else:
                try:
                    store.memory.get(*k)
                    raise AssertionError("deleted key is visible")
                except NotFound:
                    pass


@SETTINGS
@given(
    st.lists(st.tuples(namespaces, keys), min_size=0, max_size=30, unique=True),
    st.just("") | namespaces,
    st.integers(1, 7),
)
def test_prefix_listing_matches_model(entries: list[tuple[str, str]], prefix: str, page_size: int) -> None:
    with tempfile.TemporaryDirectory() as d, swarmstore.open(os.path.join(d, "p.db")) as store:
        if entries:
            store.memory.put_many([{"namespace": ns, "key": k, "value": 1} for ns, k in entries])
        expected = sorted(e for e in entries if covers(prefix, e[0]))
        got: list[tuple[str, str]] = []
        cursor = None
        while True:
            page = store.memory.list(prefix, limit=page_size, cursor=cursor)
            got += [(m.namespace, m.key) for m in page]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert got == expected
        assert store.memory.namespaces(prefix) == sorted({ns for ns, _ in expected})
