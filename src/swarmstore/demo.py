"""``swarmstore demo``: build a small example swarm state and show what it made."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table

from .store import Store

AGENTS = [("planner", "Break the feature into tasks"), ("coder", "Write the code"), ("reviewer", "Review the change")]
DECISIONS = {
    "storage": "embedded SQLite in WAL mode; PostgreSQL when one machine is not enough",
    "ids": "time-ordered UUIDv7 strings",
    "api": "sync and async with the same method names",
}


def run_demo(store: Store, quiet: bool = False) -> dict[str, Any]:
    """Create sessions with events and scoped state, versioned memories and a soft delete."""
    console = Console(quiet=quiet)
    t0 = time.perf_counter()
    project = "acme"
    sessions = []
    for name, goal in AGENTS:
        s = store.sessions.create("swarm-demo", name, project=project, state={"goal": goal, "app:release": "1.0"})
        for turn in range(5):
            store.sessions.append_event(
                s.id,
                "message",
                name,
                {"turn": turn, "text": f"{name} step {turn}: {goal.lower()}"},
                state_delta={"turn": turn, "temp:scratch": f"draft {turn}", "user:last_turn": turn},
            )
        sessions.append(s.id)
    store.sessions.terminate(sessions[0], actor="orchestrator")

    for key, value in DECISIONS.items():
        store.memory.put(f"project:{project}:decisions", key, value, actor="planner")
    store.memory.put(
        f"project:{project}:decisions", "ids", "time-ordered UUIDv7 strings (monotonic per process)", actor="reviewer"
    )
    store.memory.put_many(
        [
            {
                "namespace": f"user:{name}:prefs",
                "key": "style",
                "value": {"verbosity": i + 1},
                "type": "procedural",
                "actor": name,
            }
            for i, (name, _) in enumerate(AGENTS)
        ]
    )
    store.memory.put(
        f"project:{project}:log", "standup", "coder blocked on review", type="episodic", ttl=3600, actor="coder"
    )
    store.memory.put(f"project:{project}:scratch", "tmp", "to be deleted", actor="coder")
    store.memory.delete(f"project:{project}:scratch", "tmp", actor="coder")
    elapsed = time.perf_counter() - t0

    t = Table(title=f"memory under project:{project}", title_justify="left")
    for col in ("namespace", "key", "version", "type", "value"):
        t.add_column(col, overflow="fold")
    for m in store.memory.list(f"project:{project}"):
        t.add_row(m.namespace, m.key, str(m.version), m.type, str(m.value)[:60])
    console.print(t)
    st = Table(title="sessions", title_justify="left")
    for col in ("id", "user", "status", "events", "merged state"):
        st.add_column(col, overflow="fold")
    for sid in sessions:
        s = store.sessions.get(sid)
        st.add_row(s.id, s.user, s.status, str(s.event_count), str(store.sessions.state(sid)))
    console.print(st)
    stats = store.stats()["rows"]
    console.print(
        f"made {len(sessions)} sessions, {stats['events']} events, {stats['memories_live']} live memories "
        f"({stats['memory_versions']} versions), {stats['audit']} audit rows in {elapsed * 1000:.1f} ms "
        f"at [bold]{store.url}[/]"
    )
    console.print("next: swarmstore mem ls project:acme | swarmstore session ls | swarmstore audit ls")
    return {"sessions": sessions, "rows": stats, "seconds": elapsed, "url": store.url}
