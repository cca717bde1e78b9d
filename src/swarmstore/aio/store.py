"""AsyncStore and ``swarmstore.aio.open``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..agents import Agents
from ..audit import Audit
from ..context import Context
from ..documents import Documents
from ..errors import StorageError
from ..memory import MemoryStore
from ..models import Hit
from ..sessions import Sessions
from ..store import Store
from ..store import open as open_sync
from ..tasks import Tasks
from .group import GroupWriter
from .services import AsyncAgents, AsyncAudit, AsyncDocuments, AsyncMemory, AsyncSessions, AsyncTasks
from .view import LocalView

if TYPE_CHECKING:
    from .scoped import AsyncScopedStore


def _remote_view(engine: Any) -> Any:
    """The engine's async view (psycopg's async connections, driven through the bridge)."""
    for_async = getattr(engine, "for_async", None)
    if for_async is None:
        raise StorageError(f"the {engine.caps.name} engine has no async view")
    return for_async()


class AsyncStore:
    """An open swarmstore for asyncio code: ``sessions``, ``memory``, ``tasks``, ``agents``,
    ``audit``, ``documents`` (and ``search``) with the same methods as ``Store``, each awaitable. Use it from one event loop at a
    time (the writer can serve several)."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the plain store: its engine, and the blocking fallback for reads
        engine = store.engine
        local = engine.caps.local_reads
        self._writer: GroupWriter | None = GroupWriter(engine) if local else None
        self._view: Any = LocalView(engine, self._writer) if self._writer is not None else _remote_view(engine)
        base = store._ctx
        ctx = Context(self._view, base.max_value_bytes, base.actor, base.retry_base_us, base.max_task_depth, base.now_us)
        lv = self._view if local else None
        self.sessions = AsyncSessions(Sessions(ctx), store.sessions, lv)
        self.memory = AsyncMemory(MemoryStore(ctx), store.memory, lv)
        self.tasks = AsyncTasks(Tasks(ctx), store.tasks, lv)
        self.agents = AsyncAgents(Agents(ctx), store.agents, lv)
        self.audit = AsyncAudit(Audit(self._view), store.audit, lv)
        self.documents = AsyncDocuments(Documents(ctx, store._search), store.documents, lv)
        self._closed = False

    @property
    def url(self) -> str:
        return self._store.url

    @property
    def engine(self) -> Any:
        return self._store.engine

    @property
    def sync(self) -> Store:
        """The same open store, for synchronous code (threads, adapters that serve both kinds of
        callers): its calls block, and it closes with this one."""
        return self._store

    async def search(self, query: str, **options: Any) -> list[Hit]:
        """``Store.search``, on a thread (embedding the query is CPU work: never on the loop)."""
        return await asyncio.to_thread(self._store.search, query, **options)

    def scoped(
        self,
        actor: str,
        *,
        read: Iterable[str] | str | None = None,
        write: Iterable[str] | str | None = None,
        queues: Iterable[str] | str | None = None,
        sessions: Iterable[str] | str | None = None,
        bind: Mapping[str, str] | None = None,
    ) -> AsyncScopedStore:
        """A view for ``actor`` within rules (``Store.scoped``'s), each method awaitable."""
        from .scoped import AsyncScopedStore

        return AsyncScopedStore(self, actor, read=read, write=write, queues=queues, sessions=sessions, bind=bind)

    async def index(self, progress: Any = None) -> int:
        """``Store.index`` (embeds what is pending), on a thread."""
        return await asyncio.to_thread(self._store.index, progress)

    async def reindex(self, progress: Any = None) -> int:
        """``Store.reindex``, on a thread."""
        return await asyncio.to_thread(self._store.reindex, progress)

    async def stats(self) -> dict[str, Any]:
        """Row counts, file and WAL size, schema version (read on a thread: it counts rows)."""
        return await asyncio.to_thread(self._store.stats)

    async def aclose(self) -> None:
        """Commit everything queued, then close every connection."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._writer.flush(asyncio.get_running_loop(), final=True)  # this loop's, not yet flushed
            await asyncio.to_thread(self._writer.stop)
        else:
            aclose = getattr(self._view, "aclose", None)
            if aclose is not None:
                await aclose()
        self._store.close()

    async def __aenter__(self) -> AsyncStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncStore({self.url!r})"


def open(url: str, **options: Any) -> AsyncStore:
    """Open (creating and migrating if needed) the store at ``url`` for asyncio code.

    Takes the same options as ``swarmstore.open``. Opening touches the file once (milliseconds);
    everything after it is awaitable: ``async with swarmstore.aio.open(url) as store: ...``.
    """
    return AsyncStore(open_sync(url, **options))
