"""Runs langgraph-checkpoint-sqlite's own store tests against SwarmstoreStore, on both engines.

The vendored modules build their stores through ``SqliteStore`` / ``AsyncSqliteStore`` (in their
``store`` fixture and ``create_vector_store``). This conftest imports them before pytest collects
them, replaces those names with factories of ``SwarmstoreStore`` on a fresh swarmstore (SQLite or
PostgreSQL, by the ``lg_engine`` parameter), and replaces their ``store`` fixture with one that
yields such a store. The test functions themselves run unchanged.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langgraph.store.sqlite")

from swarmstore.integrations.langgraph import SwarmstoreStore

HERE = Path(__file__).parent

_PER_FIELD = (
    "embeds each configured field path on its own and scores an item by its best field; swarmstore "
    "embeds a memory's whole searchable text once (search/text.py), so scores differ"
)

# Tests of the SQLite store's internals, or of behaviour SwarmstoreStore deliberately does not share.
DESELECTED: dict[str, str] = {
    "test_store.py::test_vector_store_initialization": "reads SqliteStore's own vector tables through store.conn",
    "test_store.py::test_nonnull_migrations": "SqliteStore.MIGRATIONS: the SQLite store's schema",
    "test_store.py::test_escape_glob_literal": "a helper of the SQLite store's SQL (GLOB escaping)",
    "test_store.py::test_namespace_match_pattern": "a helper of the SQLite store's SQL (its regex function)",
    "test_store.py::test_list_namespaces_prefix_uses_indexable_condition": "inspects the SQL text SqliteStore builds",
    "test_async_store.py::test_no_running_loop": (
        "AsyncSqliteStore's sync methods refuse to run on the loop's thread; SwarmstoreStore serves both"
    ),
    "test_async_store.py::test_vector_store_initialization": "reads AsyncSqliteStore's own vector tables",
    "test_store.py::test_sql_injection_vulnerability": (
        "SqliteStore refuses filter keys outside [A-Za-z0-9_.-] because it writes them into SQL; "
        "SwarmstoreStore evaluates filters on decoded values, so any key is a key (nothing to inject)"
    ),
    "test_store.py::test_scores": _PER_FIELD,
    "test_store.py::test_embed_with_path": _PER_FIELD,
    "test_async_store.py::test_embed_with_path": _PER_FIELD,
}

_urls: list[Callable[[], str]] = []  # the current test's factory of fresh store URLs


class _Store(SwarmstoreStore):
    """SwarmstoreStore with the SQLite stores' ``setup`` (a no-op: the schema exists on open)."""

    def setup(self) -> None:
        return None


class _AsyncStore(SwarmstoreStore):
    async def setup(self) -> None:
        return None


def _open(cls: type[SwarmstoreStore], index: Any, ttl: Any) -> SwarmstoreStore:
    store = cls.from_url(_urls[-1](), index=index, ttl=ttl)
    assert isinstance(store, cls)
    return store


class SqliteStoreShim:
    """Stands for ``SqliteStore`` in the vendored module: the connection string is ignored."""

    @staticmethod
    @contextmanager
    def from_conn_string(conn_string: str, *, index: Any = None, ttl: Any = None, **_: Any) -> Iterator[Any]:
        store = _open(_Store, index, ttl)
        try:
            yield store
        finally:
            store.close()


class AsyncSqliteStoreShim:
    """Stands for ``AsyncSqliteStore``."""

    @staticmethod
    @asynccontextmanager
    async def from_conn_string(conn_string: str, *, index: Any = None, ttl: Any = None, **_: Any) -> AsyncIterator[Any]:
        store = _open(_AsyncStore, index, ttl)
        try:
            yield store
        finally:
            store.close()


@pytest.fixture
def _lg_store(lg_engine: str) -> Iterator[SwarmstoreStore]:
    """Replaces the vendored modules' ``store`` fixture: a SwarmstoreStore on a fresh store."""
    with SqliteStoreShim.from_conn_string(":memory:") as store:
        yield store


@pytest.fixture(autouse=True, params=["sqlite", "postgresql"])
def lg_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every vendored test runs on both engines; stores it opens are fresh and emptied after."""
    taken: list[str] = []
    schemas: Any = None
    if request.param == "postgresql":
        schemas = request.getfixturevalue("pg_schemas")
    counter = itertools.count()

    def fresh() -> str:
        if schemas is None:
            return str(tmp_path / f"lg{next(counter)}.db")
        taken.append(schemas.take())
        return str(schemas.url(taken[-1]))

    _urls.append(fresh)
    yield request.param
    _urls.pop()
    for schema in taken:
        schemas.give_back(schema)


def _patch(name: str, shim: type) -> None:
    sys.path.insert(0, str(HERE))
    module = importlib.import_module(name)
    sys.path.remove(str(HERE))
    for attr in ("SqliteStore", "AsyncSqliteStore"):
        if hasattr(module, attr):
            setattr(module, attr, shim)
    module.store = pytest.fixture(name="store")(_lg_store.__wrapped__)  # type: ignore[attr-defined]


_patch("test_store", SqliteStoreShim)
sys.modules.setdefault("tests.test_store", sys.modules["test_store"])  # test_async_store imports it so
_patch("test_async_store", AsyncSqliteStoreShim)
# Upstream runs pytest-asyncio in auto mode; here its async tests carry the mark instead.
sys.modules["test_async_store"].pytestmark = [pytest.mark.asyncio]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselected, kept = [], []
    for item in items:
        name = f"{item.path.name}::{item.originalname}" if isinstance(item, pytest.Function) else ""
        if item.path.parent == HERE and name in DESELECTED:
            deselected.append(item)
            continue
        kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
