"""Calling the view from the server's event loop, whichever API the view has.

An async view (``swarmstore.aio``) is awaited on the loop: on SQLite its reads run there directly
(microseconds, no thread hop) and its writes are committed in groups by its writer; on PostgreSQL
its calls await psycopg's async connections. A sync view runs each call on a worker thread, so a
write waiting on a lock (up to the busy timeout) never stalls the loop. ``swarmstore mcp`` serves
the async view: the benchmark (``--only mcp``) measures both round trips.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import anyio.to_thread


class Calls:
    """``await calls(view.memory.get, ns, key)``: the call, on the loop or on a thread."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.is_async = inspect.iscoroutinefunction(view.memory.get)

    async def __call__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if self.is_async:
            return await fn(*args, **kwargs)
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
