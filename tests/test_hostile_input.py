"""Hostile arguments to every public method of every service, through the sync and the async API.

Whatever the arguments, only ``swarmstore.errors`` types escape, a refused call leaves every table
exactly as it was, and the file passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swarmstore
from swarmstore.errors import InvalidInput, SwarmstoreError
from swarmstore.validation import duration_us
from sync_over_async import SyncOverAsync
from toy_embedders import WordsEmbedder

SERVICES = ("sessions", "memory", "tasks", "agents", "audit", "documents")
# (documents.sync walks a folder given by path: hostile strings would walk the working directory;
# its refusals are tested in conformance/test_documents.py)
NOT_DRIVEN = {("documents", "sync")}


def _deep(n: int) -> Any:
    out: Any = 1
    for _ in range(n):
        out = [out]
    return out


FIXED_HOSTILE: list[Any] = [
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 2**64, 10**30, 1e13, 1e300, -1e300, -1.797693134862316e302,
    float("nan"), float("inf"), float("-inf"), -0.0, 5e-324,
    "", " ", "\ud800", "a\udfffb", "a\x00b", "line\nbreak", "x" * 5000, "a::b", ":a", "é", "\u202e", "null", "[",
    ["a"], [], ("a",), [None], [1, 2], {"a": 1}, {1: 2}, {"a": float("nan")}, set(), frozenset({"a"}),
    b"bytes", bytearray(b"x"), object(), Decimal("1.5"), 1 + 2j, print,
    timedelta.max, timedelta.min, timedelta(0), timedelta(microseconds=1),
    datetime(2020, 1, 1), datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC),
    _deep(300), {"k": _deep(300)},
]  # fmt: skip


def digest(path: str) -> str:
    """Every row of every table, order-independent, on a connection of its own."""
    conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
    h = hashlib.sha256()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
    for t in tables:
        rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{t}"'))
        h.update(f"{t}:{len(rows)}:".encode())
        for r in rows:
            h.update(r.encode("utf-8", "surrogatepass"))
    conn.close()
    return h.hexdigest()


class World:
    """A store with a little of everything, and a valid argument for each parameter name."""

    def __init__(self, path: str, api: str) -> None:
        self.path = path
        seed = swarmstore.open(path, embedder=WordsEmbedder())
        for i in range(3):
            seed.memory.put("p:q", f"k{i}", {"i": i})
            seed.sessions.create("app", "u", id=f"s{i}")
        seed.memory.put("p:gone", "k", 1)
        seed.documents.add("doc.md", "# Title\n\nsome text")
        seed.memory.delete("p:gone", "k")
        root = seed.tasks.submit("root")
        for i in range(3):
            seed.tasks.submit(f"child {i}", parent=root.id, depends_on=[root.id])
        [running] = seed.tasks.claim("w")
        agent = seed.agents.register("a", "coder")
        self.cursors = [
            page.next_cursor
            for page in (
                seed.memory.list(limit=1),
                seed.sessions.list(limit=1),
                seed.tasks.list(limit=1),
                seed.audit.list(limit=1),
            )
        ]
        seed.close()
        embedder = WordsEmbedder()
        self.store: Any = (
            swarmstore.open(path, embedder=embedder) if api == "sync" else SyncOverAsync(path, embedder=embedder)
        )
        sid, tid = "s0", running.id
        self.good: dict[str, Any] = {
            "namespace": "p:q", "key": "k0", "value": {"v": 1}, "prefix": "p", "id": sid, "session_id": sid,
            "app": "app", "user": "u", "type": "semantic", "actor": "tester", "content": {"c": 1},
            "delta": {"x": 1}, "state_delta": {"x": 1}, "task_id": tid, "root_id": tid, "lease_token":
            running.lease_token, "result": {"ok": True}, "error": "boom", "worker_id": "w", "summary": "s",
            "agent_id": agent.id, "name": "a", "agent_type": "coder", "older_than": 3600, "items": [],
            "task_ids": [tid], "status": "active", "version": 1, "after": 0, "limit": 5, "query": "some text",
            "path_or_id": "doc.md", "text": "# Title\n\nsome text", "k": 3, "mode": "keyword",
        }  # fmt: skip

    def methods(self) -> list[tuple[str, str, list[inspect.Parameter]]]:
        out = []
        for svc in SERVICES:
            cls = type(getattr(self.store.astore._store if isinstance(self.store, SyncOverAsync) else self.store, svc))
            for name, fn in inspect.getmembers(cls, inspect.isfunction):
                if not name.startswith("_") and (svc, name) not in NOT_DRIVEN:
                    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
                    out.append((svc, name, params))
        return out


@pytest.fixture(scope="module", params=["sync", "async"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = str(Path(tmp_path_factory.mktemp("hostile")) / "swarm.db")
    w = World(path, request.param)
    yield w
    w.store.close()
    conn = apsw.Connection(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def hostile_values(world: World) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(FIXED_HOSTILE),
        st.sampled_from(world.cursors),
        st.text(max_size=40),
        st.integers(),
        st.floats(),
        st.lists(st.one_of(st.text(max_size=5), st.integers(), st.none()), max_size=3),
        st.dictionaries(st.text(max_size=5), st.one_of(st.floats(), st.text(max_size=5)), max_size=3),
    )


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_arguments_get_typed_errors_and_change_nothing(world: World, data: st.DataObject) -> None:
    svc, name, params = data.draw(st.sampled_from(world.methods()), label="method")
    if not params:
        return
    bad = data.draw(st.lists(st.sampled_from([p.name for p in params]), min_size=1, max_size=3, unique=True))
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in params:
        if p.name in bad:
            value = data.draw(hostile_values(world), label=p.name)
        elif p.name in world.good:
            value = world.good[p.name]
        elif p.default is not p.empty:
            continue
        else:
            value = "x"
        if p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = value
        else:
            args.append(value)
    before = digest(world.path)
    try:
        getattr(getattr(world.store, svc), name)(*args, **kwargs)
    except SwarmstoreError:
        assert digest(world.path) == before, f"a refused {svc}.{name} changed the store"
    except Exception as exc:  # pragma: no cover - the failure this test exists to find
        raise AssertionError(f"{svc}.{name}(*{args!r}, **{kwargs!r}) leaked {type(exc).__name__}: {exc}") from exc


def test_every_public_method_is_driven(tmp_path: Path) -> None:
    """The hostile test reaches every public method of every service (none hides from it)."""
    w = World(str(tmp_path / "swarm.db"), "sync")
    names = {f"{s}.{n}" for s, n, _ in w.methods()}
    w.store.close()
    for must in ("memory.put", "memory.put_many", "sessions.append_event", "tasks.submit", "tasks.complete_many",
                 "tasks.prune", "agents.list", "audit.list", "sessions.events", "memory.search", "documents.add",
                 "documents.search", "documents.list"):  # fmt: skip
        assert must in names
    assert len(names) >= 50


@pytest.mark.parametrize("seconds", [-1.797693134862316e302, -1e300, -1.0, 0.0, -0.0])
def test_a_duration_at_or_below_zero_is_refused_before_scaling(seconds: float) -> None:
    """(-1.8e302 s is -inf µs once scaled: found by the hostile test as an OverflowError.)"""
    with pytest.raises(InvalidInput, match="must be positive"):
        duration_us(seconds, "lease_seconds")
