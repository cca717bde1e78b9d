"""``SwarmstoreMemoryService``: Google ADK's ``BaseMemoryService`` on swarmstore memory and search.

Each app and user has a namespace ``adk:<app>:<user>`` (names encoded as in ``_names``). An event
with text becomes the entry keyed by the event's id (``episodic``; an ``add_memory`` entry:
``semantic``, keyed by its id or a new one): its value is the text, which search indexes, and its
metadata ADK's content, author, timestamp, session and custom metadata. ``delete_memory`` is our
soft delete: the entry leaves search and is never ingested again, and its history stays.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from google.adk.memory.base_memory_service import BaseMemoryService, SearchMemoryResponse
from google.adk.memory.memory_entry import MemoryEntry
from google.genai import types
from typing_extensions import override

from ...aio import AsyncStore
from ...errors import NotFound
from ...params import SearchMode
from ...store import Store
from . import _names

if TYPE_CHECKING:
    from google.adk.events.event import Event
    from google.adk.sessions.session import Session


def _text(content: types.Content | None) -> str:
    if content is None or not content.parts:
        return ""
    return " ".join(p.text for p in content.parts if p.text)


class SwarmstoreMemoryService(BaseMemoryService):
    """ADK memory kept in a swarmstore store (an ``AsyncStore``, or a ``Store`` used through one); ``search_memory`` is our search (``mode``:
    ``keyword`` by default, BM25 over the words; ``hybrid``/``semantic`` need the ``embed`` extra),
    at most ``k`` entries of the user, best first."""

    def __init__(self, store: Store | AsyncStore, *, mode: SearchMode = "keyword", k: int = 10) -> None:
        self._store = store if isinstance(store, AsyncStore) else AsyncStore(store)
        self._m = self._store.memory
        self._mode = mode
        self._k = k

    async def _seen(self, ns: str, key: str) -> bool:
        """Whether the key was ever written (a deleted one counts: it stays deleted)."""
        try:
            await self._m.history(ns, key)
        except NotFound:
            return False
        return True

    async def _put_new(self, ns: str, items: list[dict[str, Any]]) -> None:
        fresh = [it for it in items if not await self._seen(ns, it["key"])]
        if fresh:
            await self._m.put_many(fresh)

    def _event_items(
        self, ns: str, events: Sequence[Event], session_id: str | None, extra: Mapping[str, object] | None
    ) -> list[dict[str, Any]]:
        items = []
        for e in events:
            text = _text(e.content)
            if not text or e.content is None:
                continue
            meta: dict[str, Any] = {
                "content": e.content.model_dump(mode="json", exclude_none=True),
                "author": e.author,
                "timestamp": datetime.fromtimestamp(e.timestamp).isoformat(),
            }
            if session_id is not None:
                meta["session_id"] = session_id
            if extra:
                meta["custom_metadata"] = dict(extra)
            items.append({"namespace": ns, "key": e.id, "value": text, "type": "episodic", "metadata": meta})
        return items

    @override
    async def add_session_to_memory(self, session: Session) -> None:
        ns = _names.namespace("adk", session.app_name, session.user_id)
        items = self._event_items(ns, session.events, session.id, None)
        await self._put_new(ns, items)

    @override
    async def add_events_to_memory(
        self,
        *,
        app_name: str,
        user_id: str,
        events: Sequence[Event],
        session_id: str | None = None,
        custom_metadata: Mapping[str, object] | None = None,
    ) -> None:
        ns = _names.namespace("adk", app_name, user_id)
        items = self._event_items(ns, events, session_id, custom_metadata)
        await self._put_new(ns, items)

    @override
    async def add_memory(
        self,
        *,
        app_name: str,
        user_id: str,
        memories: Sequence[MemoryEntry],
        custom_metadata: Mapping[str, object] | None = None,
    ) -> None:
        ns = _names.namespace("adk", app_name, user_id)
        items = []
        for m in memories:
            meta: dict[str, Any] = {"content": m.content.model_dump(mode="json", exclude_none=True)}
            if m.author is not None:
                meta["author"] = m.author
            if m.timestamp is not None:
                meta["timestamp"] = m.timestamp
            custom = {**(custom_metadata or {}), **m.custom_metadata}
            if custom:
                meta["custom_metadata"] = custom
            key = m.id or str(uuid.uuid4())
            items.append({"namespace": ns, "key": key, "value": _text(m.content), "metadata": meta})
        if items:
            await self._m.put_many(items)

    @override
    async def search_memory(self, *, app_name: str, user_id: str, query: str) -> SearchMemoryResponse:
        ns = _names.namespace("adk", app_name, user_id)
        if not query.strip():
            return SearchMemoryResponse()
        hits = await self._m.search(query, prefix=ns, k=self._k, mode=self._mode)
        out = []
        for h in hits:
            m = h.memory
            if m is None:
                continue
            meta = m.metadata
            content = types.Content.model_validate_json(orjson.dumps(meta["content"]))
            out.append(
                MemoryEntry(
                    id=m.key,
                    content=content,
                    author=meta.get("author"),
                    timestamp=meta.get("timestamp"),
                    custom_metadata=meta.get("custom_metadata") or {},
                )
            )
        return SearchMemoryResponse(memories=out)

    # (not in ADK 2.5's BaseMemoryService; later versions declare it, with this signature)
    async def delete_memory(self, *, app_name: str, user_id: str, memory_id: str | None = None) -> None:
        if not memory_id:
            return
        ns = _names.namespace("adk", app_name, user_id)
        with contextlib.suppress(NotFound):  # ADK's in-memory service ignores an unknown id too
            await self._m.delete(ns, memory_id)
