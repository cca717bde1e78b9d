"""``serve(url, actor, rules)``: open the store, scope it, and serve the view until the client leaves."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread

from .. import aio
from ..store import open as open_store
from .serve import run_http, run_stdio
from .server import build_server


@asynccontextmanager
async def scoped_view(url: str, actor: str, rules: dict[str, Any], embedder: Any) -> AsyncIterator[Any]:
    """The agent's view: the async store's (calls awaited on the loop) when it has views, else the
    sync store's (calls on worker threads); closed on exit."""
    if hasattr(aio.AsyncStore, "scoped"):
        astore = aio.open(url, actor=actor, embedder=embedder)
        try:
            yield getattr(astore, "scoped")(actor, **rules)  # noqa: B009 (not on every version's AsyncStore)
        finally:
            await astore.aclose()
        return
    store = open_store(url, actor=actor, embedder=embedder)
    try:
        yield store.scoped(actor, **rules)
    finally:
        await anyio.to_thread.run_sync(store.close)


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
        async with scoped_view(url, actor, rules, embedder) as view:
            server = build_server(view, actor=actor)
            if http:
                await run_http(server, host, port, token)
            else:
                await run_stdio(server)

    anyio.run(main)
