"""``swarmstore`` CLI: init, demo, stats, mem, session, task, agent, worker, audit, search, docs."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from swarmstore.errors import SwarmstoreError

from . import ids
from .common import (
    DbOpt,
    JsonOpt,
    StringOpt,
    _State,
    cli_prefix,
    db_path,
    db_url,
    forget_store,
    opened,
    parse_json,
    parse_value,
)
from .copy import copy
from .docs import docs_app
from .errors import run_app
from .mcp import mcp
from .output import console, emit_json, plain, short, show_page, table, when
from .search import index, reindex, search
from .tasks import agent_app, task_app, worker

app = typer.Typer(
    help="swarmstore: the durable state of an agent swarm.", no_args_is_help=True, pretty_exceptions_enable=False
)
mem = typer.Typer(help="Long-term memory: versioned entries in namespaces.", no_args_is_help=True)
session = typer.Typer(help="Sessions and their event logs.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(mem, name="mem")
app.add_typer(session, name="session")
app.add_typer(audit_app, name="audit")
app.add_typer(task_app, name="task")
app.add_typer(agent_app, name="agent")
app.command()(worker)
app.command()(copy)
app.command()(search)
app.add_typer(docs_app, name="docs")
app.command()(index)
app.command()(reindex)
app.command()(mcp)


@app.callback()
def _root(db: DbOpt = None) -> None:
    _State.db = db


@app.command()
def init(db: DbOpt = None) -> None:
    """Create (or migrate) the store."""
    with opened(db, create=True) as st:
        console.print(f"store ready at [bold]{st.url}[/] (schema {st.engine.stats()['schema_version']})")


@app.command()
def demo(
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes.")] = 3,
    features: Annotated[int, typer.Option(min=1, max=36, help="Features in the DAG (8 tasks each).")] = 36,
    db: DbOpt = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the store's data first (it must be a store).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Run a small swarm: a DAG of tasks worked by several processes, with memories and events.

    It needs an empty store: run again with --fresh to start over, or pass --db."""
    from swarmstore.demo import run_demo, store_contents

    url = db_url(db)
    if fresh:
        forget_store(url)
    with opened(db, create=True, embedder="default") as st:
        held = store_contents(st)
        if held:
            again = cli_prefix(url) + " demo --fresh"
            raise SwarmstoreError(
                f"{db_path(url) or url} already holds {held}: `{again}` deletes them and runs the demo again, "
                "or pass --db to use another file"
            )
        summary = run_demo(st, quiet=json_out, workers=workers, features=features, cli=cli_prefix(url))
    if json_out:
        emit_json(summary)


@app.command()
def stats(db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Row counts, file and WAL size."""
    with opened(db) as st:
        info = st.stats()
    if json_out:
        emit_json(info)
        return
    rows = [[k, v] for k, v in info.items() if k != "rows"] + [[f"rows.{k}", v] for k, v in info["rows"].items()]
    table("store", ["what", "value"], rows)


# -- memory ------------------------------------------------------------------------------------


@mem.command("put")
def mem_put(
    namespace: str,
    key: str,
    value: Annotated[str, typer.Argument(help="JSON (must parse if it looks like JSON), or a plain string.")],
    type_: Annotated[str, typer.Option("--type", help="semantic | episodic | procedural")] = "semantic",
    ttl: Annotated[float | None, typer.Option(help="Seconds until the entry expires.")] = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object.")] = None,
    expected_version: Annotated[int | None, typer.Option(help="Fail unless this is the current version.")] = None,
    actor: Annotated[str | None, typer.Option()] = None,
    string: StringOpt = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a new version of a memory entry."""
    meta = None if metadata is None else parse_json(metadata, "metadata")
    parsed = parse_value(value, "value", string)
    with opened(db, create=True) as st:
        m = st.memory.put(namespace, key, parsed, type_, meta, ttl, expected_version, actor)
    if json_out:
        emit_json(m)
    else:
        console.print(f"{m.namespace}/{m.key} is now version {m.version}")


@mem.command("get")
def mem_get(
    namespace: str,
    key: str,
    version: Annotated[int | None, typer.Option(help="An exact older version.")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show one memory entry."""
    with opened(db) as st:
        m = st.memory.get(namespace, key, version)
    if json_out:
        emit_json(m)
    else:
        table(
            f"{m.namespace}/{m.key}",
            ["field", "value"],
            [
                ["value", orjson.dumps(m.value).decode()],
                ["type", m.type],
                ["version", m.version],
                ["metadata", orjson.dumps(m.metadata).decode()],
                ["created by", m.created_by or ""],
                ["updated", when(m.updated_at)],
                ["expires", when(m.expires_at)],
            ],
        )


@mem.command("ls")
def mem_ls(
    prefix: Annotated[str, typer.Argument(help="Namespace prefix ('' for all).")] = "",
    type_: Annotated[str | None, typer.Option("--type")] = None,
    limit: int = 100,
    cursor: str | None = None,
    namespaces: Annotated[bool, typer.Option("--namespaces", help="List namespaces instead of entries.")] = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List current entries (or namespaces) under a prefix."""
    with opened(db) as st:
        if namespaces:
            names = st.memory.namespaces(prefix)
            if json_out:
                emit_json(names)
            else:
                table(f"namespaces under {prefix or '(all)'}", ["namespace"], [[n] for n in names])
            return
        page = st.memory.list(prefix, type_, limit, cursor)
    show_page(
        page,
        json_out,
        f"memory under {prefix or '(all)'}",
        ["namespace", "key", "v", "type", "value", "updated"],
        [[m.namespace, m.key, m.version, m.type, short(m.value), when(m.updated_at)] for m in page],
        more_flag="--cursor",
    )


@mem.command("history")
def mem_history(namespace: str, key: str, db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Every version of an entry."""
    with opened(db) as st:
        versions = st.memory.history(namespace, key)
    if json_out:
        emit_json(versions)
        return
    table(
        f"history of {namespace}/{key}",
        ["version", "value", "by", "at"],
        [[m.version, short(m.value), m.updated_by or "", when(m.updated_at)] for m in versions],
    )


@mem.command("rm")
def mem_rm(namespace: str, key: str, actor: str | None = None, db: DbOpt = None) -> None:
    """Soft-delete an entry (restorable)."""
    with opened(db, write=True) as st:
        st.memory.delete(namespace, key, actor=actor)
    console.print(f"deleted {namespace}/{key} (restore with `swarmstore mem restore`)")


@mem.command("restore")
def mem_restore(namespace: str, key: str, actor: str | None = None, db: DbOpt = None) -> None:
    """Bring back a soft-deleted entry."""
    with opened(db, write=True) as st:
        m = st.memory.restore(namespace, key, actor=actor)
    console.print(f"restored {namespace}/{key} at version {m.version}")


@mem.command("purge")
def mem_purge(prefix: str = "", db: DbOpt = None) -> None:
    """Remove deleted and expired entries for good."""
    with opened(db, write=True) as st:
        n = st.memory.purge(prefix)
    console.print(f"purged {n} entries")


# -- sessions ----------------------------------------------------------------------------------


@session.command("ls")
def session_ls(
    app_: Annotated[str | None, typer.Option("--app")] = None,
    user: str | None = None,
    project: str | None = None,
    status: Annotated[list[str] | None, typer.Option(help="Repeat for several.")] = None,
    limit: int = 50,
    cursor: str | None = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List sessions, newest first."""
    with opened(db) as st:
        page = st.sessions.list(app=app_, user=user, project=project, status=status, limit=limit, cursor=cursor)
    show_page(
        page,
        json_out,
        "sessions",
        ["id", "app", "user", "project", "status", "events", "updated"],
        [
            [ids.short_id(s.id), s.app, s.user, s.project or "", s.status, s.event_count, when(s.updated_at)]
            for s in page
        ],
        more_flag="--cursor",
    )


@session.command("show")
def session_show(session_id: str, db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """One session with its merged state."""
    with opened(db) as st:
        sid = ids.session_id(st, session_id)
        s = st.sessions.get(sid)
        merged = st.sessions.state(sid)
    if json_out:
        emit_json({"session": s, "state": merged})
        return
    table(
        f"session {s.id}",
        ["field", "value"],
        [
            ["app / user", f"{s.app} / {s.user}"],
            ["project", s.project or ""],
            ["status", s.status],
            ["events", s.event_count],
            ["created", when(s.created_at)],
            ["updated", when(s.updated_at)],
            ["state (merged)", orjson.dumps(plain(merged)).decode()],
            ["metadata", orjson.dumps(s.metadata).decode()],
        ],
    )


@session.command("events")
def session_events(
    session_id: str, after: int = 0, limit: int = 100, db: DbOpt = None, json_out: JsonOpt = False
) -> None:
    """A session's events in order."""
    with opened(db) as st:
        sid = ids.session_id(st, session_id)
        page = st.sessions.events(sid, after, limit)
    show_page(
        page,
        json_out,
        f"events of {sid}",
        ["seq", "type", "actor", "content", "at"],
        [[e.seq, e.type, e.actor, short(e.content), when(e.created_at)] for e in page],
        more_flag="--after",
    )


# -- audit -------------------------------------------------------------------------------------


@audit_app.command("ls")
def audit_ls(
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    action: Annotated[str | None, typer.Option(help="An action, or a family like 'memory.*'.")] = None,
    namespace: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The audit log, newest first."""
    with opened(db) as st:
        if entity_id is not None:
            entity_id = ids.entity_id(st, entity, entity_id)
        page = st.audit.list(
            entity=entity,
            entity_id=entity_id,
            actor=actor,
            action=action,
            namespace=namespace,
            limit=limit,
            cursor=cursor,
        )
    show_page(
        page,
        json_out,
        "audit",
        ["id", "at", "actor", "action", "entity", "detail"],
        [
            [
                a.id,
                when(a.at),
                a.actor or "",
                a.action,
                f"{a.entity} {ids.short_entity(a.entity, a.entity_id)}",
                short(a.detail, 40),
            ]
            for a in page
        ],
        more_flag="--cursor",
    )


def main() -> None:
    """Entry point: every error prints one ``error: ...`` line on stderr and exits 1, never a traceback."""
    run_app(app)
