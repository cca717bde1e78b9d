"""``serve(url, actor, rules)``: open the async store, scope it, and serve it until the client leaves."""

from __future__ import annotations

import logging
import sys
from typing import Any

import anyio

from .. import aio
from .serve import run_http, run_stdio
from .server import build_server

log = logging.getLogger("swarmstore.mcp")


def scope(store: Any, actor: str, rules: dict[str, Any]) -> Any:
    """The view the agent gets: ``store.scoped(actor, **rules)``."""
    scoped = getattr(store, "scoped", None)
    if scoped is None:  # (until access control lands: say so loudly, on stderr)
        print("swarmstore mcp: warning: this build has no access control; serving the whole store", file=sys.stderr)
        return store
    return scoped(actor, **rules)


def serve(
    url: str,
    actor: str,
    rules: dict[str, Any],
    *,
    http: bool = False,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    embedder: Any = "default",
) -> None:
    """Serve until stdin closes (stdio) or the process is stopped (HTTP). Logs go to stderr."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="swarmstore mcp: %(levelname)s %(message)s")

    async def main() -> None:
        store = aio.open(url, actor=actor, embedder=embedder)
        try:
            server = build_server(scope(store, actor, rules), actor=actor)
            if http:
                await run_http(server, host, port, token)
            else:
                await run_stdio(server)
        finally:
            await store.aclose()

    anyio.run(main)
