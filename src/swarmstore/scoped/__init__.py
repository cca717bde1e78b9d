"""Scoped views: the store as one actor may see and change it (``store.scoped``).

A view has the store's API (``memory``, ``documents``, ``sessions``, ``tasks``, ``agents``,
``audit``, ``search``); every call is checked against the view's rules before it runs, the
view's actor is on every audit row it writes (a caller cannot name another), and a refused
call raises ``PermissionDenied``, changes nothing and is itself audited (``access.denied``).
Listings and searches are filtered inside their queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..agents import Agents
from ..audit import Audit
from ..boundary import checked_as
from ..context import Context
from ..documents import Documents
from ..memory import MemoryStore
from ..models import Hit
from ..sessions import Sessions
from ..store import Store
from ..tasks import Tasks
from .memory import ScopedDocuments, ScopedMemory
from .scope import Rules, Scope, make_rules
from .sessions import ScopedAgents, ScopedAudit, ScopedSessions
from .tasks import ScopedTasks

Patterns = Iterable[str] | str | None

__all__ = ["Rules", "Scope", "ScopedStore", "scope_of"]


def scope_of(
    store: Store,
    actor: object,
    read: Patterns = None,
    write: Patterns = None,
    queues: Patterns = None,
    sessions: Patterns = None,
    bind: Mapping[str, Any] | None = None,
) -> Scope:
    """A view's checked actor and rules over ``store``."""
    from ..validation import check_name

    name = check_name(actor, "actor")
    return Scope(store.engine, store._ctx.now_us, name, make_rules(name, read, write, queues, sessions, bind))


def view_context(store: Store, engine: Any, actor: str) -> Context:
    """The store's settings, over ``engine`` (the store's, or its async view), as ``actor``."""
    base = store._ctx
    return Context(engine, base.max_value_bytes, actor, base.retry_base_us, base.max_task_depth, base.now_us)


class ScopedStore:
    """A view of a store for one actor, within its rules (see ``Store.scoped``)."""

    def __init__(self, store: Store, scope: Scope, engine: Any = None) -> None:
        self._scope = scope
        ctx = view_context(store, store.engine if engine is None else engine, scope.actor)
        search = store._search
        memory = MemoryStore(ctx)
        memory._searcher = search
        self.memory = ScopedMemory(memory, scope, search)
        docs = Documents(ctx, search, store.documents._chunk_chars, store.documents._chunk_overlap)
        self.documents = ScopedDocuments(docs, scope, search)
        sessions = Sessions(ctx)
        self.sessions = ScopedSessions(sessions, scope)
        self.tasks = ScopedTasks(Tasks(ctx), scope, sessions)
        self.agents = ScopedAgents(Agents(ctx), scope, sessions)
        self.audit = ScopedAudit(Audit(ctx.engine), scope)
        self._search = search

    @property
    def actor(self) -> str:
        return self._scope.actor

    @property
    def rules(self) -> Rules:
        return self._scope.rules

    def describe(self) -> dict[str, Any]:
        """The actor and its rules (placeholders filled), as plain data."""
        return {"actor": self.actor, **self.rules.describe()}

    @checked_as(Store.search)
    def search(self, query: str, *, prefix: Any, types: Any, k: int, mode: str, filters: Any) -> list[Hit]:
        """``store.search`` over the namespaces the view may read."""
        return self._search.find(("memory", "chunk"), query, prefix, types, k, mode, filters, self.rules.read)

    def __repr__(self) -> str:
        return f"ScopedStore({self.actor!r})"
