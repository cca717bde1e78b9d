"""``swarmstore task ...``, ``swarmstore agent ls`` and ``swarmstore worker``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
import typer
from rich.tree import Tree

from swarmstore.models import Task, TaskNode

from . import ids
from .common import DbOpt, JsonOpt, StringOpt, opened, parse_value
from .output import console, emit_json, short, show_page, table, when

task_app = typer.Typer(help="The task queue.", no_args_is_help=True)
agent_app = typer.Typer(help="Agents: who is alive and what they run.", no_args_is_help=True)

STATUS_STYLE = {
    "blocked": "dim",
    "ready": "cyan",
    "running": "yellow",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
}


def _status(t: Task) -> str:
    return f"[{STATUS_STYLE.get(t.status, '')}]{t.status}[/]"


@task_app.command("submit")
def task_submit(
    summary: str,
    payload: Annotated[
        str | None, typer.Option(help="JSON (must parse if it looks like JSON), or a plain string.")
    ] = None,
    queue: str = "default",
    agent_type: str | None = None,
    priority: Annotated[int, typer.Option(min=0, max=10)] = 5,
    depends_on: Annotated[list[str] | None, typer.Option("--depends-on", help="Repeat for several.")] = None,
    parent: str | None = None,
    deadline_in: Annotated[float | None, typer.Option(help="Deadline, in seconds from now.")] = None,
    max_attempts: int = 3,
    idempotency_key: str | None = None,
    source: str = "human",
    string: StringOpt = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Submit a task."""
    deadline = None if deadline_in is None else datetime.now(UTC) + timedelta(seconds=deadline_in)
    body = None if payload is None else parse_value(payload, "payload", string)
    with opened(db, create=True) as st:
        t = st.tasks.submit(
            summary,
            body,
            queue=queue,
            agent_type=agent_type,
            priority=priority,
            depends_on=ids.task_ids(st, depends_on or ()),
            parent=None if parent is None else ids.task_id(st, parent),
            deadline=deadline,
            max_attempts=max_attempts,
            idempotency_key=idempotency_key,
            source=source,
        )
    if json_out:
        emit_json(t)
    else:
        console.print(f"task {t.id} is {t.status}")


@task_app.command("ls")
def task_ls(
    status: Annotated[list[str] | None, typer.Option(help="Repeat for several.")] = None,
    queue: str | None = None,
    agent_type: str | None = None,
    parent: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List tasks, newest first (ids shortened to their last 12 characters; --json gives them whole)."""
    with opened(db) as st:
        parent = None if parent is None else ids.task_id(st, parent)
        page = st.tasks.list(
            status=status, queue=queue, agent_type=agent_type, parent=parent, limit=limit, cursor=cursor
        )
    show_page(
        page,
        json_out,
        "tasks",
        ["id", "summary", "queue", "status", "prio", "score", "attempt", "worker"],
        [
            [
                ids.short_id(t.id),
                short(t.summary, 40),
                t.queue,
                _status(t),
                t.priority,
                f"{t.score:.0f}",
                f"{t.attempt}/{t.max_attempts}",
                ids.short_id(t.worker_id),
            ]
            for t in page
        ],
    )


@task_app.command("show")
def task_show(task_id: str, db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """One task in full."""
    with opened(db) as st:
        t = st.tasks.get(ids.task_id(st, task_id))
    if json_out:
        emit_json(t)
        return
    table(
        f"task {t.id}",
        ["field", "value"],
        [
            ["summary", t.summary],
            ["status", _status(t)],
            ["queue / agent type", f"{t.queue} / {t.agent_type or 'any'}"],
            ["priority / score", f"{t.priority} / {t.score:.1f}"],
            ["attempt", f"{t.attempt} of {t.max_attempts}"],
            ["depends on", ", ".join(t.depends_on)],
            ["parent", t.parent_id or ""],
            ["worker", t.worker_id or ""],
            ["lease expires", when(t.lease_expires_at)],
            ["deadline", when(t.deadline)],
            ["payload", short(t.payload, 200)],
            ["result", short(t.result, 200)],
            ["error", (t.error or "").splitlines()[0] if t.error else ""],
            ["created / finished", f"{when(t.created_at)} / {when(t.finished_at)}"],
        ],
    )


def render_tree(node: TaskNode) -> Tree:
    def label(t: Task) -> str:
        return f"{_status(t)} {t.summary} [dim]{ids.short_id(t.id)}[/]"

    root = Tree(label(node.task))

    def add(branch: Tree, n: TaskNode) -> None:
        for child in n.children:
            add(branch.add(label(child.task)), child)

    add(root, node)
    return root


@task_app.command("tree")
def task_tree(root_id: str, db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """A task and its subtasks, with their statuses."""
    with opened(db) as st:
        node = st.tasks.tree(ids.task_id(st, root_id))
    if json_out:
        emit_json([{"depth": d, "task": t} for d, t in node.walk()])
    else:
        console.print(render_tree(node))


@task_app.command("cancel")
def task_cancel(
    task_id: str,
    no_cascade: Annotated[bool, typer.Option("--no-cascade", help="Only this task.")] = False,
    reason: str | None = None,
    db: DbOpt = None,
) -> None:
    """Cancel a task and (by default) everything downstream of it."""
    with opened(db, write=True) as st:
        t = st.tasks.cancel(ids.task_id(st, task_id), cascade=not no_cascade, reason=reason)
    console.print(f"task {t.id} is {t.status}")


@task_app.command("retry")
def task_retry(task_id: str, db: DbOpt = None) -> None:
    """Queue a failed or cancelled task again."""
    with opened(db, write=True) as st:
        t = st.tasks.retry(ids.task_id(st, task_id))
    console.print(f"task {t.id} is {t.status}")


@task_app.command("prune")
def task_prune(
    older_than: Annotated[float, typer.Option(help="Seconds since the task finished.")] = 7 * 86400,
    status: Annotated[list[str] | None, typer.Option(help="Repeat for several (default: all finished).")] = None,
    dry_run: bool = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Remove old finished tasks that no open task still needs."""
    with opened(db, write=True) as st:  # (a dry run too: it runs in a write transaction)
        res = st.tasks.prune(older_than, status or ("completed", "failed", "cancelled"), dry_run)
    if json_out:
        emit_json({"removed": res.removed, "dry_run": res.dry_run})
    else:
        console.print(f"{'would remove' if dry_run else 'removed'} {res.count} task(s)")


@task_app.command("stats")
def task_stats(db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Counts per status and queue, oldest wait, recent throughput."""
    with opened(db) as st:
        s = st.tasks.stats()
    if json_out:
        emit_json(s)
        return
    table("tasks by status", ["status", "count"], [[k, v] for k, v in s["by_status"].items()])
    table(
        "by queue",
        ["queue", *STATUS_STYLE],
        [[q, *[c.get(k, 0) for k in STATUS_STYLE]] for q, c in sorted(s["by_queue"].items())],
    )
    tp = s["throughput"]
    wait = s["oldest_ready_wait_s"]
    console.print(
        ("no task is ready" if wait is None else f"the oldest ready task has waited {wait:.1f} s")
        + f"; completed in the last 1/5/15 min: {tp['1m']['completed']}/{tp['5m']['completed']}/{tp['15m']['completed']}"
    )


@agent_app.command("ls")
def agent_ls(
    all_: Annotated[bool, typer.Option("--all", help="Include stopped and gone agents.")] = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Agents, most recently seen first."""
    with opened(db) as st:
        agents = st.agents.list(alive_only=not all_)
        hidden = 0 if all_ or json_out else len(st.agents.list(alive_only=False)) - len(agents)
    if json_out:
        emit_json(agents)
        return
    table(
        "agents" if all_ else "live agents",
        ["id", "name", "type", "status", "alive", "task", "last seen"],
        [[ids.short_id(a.id), a.name, a.agent_type, a.status, "yes" if a.alive else "gone", ids.short_id(a.current_task),
          when(a.last_seen_at)] for a in agents],
    )  # fmt: skip
    if hidden:
        console.print(f"{hidden} stopped or gone agent(s) not shown: `swarmstore agent ls --all` lists them")


def worker(
    handler: Annotated[str, typer.Option(help="module:function that handles one task.")],
    queue: Annotated[list[str] | None, typer.Option(help="Repeat for several (default: default).")] = None,
    agent_type: Annotated[list[str] | None, typer.Option(help="Only tasks for these agent types.")] = None,
    concurrency: int = 1,
    lease: Annotated[float, typer.Option(help="Lease seconds; heartbeats every third of it.")] = 60.0,
    grace: Annotated[float, typer.Option(help="Seconds a stop waits for running tasks.")] = 30.0,
    name: str | None = None,
    until_idle: Annotated[bool, typer.Option(help="Exit when the queues have no open work.")] = False,
    max_tasks: int | None = None,
    prefetch: Annotated[int, typer.Option(help="Most tasks claimed at once when the handler is quick.")] = 32,
    db: DbOpt = None,
) -> None:
    """Run a worker: claim -> handle -> complete/fail, until SIGINT/SIGTERM."""
    from swarmstore.worker import Worker, load_handler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    fn = load_handler(handler)
    with opened(db, write=True) as st:
        w = Worker(
            st,
            fn,
            queues=queue or ["default"],
            agent_types=agent_type,
            concurrency=concurrency,
            lease_seconds=lease,
            grace_seconds=grace,
            name=name,
            until_idle=until_idle,
            max_tasks=max_tasks,
            prefetch=prefetch,
        )
        stats = w.run()
    console.print(orjson.dumps(vars(stats)).decode())
