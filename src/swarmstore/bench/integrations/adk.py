"""Google ADK's session service: ``SwarmstoreSessionService`` beside ADK's own SQLite backends
(``SqliteSessionService``, aiosqlite; and ``DatabaseSessionService`` on ``sqlite+aiosqlite`` when
SQLAlchemy is installed), the same calls on the same event loop, in alternating rounds."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.session import Session
from google.adk.sessions.sqlite_session_service import SqliteSessionService
from google.genai import types

from ... import aio
from ...integrations.adk import SwarmstoreSessionService
from ..harness import Result, measure_pair

APP, USER = "bench", "user"
HISTORY = 20  # events in the session the get row reads


def _event(i: int) -> Event:
    text = types.Content(role="user", parts=[types.Part(text=f"message {i}: what about the release plan?")])
    return Event(invocation_id=f"inv{i}", author="user", content=text, actions=EventActions(state_delta={"step": i}))


def _theirs(workdir: str) -> list[tuple[str, BaseSessionService, Callable[[], Coroutine[Any, Any, None]]]]:
    """ADK's SQLite backends: (label, service, close)."""

    async def nothing() -> None:
        return None

    out: list[tuple[str, BaseSessionService, Callable[[], Coroutine[Any, Any, None]]]] = [
        ("SqliteSessionService", SqliteSessionService(os.path.join(workdir, "adk-sqlite.db")), nothing)
    ]
    try:
        from google.adk.sessions.database_session_service import DatabaseSessionService
    except ImportError:  # SQLAlchemy is not installed
        return out
    db = DatabaseSessionService("sqlite+aiosqlite:///" + os.path.join(workdir, "adk-database.db"))
    out.append(("DatabaseSessionService", db, db.close))
    return out


def run(quick: bool, workdir: str) -> list[Result]:
    n = 300 if quick else 2000
    loop = asyncio.new_event_loop()
    go = loop.run_until_complete
    store = aio.open(os.path.join(workdir, "adk-swarm.db"))
    ours = SwarmstoreSessionService(store)
    out: list[Result] = []
    try:
        for label, theirs, close in _theirs(workdir):
            out += _rows(go, ours, theirs, label, n)
            go(close())
    finally:
        go(store.aclose())
        loop.close()
    return out


def _rows(
    go: Callable[[Any], Any], ours: BaseSessionService, theirs: BaseSessionService, label: str, n: int
) -> list[Result]:
    out: list[Result] = []
    tag = label.replace("SessionService", "").lower()

    def pair(r: Result, b: Result, read: bool) -> None:
        r.baseline, r.read, r.target = b, read, f"faster than ADK's {label}"
        ratio = r.ratio()
        r.ok = ratio is not None and ratio < 1
        out.append(r)

    # create: a new session with a little state
    r, b = measure_pair(
        "adk create_session",
        lambda i: go(ours.create_session(app_name=APP, user_id=USER, session_id=f"{tag}-c{i}", state={"k": i})),
        lambda i: go(theirs.create_session(app_name=APP, user_id=USER, session_id=f"{tag}-c{i}", state={"k": i})),
        n,
        warmup=0,
    )
    pair(r, b, False)

    # append: events with a state delta to one session each (the stale check included)
    mine: Session = go(ours.create_session(app_name=APP, user_id=USER, session_id=f"{tag}-append"))
    their: Session = go(theirs.create_session(app_name=APP, user_id=USER, session_id=f"{tag}-append"))
    warm = 20
    e1 = iter([_event(i) for i in range(n + warm)])  # (warm-up and rounds both count from 0: one event each call)
    e2 = iter([_event(i) for i in range(n + warm)])
    r, b = measure_pair(
        "adk append_event",
        lambda i: go(ours.append_event(mine, next(e1))),
        lambda i: go(theirs.append_event(their, next(e2))),
        n,
        warmup=warm,
    )
    pair(r, b, False)

    # get: a session with its history
    for svc in (ours, theirs):
        s = go(svc.create_session(app_name=APP, user_id=USER, session_id=f"{tag}-get", state={"goal": "ship"}))
        for i in range(HISTORY):
            go(svc.append_event(s, _event(i)))
    r, b = measure_pair(
        f"adk get_session {HISTORY}ev",
        lambda i: go(ours.get_session(app_name=APP, user_id=USER, session_id=f"{tag}-get")),
        lambda i: go(theirs.get_session(app_name=APP, user_id=USER, session_id=f"{tag}-get")),
        n,
        warmup=20,
    )
    pair(r, b, True)
    for x in out:
        x.name = f"{x.name} vs {tag}"
    return out


if __name__ == "__main__":
    import sys
    import tempfile

    from ..harness import fmt_table

    with tempfile.TemporaryDirectory() as d:
        print(fmt_table(run("--quick" in sys.argv, d)))
