"""``swarmstore mcp``: serve one scoped view of the store to an agent over the Model Context Protocol."""

from __future__ import annotations

import importlib.util
import os
from typing import Annotated, Any

import typer

from swarmstore.errors import InvalidInput

from .common import DbOpt, db_path, db_url, make_private_dirs
from .errors import fail

INSTALL = "pip install 'swarmstore[mcp]'"


def parse_bind(pairs: list[str]) -> dict[str, str]:
    """``["user=alice", "session_id=s1"]`` -> ``{"user": "alice", "session_id": "s1"}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput("bind", f"{pair!r} is not name=value")
        out[name.strip()] = value
    return out


def mcp(
    actor: Annotated[str, typer.Option(help="Who the agent is, e.g. agent:planner: signs every change it makes.")],
    read: Annotated[
        list[str] | None,
        typer.Option(
            help="Namespace pattern the agent may read (project:acme:*, user:{user}); repeat.", show_default=False
        ),
    ] = None,
    write: Annotated[
        list[str] | None,
        typer.Option(help="Namespace pattern it may write (and read); repeat.", show_default=False),
    ] = None,
    queue: Annotated[
        list[str] | None, typer.Option(help="Task queue pattern it may use; repeat.", show_default=False)
    ] = None,
    sessions: Annotated[
        list[str] | None,
        typer.Option(help="Session pattern app:user it may use (myapp:*); repeat.", show_default=False),
    ] = None,
    bind: Annotated[
        list[str] | None, typer.Option(help="A {placeholder}'s value, name=value; repeat.", show_default=False)
    ] = None,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")] = False,
    host: Annotated[str, typer.Option(help="HTTP address; off loopback a --token is required.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 8765,
    token: Annotated[
        str | None, typer.Option(help="Bearer token HTTP clients must send (default: $SWARMSTORE_MCP_TOKEN).")
    ] = None,
    embedder: Annotated[
        str,
        typer.Option(help="'default' (search by meaning if the embed extra is installed) or 'none' (keyword only)."),
    ] = "default",
    db: DbOpt = None,
) -> None:
    """Serve an MCP server (stdio, or HTTP with --http) over a view limited to the given patterns."""
    if importlib.util.find_spec("mcp") is None:
        fail(f"the MCP server needs the mcp extra: {INSTALL}")
    if embedder not in ("default", "none"):
        raise InvalidInput("embedder", f"expected 'default' or 'none', got {embedder!r}")
    token = token or os.environ.get("SWARMSTORE_MCP_TOKEN") or None
    rules: dict[str, Any] = {
        "read": read or [],
        "write": write or [],
        "queues": queue or [],
        "sessions": sessions or [],
        "bind": parse_bind(bind or []),
    }
    from swarmstore.mcp.run import serve
    from swarmstore.mcp.serve import check_http_options
    from swarmstore.scoped.scope import make_rules
    from swarmstore.validation import check_name

    if http:
        check_http_options(host, token)  # (refuses before anything is opened)
    make_rules(check_name(actor, "actor"), **rules)  # (bad rules too: no store file is made for them)
    url = db_url(db)
    path = db_path(url)
    if path is not None:
        make_private_dirs(os.path.dirname(os.path.abspath(path)))
    serve(
        url,
        actor,
        rules,
        http=http,
        host=host,
        port=port,
        token=token,
        embedder=None if embedder == "none" else "default",
    )
