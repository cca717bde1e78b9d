"""Drive an AsyncStore from synchronous test code, so the conformance suite runs on both APIs.

Every call becomes a coroutine on a private event loop thread: reads run on that loop as they
would in an asyncio program, writes go through the store's group-commit writer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import swarmstore.aio


class _Service:
    def __init__(self, owner: SyncOverAsync, service: Any) -> None:
        self._owner = owner
        self._service = service

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._service, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._owner.run(method(*args, **kwargs))

        return call


class _View:
    """An AsyncScopedStore, driven like a ScopedStore."""

    def __init__(self, owner: SyncOverAsync, view: Any) -> None:
        self._owner = owner
        self.view = view
        for name in ("sessions", "memory", "tasks", "agents", "audit", "documents"):
            setattr(self, name, _Service(owner, getattr(view, name)))
        self.actor = view.actor

    def search(self, query: str, **options: Any) -> Any:
        return self._owner.run(self.view.search(query, **options))


class SyncOverAsync:
    def __init__(self, url: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def opening() -> swarmstore.aio.AsyncStore:
            return swarmstore.aio.open(url, **options)

        self.astore = self.run(opening())
        self.sessions = _Service(self, self.astore.sessions)
        self.memory = _Service(self, self.astore.memory)
        self.tasks = _Service(self, self.astore.tasks)
        self.agents = _Service(self, self.astore.agents)
        self.audit = _Service(self, self.astore.audit)
        self.documents = _Service(self, self.astore.documents)

    def search(self, query: str, **options: Any) -> Any:
        return self.run(self.astore.search(query, **options))

    def scoped(self, actor: str, **rules: Any) -> _View:
        return _View(self, self.astore.scoped(actor, **rules))

    def index(self) -> Any:
        return self.run(self.astore.index())

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(60)

    @property
    def url(self) -> str:
        return self.astore.url

    @property
    def engine(self) -> Any:
        return self.astore.engine

    def stats(self) -> dict[str, Any]:
        return self.run(self.astore.stats())  # type: ignore[no-any-return]

    def close(self) -> None:
        self.run(self.astore.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
