"""Run the synchronous service code over asynchronous I/O, without threads (greenlets).

The services are written once, synchronously. An async store runs each call in a greenlet
(``spawn``); where the engine would block on I/O it calls ``await_only(awaitable)``, which hands
the awaitable to the event loop's coroutine and resumes with its result. So the async API awaits
psycopg's async connections (or the group commit) while the domain logic stays one implementation.
The same technique as SQLAlchemy's asyncio extension.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import greenlet  # type: ignore[import-untyped]

from ..errors import StorageError

R = TypeVar("R")


class _Done:
    """What a bridged call ended with (a value, or the exception it raised)."""

    __slots__ = ("ok", "value")

    def __init__(self, ok: bool, value: Any) -> None:
        self.ok, self.value = ok, value


class _Bridged(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet running sync code on behalf of a coroutine (``driver``). It serves one call after
    another (kept in a per-thread pool): creating a greenlet costs ~7 µs here, a switch ~0.5 µs."""

    def __init__(self, driver: greenlet.greenlet) -> None:
        super().__init__(self._serve, driver)
        self.driver = driver

    def _serve(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        while True:
            try:
                done = _Done(True, fn(*args, **kwargs))
            except greenlet.GreenletExit:
                raise  # (an abandoned call's greenlet, collected)
            except BaseException as exc:
                done = _Done(False, exc)
            fn = args = kwargs = None  # type: ignore[assignment]  # (hold no references while idle)
            fn, args, kwargs = self.driver.switch(done)


_local = threading.local()
_POOL = 1024  # idle greenlets kept per thread (a gather of many writes needs one each; ~2 KB idle)


def in_bridge() -> bool:
    """True when the current code runs inside ``spawn`` (so it may ``await_only``)."""
    return isinstance(greenlet.getcurrent(), _Bridged)


def await_only(awaitable: Awaitable[R]) -> R:
    """Wait for ``awaitable`` from sync code run by ``spawn``: the event loop runs meanwhile."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Bridged):
        if hasattr(awaitable, "close"):
            awaitable.close()  # (a coroutine never awaited would warn)
        raise StorageError("an async engine was used outside the async API (no event loop drives it)")
    return current.driver.switch(awaitable)  # type: ignore[no-any-return]


async def spawn(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run ``fn(*args, **kwargs)`` in a greenlet, awaiting for it whatever it passes to ``await_only``."""
    driver = greenlet.getcurrent()
    pool: list[_Bridged] | None = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = []
    child = pool.pop() if pool else _Bridged(driver)
    child.driver = driver
    result = child.switch(fn, args, kwargs)
    while type(result) is not _Done:
        try:
            value = await result
        except BaseException:
            result = child.throw(*sys.exc_info())
        else:
            result = child.switch(value)
    if len(pool) < _POOL:
        pool.append(child)
    if result.ok:
        return result.value  # type: ignore[no-any-return]
    raise result.value
