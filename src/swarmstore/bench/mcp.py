"""The MCP server's round trip: one ``memory_get`` tool call over stdio, client to server subprocess
and back, beside baselines measured in alternating rounds:

* the SDK's bare round trip: a server whose one tool returns ``{}`` (what the protocol costs);
* the same view's ``memory.get`` called directly in this process (what the store costs).

Two servers are measured, the two ways ``build_server`` can call a view: the sync scoped view
(each call on a worker thread) and the async store's scoped view (awaited on the event loop). Needs the ``mcp``
extra. ``python -m swarmstore.bench --only mcp``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import swarmstore

from .harness import Result, _result, fmt_table

NS, KEY = "project:bench:notes", "k0001"
RULES: dict[str, Any] = {"read": ["project:bench:*"], "write": ["project:bench:*"]}
TARGET_US = 2000.0


def _serve(kind: str, db: str) -> None:
    """The server side (run as ``python -m swarmstore.bench.mcp KIND DB``)."""
    import anyio

    from swarmstore import aio
    from swarmstore.mcp import build_server
    from swarmstore.mcp.serve import run_stdio

    async def main() -> None:
        if kind == "trivial":
            from mcp.server.mcpserver import MCPServer

            server: Any = MCPServer("trivial", log_level="WARNING")

            async def ping() -> dict[str, Any]:
                """Answer at once."""
                return {}

            server.add_tool(ping)
            await server.run_stdio_async()
        elif kind == "sync":
            with swarmstore.open(db, embedder=None) as store:
                await run_stdio(build_server(store.scoped("agent:bench", **RULES)))
        else:
            async with aio.open(db, embedder=None) as astore:
                await run_stdio(build_server(astore.scoped("agent:bench", **RULES)))

    anyio.run(main)


async def _client(stack: AsyncExitStack, kind: str, db: str) -> Any:
    from mcp import Client, StdioServerParameters

    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {"PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "swarmstore.bench.mcp", kind, db], env=env)
    return await stack.enter_async_context(Client(params, read_timeout_seconds=60))


async def _rounds(sides: list[Callable[[], Awaitable[Any]]], n: int, rounds: int) -> list[tuple[list[int], int]]:
    """Each side ``n`` times, in ``rounds`` alternating rounds: per side, its samples (ns) and total time."""
    out: list[tuple[list[int], int]] = [([], 0) for _ in sides]
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for i, fn in enumerate(sides):
            samples, total = out[i]
            start = clock()
            for _ in range(n // rounds):
                t = clock()
                await fn()
                samples.append(clock() - t)
            out[i] = (samples, total + clock() - start)
    return out


def run(quick: bool = False, where: str | None = None) -> list[Result]:
    import anyio

    n = 500 if quick else 5000
    workdir = tempfile.mkdtemp(prefix="swarmstore-bench-mcp-", dir=where)
    db = os.path.join(workdir, "mcp.db")
    try:
        with swarmstore.open(db, embedder=None) as store:
            store.memory.put_many([{"namespace": NS, "key": f"k{i:04d}", "value": {"i": i, "text": "x" * 100}}
                                   for i in range(1000)])  # fmt: skip

        async def main() -> list[tuple[list[int], int]]:
            async with AsyncExitStack() as stack:
                clients = [await _client(stack, kind, db) for kind in ("sync", "async", "trivial")]
                direct = swarmstore.open(db, embedder=None)
                stack.callback(direct.close)
                view = direct.scoped("agent:bench", **RULES)
                args = {"namespace": NS, "key": KEY}

                def tool(c: Any, name: str, a: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
                    async def call() -> Any:
                        r = await c.call_tool(name, a)
                        assert not r.is_error, r
                        return r

                    return call

                async def get_direct() -> Any:
                    return view.memory.get(NS, KEY)

                sides = [tool(clients[0], "memory_get", args), tool(clients[1], "memory_get", args),
                         tool(clients[2], "ping", {}), get_direct]  # fmt: skip
                await _rounds(sides, max(50, n // 10), 5)  # (warm-up)
                return await _rounds(sides, n, 5)

        measured = anyio.run(main)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    count = len(measured[0][0])
    sync_r, async_r, trivial, direct = (_result(name, s, t, count, False) for name, (s, t) in zip(
        ("mcp memory_get, sync view", "mcp memory_get, async view", "mcp trivial tool", "view.memory.get direct"),
        measured, strict=True))  # fmt: skip
    out = []
    for r in (sync_r, async_r):
        r.read, r.baseline, r.target = True, trivial, "p50 ≤ 2 ms"
        r.ok = r.p50_us <= TARGET_US
        r.extra["note"] = "stdio round trip; baseline: the SDK's trivial tool"
        r.extra["direct_p50_us"] = direct.p50_us
        out.append(r)
    direct.read, direct.baseline = True, None
    out.append(direct)
    return out


def main(quick: bool, where: str | None) -> list[Result]:
    """Run and print the part (``--only mcp``, or within the full run when the extra is installed)."""
    print("\nMCP server: one tool call over stdio (ratio: p50 over the SDK's trivial tool, same rounds; "
          "sync view: calls on threads; async view: awaited on the loop)\n")  # fmt: skip
    results = run(quick, where)
    print(fmt_table(results))
    return results


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
