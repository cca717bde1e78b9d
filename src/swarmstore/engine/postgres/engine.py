"""The PostgreSQL engine (psycopg 3): a connection pool, numbered migrations, wake-ups.

All psycopg usage lives in this package; its errors are translated to ``swarmstore.errors``
here (``errors.py``). The transaction logic is ``runner.py`` (shared with the async mode,
``asyncmode.py``: ``engine.for_async()``).

Connections: autocommit, no server-side prepared statements (``prepare_threshold=None``: works
behind a transaction-mode pooler such as PgBouncer), jsonb read back as JSON text (as SQLite's
TEXT columns), dicts bound as jsonb (encoded with orjson), lists as arrays. A store is one
database, or one schema of it (``?schema=name``): the connections' search_path names it.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from ... import errors
from . import adapt, config, migrate
from .errors import translate
from .ops import bind_ops
from .runner import PgRunner

if TYPE_CHECKING:
    from .agents import PgAgentOps
    from .asyncmode import AsyncPgEngine
    from .audit import PgAuditOps
    from .documents import PgDocumentOps
    from .memory import PgMemoryOps
    from .search import PgSearchOps
    from .sessions import PgSessionOps
    from .tasks import PgTaskOps

_engines: weakref.WeakSet[PostgresEngine] = weakref.WeakSet()
SCHEMA_VERSION = migrate.SCHEMA_VERSION


class PostgresEngine(PgRunner):
    """A swarmstore on a PostgreSQL server. Safe to share between threads; any number of
    processes, on any number of hosts, may open the same store."""

    memory: PgMemoryOps
    sessions: PgSessionOps
    tasks: PgTaskOps
    agents: PgAgentOps
    audit: PgAuditOps
    documents: PgDocumentOps
    search: PgSearchOps

    def __init__(self, url: str, **options: Any) -> None:
        """``url``: ``postgresql://user[:password]@host[:port]/database[?schema=name]``.
        Options (or URL query parameters): ``schema``, ``pool_min`` (1), ``pool_max`` (10),
        ``pool_timeout`` (seconds to wait for a free connection, 30), ``connect_timeout`` (10)."""
        self.config = cfg = config.parse(url, options)
        self.url = url  # (as given, so that other processes can open the store with it)
        self.display_url = cfg.url  # (any password hidden: for messages, stats and repr)
        self.schema = cfg.schema
        self.readonly = False
        self._kwargs = adapt.connect_kwargs(cfg)
        self._closed = False
        self._lock = threading.Lock()
        self._local = threading.local()
        self._listeners: list[psycopg.Connection[Any]] = []
        self._conns: weakref.WeakSet[Any] = weakref.WeakSet()  # every connection made (see _after_fork)
        self._views: weakref.WeakSet[AsyncPgEngine] = weakref.WeakSet()
        bind_ops(self, self)
        self._migrate()  # (on a connection of its own: a wrong URL or a server down fails here, at once)
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = self._open_pool()
        _engines.add(self)

    # -- connections -----------------------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        """A new connection to the store, configured like the pool's (the caller closes it)."""
        try:
            conn = psycopg.Connection.connect(self.config.conninfo, **self._kwargs)
        except psycopg.Error as exc:
            raise errors.StorageError(f"cannot connect to {self.display_url}: {' '.join(str(exc).split())}") from exc
        self._track(conn)
        return conn

    def _track(self, conn: psycopg.Connection[Any]) -> None:
        self._conns.add(conn)

    def _migrate(self) -> None:
        conn = self.connect()
        try:
            migrate.migrate(conn, self.schema, self.display_url)
        except psycopg.Error as exc:
            raise translate(exc) from exc
        finally:
            conn.close()

    def _open_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        cfg = self.config
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            cfg.conninfo,
            kwargs=self._kwargs,
            min_size=cfg.pool_min,
            max_size=cfg.pool_max,
            timeout=cfg.pool_timeout,
            configure=self._track,
            open=False,
            num_workers=2,
            name=f"swarmstore-{cfg.schema or 'pool'}",
        )
        pool.open(wait=False)  # (the first call waits for a connection, at most pool_timeout)
        return pool

    def _acquire(self) -> psycopg.Connection[Any]:
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._closed:
                    raise errors.StoreClosed("the store is closed")
                if self._pool is None:  # (first use after a fork)
                    self._pool = self._open_pool()
                pool = self._pool
        return pool.getconn()

    def _release(self, conn: psycopg.Connection[Any]) -> None:
        pool = self._pool
        if pool is not None:
            pool.putconn(conn)
        else:
            conn.close()

    def _check_pool(self) -> None:
        pool = self._pool
        if pool is not None:
            pool.check()

    def _sleep(self, seconds: float) -> None:
        import time

        time.sleep(seconds)

    # -- wake-ups: one listening connection per thread that waits -----------------------------

    def _listen_wait(self, names: list[str], timeout: float) -> bool:
        try:
            conn, listening = self._local.listener
        except AttributeError:
            if self._closed:
                raise errors.StoreClosed("the store is closed") from None
            conn, listening = self._local.listener = (self.connect(), set())
            with self._lock:
                self._listeners.append(conn)
        for name in names:
            if name not in listening:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(name)))
                listening.add(name)
        # (notifications that came while nobody waited are kept by the connection: returned at once)
        return any(True for _ in conn.notifies(timeout=timeout, stop_after=1))

    # -- async mode -------------------------------------------------------------------------------

    def for_async(self) -> AsyncPgEngine:
        """A view of this engine for the async API: the same methods, run over psycopg's async
        connections from inside ``bridge.spawn`` (each I/O goes through ``bridge.await_only``).
        Its pool opens on first use, in the running event loop."""
        from .asyncmode import AsyncPgEngine

        view = AsyncPgEngine(self)
        self._views.add(view)
        return view

    def stats(self) -> dict[str, Any]:
        info = super().stats()
        pool = self._pool
        if pool is not None:
            ps = pool.get_stats()
            info["pool"] = {k: ps.get(k, 0) for k in ("pool_size", "pool_available", "requests_waiting")}
        return info

    # -- lifecycle --------------------------------------------------------------------------------

    def _after_fork(self) -> None:
        # A child must not use (or close: closing talks to the server) its parent's connections.
        # Their sockets are pointed at /dev/null, so that even their finalizers stay harmless,
        # and the child opens a pool of its own on first use.
        orphan = self._pool
        self._pool = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._listeners = []
        _detach(list(self._conns))
        self._conns = weakref.WeakSet()
        if orphan is not None:
            _orphans.append(orphan)
        for view in list(self._views):
            view._after_fork()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
            listeners, self._listeners = self._listeners, []
        for conn in listeners:
            conn.close()
        if pool is not None:
            pool.close()

    def __repr__(self) -> str:
        return f"PostgresEngine({self.display_url!r})"


_orphans: list[Any] = []  # a forked child's inherited pools: never finalised (see _after_fork)


def _detach(conns: list[psycopg.Connection[Any]]) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for conn in conns:
            try:
                fd = conn.pgconn.socket
            except psycopg.Error:
                continue
            os.dup2(devnull, fd)
            _orphans.append(conn)
    finally:
        os.close(devnull)


def _reinit_after_fork() -> None:
    for engine in list(_engines):
        engine._after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)
