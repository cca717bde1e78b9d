"""Bad input gets a typed error naming the field, and the store is left exactly as it was."""

from __future__ import annotations

from typing import Any

import pytest

import swarmstore
from swarmstore import Store
from swarmstore.errors import InvalidInput, NotFound, StoreClosed, SwarmstoreError


def snapshot(store: Store) -> dict[str, Any]:
    return store.stats()["rows"]


BAD_PUTS = [
    ({"namespace": "", "key": "k", "value": 1}, "namespace"),
    ({"namespace": "a::b", "key": "k", "value": 1}, "namespace"),
    ({"namespace": "a b", "key": "k", "value": 1}, "namespace"),
    ({"namespace": 5, "key": "k", "value": 1}, "namespace"),
    ({"namespace": "a", "key": "", "value": 1}, "key"),
    ({"namespace": "a", "key": "x\ny", "value": 1}, "key"),
    ({"namespace": "a", "key": "k" * 2000, "value": 1}, "key"),
    ({"namespace": "a", "key": "k", "value": {1, 2}}, "value"),
    ({"namespace": "a", "key": "k", "value": object()}, "value"),
    ({"namespace": "a", "key": "k", "value": float("nan")}, "value"),
    ({"namespace": "a", "key": "k", "value": [1, {"x": float("inf")}]}, "value"),
    ({"namespace": "a", "key": "k", "value": 2**70}, "value"),
    ({"namespace": "a", "key": "k", "value": "x" * (1 << 20)}, "value"),
    ({"namespace": "a", "key": "k", "value": 1, "type": "factual"}, "type"),
    ({"namespace": "a", "key": "k", "value": 1, "metadata": [1]}, "metadata"),
    ({"namespace": "a", "key": "k", "value": 1, "ttl": -1}, "ttl"),
    ({"namespace": "a", "key": "k", "value": 1, "ttl": "soon"}, "ttl"),
    ({"namespace": "a", "key": "k", "value": 1, "expected_version": -1}, "expected_version"),
    ({"namespace": "a", "key": "k", "value": 1, "actor": ""}, "actor"),
]


@pytest.mark.parametrize(("kwargs", "field"), BAD_PUTS)
def test_bad_memory_put(store: Store, kwargs: dict[str, Any], field: str) -> None:
    store.memory.put("a", "k", "original")
    before = snapshot(store)
    with pytest.raises(InvalidInput) as exc:
        store.memory.put(**kwargs)
    assert exc.value.field == field
    assert field in str(exc.value)
    assert snapshot(store) == before
    assert store.memory.get("a", "k").value == "original"


def test_value_limit_is_configurable(store_url: str) -> None:
    with swarmstore.open(store_url, max_value_bytes=100) as st:
        st.memory.put("a", "k", "x" * 50)
        with pytest.raises(InvalidInput):
            st.memory.put("a", "k", "x" * 200)
    with swarmstore.open(store_url) as st:
        assert st.memory.put("a", "k", "x" * 200).version == 2


def test_bad_session_input(store: Store) -> None:
    sid = store.sessions.create("app", "u").id
    before = snapshot(store)
    cases = [
        lambda: store.sessions.create("", "u"),
        lambda: store.sessions.create("app", None),  # type: ignore[arg-type]
        lambda: store.sessions.create("app", "u", state=[1]),  # type: ignore[arg-type]
        lambda: store.sessions.create("app", "u", metadata={"x": {1}}),
        lambda: store.sessions.append_event(sid, "", "a", 1),
        lambda: store.sessions.append_event(sid, "t", "a", {1}),
        lambda: store.sessions.append_event(sid, "t", "a", 1, state_delta={"temp:": 1}),
        lambda: store.sessions.set_status(sid, "running"),
        lambda: store.sessions.list(limit=0),
        lambda: store.sessions.list(cursor="garbage!"),
        lambda: store.sessions.events(sid, after=-1),
        lambda: store.memory.list(limit=10**9),
        lambda: store.memory.get("a", "k", version=0),
        lambda: store.audit.list(limit=-5),
    ]
    for case in cases:
        with pytest.raises(InvalidInput):
            case()
    assert snapshot(store) == before


def test_errors_are_typed(store: Store) -> None:
    with pytest.raises(NotFound) as exc:
        store.memory.get("a", "missing")
    assert isinstance(exc.value, SwarmstoreError) and isinstance(exc.value, LookupError)


def test_sql_text_is_data(store: Store) -> None:
    evil = "x'); DROP TABLE memories; --"
    store.memory.put("a", evil, evil)
    sid = store.sessions.create(evil, evil, id=evil).id
    assert store.memory.get("a", evil).value == evil
    assert store.sessions.get(sid).app == evil


def test_closed_store(store_url: str) -> None:
    st = swarmstore.open(store_url)
    st.memory.put("a", "k", 1)
    st.close()
    with pytest.raises(StoreClosed):
        st.memory.get("a", "k")
    with pytest.raises(StoreClosed):
        st.memory.put("a", "k", 2)
    st.close()  # idempotent


def test_open_rejects_unknown_options(store_url: str) -> None:
    with pytest.raises(InvalidInput):
        swarmstore.open(store_url, synchronus="full")
    with pytest.raises(InvalidInput):
        swarmstore.open(store_url, synchronous="sometimes")
