"""Resources for browsing: the view's access rules, the namespaces it may read, a namespace's entries,
a task tree. Each reads through the same view (and rights) as the tools."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

import orjson
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from ..errors import NotFound, SwarmstoreError
from ..jsonable import plain
from .calls import Calls
from .errors import error_text

P = ParamSpec("P")
JSON = "application/json"


def _json(fn: Callable[P, Awaitable[Any]]) -> Callable[P, Awaitable[str]]:
    """The resource as JSON text; a store error becomes a resource error carrying its readable line."""

    @functools.wraps(fn)
    async def read(*args: P.args, **kwargs: P.kwargs) -> str:
        try:
            out = await fn(*args, **kwargs)
        except NotFound as exc:
            raise ResourceNotFoundError(error_text(exc)) from None
        except SwarmstoreError as exc:
            raise ResourceError(error_text(exc)) from None
        return orjson.dumps(plain(out), option=orjson.OPT_INDENT_2).decode()

    return read


def register(server: MCPServer, calls: Calls, actor: str) -> None:
    view = calls.view

    @server.resource(
        "swarmstore://access", name="access", mime_type=JSON, description="Who you are and what you may read and write."
    )
    @_json
    async def access() -> Any:
        describe = getattr(view, "describe", None)
        return {"actor": actor, "rules": describe() if describe is not None else "unrestricted"}

    @server.resource(
        "swarmstore://namespaces",
        name="namespaces",
        mime_type=JSON,
        description="The memory namespaces you may read that hold entries.",
    )
    @_json
    async def namespaces() -> Any:
        return await calls(view.memory.namespaces, "")

    @server.resource(
        "swarmstore://memory/{namespace}",
        name="memory",
        mime_type=JSON,
        description="The first 100 current entries of a namespace and those under it (memory_list pages further).",
    )
    @_json
    async def memory(namespace: str) -> Any:
        page = await calls(view.memory.list, namespace, None, 100)
        return {"items": page.items, "next_cursor": page.next_cursor}

    @server.resource(
        "swarmstore://tasks/{task_id}/tree",
        name="task-tree",
        mime_type=JSON,
        description="A task and all its subtasks, transitively.",
    )
    @_json
    async def task_tree(task_id: str) -> Any:
        return await calls(view.tasks.tree, task_id)
