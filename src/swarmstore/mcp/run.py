"""``serve(url, actor, rules)``: open the store, scope it, and serve the view until the client leaves."""

from __future__ import annotations

import logging
import sys
from typing import Any

import anyio

from .. import aio
from .serve import run_http, run_stdio
from .server import build_server


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
    """Serve the async store's view ``scoped(actor, **rules)`` (its calls awaited on the server's loop:
    the faster of the two round trips the benchmark measures) until stdin closes (stdio) or the process
    is stopped (HTTP). Logs go to stderr."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="swarmstore mcp: %(levelname)s %(message)s")

    async def main() -> None:
        async with aio.open(url, actor=actor, embedder=embedder) as store:
            server = build_server(store.scoped(actor, **rules), actor=actor)
            if http:
                await run_http(server, host, port, token)
            else:
                await run_stdio(server)

    anyio.run(main)
