"""Run the synchronous service code over asynchronous I/O, without threads (greenlets).

The services are written once, synchronously. An async store runs each call in a greenlet
(``spawn``); where the engine would block on I/O it calls ``await_only(awaitable)``, which hands
the awaitable to the event loop's coroutine and resumes with its result. So the async API awaits
psycopg's async connections (or the group commit) while the domain logic stays one implementation.
The same technique as SQLAlchemy's asyncio extension.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import greenlet  # type: ignore[import-untyped]

from ..errors import StorageError

R = TypeVar("R")


class _Bridged(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet running sync code on behalf of a coroutine (``driver``)."""

    def __init__(self, fn: Callable[..., Any], driver: greenlet.greenlet) -> None:
        super().__init__(fn, driver)
        self.driver = driver


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
    child = _Bridged(fn, greenlet.getcurrent())
    result = child.switch(*args, **kwargs)
    while not child.dead:
        try:
            value = await result
        except BaseException:
            result = child.throw(*sys.exc_info())
        else:
            result = child.switch(value)
    return result  # type: ignore[no-any-return]
