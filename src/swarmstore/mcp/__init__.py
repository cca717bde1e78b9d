"""The MCP server: an agent's memory, sessions and tasks as Model Context Protocol tools, through one
scoped view (``swarmstore mcp`` on the command line; needs ``pip install 'swarmstore[mcp]'``)."""

from __future__ import annotations

from .server import SwarmstoreMCP, build_server

__all__ = ["SwarmstoreMCP", "build_server"]
