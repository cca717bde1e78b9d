"""The engine as the services see it inside an AsyncStore on an engine with local reads (SQLite).

Reads run here and now, on the event loop: a SQLite point read takes microseconds, less than a
hop to a thread. ``write(fn)`` runs in a bridged call (``engine.bridge.spawn``): it hands ``fn`` to
the group writer and waits for its commit with ``await_only``, so it returns ``fn``'s result
like any engine's ``write``. A lone write that commits at once (see GroupWriter.submit) returns
without suspending at all.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

from ..engine.base import Capabilities, Cursor, Row
from ..engine.bridge import await_only, in_bridge
from ..errors import Busy, StorageError
from .group import GroupWriter, _Outcome

R = TypeVar("R")
OP_SETS = ("memory", "sessions", "tasks", "agents", "audit", "documents", "search")


@types.coroutine
def _pass() -> Generator[None, None, None]:
    """Let the event loop run one pass (asyncio.sleep(0) without its two extra frames)."""
    yield


async def _committed(fut: asyncio.Future[R]) -> R:
    if not fut.done():
        # Yield once: the group commit queued for this loop pass runs first, so the result is
        # usually ready when this coroutine resumes (one loop pass per write, not two).
        try:
            await _pass()
        except asyncio.CancelledError:
            fut.cancel()  # not started yet: the writer skips it
            raise
    return await fut


class NeedsBridge(Exception):
    """A direct call's write would have to wait (the lock is taken): nothing was written."""


class _Queued(BaseException):  # (control flow, not an error: no ``except Exception`` may catch it)
    """A queued call's write was handed to the group writer (see LocalView.call_queued)."""

    __slots__ = ("got",)

    def __init__(self, got: Any) -> None:
        self.got = got


class LocalView:
    """Reads on the loop (a lock met: inside a bridged call, that one read waits on a thread;
    outside, ``Busy`` goes up and the caller runs the whole read on a thread); writes through
    the group writer."""

    caps: Capabilities
    memory: Any
    sessions: Any
    tasks: Any
    agents: Any
    audit: Any
    documents: Any
    search: Any

    def call_direct(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run a write-calling service method right here, without a greenlet: only when its write
        will commit alone at once (``GroupWriter.lone_ready``: the common case of a coroutine
        awaiting one write at a time). Raises NeedsBridge, having written nothing, if the lock
        turned out taken: then run it in a bridged call instead. (A bridged call costs two
        greenlet round trips, 1-5 µs on this machine: a fifth of a lone write.)"""
        self.direct, self.direct_wrote = True, False
        try:
            return fn(*args, **kwargs)
        finally:
            self.direct = False

    def call_queued(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a service method that ends with ``return self._e.write(op)`` (and writes nothing
        before) right here, without a greenlet: its write is queued for this loop pass's group
        and the future of its commit comes back *here*, to the awaiting coroutine (the method's
        frame is left by ``_Queued`` at its ``write``: nothing of it was to run after that).
        What a call that never wrote returned comes back as an ``_Outcome``. (A bridged call
        costs a greenlet and two round trips: ~40% of a grouped put.)"""
        self.queued = True
        try:
            return _Outcome((True, fn(*args, **kwargs)))
        except _Queued as q:
            return q.got
        finally:
            self.queued = False

    def __init__(self, engine: Any, writer: GroupWriter) -> None:
        self._engine = engine
        self._writer = writer
        self.lone_ready = writer.lone_ready
        self.direct = False  # a direct call runs (call_direct)
        self.direct_wrote = False  # ... and its write has committed
        self.queued = False  # a queued call runs (call_queued)
        self.url = engine.url
        self.caps = engine.caps
        self.shared = engine.shared  # (what the engine's operation sets share: a vector index)
        for name in OP_SETS:  # the engine's operation sets, their stand-alone reads run here
            setattr(self, name, type(getattr(engine, name))(self))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self._engine.query_nowait(sql, params)  # type: ignore[no-any-return]
        except Busy:
            if not in_bridge():
                raise
            return await_only(asyncio.to_thread(self._engine.query, sql, params))

    def read(self, fn: Callable[[Cursor], R]) -> R:
        try:
            return self._engine.read_nowait(fn)  # type: ignore[no-any-return]
        except Busy:
            if not in_bridge():
                raise
            return await_only(asyncio.to_thread(self._engine.read, fn))  # type: ignore[no-any-return]

    def read_snapshot(self, fn: Callable[[Cursor], R]) -> R:
        try:
            return self._engine.read_snapshot_nowait(fn)  # type: ignore[no-any-return]
        except Busy:
            if not in_bridge():
                raise
            return await_only(asyncio.to_thread(self._engine.read_snapshot, fn))  # type: ignore[no-any-return]

    def write(self, fn: Callable[[Cursor], R]) -> R:
        if self.queued:  # (see call_queued: the caller awaits the commit, this frame ends here)
            self.queued = False
            try:
                queued: Any = self._writer.submit(fn)
            except Exception as exc:  # (the write's own error, a Busy too: never taken for a read's)
                queued = _Outcome((False, exc))
            raise _Queued(queued)
        if in_bridge():
            got = self._writer.submit(fn)
        elif self.direct:  # (see call_direct)
            if self.direct_wrote:
                raise StorageError("a service call made two writes (each call is one transaction)")
            lone = self._writer.lone(fn)
            if lone is None:
                raise NeedsBridge
            self.direct_wrote = True
            got = lone
        else:  # (a service method listed as a read wrote: a bug of aio/services.py)
            raise StorageError("a write outside a bridged call of the async API")
        if type(got) is _Outcome:
            if got[0]:
                return got[1]  # type: ignore[no-any-return]
            raise got[1]
        return await_only(_committed(got))  # type: ignore[arg-type]

    def write_group(
        self, fns: Sequence[Callable[[Cursor], Any]], *, nowait: bool = False
    ) -> list[tuple[bool, Any]] | None:
        return self._engine.write_group(fns, nowait=nowait)  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        return self._engine.stats()  # type: ignore[no-any-return]

    def counts(self) -> dict[str, int]:
        return self._engine.counts()  # type: ignore[no-any-return]

    def notify(self, tx: Any, channel: str, payload: str = "") -> None:
        self._engine.notify(tx, channel, payload)

    def wait_for_work(self, channels: Sequence[str], timeout: float) -> bool:
        return self._engine.wait_for_work(channels, timeout)  # type: ignore[no-any-return]

    def close(self) -> None:
        raise RuntimeError("close the AsyncStore with aclose()")
