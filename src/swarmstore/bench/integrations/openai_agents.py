"""``SwarmstoreSession`` against the Agents SDK's own ``SQLiteSession`` on a file: the same calls
on the same data, in alternating rounds of one run (``python -m swarmstore.bench.integrations.openai_agents``).

Ours runs on ``swarmstore.aio`` (reads on the event loop, writes group-committed) and on the sync
``Store`` (its writes through ``asyncio.to_thread``, as SQLiteSession does all its work). Durability
differs by default: SQLiteSession leaves SQLite's ``synchronous=FULL`` (WAL, a sync per commit),
swarmstore uses ``NORMAL`` (safe against process crashes); one row opens ours with ``"full"``
(and SQLite's default checkpoint interval, as SQLiteSession has).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Coroutine
from typing import Any, cast

from agents import SQLiteSession, TResponseInputItem

from ... import open as open_store
from ...aio import open as open_async
from ...integrations.openai_agents import SwarmstoreSession
from ..harness import Result, fmt_table, measure_pair

TARGET = "faster than SQLiteSession"
Either = SwarmstoreSession | SQLiteSession


def _item(i: int) -> TResponseInputItem:
    """An item of a typical length: a user message or an answer."""
    role = "user" if i % 2 == 0 else "assistant"
    return cast(TResponseInputItem, {"role": role, "content": f"message {i}: " + "lorem ipsum " * 12})


def _turn(i: int) -> list[TResponseInputItem]:
    return [_item(2 * i), _item(2 * i + 1)]


def run(quick: bool, workdir: str) -> list[Result]:
    """The rows: add_items, get_items (latest 20, and all of 100), pop_item; ours vs SQLiteSession."""
    n = 300 if quick else 3000
    # a folder of its own each run: files deleted and made again under the same names made the
    # full-sync row's commits 2-6x slower (measured) than in a new folder
    workdir = tempfile.mkdtemp(prefix="openai-agents-", dir=workdir)
    loop = asyncio.new_event_loop()
    out: list[Result] = []
    astore = open_async(os.path.join(workdir, "oa-aio.db"))
    sstore = open_store(os.path.join(workdir, "oa-sync.db"))
    # (at FULL every commit syncs the WAL; a WAL that keeps growing makes each sync commit the file's
    # size too: 770 against 370 µs measured. SQLite's default checkpoints every 1000 pages, as
    # SQLiteSession does; swarmstore's 10,000 suit NORMAL, where nothing is synced per commit.)
    fstore = open_async(os.path.join(workdir, "oa-full.db"), synchronous="full", wal_autocheckpoint=1000)
    base_file = os.path.join(workdir, "oa-sqlitesession.db")
    bases: list[SQLiteSession] = []

    def go(coro: Coroutine[Any, Any, Any]) -> Any:
        return loop.run_until_complete(coro)

    def both(sid: str, store: Any) -> tuple[SwarmstoreSession, SQLiteSession]:
        bases.append(SQLiteSession(sid, base_file))
        return SwarmstoreSession(sid, store), bases[-1]

    def fill(sessions: tuple[Either, Either], calls: int, per_call: int) -> None:
        for s in sessions:
            for j in range(calls):
                go(s.add_items([_item(k) for k in range(j * per_call, (j + 1) * per_call)]))

    def pair(name: str, call: Callable[[Either, int], Coroutine[Any, Any, Any]], sessions: tuple[Either, Either],
             count: int, read: bool, rounds: int = 5) -> None:  # fmt: skip
        ours, theirs = sessions
        r, b = measure_pair(name, lambda i: go(call(ours, i)), lambda i: go(call(theirs, i)), count, min(50, count // 10),
                            rounds=rounds)  # fmt: skip
        r.baseline, r.target, r.read = b, TARGET, read
        ratio = r.ratio()
        r.ok = ratio is not None and ratio <= 1.0
        out.append(r)

    try:
        for label, store in (("aio", astore), ("sync Store", sstore)):
            pair(f"oa add_items (2 items) [{label}]", lambda s, i: s.add_items(_turn(i)), both(f"add-{label}", store), n, False)
            sessions = both(f"get-{label}", store)
            fill(sessions, 1000, 1)  # one item a call, as Runner saves a turn's items
            pair(f"oa get_items(20) of 1000 [{label}]", lambda s, i: s.get_items(20), sessions, n, True)
            sessions = both(f"get2-{label}", store)
            fill(sessions, 500, 2)
            pair(f"oa get_items(20) of 1000, 2/call [{label}]", lambda s, i: s.get_items(20), sessions, n, True)
            sessions = both(f"all-{label}", store)
            fill(sessions, 100, 1)
            pair(f"oa get_items() of 100 [{label}]", lambda s, i: s.get_items(), sessions, max(100, n // 3), True)
            sessions = both(f"pop-{label}", store)
            fill(sessions, (n + 60) // 10, 10)  # an item for every pop of the run and its warm-up
            pair(f"oa pop_item [{label}]", lambda s, i: s.pop_item(), sessions, n, False)
        # (SQLiteSession's file is warm by now, its WAL at its full length; ours gets there first:
        # while a WAL still grows, each sync also commits its new size, 1741 against 459 µs measured)
        go(SwarmstoreSession("warm", fstore).add_items([_item(0)]))
        for i in range(600):
            go(SwarmstoreSession("warm", fstore).add_items(_turn(i)))
        # (rounds of 10 calls: a sync waits on a shared disk whose stalls come in bursts, which
        # longer rounds let fall on one side)
        pair("oa add_items (2 items) [aio, full sync]", lambda s, i: s.add_items(_turn(i)), both("add-full", fstore),
             n, False, rounds=n // 10)  # fmt: skip
    finally:
        for b in bases:
            b.close()
        go(astore.aclose())
        go(fstore.aclose())
        sstore.close()
        loop.close()
    return out


if __name__ == "__main__":
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        print(fmt_table(run("--quick" in sys.argv, tmp)))
