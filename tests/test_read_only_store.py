"""A store opened read-only: reads work, a write is a typed ReadOnly error that changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import swarmstore
from swarmstore import Store
from swarmstore.engine.sqlite.engine import SqliteEngine
from swarmstore.errors import ReadOnly


def test_a_read_only_store_reads_and_refuses_writes_with_a_typed_error(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    with swarmstore.open(path) as st:
        st.memory.put("a", "k", 1)
    ro = Store(SqliteEngine(path, readonly=True))
    try:
        assert ro.memory.get("a", "k").value == 1
        with pytest.raises(ReadOnly, match="read only"):
            ro.memory.put("a", "k", 2)
        with pytest.raises(ReadOnly):
            ro.tasks.submit("x")
        assert ro.memory.get("a", "k").version == 1
    finally:
        ro.close()


def test_a_read_only_store_searches_what_was_indexed_and_never_fails_on_what_was_not(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    with swarmstore.open(path, embedder=None) as st:
        st.memory.put("a", "indexed", "alpha bravo")
        assert [h.memory.key for h in st.search("alpha", mode="keyword")] == ["indexed"]
        st.memory.put("a", "later", "alpha charlie")  # (its text is indexed by the next search)
    ro = Store(SqliteEngine(path, readonly=True), embedder=None)
    try:
        assert [h.memory.key for h in ro.search("alpha", mode="keyword")] == ["indexed"]
        with pytest.raises(ReadOnly):
            ro.index()  # (asked for by name: it says why it cannot)
    finally:
        ro.close()
