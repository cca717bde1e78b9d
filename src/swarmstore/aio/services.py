"""The async services: each method of the sync services (one implementation), awaitable.

A method that may write runs in a bridged call (``engine.bridge.spawn``): the engine view's
``write`` waits there for its commit; on SQLite, when its write will commit alone at once, it
runs directly instead (no greenlet: see LocalView.call_direct). A read method runs directly on the loop when the engine's
reads are local (SQLite: no greenlet, no hop; if it meets a lock, the whole read runs again on a
thread, never waiting on the loop); on an engine whose reads go over the network (PostgreSQL),
every method runs bridged over the engine's async view, awaiting its async connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..agents import Agents
from ..audit import Audit
from ..documents import Documents
from ..engine.bridge import spawn
from ..errors import Busy
from ..memory import MemoryStore
from ..sessions import Sessions
from ..tasks import Tasks
from .group import _Outcome
from .view import LocalView, NeedsBridge, _committed

P = ParamSpec("P")
R = TypeVar("R")


class _AsyncService:
    def __init__(self, bridged: Any, blocking: Any, view: LocalView | None) -> None:
        self._bridged = bridged  # the service over the async view of the engine
        self._blocking = blocking  # the same service over the plain engine, for the thread fallback
        self._view = view  # SQLite's (local reads: reads and lone writes run directly), or None
        self._local_reads = view is not None


def _awaitable(
    method: Callable[Concatenate[Any, P], R], *, reads: bool = False, tail_write: bool = False
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]:
    """``tail_write``: the method's one write is its last statement, ``return self._e.write(op)``
    (so a call that cannot commit alone at once may be queued without a greenlet: see
    LocalView.call_queued). Only for methods read to be so: a write before it would be skipped."""
    name = method.__name__
    if reads:

        async def call(self: _AsyncService, /, *args: P.args, **kwargs: P.kwargs) -> R:
            if not self._local_reads:
                return await spawn(getattr(self._bridged, name), *args, **kwargs)
            try:
                return getattr(self._bridged, name)(*args, **kwargs)  # type: ignore[no-any-return]
            except Busy:
                # A read met a lock (rare in WAL mode): wait for it on a thread, never on the loop.
                return await asyncio.to_thread(getattr(self._blocking, name), *args, **kwargs)

    else:

        async def call(self: _AsyncService, /, *args: P.args, **kwargs: P.kwargs) -> R:
            view = self._view
            if view is not None and view.lone_ready():
                try:
                    return view.call_direct(getattr(self._bridged, name), *args, **kwargs)  # type: ignore[no-any-return]
                except NeedsBridge:
                    pass  # the lock is taken: wait for it in a bridged call
                except Busy:
                    if view.direct_wrote:
                        raise
                    # A read before the write met a lock: the call runs on a thread, not on the loop.
                    return await asyncio.to_thread(getattr(self._blocking, name), *args, **kwargs)
            elif view is not None and tail_write:
                try:
                    got = view.call_queued(getattr(self._bridged, name), *args, **kwargs)
                except Busy:  # a read before the write met a lock (nothing queued): on a thread
                    return await asyncio.to_thread(getattr(self._blocking, name), *args, **kwargs)
                if type(got) is _Outcome:
                    if got[0]:
                        return got[1]  # type: ignore[no-any-return]
                    raise got[1]
                return await _committed(got)
            return await spawn(getattr(self._bridged, name), *args, **kwargs)

    call.__name__ = name
    call.__qualname__ = method.__qualname__
    call.__doc__ = method.__doc__
    return call


def _threaded(method: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]:
    """A method that embeds text (CPU-bound: milliseconds a query, seconds a document) or walks a
    folder, run on a thread over the plain store, never on the event loop."""
    name = method.__name__

    async def call(self: _AsyncService, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(getattr(self._blocking, name), *args, **kwargs)

    call.__name__ = name
    call.__qualname__ = method.__qualname__
    call.__doc__ = method.__doc__
    return call


class AsyncSessions(_AsyncService):
    create = _awaitable(Sessions.create)
    get = _awaitable(Sessions.get, reads=True)
    list = _awaitable(Sessions.list, reads=True)
    set_status = _awaitable(Sessions.set_status)
    terminate = _awaitable(Sessions.terminate)
    archive = _awaitable(Sessions.archive)
    append_event = _awaitable(Sessions.append_event)
    events = _awaitable(Sessions.events, reads=True)
    state = _awaitable(Sessions.state, reads=True)
    get_state = _awaitable(Sessions.get_state, reads=True)
    set_state = _awaitable(Sessions.set_state)
    update_state = _awaitable(Sessions.update_state)
    delete_state = _awaitable(Sessions.delete_state)


class AsyncMemory(_AsyncService):
    put = _awaitable(MemoryStore.put, tail_write=True)
    put_many = _awaitable(MemoryStore.put_many, tail_write=True)
    get = _awaitable(MemoryStore.get, reads=True)
    history = _awaitable(MemoryStore.history, reads=True)
    list = _awaitable(MemoryStore.list, reads=True)
    namespaces = _awaitable(MemoryStore.namespaces, reads=True)
    resolve = _awaitable(MemoryStore.resolve, reads=True)
    delete = _awaitable(MemoryStore.delete, tail_write=True)
    restore = _awaitable(MemoryStore.restore, tail_write=True)
    purge = _awaitable(MemoryStore.purge, tail_write=True)
    search = _threaded(MemoryStore.search)


class AsyncDocuments(_AsyncService):
    add = _threaded(Documents.add)
    sync = _threaded(Documents.sync)
    search = _threaded(Documents.search)
    get = _awaitable(Documents.get, reads=True)
    chunks = _awaitable(Documents.chunks, reads=True)
    list = _awaitable(Documents.list, reads=True)
    remove = _awaitable(Documents.remove, tail_write=True)


class AsyncTasks(_AsyncService):
    submit = _awaitable(Tasks.submit)
    submit_many = _awaitable(Tasks.submit_many)
    claim = _awaitable(Tasks.claim, tail_write=True)
    heartbeat = _awaitable(Tasks.heartbeat)
    complete = _awaitable(Tasks.complete, tail_write=True)
    complete_and_claim = _awaitable(Tasks.complete_and_claim, tail_write=True)
    complete_many = _awaitable(Tasks.complete_many)
    fail = _awaitable(Tasks.fail)
    release = _awaitable(Tasks.release)
    cancel = _awaitable(Tasks.cancel)
    retry = _awaitable(Tasks.retry)
    rescue_expired = _awaitable(Tasks.rescue_expired)
    get = _awaitable(Tasks.get, reads=True)
    list = _awaitable(Tasks.list, reads=True)
    children = _awaitable(Tasks.children, reads=True)
    tree = _awaitable(Tasks.tree, reads=True)
    dependencies = _awaitable(Tasks.dependencies, reads=True)
    dependants = _awaitable(Tasks.dependants, reads=True)
    plan = _awaitable(Tasks.plan, reads=True)
    stats = _awaitable(Tasks.stats, reads=True)
    has_open_work = _awaitable(Tasks.has_open_work, reads=True)
    prune = _awaitable(Tasks.prune)


class AsyncAgents(_AsyncService):
    register = _awaitable(Agents.register)
    heartbeat = _awaitable(Agents.heartbeat)
    stop = _awaitable(Agents.stop)
    get = _awaitable(Agents.get, reads=True)
    list = _awaitable(Agents.list, reads=True)


class AsyncAudit(_AsyncService):
    list = _awaitable(Audit.list, reads=True)
