"""What the MCP tests share: the tool names, and reading a tool result."""

from __future__ import annotations

import os
from typing import Any

from cli_helpers import SRC

ACTOR = "agent:planner"

TOOLS = {
    "memory_put", "memory_get", "memory_list", "memory_namespaces", "memory_history", "memory_delete",
    "memory_restore", "memory_search", "memory_resolve",
    "session_create", "session_get", "session_append_event", "session_get_state", "session_set_state",
    "documents_search",
    "task_submit", "task_get", "task_list", "task_claim", "task_heartbeat", "task_complete", "task_fail",
    "task_cancel", "task_plan", "task_stats", "task_tree",
}  # fmt: skip


async def ok(client: Any, tool: str, **args: Any) -> Any:
    """Call ``tool``; it must succeed; its structured result."""
    r = await client.call_tool(tool, args)
    assert not r.is_error, (tool, r.content[0].text if r.content else r)
    return r.structured_content


async def refused(client: Any, tool: str, kind: str, **args: Any) -> str:
    """Call ``tool``; it must fail with one readable line naming the error ``kind``; that line."""
    r = await client.call_tool(tool, args)
    assert r.is_error, (tool, r)
    text = r.content[0].text
    assert text.startswith(f"{kind}: "), text
    assert "\n" not in text and "Traceback" not in text, text
    return str(text)


def server_args(db: str, *extra: str) -> list[str]:
    """``swarmstore mcp`` on the store ``db`` as ``ACTOR`` (after the Python executable)."""
    return ["-m", "swarmstore.cli", "mcp", "--db", db, "--actor", ACTOR, "--embedder", "none", *extra]


def server_env() -> dict[str, str]:
    """The environment a server subprocess needs to import this checkout's swarmstore."""
    paths = [SRC, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}
