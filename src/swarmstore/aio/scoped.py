"""``AsyncStore.scoped``: a scoped view for asyncio code, the sync view's checks, awaitable."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..models import Hit
from ..scoped import ScopedStore, scope_of
from ..scoped.scope import Rules
from .services import AsyncAgents, AsyncAudit, AsyncDocuments, AsyncMemory, AsyncSessions, AsyncTasks

if TYPE_CHECKING:
    from .store import AsyncStore


class AsyncScopedStore:
    """A view of an AsyncStore for one actor, within its rules (see ``Store.scoped``): the same
    services, each method awaitable."""

    def __init__(self, store: AsyncStore, actor: Any, **rules: Any) -> None:
        plain = store._store
        scope = scope_of(plain, actor, **rules)
        local = plain.engine.caps.local_reads
        bridged = ScopedStore(plain, scope, store._view)  # (the services over the async view)
        self._blocking = blocking = ScopedStore(plain, scope)  # (the thread fallback, searches)
        lv = store._view if local else None
        self.memory = AsyncMemory(bridged.memory, blocking.memory, lv)
        self.documents = AsyncDocuments(bridged.documents, blocking.documents, lv)
        self.sessions = AsyncSessions(bridged.sessions, blocking.sessions, lv)
        self.tasks = AsyncTasks(bridged.tasks, blocking.tasks, lv)
        self.agents = AsyncAgents(bridged.agents, blocking.agents, lv)
        self.audit = AsyncAudit(bridged.audit, blocking.audit, lv)

    @property
    def actor(self) -> str:
        return self._blocking.actor

    @property
    def rules(self) -> Rules:
        return self._blocking.rules

    def describe(self) -> dict[str, Any]:
        return self._blocking.describe()

    async def search(self, query: str, **options: Any) -> list[Hit]:
        """``ScopedStore.search``, on a thread (embedding the query is CPU work)."""
        return await asyncio.to_thread(self._blocking.search, query, **options)

    def __repr__(self) -> str:
        return f"AsyncScopedStore({self.actor!r})"
