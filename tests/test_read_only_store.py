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
