from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import swarmstore
import swarmstore.aio
from pg_schemas import PgSchemas, check_server
from swarmstore import Store
from swarmstore.clock import ManualClock
from sync_over_async import SyncOverAsync

# -- engines ------------------------------------------------------------------------------------
# PostgreSQL: tests run on the server named by SWARMSTORE_TEST_POSTGRES (a database the tests may
# create schemas in: each test gets an empty store in a schema of its own). Without it the
# PostgreSQL half is skipped (one line at the end of the run says so); with
# SWARMSTORE_REQUIRE_POSTGRES=1 (CI) it fails instead.
PG_ENV = "SWARMSTORE_TEST_POSTGRES"
PG_REQUIRED = os.environ.get("SWARMSTORE_REQUIRE_POSTGRES") == "1"
PG_HOWTO = f"PostgreSQL half skipped: set {PG_ENV}=postgresql://user@host:port/database to run it"

_pg_skipped: list[str] = []  # why the PostgreSQL half was skipped (said once, at the end)


def _sqlite_url(request: pytest.FixtureRequest, tmp: Path) -> str:
    return str(tmp / "swarm.db")


def _postgres_url(request: pytest.FixtureRequest, tmp: Path) -> str:
    return str(request.getfixturevalue("pg_url"))


# Engine factories: each returns the URL of a new, empty store. The conformance suite runs on all.
ENGINES: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": _sqlite_url,
    "postgresql": _postgres_url,
}


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    """The PostgreSQL database the tests use (skips, or fails in CI, without one)."""
    url = os.environ.get(PG_ENV, "")
    problem = check_server(url) if url else f"{PG_ENV} is not set"
    if problem is None:
        return url
    if PG_REQUIRED:
        pytest.fail(f"SWARMSTORE_REQUIRE_POSTGRES=1 but no PostgreSQL server to test on: {problem}", pytrace=False)
    why = PG_HOWTO if not url else f"PostgreSQL half skipped: {problem}"
    _pg_skipped.append(why)
    pytest.skip(why)


@pytest.fixture(scope="session")
def pg_schemas(pg_base_url: str) -> Iterator[PgSchemas]:
    schemas = PgSchemas(pg_base_url)
    yield schemas
    schemas.drop_all()


@pytest.fixture
def pg_url(pg_schemas: PgSchemas) -> Iterator[str]:
    """The URL of an empty PostgreSQL store of its own (a schema, emptied and reused after the test)."""
    schema = pg_schemas.take()
    yield pg_schemas.url(schema)
    pg_schemas.give_back(schema)


@pytest.fixture
def engine(pg_url: str) -> Iterator[Any]:
    """The PostgreSQL engine of an empty store (the engine-level tests; test_engines.py has its own,
    for both engines)."""
    from swarmstore.engine import open_engine
    from swarmstore.engine.postgres.engine import PostgresEngine

    e = open_engine(pg_url)
    assert isinstance(e, PostgresEngine)
    yield e
    e.close()


@pytest.fixture(params=sorted(ENGINES))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return ENGINES[request.param](request, tmp_path)


@pytest_asyncio.fixture(params=["sync", "aio"])
async def any_store(request: pytest.FixtureRequest, store_url: str) -> AsyncIterator[Any]:
    """An empty store on each engine: a ``Store``, or an ``AsyncStore`` (opened and closed on the
    test's event loop, which its PostgreSQL connections belong to): for adapters taking either."""
    if request.param == "sync":
        with swarmstore.open(store_url) as store:
            yield store
    else:
        async with swarmstore.aio.open(store_url) as astore:
            yield astore


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


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        return f"postgresql: not tested ({PG_HOWTO.split(': ', 1)[1]})"
    return f"postgresql: {url} (the conformance suite runs on it)"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_skipped:
        terminalreporter.write_line(_pg_skipped[0])
