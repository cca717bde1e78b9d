"""``build_server(view)``: an MCP server whose tools and resources act through one (scoped) view."""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.context import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from ..errors import SwarmstoreError
from . import memory_tools, resources, session_tools, task_tools
from .calls import Calls
from .errors import error_result, error_text, validation_text

log = logging.getLogger("swarmstore.mcp")

INSTRUCTIONS = """\
swarmstore: the shared, durable state of an agent swarm, acting as {actor}.
- Memory: versioned JSON entries, each under a namespace (segments joined by ':', broadest first, e.g.
  'project:acme:decisions') and a key. memory_put writes a new version, memory_get reads, memory_list and
  memory_namespaces browse, memory_search finds by words or meaning.
- Tasks: task_claim gives you work with a lease_token; pass the task id and that token to task_heartbeat
  while you work, then to task_complete or task_fail. task_submit adds work (depends_on for prerequisites,
  parent for subtasks).
- Sessions: an event log and state per conversation (session_*).
- You may only touch the namespaces, queues and sessions your rules allow (resource swarmstore://access);
  anything else fails with PermissionDenied, which no argument can get around.
A failed call returns one line: the error's kind (InvalidInput, NotFound, Conflict, LeaseLost,
PermissionDenied...) and what is wrong."""


class SwarmstoreMCP(MCPServer):
    """MCPServer whose failed tool calls read as the store's typed errors, one line each."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, SwarmstoreError):
                log.info("tool %s: %s", name, error_text(cause))
                return error_result(error_text(cause))
            if isinstance(cause, ValidationError):
                log.info("tool %s: bad arguments", name)
                return error_result(validation_text(cause))
            raise  # (an unknown tool: its message is the SDK's; a crash: logged by the SDK, message generic)


def build_server(view: Any, *, actor: str | None = None, name: str = "swarmstore") -> SwarmstoreMCP:
    """The MCP server over ``view``: a scoped view (``store.scoped(...)``, sync or async) or a whole store.

    ``actor`` names who acts when the view does not say (a plain store): it signs session events and
    is the default worker name of task_claim."""
    who = getattr(view, "actor", None) or actor or "mcp"
    server = SwarmstoreMCP(name, instructions=INSTRUCTIONS.format(actor=who), log_level="WARNING")
    calls = Calls(view)
    memory_tools.register(server, calls)
    session_tools.register(server, calls, who)
    task_tools.register(server, calls, who)
    resources.register(server, calls, who)
    return server


__all__ = ["SwarmstoreMCP", "build_server"]
