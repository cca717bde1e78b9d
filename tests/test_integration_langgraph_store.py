"""SwarmstoreStore beyond LangGraph's own tests: the namespace encoding (hypothesis), the mapping onto
swarmstore memory, TTL refresh on a manual clock, semantic search through swarmstore's index, and the
async API over both engines (sync Store and AsyncStore)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest

pytest.importorskip("langgraph.store.base")

from hypothesis import given
from hypothesis import strategies as st
from langchain_core.embeddings import DeterministicFakeEmbedding
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp

import swarmstore
import swarmstore.aio
from swarmstore.clock import ManualClock
from swarmstore.integrations.langgraph import SwarmstoreStore, decode_label, encode_label
from swarmstore.integrations.langgraph.keys import decode_namespace, encode_namespace

SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
labels = st.lists(st.text(), max_size=5).map(tuple)


@given(st.text())
def test_a_label_encodes_to_one_segment_and_back(label: str) -> None:
    seg = encode_label(label)
    assert SEGMENT.fullmatch(seg) and ":" not in seg
    assert decode_label(seg) == label


@given(labels, labels)
def test_the_encoding_preserves_prefixes_and_distinctness(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    ea, eb = encode_namespace("lg", a), encode_namespace("lg", b)
    assert decode_namespace("lg", ea) == a
    assert (ea == eb) == (a == b)
    # a tuple prefix is a segment prefix (what swarmstore's prefix listings and searches cover)
    covers = eb == ea or eb.startswith(ea + ":")
    assert covers == (b[: len(a)] == a)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def lg(store_url: str, clock: ManualClock) -> Iterator[SwarmstoreStore]:
    with swarmstore.open(store_url, clock=clock) as store:
        yield SwarmstoreStore(store, ttl={"refresh_on_read": True})


def test_items_are_versioned_memories(lg: SwarmstoreStore) -> None:
    lg.put(("users", "alice smith"), "prefs", {"theme": "dark"})
    lg.put(("users", "alice smith"), "prefs", {"theme": "light"})
    m = lg.store.memory.get("langgraph:users:alice.20smith", "prefs")
    assert (m.value, m.version) == ({"theme": "light"}, 2)
    item = lg.get(("users", "alice smith"), "prefs")
    assert item is not None and (item.created_at, item.updated_at) == (m.created_at, m.updated_at)
    lg.delete(("users", "alice smith"), "prefs")
    assert lg.get(("users", "alice smith"), "prefs") is None
    assert [v.value for v in lg.store.memory.history("langgraph:users:alice.20smith", "prefs")][:2] == [
        {"theme": "dark"},
        {"theme": "light"},
    ]
    lg.store.memory.restore("langgraph:users:alice.20smith", "prefs")  # swarmstore's restore, seen by LangGraph
    assert lg.get(("users", "alice smith"), "prefs").value == {"theme": "light"}  # type: ignore[union-attr]


def test_ttl_refreshes_on_read(lg: SwarmstoreStore, clock: ManualClock) -> None:
    lg.put(("s",), "k", {"v": 1}, ttl=1)  # minutes
    clock.advance(50)
    assert lg.get(("s",), "k") is not None  # refreshes: a minute from now
    clock.advance(50)
    assert lg.search(("s",))[0].key == "k"  # still there; refreshed again
    clock.advance(50)
    assert lg.get(("s",), "k", refresh_ttl=False) is not None
    clock.advance(20)
    assert lg.get(("s",), "k") is None  # 70 s since the last refresh
    lg.put(("s",), "k", {"v": 2}, ttl=None)
    clock.advance(10**6)
    assert lg.get(("s",), "k") is not None  # a put without ttl clears the old one


def test_no_refresh_when_the_config_says_so(store_url: str, clock: ManualClock) -> None:
    with swarmstore.open(store_url, clock=clock) as store:
        lg = SwarmstoreStore(store, ttl={"refresh_on_read": False})
        lg.put(("s",), "k", {"v": 1}, ttl=1)
        clock.advance(50)
        assert lg.get(("s",), "k") is not None
        clock.advance(20)
        assert lg.get(("s",), "k") is None


def test_list_namespaces_wildcards_depth_and_paging(lg: SwarmstoreStore) -> None:
    for ns in [("a", "x", "1"), ("a", "y", "1"), ("a", "y", "2"), ("b", "x"), ("a:b",)]:
        lg.put(ns, "k", {})
    assert lg.list_namespaces(prefix=("a", "*", "1")) == [("a", "x", "1"), ("a", "y", "1")]
    assert lg.list_namespaces(suffix=("x",)) == [("b", "x")]
    assert lg.list_namespaces(max_depth=1) == [("a",), ("a:b",), ("b",)]
    assert lg.list_namespaces(prefix=("a",), limit=2, offset=1) == [("a", "y", "1"), ("a", "y", "2")]


def test_a_bad_op_refuses_the_whole_batch(lg: SwarmstoreStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        lg.batch([PutOp(("ok",), "k", {"v": 1}), GetOp(("bad.label",), "k")])
    assert lg.get(("ok",), "k") is None


def test_query_is_a_semantic_search_of_swarmstore(store_url: str) -> None:
    emb = DeterministicFakeEmbedding(size=64)
    lg = SwarmstoreStore.from_url(store_url, index={"dims": 64, "embed": emb})
    try:
        lg.put(("docs",), "a", {"text": "alpha"})
        lg.put(("docs",), "b", {"text": "beta"}, index=False)
        lg.put(("docs",), "c", {"text": "gamma", "tag": "x"})
        hits = lg.search(("docs",), query="text: alpha")
        assert [h.key for h in hits] == ["a", "c"]  # b was put with index=False
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)  # the same text: the same fake vector
        assert [h.key for h in lg.search(("docs",), query="alpha", filter={"tag": "x"})] == ["c"]
        assert lg.store.search("text: alpha", mode="semantic", k=1)[0].memory.key == "a"  # swarmstore's own search
    finally:
        lg.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_abatch_on_both_store_kinds(store_url: str, kind: str) -> None:
    async def run() -> None:
        store = swarmstore.open(store_url) if kind == "sync" else swarmstore.aio.open(store_url)
        lg = SwarmstoreStore(store)
        await asyncio.gather(*(lg.aput(("t",), f"k{i}", {"i": i}) for i in range(20)))
        got = await lg.abatch([GetOp(("t",), "k3"), SearchOp(("t",), filter={"i": {"$gte": 18}})])
        assert got[0].value == {"i": 3}  # type: ignore[union-attr]
        assert sorted(i.key for i in got[1]) == ["k18", "k19"]  # type: ignore[union-attr]
        if kind == "sync":
            store.close()
        else:
            await store.aclose()

    asyncio.run(run())


def test_search_without_query_is_newest_first(lg: SwarmstoreStore, clock: ManualClock) -> None:
    for key in ("a", "b", "c"):
        lg.put(("n",), key, {"k": key})
        clock.advance(1)
    lg.put(("n",), "a", {"k": "a2"})
    assert [i.key for i in lg.search(("n",))] == ["a", "c", "b"]
    assert [i.key for i in lg.search(("n",), limit=1, offset=1)] == ["c"]


def test_ops_built_by_hand_with_list_namespaces(lg: SwarmstoreStore) -> None:
    lg.batch([PutOp(["l", "x"], "k", {"v": 1})])  # type: ignore[arg-type]
    assert lg.batch([GetOp(["l", "x"], "k")])[0].value == {"v": 1}  # type: ignore[arg-type, union-attr]
