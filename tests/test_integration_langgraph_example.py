"""examples/langgraph_graph.py runs, offline, on both engines, and leaves its state where swarmstore shows it."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

pytest.importorskip("langgraph.graph")

EXAMPLE = Path(__file__).parent.parent / "examples" / "langgraph_graph.py"


def test_the_example_graph_runs_on_swarmstore(store_url: str) -> None:
    main = runpy.run_path(str(EXAMPLE))["main"]
    out = main(store_url)
    assert out["messages"] == 4  # two turns on one thread: the checkpointer carried the first into the second
    assert out["memory"] == {"colour": "green"}  # the store kept what the graph learned
    assert out["events"].count("checkpoint") >= 4 and "checkpoint.writes" in out["events"]
