from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import swarmstore
from swarmstore import Store
from swarmstore.clock import ManualClock
from sync_over_async import SyncOverAsync

# Engine factories: each takes a temp dir and returns a store URL. The conformance suite runs on all.
ENGINES: dict[str, Callable[[Path], str]] = {
    "sqlite": lambda tmp: str(tmp / "swarm.db"),
}


@pytest.fixture(params=sorted(ENGINES))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return ENGINES[request.param](tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    """The conformance stores' clock: time passes only when a test advances it."""
    return ManualClock()


@pytest.fixture(params=["sync", "async"])
def store(request: pytest.FixtureRequest, store_url: str, clock: ManualClock) -> Iterator[Store]:
    """The conformance suite's store: the sync ``Store``, or an ``AsyncStore`` driven through
    ``SyncOverAsync`` (same calls, run as coroutines on an event loop), on a manual clock."""
    st: Any = (
        swarmstore.open(store_url, clock=clock) if request.param == "sync" else SyncOverAsync(store_url, clock=clock)
    )
    yield st
    st.close()


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return os.path.join(tmp_path, "swarm.db")
