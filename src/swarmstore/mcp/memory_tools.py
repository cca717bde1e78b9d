"""The memory tools: remember, recall, list, history, delete, restore, search (and resolve)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from ..jsonable import plain
from .calls import Calls
from .fields import (
    Cursor,
    Filters,
    K,
    Key,
    Limit,
    MemoryKind,
    MemoryType,
    Metadata,
    Mode,
    Namespace,
    OptMemoryType,
    OptPrefix,
    Prefix,
    Query,
    Value,
)

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
REMOVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)


def register(server: MCPServer, calls: Calls) -> None:
    memory = calls.view.memory

    async def memory_put(
        namespace: Namespace,
        key: Key,
        value: Value,
        type: MemoryType = "semantic",
        metadata: Metadata = None,
        ttl_seconds: Annotated[
            float | None, Field(description="Seconds until the entry expires (null: never).")
        ] = None,
        expected_version: Annotated[
            int | None,
            Field(
                description=(
                    "Write only if the entry is at this version now (0: only if it does not exist yet); "
                    "otherwise Conflict. Use it to update without overwriting someone else's change."
                )
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Remember something: write a new version of the entry `key` in `namespace` (version 1 if new).
        Older versions stay readable with memory_history. Returns the entry as stored."""
        m = await calls(memory.put, namespace, key, value, type, metadata, ttl_seconds, expected_version)
        return plain(m)  # type: ignore[no-any-return]

    async def memory_get(
        namespace: Namespace,
        key: Key,
        version: Annotated[int | None, Field(description="An exact older version (null: the current one).")] = None,
    ) -> dict[str, Any]:
        """Recall one entry: its value, type, version, metadata and who wrote it. NotFound if there is none."""
        return plain(await calls(memory.get, namespace, key, version))  # type: ignore[no-any-return]

    async def memory_list(
        prefix: Prefix = "", type: OptMemoryType = None, limit: Limit = 50, cursor: Cursor = None
    ) -> dict[str, Any]:
        """List current entries under a namespace prefix, in (namespace, key) order, one page at a time:
        `items`, and `next_cursor` (pass it back as `cursor` for the next page; null when there is no more)."""
        page = await calls(memory.list, prefix, type, limit, cursor)
        return {"items": plain(page.items), "next_cursor": page.next_cursor}

    async def memory_namespaces(prefix: Prefix = "") -> dict[str, Any]:
        """The namespaces under `prefix` that hold entries you may read, in order."""
        return {"namespaces": await calls(memory.namespaces, prefix)}

    async def memory_history(namespace: Namespace, key: Key) -> dict[str, Any]:
        """Every version of an entry, oldest first (also for a deleted entry): `versions`."""
        return {"versions": plain(await calls(memory.history, namespace, key))}

    async def memory_delete(namespace: Namespace, key: Key) -> dict[str, Any]:
        """Delete an entry (soft: its history stays and memory_restore brings it back)."""
        await calls(memory.delete, namespace, key)
        return {"deleted": True, "namespace": namespace, "key": key}

    async def memory_restore(namespace: Namespace, key: Key) -> dict[str, Any]:
        """Bring back a deleted entry with its last value. Returns the entry."""
        return plain(await calls(memory.restore, namespace, key))  # type: ignore[no-any-return]

    async def memory_search(
        query: Query,
        prefix: OptPrefix = None,
        types: Annotated[list[MemoryKind] | None, Field(description="Only these memory types.")] = None,
        k: K = 10,
        mode: Mode = "hybrid",
        filters: Filters = None,
    ) -> dict[str, Any]:
        """Search the memories you may read, best first: `hits`, each with its `score` and the `memory`."""
        hits = await calls(memory.search, query, prefix=prefix, types=types, k=k, mode=mode, filters=filters)
        return {"hits": plain(hits)}

    server.add_tool(memory_put, annotations=WRITE)
    server.add_tool(memory_get, annotations=READ)
    server.add_tool(memory_list, annotations=READ)
    server.add_tool(memory_namespaces, annotations=READ)
    server.add_tool(memory_history, annotations=READ)
    server.add_tool(memory_delete, annotations=REMOVE)
    server.add_tool(memory_restore, annotations=WRITE)
    server.add_tool(memory_search, annotations=READ)

    if hasattr(memory, "resolve"):

        async def memory_resolve(
            key: Key,
            scopes: Annotated[
                list[str],
                Field(
                    description=(
                        "Namespaces to look in, the most specific first, e.g. ['session:s1', 'user:alice', "
                        "'app:myapp', 'project:acme']."
                    )
                ),
            ],
        ) -> dict[str, Any]:
            """Look `key` up in several scopes and return the entry of the most specific scope that has it
            (the first of `scopes` holding the key). NotFound if none has it."""
            return plain(await calls(memory.resolve, key, scopes=scopes))  # type: ignore[no-any-return]

        server.add_tool(memory_resolve, annotations=READ)
