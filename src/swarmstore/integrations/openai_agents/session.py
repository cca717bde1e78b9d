"""``SwarmstoreSession``: an OpenAI Agents SDK ``Session`` on one of our sessions' event logs."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

try:
    from agents.items import TResponseInputItem
    from agents.memory.session_settings import SessionSettings, coerce_session_settings, resolve_session_limit
except ImportError as e:  # pragma: no cover - the extra is missing
    raise ImportError("swarmstore.integrations.openai_agents needs `pip install swarmstore[openai-agents]`") from e

from ...aio import AsyncStore
from ...errors import Busy, Conflict, NotFound, StorageError, StoreClosed, SwarmstoreError
from ...store import Store
from ...validation import MAX_LIMIT
from . import log
from .log import GET, Append, Events, Op, Pause
from .reads import as_log_events, local_events

T = TypeVar("T")
L = TypeVar("L")

# The event loop an AsyncStore is used from (the one the first session on it was made in, or else
# first called from). Calls from another loop (``Runner.run_sync`` runs its own in a thread) go to
# the blocking store on a thread: an AsyncStore's reads and connections belong to one loop.
_HOMES: weakref.WeakKeyDictionary[AsyncStore, asyncio.AbstractEventLoop] = weakref.WeakKeyDictionary()
# The turns pops take, per store and conversation (asyncio's on an AsyncStore's loop, else threads').
_ASYNC_LOCKS: weakref.WeakKeyDictionary[Any, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()
_THREAD_LOCKS: weakref.WeakKeyDictionary[Any, dict[str, threading.Lock]] = weakref.WeakKeyDictionary()
_REGISTRY = threading.Lock()


def _lock(locks: weakref.WeakKeyDictionary[Any, dict[str, L]], store: Any, sid: str, make: Callable[[], L]) -> L:
    with _REGISTRY:
        by_sid = locks.setdefault(store, {})
        lock = by_sid.get(sid)
        if lock is None:
            lock = by_sid[sid] = make()
        return lock


class SwarmstoreSession:
    """The conversation history of ``session_id`` as one swarmstore session (``app``/``user``).

    ``store`` is a ``swarmstore.aio.AsyncStore`` (reads on the event loop, writes group-committed:
    the faster) or a ``swarmstore.Store`` (writes on a worker thread, as the SDK's own
    ``SQLiteSession`` does all its work; reads too, except on SQLite). The session is created on the first
    ``add_items``; items are appended, never rewritten: ``pop_item`` and ``clear_session``
    append a tombstone and a clear marker, so the log keeps the whole history for audit.
    """

    def __init__(
        self,
        session_id: str,
        store: Store | AsyncStore,
        *,
        app: str = "openai-agents",
        user: str = "default",
        actor: str = "openai-agents",
        session_settings: SessionSettings | dict[str, Any] | None = None,
    ) -> None:
        self.session_id = session_id
        self.session_settings: SessionSettings | None = (
            SessionSettings() if session_settings is None else coerce_session_settings(session_settings)
        )
        self.store = store
        self.app, self.user, self.actor = app, user, actor
        self._closed = False
        # items an event holds, as this handle last saw them (its adds, its reads): get_items(limit)
        # reads about limit / this many events at first
        self._per_event = 1.0
        if isinstance(store, AsyncStore):
            with contextlib.suppress(RuntimeError):  # (made outside a loop: the first call's loop)
                _HOMES.setdefault(store, asyncio.get_running_loop())

    # -- the Session protocol ---------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The latest ``limit`` items in order (default: ``session_settings.limit``; None: all)."""
        limit = resolve_session_limit(limit, self.session_settings)
        per_event = self._per_event
        result: list[TResponseInputItem]
        result, self._per_event = await self._run(lambda: log.get_items(limit, per_event), reads=True)
        return result

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append the items, in order, as one event (one commit)."""
        if items:
            self._per_event = 0.8 * self._per_event + 0.2 * len(items)
        await self._run(lambda: log.add_items(items), mutation=True)

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the most recent item (None when there is none)."""
        item: TResponseInputItem | None = await self._run(log.pop_item, mutation=True, exclusive=True)
        return item

    async def clear_session(self) -> None:
        """Remove every item; the event log keeps them, behind a clear marker."""
        await self._run(log.clear_session, mutation=True)

    def close(self) -> None:
        """Refuse further calls. The store stays open: it belongs to the caller."""
        self._closed = True

    def __repr__(self) -> str:
        return f"SwarmstoreSession({self.session_id!r}, {self.store!r})"

    # -- drivers ----------------------------------------------------------------------------------

    async def _run(
        self, make: Callable[[], Op], *, reads: bool = False, mutation: bool = False, exclusive: bool = False
    ) -> Any:
        """Carry out the op ``make()`` makes. ``reads``: it only reads, so on a sync store with
        local reads (SQLite) it runs right here, as an AsyncStore's reads do: a read takes less
        than a hop to a thread (one that meets a lock runs again on a thread). ``exclusive``:
        taking turns with this process's other calls of the kind on this conversation (pops:
        racing, all but one would write a void tombstone)."""
        if self._closed:
            raise StoreClosed(f"session {self.session_id!r} is closed")
        store = self.store
        if reads and isinstance(store, Store) and store.engine.caps.local_reads:
            try:
                return self._drive_sync(store, make())
            except Busy:
                pass
        op = make()
        if isinstance(store, AsyncStore):
            loop = asyncio.get_running_loop()
            if _HOMES.setdefault(store, loop) is loop:
                if not exclusive:
                    return await self._drive_async(store, op)
                async with _lock(_ASYNC_LOCKS, store, self.session_id, asyncio.Lock):
                    return await self._drive_async(store, op)
            store = store.sync  # (the AsyncStore's own blocking store)
        call = asyncio.to_thread(self._drive_exclusive if exclusive else self._drive_sync, store, op)
        return await (_finish(call) if mutation else call)

    def _drive_exclusive(self, store: Store, op: Op) -> Any:
        with _lock(_THREAD_LOCKS, store, self.session_id, threading.Lock):
            return self._drive_sync(store, op)

    def _drive_sync(self, store: Store, op: Op) -> Any:
        value: Any = None
        error: SwarmstoreError | None = None
        while True:
            try:
                effect = op.send(value) if error is None else op.throw(error)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = self._do_sync(store, effect)
            except SwarmstoreError as e:
                error = e

    def _do_sync(self, store: Store, effect: Any) -> Any:
        s, sid = store.sessions, self.session_id
        if effect is GET:
            try:
                return s.get(sid)
            except NotFound:
                return None
        if isinstance(effect, Pause):
            time.sleep(effect.seconds)
            return None
        if isinstance(effect, Events):
            fast = local_events(store.engine, sid, effect.lo, effect.hi)
            if fast is not None:
                return fast
            out: list[Any] = []
            after = effect.lo
            while after < effect.hi:
                page = s.events(sid, after=after, limit=min(effect.hi - after, MAX_LIMIT))
                after = _extend(out, as_log_events(page.items), after)
            return out
        assert isinstance(effect, Append)
        try:
            return s.append_event(sid, effect.type, self.actor, effect.content, effect.state_delta)
        except NotFound:
            with contextlib.suppress(Conflict):  # (created meanwhile by another writer)
                s.create(self.app, self.user, id=sid, actor=self.actor)
            return s.append_event(sid, effect.type, self.actor, effect.content, effect.state_delta)

    async def _drive_async(self, store: AsyncStore, op: Op) -> Any:
        value: Any = None
        error: SwarmstoreError | None = None
        while True:
            try:
                effect = op.send(value) if error is None else op.throw(error)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = await self._do_async(store, effect)
            except SwarmstoreError as e:
                error = e

    async def _do_async(self, store: AsyncStore, effect: Any) -> Any:
        s, sid = store.sessions, self.session_id
        if effect is GET:
            try:
                return await s.get(sid)
            except NotFound:
                return None
        if isinstance(effect, Pause):
            await asyncio.sleep(effect.seconds)
            return None
        if isinstance(effect, Events):
            with contextlib.suppress(Busy):  # (then the service's read, which waits on a thread)
                fast = local_events(store.engine, sid, effect.lo, effect.hi)
                if fast is not None:
                    return fast
            out: list[Any] = []
            after = effect.lo
            while after < effect.hi:
                page = await s.events(sid, after=after, limit=min(effect.hi - after, MAX_LIMIT))
                after = _extend(out, as_log_events(page.items), after)
            return out
        assert isinstance(effect, Append)
        try:
            return await s.append_event(sid, effect.type, self.actor, effect.content, effect.state_delta)
        except NotFound:
            with contextlib.suppress(Conflict):
                await s.create(self.app, self.user, id=sid, actor=self.actor)
            return await s.append_event(sid, effect.type, self.actor, effect.content, effect.state_delta)


def _extend(out: list[Any], events: list[Any], after: int) -> int:
    if not events:  # (seqs are gap-free: a range below the session's last seq is never short)
        raise StorageError(f"events after seq {after} are missing")
    out.extend(events)
    last: int = events[-1][0]
    return last


async def _finish(call: Awaitable[T]) -> T:
    """Wait for a write on a thread to end even if the caller is cancelled meanwhile, then let
    the cancellation go on: the caller's ``CancelledError`` never hides a write still under way."""
    task = asyncio.ensure_future(call)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError as e:
            cancelled = cancelled or e
    if cancelled is not None:
        if not task.cancelled():
            task.exception()  # (retrieved: the caller learns of the cancellation instead)
        raise cancelled
    return task.result()
