"""The LangGraph adapters beside LangGraph's own SQLite backends: ``SwarmstoreSaver`` vs ``SqliteSaver``
and ``SwarmstoreStore`` vs ``SqliteStore``, the same calls on the same data, in alternating rounds.

Both sides are SQLite files in WAL mode with ``synchronous=NORMAL`` (swarmstore's default; LangGraph's
connection is set to it too, or its commits would pay an fsync ours do not).
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.sqlite import SqliteStore

import swarmstore
from swarmstore.integrations.langgraph import SwarmstoreSaver, SwarmstoreStore

from ..harness import Result, measure_pair

THREADS = 50
ITEMS = 100  # per store namespace


def _conn(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _checkpoint(i: int) -> Any:
    cp = empty_checkpoint()
    messages = [{"role": "user" if k % 2 else "assistant", "content": f"message {k} of turn {i}"} for k in range(8)]
    cp["channel_values"] = {"messages": messages, "step": i}
    cp["channel_versions"] = {"messages": i + 1, "step": i + 1}
    return cp


def _pair(out: list[Result], name: str, ours: Any, base: Any, n: int, read: bool, note: str) -> None:
    r, b = measure_pair(name, ours, base, n, warmup=min(50, n // 10))
    r.baseline, r.read, r.target = b, read, note
    out.append(r)


def _checkpoints(out: list[Result], store: swarmstore.Store, base: SqliteSaver, n: int) -> None:
    ours = SwarmstoreSaver(store)
    heads: dict[int, dict[str, dict[str, Any]]] = {0: {}, 1: {}}

    def put(saver: Any, side: int) -> Any:
        def op(i: int) -> None:
            t = f"thread-{i % THREADS}"
            parent = heads[side].get(t)
            cfg = {"configurable": {"thread_id": t, "checkpoint_ns": "", **(parent or {})}}
            done = saver.put(cfg, _checkpoint(i), {"source": "loop", "step": i, "run_id": "r"}, {})
            heads[side][t] = {"checkpoint_id": done["configurable"]["checkpoint_id"]}

        return op

    _pair(out, "langgraph: checkpoint put", put(ours, 0), put(base, 1), n, False, "SqliteSaver.put")

    def writes(saver: Any, side: int) -> Any:
        def op(i: int) -> None:
            t = f"thread-{i % THREADS}"
            cfg = {"configurable": {"thread_id": t, "checkpoint_ns": "", **heads[side][t]}}
            saver.put_writes(cfg, [("messages", {"content": f"w{i}"}), ("step", i)], f"task-{i}")

        return op

    _pair(out, "langgraph: checkpoint put_writes", writes(ours, 0), writes(base, 1), n, False, "SqliteSaver.put_writes")

    def latest(saver: Any) -> Any:
        return lambda i: saver.get_tuple({"configurable": {"thread_id": f"thread-{i % THREADS}", "checkpoint_ns": ""}})

    _pair(out, "langgraph: get_tuple (latest)", latest(ours), latest(base), n, True, "SqliteSaver.get_tuple")

    olds = [[t.config for t in s.list({"configurable": {"thread_id": "thread-7"}})] for s in (ours, base)]

    def by_id(saver: Any, configs: list[Any]) -> Any:
        return lambda i: saver.get_tuple(configs[i % len(configs)])

    _pair(out, "langgraph: get_tuple (by id)", by_id(ours, olds[0]), by_id(base, olds[1]), n, True, "SqliteSaver.get_tuple")

    def cold(i: int) -> None:  # a new process: the saver folds the thread's log once
        SwarmstoreSaver(store).get_tuple({"configurable": {"thread_id": f"thread-{i % THREADS}", "checkpoint_ns": ""}})

    m = max(50, n // 10)
    _pair(out, "langgraph: get_tuple (cold saver)", cold, latest(base), m, True, "SqliteSaver.get_tuple")

    def listing(saver: Any) -> Any:
        return lambda i: list(saver.list({"configurable": {"thread_id": f"thread-{i % THREADS}"}}, limit=10))

    _pair(out, "langgraph: list (10 newest)", listing(ours), listing(base), m, True, "SqliteSaver.list")


def _store(out: list[Result], store: swarmstore.Store, base: SqliteStore, n: int) -> None:
    ours = SwarmstoreStore(store)
    for s in (ours, base):
        for u in range(10):
            for k in range(ITEMS):
                s.put(("users", f"u{u}", "facts"), f"k{k}", {"text": f"fact {k}", "kind": k % 5, "n": k})

    def put(s: Any) -> Any:
        return lambda i: s.put(("users", f"u{i % 10}", "notes"), f"n{i}", {"text": f"note {i}", "n": i})

    _pair(out, "langgraph: store put", put(ours), put(base), n, False, "SqliteStore.put")

    def get(s: Any) -> Any:
        return lambda i: s.get(("users", f"u{i % 10}", "facts"), f"k{(i * 7) % ITEMS}")

    _pair(out, "langgraph: store get", get(ours), get(base), n, True, "SqliteStore.get")

    def search(s: Any) -> Any:
        return lambda i: s.search(("users", f"u{i % 10}", "facts"), filter={"kind": i % 5}, limit=10)

    m = max(100, n // 5)
    _pair(out, f"langgraph: store search (filter, {ITEMS} items)", search(ours), search(base), m, True, "SqliteStore.search")

    def namespaces(s: Any) -> Any:
        return lambda i: s.list_namespaces(prefix=("users",), limit=100)

    _pair(out, "langgraph: store list_namespaces", namespaces(ours), namespaces(base), m, True, "SqliteStore.list_namespaces")


def run(quick: bool, workdir: str) -> list[Result]:
    """Rows of the LangGraph adapters, each with LangGraph's SQLite backend as its baseline."""
    n = 500 if quick else 5000
    out: list[Result] = []
    with swarmstore.open(os.path.join(workdir, "langgraph-swarm.db")) as store:
        saver = SqliteSaver(_conn(os.path.join(workdir, "langgraph-saver.db")))
        saver.setup()
        _checkpoints(out, store, saver, n)
        base_store = SqliteStore(_conn(os.path.join(workdir, "langgraph-store.db")))
        base_store.setup()
        _store(out, store, base_store, n)
    return out


if __name__ == "__main__":
    import sys
    import tempfile

    from ..harness import fmt_table

    with tempfile.TemporaryDirectory() as tmp:
        print(fmt_table(run("--quick" in sys.argv, tmp)))
