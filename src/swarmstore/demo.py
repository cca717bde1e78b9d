"""``swarmstore demo``: a small swarm at work on the embedded store.

It seeds a project (decisions in memory, planner/coder/reviewer sessions), submits a DAG of a few
hundred tasks (features -> design -> parallel implementation -> tests -> review -> one release),
starts worker processes that claim the tasks and write memories and session events as they go,
shows a progress bar while they run, and prints what happened.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import threading
import time
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from .errors import EmbedderUnavailable
from .models import Hit, Task, TaskNode
from .store import Store
from .worker import TaskContext

AGENTS = [("planner", "Break the feature into tasks"), ("coder", "Write the code"), ("reviewer", "Review the change")]
DECISIONS = {
    "storage": "embedded SQLite in WAL mode; PostgreSQL when one machine is not enough",
    "ids": "time-ordered UUIDv7 strings",
    "api": "sync and async with the same method names",
}
FEATURES = ["login", "search", "billing", "export", "import", "audit-view", "sharing", "comments", "tags",
            "webhooks", "themes", "reports", "quotas", "invites", "backups", "alerts", "sso", "history",
            "drafts", "mentions", "uploads", "calendar", "api-keys", "onboarding", "i18n", "dark-mode",
            "offline", "sync", "roles", "metrics", "feeds", "archive", "labels", "pins", "rate-limits",
            "status-page"]  # fmt: skip
PARTS = ["model", "api", "ui", "docs"]
# The closing search by meaning: no content word in common with the decision it finds ("storage").
QUESTION = "which database do we use?"
KEYWORDS = "SQLite"  # (what the demo searches without the embed extra)


def seed(store: Store, project: str = "acme") -> list[str]:
    """Sessions with events and scoped state, versioned memories, a TTL entry and a soft delete."""
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
            {"namespace": f"user:{name}:prefs", "key": "style", "value": {"verbosity": i + 1}, "type": "procedural"}
            for i, (name, _) in enumerate(AGENTS)
        ]
    )
    store.memory.put(f"project:{project}:log", "standup", "coder blocked on review", type="episodic", ttl=3600)
    store.memory.put(f"project:{project}:scratch", "tmp", "to be deleted", actor="coder")
    store.memory.delete(f"project:{project}:scratch", "tmp", actor="coder")
    return sessions


def plan_work(store: Store, features: int, project: str = "acme") -> tuple[list[Task], str]:
    """One DAG for the release: per feature a parent task, design, 4 parts in parallel, tests, review."""
    items: list[dict[str, Any]] = []
    for i, feat in enumerate(FEATURES[:features]):
        f = f"f{i}"
        common = {"payload": {"project": project, "feature": feat}, "max_attempts": 3}
        items.append({"summary": f"feature: {feat}", "ref": f, "agent_type": "planner", **common})
        items.append({"summary": f"design {feat}", "ref": f"{f}.design", "parent": f, "agent_type": "planner",
                      "priority": 7, **common})  # fmt: skip
        for part in PARTS:
            items.append({"summary": f"build {feat} {part}", "ref": f"{f}.{part}", "parent": f,
                          "depends_on": [f"{f}.design"], "agent_type": "coder", **common})  # fmt: skip
        items.append({"summary": f"test {feat}", "ref": f"{f}.test", "parent": f, "agent_type": "coder",
                      "depends_on": [f"{f}.{p}" for p in PARTS], **common})  # fmt: skip
        items.append({"summary": f"review {feat}", "ref": f"{f}.review", "parent": f, "agent_type": "reviewer",
                      "depends_on": [f"{f}.test"], "priority": 6, **common})  # fmt: skip
    items.append({"summary": "release 1.0", "depends_on": [f"f{i}.review" for i in range(features)],
                  "agent_type": "reviewer", "priority": 9, "payload": {"project": project}})  # fmt: skip
    tasks = store.tasks.submit_many(items)
    return tasks, tasks[0].id


_session: dict[str, str] = {}
_session_lock = threading.Lock()


def handle(task: Task, ctx: TaskContext) -> Any:
    """What a demo agent does with a task: think a little, remember the outcome, log an event.

    Every third feature's tests fail on their first attempt, to show retries."""
    store = ctx.store
    me = ctx.worker.name
    with _session_lock:
        if me not in _session:
            _session[me] = store.sessions.create("swarm-demo", me, project=task.payload.get("project")).id
    time.sleep(0.002 + 0.0005 * (hash(task.id) % 8))
    feature = task.payload.get("feature")
    if task.summary.startswith("test ") and task.attempt == 1 and FEATURES.index(feature) % 3 == 0:
        raise RuntimeError(f"flaky test in {feature}")
    outcome = {"task": task.summary, "by": me, "attempt": task.attempt}
    ns = f"project:{task.payload['project']}:features:{feature}" if feature else "project:acme:release"
    store.memory.put(ns, task.summary.split(" ")[0].rstrip(":"), outcome, type="episodic", actor=me)
    store.sessions.append_event(_session[me], "task.done", me, outcome)
    return outcome


class Recall(threading.Thread):
    """The demo's search over its decisions. The model loads on this thread while the project is
    seeded; the search runs once the decisions are stored and before the workers start, so that it
    embeds the seeded memories only, not the swarm's hundreds of outcomes (a search embeds every
    pending memory first)."""

    def __init__(self, store: Store, namespace: str) -> None:
        super().__init__(name="demo-recall", daemon=True)
        self.store = store
        self.namespace = namespace
        self.mode = "hybrid"
        self.question = QUESTION
        self.hits: list[Hit] = []

    def run(self) -> None:
        with contextlib.suppress(Exception):  # (the search below says what went wrong)
            self.store.search(self.question, prefix=self.namespace, k=1, mode="semantic")  # (loads the model)

    def search(self) -> None:
        """Search the decisions (by meaning; by keyword without the embed extra)."""
        self.join()
        try:
            self.hits = self.store.search(self.question, prefix=self.namespace, k=3)
        except EmbedderUnavailable:
            self.mode, self.question = "keyword", KEYWORDS
            self.hits = self.store.search(self.question, prefix=self.namespace, k=3, mode="keyword")

    def show(self, console: Console) -> None:
        """The hits as a table, and how to search by meaning when it was a keyword search."""
        how = "by meaning" if self.mode != "keyword" else "by keyword"
        t = Table(title=f"search {how} in {self.namespace}: {self.question!r}", title_justify="left")
        for col in ("score", "key", "found by"):
            t.add_column(col, no_wrap=True)
        t.add_column("decision", overflow="fold")
        for h in self.hits:
            assert h.memory is not None
            t.add_row(f"{h.score:.3f}", h.memory.key, "+".join(h.retrievers), str(h.memory.value))
        console.print(t)
        if self.mode == "keyword":
            console.print(
                "search by meaning needs the embed extra: pip install 'swarmstore[embed]'",
                highlight=False,
                markup=False,
            )

    def hint(self) -> str:
        """The CLI command that runs this search again (over every memory and document)."""
        return f"search {shlex.quote(self.question)}" + (" --mode keyword" if self.mode == "keyword" else "")

    def summary(self) -> dict[str, Any]:
        return {
            "query": self.question,
            "mode": self.mode,
            "hits": [
                {"key": h.memory.key, "score": h.score, "retrievers": list(h.retrievers)} for h in self.hits if h.memory
            ],
        }


def _tree(node: TaskNode) -> Tree:
    colour = {"completed": "green", "failed": "red", "cancelled": "magenta", "running": "yellow"}
    t = node.task
    tree = Tree(
        f"[{colour.get(t.status, 'cyan')}]{t.status}[/] {t.summary} (attempts: {t.attempt}) [dim]{t.id[-12:]}[/]"
    )
    for child in node.children:
        tree.children.append(_tree(child))
    return tree


def store_contents(store: Store) -> str:
    """What the store holds already, said briefly ("" when empty): the demo needs an empty one."""
    rows = store.stats()["rows"]
    held = [f"{rows[k]} {k}" for k in ("tasks", "sessions", "agents") if rows[k]]
    if rows["memories_all"]:
        held.append(f"{rows['memories_all']} memories")
    return ", ".join(held)


def worker_env() -> dict[str, str]:
    """The environment of the demo's worker processes: they import swarmstore from where this
    process did, and nothing from the current directory (they also run with ``python -P``)."""
    import site

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cwd = os.getcwd()
    inherited = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    paths = [p for p in inherited if p != cwd and p != here]
    if here not in {*site.getsitepackages(), site.getusersitepackages()}:
        paths.insert(0, here)  # (not installed there: a checkout, or a PYTHONPATH of its own)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    if not paths:
        del env["PYTHONPATH"]
    return env


def run_demo(
    store: Store, quiet: bool = False, workers: int = 3, features: int = 36, cli: str = "swarmstore"
) -> dict[str, Any]:
    """Seed the project, run the swarm on the task DAG with ``workers`` processes, report.
    ``cli``: how the closing hints spell the command (with its ``--db``)."""
    console = Console(quiet=quiet)
    t0 = time.perf_counter()
    recall = Recall(store, "project:acme:decisions")
    recall.start()
    sessions = seed(store)
    tasks, first_feature = plan_work(store, max(1, min(features, len(FEATURES))))
    recall.search()
    console.print(f"seeded project acme; submitted {len(tasks)} tasks as one DAG; starting {workers} worker processes")
    env = worker_env()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-P",  # (not the current directory on sys.path: a stray orjson.py there is not imported)
                "-m",
                "swarmstore.cli",
                "--db",
                store.url,
                "worker",
                "--handler",
                "swarmstore.demo:handle",
                "--until-idle",
                "--name",
                f"agent-{i}",
                "--concurrency",
                "2",
                "--lease",
                "10",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(workers)
    ]
    start = time.perf_counter()
    total = len(tasks)
    with Progress(
        TextColumn("[bold]tasks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"), console=console, transient=False,
    ) as bar:  # fmt: skip
        job = bar.add_task("tasks", total=total, detail="")
        while any(p.poll() is None for p in procs):
            s = store.tasks.stats()["by_status"]
            finished = s["completed"] + s["failed"] + s["cancelled"]
            bar.update(job, completed=finished, detail=f"running {s['running']}, ready {s['ready']}")
            time.sleep(0.1)
        s = store.tasks.stats()["by_status"]
        bar.update(job, completed=s["completed"] + s["failed"] + s["cancelled"], detail="")
    swarm_s = time.perf_counter() - start
    errors = [p.stderr.read() if p.stderr else "" for p in procs if p.returncode != 0]
    for p in procs:
        if p.stdout:
            p.stdout.close()
        if p.stderr:
            p.stderr.close()
    if errors:
        raise RuntimeError("a demo worker failed:\n" + errors[0][-2000:])
    stats = store.tasks.stats()
    rows = store.stats()["rows"]
    retries = sum(1 for e in store.audit.list(action="task.retry", limit=10_000))

    t = Table(title="memory under project:acme (first entries)", title_justify="left")
    for col in ("namespace", "key", "v", "type"):
        t.add_column(col, no_wrap=True)
    t.add_column("value", overflow="fold")  # (the column that wraps in a narrow terminal)
    for m in store.memory.list("project:acme", limit=8):
        value = m.value if isinstance(m.value, str) else orjson.dumps(m.value).decode()  # (as `mem ls` shows it)
        t.add_row(m.namespace, m.key, str(m.version), m.type, value if len(value) <= 60 else value[:59] + "…")
    console.print(t)
    console.print(_tree(store.tasks.tree(first_feature)))
    agents = Table(title="agents", title_justify="left")
    for col in ("name", "status", "tasks completed"):
        agents.add_column(col)
    done_by: dict[str, int] = {}
    for task in store.tasks.list(status="completed", limit=10_000):
        done_by[task.worker_id or ""] = done_by.get(task.worker_id or "", 0) + 1
    for a in store.agents.list(alive_only=False):
        agents.add_row(a.name, a.status, str(done_by.get(a.id, 0)))
    console.print(agents)
    recall.show(console)
    by = stats["by_status"]
    console.print(
        f"{by['completed']} of {total} tasks completed ({by['failed']} failed, {retries} retried after a failure) "
        f"by {workers} processes in {swarm_s:.1f} s ({by['completed'] / swarm_s:.0f} tasks/s); "
        f"{rows['memories_live']} live memories, {rows['events']} events, {rows['audit']} audit rows "
        f"at [bold]{store.url}[/]"
    )
    console.print("next:", highlight=False)
    for hint in (
        f"task tree {first_feature[-12:]}",
        "task stats",
        "mem ls project:acme",
        "agent ls --all",
        recall.hint(),
    ):
        console.print(f"  {cli} {hint}", highlight=False, markup=False, soft_wrap=True)
    return {
        "sessions": sessions,
        "tasks": total,
        "completed": by["completed"],
        "failed": by["failed"],
        "retried": retries,
        "swarm_seconds": swarm_s,
        "seconds": time.perf_counter() - t0,
        "rows": rows,
        "url": store.url,
        "feature_root": first_feature,
        "search": recall.summary(),
    }
