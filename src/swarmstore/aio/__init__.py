"""The async API: ``swarmstore.aio.open(url) -> AsyncStore``, the same services as ``Store``, awaitable.

One implementation of the logic serves both APIs: an ``AsyncStore`` runs the very same service
classes over a view of the engine that only decides where statements run and how their I/O is
awaited (the greenlet bridge, ``engine/bridge.py``).

* SQLite (``caps.local_reads``): reads run on the event loop, without a thread hop: a point read
  takes microseconds, less than a hop to a thread costs. The loop's reader connection never waits
  on a lock: if SQLite ever reports it busy, that read is re-run on a thread instead.
  Writes are committed in groups (see GroupWriter): every operation submitted in one loop pass,
  in one transaction, each isolated as if in its own savepoint: an operation that fails rolls
  back alone and the others commit. An awaited write returns only after its transaction
  committed. A write whose awaiting coroutine is cancelled before it starts is skipped; once
  started it is applied whole. ``aclose()`` drains the queue first.
* PostgreSQL: every call runs bridged over the engine's async view (psycopg's async
  connections), so the event loop never waits on the network.
"""

from __future__ import annotations

from .group import MAX_GROUP, GroupWriter
from .services import AsyncAgents, AsyncAudit, AsyncMemory, AsyncSessions, AsyncTasks
from .store import AsyncStore, open
from .worker import AsyncTaskContext, AsyncWorker

__all__ = [
    "MAX_GROUP",
    "AsyncAgents",
    "AsyncAudit",
    "AsyncMemory",
    "AsyncSessions",
    "AsyncStore",
    "AsyncTaskContext",
    "AsyncTasks",
    "AsyncWorker",
    "GroupWriter",
    "open",
]
