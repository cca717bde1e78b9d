"""The group-commit writer of the async API (SQLite): every write submitted in one event-loop
pass commits in one transaction, each operation isolated as if in its own savepoint."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..engine.base import Batchable, Cursor
from ..errors import StoreClosed

R = TypeVar("R")
_STOP = object()
MAX_GROUP = 1000  # operations per group transaction

# A group that finds the write lock taken by another process waits on the loop: it tries again
# after these delays (s; 23 ms in all), and only then goes to the writer thread, which waits in
# SQLite's busy handler. On the thread, the group's Python ran beside the event loop's and took
# turns with it for the GIL while holding the lock: with 2 AsyncWorker processes the lock was held
# 38 µs a task instead of 30, and the pair drained at 0.90x one process's rate; 0.96-1.0x this
# way. (Retries every 0.25 ms made the processes take turns more often, each turn on caches the
# other process had just used: with 4 processes on 2 cores, 37 µs a task against 34 this way.)
_RETRIES = (0.001, 0.002) + (0.005,) * 4


class _Outcome(tuple[bool, Any]):
    """A write committed (or refused) at once by GroupWriter.submit: ``(ok, result or error)``."""

    __slots__ = ()


class _Skipped(Exception):
    """The awaiting coroutine was cancelled before its operation started."""


class GroupWriter:
    """Commits write operations in groups, each operation isolated (see SqliteEngine.write_group).

    Operations submitted while the event loop runs one pass are collected and committed together
    at the end of that pass (or at once, when nothing else is runnable in the pass). The group runs right there on the loop when the write lock is free
    this instant (one transaction, no thread hop: the common case). When another thread or process
    holds the lock, the group goes to the writer thread instead, which waits for the lock and
    takes everything queued meanwhile. (WAL checkpoints run on the engine's checkpointer thread:
    neither the loop nor the writes wait for them.)
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._closed = False
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[Callable[[Cursor], Any], asyncio.Future[Any]]]] = {}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._tries: dict[asyncio.AbstractEventLoop, int] = {}  # on-loop tries of the group waiting
        self._thread = threading.Thread(target=self._run, name="swarmstore-writer", daemon=True)
        self._thread.start()
        self.groups = 0  # transactions committed
        self.operations = 0
        self.on_loop = 0  # groups committed on the event loop (the rest went to the thread)
        self.batched = 0  # operations committed as part of one batch operation (see _batched)

    def lone_ready(self) -> bool:
        """True when a write made now would be alone: nothing else runnable in this loop pass
        (so nothing could join its group) and nothing queued before it."""
        loop = asyncio.get_running_loop()
        # (_ready is asyncio's queue of runnable callbacks; other loops take the group path.)
        return not getattr(loop, "_ready", True) and loop not in self._pending and self._queue.empty()

    def lone(self, fn: Callable[[Cursor], Any]) -> _Outcome | None:
        """Commit ``fn`` alone, right here, if the write lock is free this instant (see
        ``lone_ready``): its ``_Outcome``; None, having done nothing, if the lock is taken."""
        if self._closed:
            raise StoreClosed("the store is closed")
        outcome = self._engine.write_group((fn,), nowait=True)
        if outcome is None:
            return None
        self.groups += 1
        self.on_loop += 1
        self.operations += 1
        return _Outcome(outcome[0])

    def submit(self, fn: Callable[[Cursor], R]) -> asyncio.Future[R] | _Outcome:
        """Queue ``fn`` for this loop's group: a future of its result. A lone write (see
        ``lone_ready``) commits right here when the lock is free, and its ``_Outcome`` comes back
        instead: no future, no group to collect."""
        if self._closed:
            raise StoreClosed("the store is closed")
        loop = asyncio.get_running_loop()
        pending = self._pending.get(loop)
        if pending is None:
            if self.lone_ready():
                outcome = self.lone(fn)
                if outcome is not None:
                    return outcome
            fut: asyncio.Future[R] = loop.create_future()
            self._pending[loop] = [(fn, fut)]
            loop.call_soon(self.flush, loop)
            return fut
        fut = loop.create_future()
        pending.append((fn, fut))
        return fut

    def flush(self, loop: asyncio.AbstractEventLoop, final: bool = False) -> None:
        """Commit what this loop submitted: on the loop if the lock is free; if another process
        holds it, try again on the loop a little later (see _RETRIES), and only then (or at once
        when ``final``) hand the group to the writer thread."""
        batch = self._pending.pop(loop, None)
        if not batch:
            return
        for i in range(0, len(batch), MAX_GROUP):
            outcomes = None
            if self._queue.empty():  # the thread has nothing queued before us: keep FIFO order
                # (On the loop nothing can be cancelled while the group runs: the futures cancelled
                # before it are left out here, so the operations need no _guarded wrapper.)
                part = [(fn, fut) for fn, fut in batch[i : i + MAX_GROUP] if not fut.cancelled()]
                if not part:
                    continue
                outcomes = self._batched(part)
                if outcomes is None:
                    outcomes = self._engine.write_group([fn for fn, _ in part], nowait=True)
            if outcomes is None:
                tries = self._tries.get(loop, 0)
                if not final and tries < len(_RETRIES) and self._queue.empty():
                    # (what was submitted meanwhile joins behind it, in order)
                    self._pending[loop] = batch[i:] + self._pending.pop(loop, [])
                    self._tries[loop] = tries + 1
                    loop.call_later(_RETRIES[tries], self.flush, loop)
                    return
                self._tries[loop] = 0
                for fn, fut in batch[i:]:
                    self._queue.put((fn, fut, loop))
                break
            self._tries[loop] = 0
            self.groups += 1
            self.on_loop += 1
            self.operations += len(part)
            _settle((fut, ok, value) for (_, fut), (ok, value) in zip(part, outcomes, strict=True))

    def _batched(
        self, part: list[tuple[Callable[[Cursor], Any], asyncio.Future[Any]]]
    ) -> list[tuple[bool, Any]] | None:
        """A group whose operations are all ``Batchable`` of one kind sharing a ``batch_key``
        (plain puts of one store, or one
        worker's steps to its next tasks), run as one batch operation, with one outcome per
        operation (an exception instance: that operation failed alone); None if the group is not
        one, or if the batch failed (the caller then runs the operations one by one, each
        isolated: the batch was rolled back whole, and nothing else was in its transaction)."""
        first = part[0][0]
        if len(part) < 2 or not isinstance(first, Batchable) or first.batch_key is None:
            return None
        key, cls = first.batch_key, type(first)
        ops: list[Batchable] = []
        for fn, _ in part:
            if type(fn) is not cls or fn.batch_key is not key:
                return None
            ops.append(fn)
        run = cls.run_batch
        outcome = self._engine.write_group([lambda cur: run(cur, ops)], nowait=True)
        if outcome is None or not outcome[0][0]:
            return None
        self.batched += len(ops)
        return [(not isinstance(result, Exception), result) for result in outcome[0][1]]

    def stop(self) -> None:
        """Finish everything queued, then end the thread (blocks: call it from a worker thread)."""
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            stop = item is _STOP
            batch = [] if stop else [item]
            while len(batch) < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                else:
                    batch.append(nxt)
            if batch:
                self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[Callable[[Cursor], Any], asyncio.Future[Any], Any]]) -> None:
        outcomes = self._engine.write_group([_guarded(fn, fut) for fn, fut, _ in batch])
        self.groups += 1
        self.operations += len(batch)
        by_loop: dict[Any, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, fut, loop), (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((fut, ok, value))
        for loop, settled in by_loop.items():  # one wake-up per loop, not one per operation
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, settled)


def _guarded(fn: Callable[[Cursor], Any], fut: asyncio.Future[Any]) -> Callable[[Cursor], Any]:
    def run(cur: Cursor) -> Any:
        if fut.cancelled():  # (read across threads on the writer thread: a stale "no" only means it runs)
            raise _Skipped
        return fn(cur)

    return run


def _settle(settled: Iterable[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for fut, ok, value in settled:
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        elif isinstance(value, _Skipped):
            fut.cancel()
        else:
            fut.set_exception(value)
