"""Property tests: versioning and prefix listing against a plain-Python model, on every engine
(a new empty store for each example)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swarmstore
from swarmstore import Store
from swarmstore.errors import NotFound
from swarmstore.namespaces import covers


class NewStore:
    """Opens a new, empty store of one engine (``engine``), for each example of a property test."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.engine: str = request.node.callspec.params["store_url"]
        self._request, self._tmp, self._numbers = request, tmp_path, itertools.count()

    @contextmanager
    def __call__(self) -> Iterator[Store]:
        if self.engine == "sqlite":
            with swarmstore.open(str(self._tmp / f"p{next(self._numbers)}.db")) as store:
                yield store
            return
        schemas = self._request.getfixturevalue("pg_schemas")
        schema = schemas.take()
        try:
            with swarmstore.open(schemas.url(schema)) as store:
                yield store
        finally:
            schemas.give_back(schema)


@pytest.fixture
def new_store(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> NewStore:
    """A new empty store per example, on the engine ``store_url`` is parametrised with."""
    return NewStore(request, tmp_path)


segment = st.sampled_from(["a", "a2", "a-b", "a.b", "ab", "b", "_", "a_"])
namespaces = st.lists(segment, min_size=1, max_size=3).map(":".join)
keys = st.sampled_from(["k", "k2", "%", "_", "*"])
text = st.text(max_size=5)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
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
def test_history_is_the_sequence_of_puts(new_store: NewStore, sequence: list[tuple[str, str, str, Any]]) -> None:
    with new_store() as store:
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
def test_prefix_listing_matches_model(
    new_store: NewStore, entries: list[tuple[str, str]], prefix: str, page_size: int
) -> None:
    with new_store() as store:
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
