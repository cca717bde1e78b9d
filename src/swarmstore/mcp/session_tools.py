"""The session tools (a conversation's event log and state) and the documents search."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from ..jsonable import plain
from .calls import Calls
from .fields import Filters, K, Metadata, Mode, OptPrefix, Query, SessionId, Value
from .memory_tools import READ, WRITE

StateKey = Annotated[
    str,
    Field(
        description=(
            "A state key. Its prefix picks the scope: no prefix = this session only; 'temp:' = dropped when the "
            "next event is appended; 'user:' = shared by the user's sessions of this app; 'app:' = shared by the "
            "whole app."
        )
    ),
]


def register(server: MCPServer, calls: Calls, actor: str) -> None:
    sessions = calls.view.sessions

    async def session_create(
        app: Annotated[str, Field(description="The application the session belongs to, e.g. 'myapp'.")],
        user: Annotated[str, Field(description="The user the session is with, e.g. 'alice'.")],
        project: Annotated[str | None, Field(description="A project name (optional).")] = None,
        state: Annotated[dict[str, Any] | None, Field(description="Initial state keys (optional).")] = None,
        metadata: Metadata = None,
    ) -> dict[str, Any]:
        """Start a session (a conversation or a run) for `user` of `app`. Returns it, with its `id`."""
        return plain(await calls(sessions.create, app, user, project, state, metadata))  # type: ignore[no-any-return]

    async def session_get(session_id: SessionId) -> dict[str, Any]:
        """A session: its app, user, status, event count and its own state."""
        return plain(await calls(sessions.get, session_id))  # type: ignore[no-any-return]

    async def session_append_event(
        session_id: SessionId,
        type: Annotated[str, Field(description="What kind of event, e.g. 'message', 'tool_call', 'observation'.")],
        content: Annotated[Any, Field(description="The event's content: any JSON value.")] = None,
        state_delta: Annotated[
            dict[str, Any] | None,
            Field(description="State keys to set together with the event (see session_set_state)."),
        ] = None,
    ) -> dict[str, Any]:
        """Append an event to the session's log (numbered in order, recorded as yours). Returns the event."""
        return plain(await calls(sessions.append_event, session_id, type, actor, content, state_delta))  # type: ignore[no-any-return]

    async def session_get_state(
        session_id: SessionId,
        key: Annotated[
            str | None, Field(description="One state key (with its scope prefix); null: the whole state.")
        ] = None,
    ) -> dict[str, Any]:
        """The session's merged state (its own keys, then 'temp:', 'user:' and 'app:' ones), or one key's value:
        `{"key", "value"}` (NotFound if the key is not set)."""
        if key is None:
            return {"state": plain(await calls(sessions.state, session_id))}
        return {"key": key, "value": plain(await calls(sessions.get_state, session_id, key))}

    async def session_set_state(session_id: SessionId, key: StateKey, value: Value) -> dict[str, Any]:
        """Set one state key of the session (its prefix picks the scope)."""
        await calls(sessions.set_state, session_id, key, value)
        return {"key": key, "value": value}

    async def documents_search(
        query: Query,
        prefix: OptPrefix = None,
        types: Annotated[list[str] | None, Field(description="Only documents of these types.")] = None,
        k: K = 10,
        mode: Mode = "hybrid",
        filters: Filters = None,
    ) -> dict[str, Any]:
        """Search the documents (files indexed in the store) you may read: `hits`, best first, each with the
        matching `chunk` (its text and heading) and its `document` (id, title)."""
        hits = await calls(
            calls.view.documents.search, query, prefix=prefix, types=types, k=k, mode=mode, filters=filters
        )
        return {"hits": plain(hits)}

    server.add_tool(session_create, annotations=WRITE)
    server.add_tool(session_get, annotations=READ)
    server.add_tool(session_append_event, annotations=WRITE)
    server.add_tool(session_get_state, annotations=READ)
    server.add_tool(session_set_state, annotations=WRITE)
    server.add_tool(documents_search, annotations=READ)
