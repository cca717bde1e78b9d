"""The PostgreSQL engine in async mode: psycopg's async connections, driven from sync code.

``PostgresEngine.for_async()`` returns an :class:`AsyncPgEngine`: the engine's methods and
operation sets (the one synchronous implementation, ``runner.py``), whose I/O goes through
``bridge.await_only``. So it must be called from code that ``bridge.spawn`` runs (the async
API runs every service call that way): each statement awaits an ``AsyncConnectionPool``
connection and the event loop runs meanwhile. No threads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from ... import errors
from ..bridge import await_only, in_bridge
from .errors import translate
from .ops import bind_ops
from .pipeline import Queued
from .runner import TUPLES_OK, PgRunner

if TYPE_CHECKING:
    from .agents import PgAgentOps
    from .audit import PgAuditOps
    from .documents import PgDocumentOps
    from .engine import PostgresEngine
    from .memory import PgMemoryOps
    from .search import PgSearchOps
    from .sessions import PgSessionOps
    from .tasks import PgTaskOps

_PUMP_TICK = 0.2  # seconds: how soon the listener takes up a channel asked for the first time


class _BrokenConn(Exception):
    """(internal) the pooled connection was found broken: the pool was checked, try again."""


class _Result:
    """What ``execute`` returns in async mode: the cursor, seen synchronously."""

    __slots__ = ("_cur",)

    def __init__(self, cur: psycopg.AsyncCursor[Any]) -> None:
        self._cur = cur

    @property
    def description(self) -> Any:
        return self._cur.description

    @property
    def pgresult(self) -> Any:
        return self._cur.pgresult

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def fetchall(self) -> list[Any]:
        return await_only(self._cur.fetchall())

    def fetchone(self) -> Any:
        return await_only(self._cur.fetchone())

    def fetchmany(self, size: int = 0) -> list[Any]:
        return await_only(self._cur.fetchmany(size))


class BridgedCursor(_Result):
    """The ``tx`` operations receive in async mode: ``execute``/``executemany`` like a psycopg
    cursor's, each awaited through the bridge."""

    __slots__ = ()

    @property
    def connection(self) -> Any:
        return self._cur.connection

    def execute(self, query: Any, params: Any = None) -> _Result:
        await_only(self._cur.execute(query, params))
        return self

    def executemany(self, query: Any, params_seq: Any) -> None:
        await_only(self._cur.executemany(query, params_seq))


async def _pipelined(aconn: psycopg.AsyncConnection[Any], cur: psycopg.AsyncCursor[Any], queue: list[Queued]) -> None:
    """(see pipeline.py) ``queue`` in one round trip."""
    async with aconn.pipeline():
        for sql, params, many in queue:
            if many:
                await cur.executemany(sql, params)
            else:
                await cur.execute(sql, params)


class _BridgedConn:
    __slots__ = ("aconn",)

    def __init__(self, aconn: psycopg.AsyncConnection[Any]) -> None:
        self.aconn = aconn

    @property
    def info(self) -> Any:
        return self.aconn.info

    def cursor(self) -> BridgedCursor:
        return BridgedCursor(self.aconn.cursor())

    def execute(self, query: Any, params: Any = None) -> _Result:
        return _Result(await_only(self.aconn.execute(query, params)))


class AsyncPgEngine(PgRunner):
    """A view of a :class:`PostgresEngine` for the async API (see the module docstring)."""

    memory: PgMemoryOps
    sessions: PgSessionOps
    tasks: PgTaskOps
    agents: PgAgentOps
    audit: PgAuditOps
    documents: PgDocumentOps
    search: PgSearchOps

    def __init__(self, engine: PostgresEngine) -> None:
        self.engine = engine
        self.url = engine.url
        self.display_url = engine.display_url
        self.schema = engine.schema
        self.readonly = False
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Task[AsyncConnectionPool[psycopg.AsyncConnection[Any]]] | None = None
        self._closed = False
        # wake-ups: one listening connection, read by a pump task that counts notifications
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._listening: set[str] = set()
        self._wanted: set[str] = set()
        self._seen: dict[str, int] = {}
        self._changed: asyncio.Condition | None = None
        bind_ops(self, self)

    # -- connections -----------------------------------------------------------------------------

    async def _apool(self) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
        loop = asyncio.get_running_loop()
        if self._closed or self.engine._closed:
            raise errors.StoreClosed("the store is closed")
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._pool is not None:  # (a new event loop: the old pool cannot be used from this one)
            self._pool = None
        # The first calls of a loop may come all at once (a gather of writes): they share one
        # opening, or each would open a pool of its own and return its connections to another's.
        opening = self._opening
        if opening is None or opening.get_loop() is not loop:
            opening = self._opening = loop.create_task(self._open_pool(loop))
        try:
            return await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None

    async def _open_pool(self, loop: asyncio.AbstractEventLoop) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
        cfg = self.engine.config
        pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            cfg.conninfo,
            kwargs=self.engine._kwargs,
            min_size=cfg.pool_min,
            max_size=cfg.pool_max,
            timeout=cfg.pool_timeout,
            open=False,
            configure=self._track,
            num_workers=1,
            name=f"swarmstore-async-{cfg.schema or 'pool'}",
        )
        try:
            await pool.open(wait=cfg.pool_min > 0, timeout=cfg.connect_timeout)
        except Exception as exc:
            await pool.close()
            raise errors.StorageError(f"cannot connect to {self.display_url}: {exc}") from exc
        self._pool, self._loop = pool, loop
        return pool

    async def _track(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.engine._conns.add(conn)  # (a forked child detaches them all)

    async def _getconn(self) -> psycopg.AsyncConnection[Any]:
        pool = await self._apool()
        return await pool.getconn()

    def _acquire(self) -> _BridgedConn:
        return _BridgedConn(await_only(self._getconn()))

    def _release(self, conn: _BridgedConn) -> None:
        pool = self._pool
        if pool is not None:
            await_only(pool.putconn(conn.aconn))
        else:
            await_only(conn.aconn.close())

    # -- point reads: the whole round in one await (one greenlet switch, not four) -----------------

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        for again in (False, True):
            try:
                return await_only(self._aquery(sql, params or None))
            except _BrokenConn as exc:
                if again:
                    raise translate(exc.__cause__ or exc) from exc
            except (psycopg.Error, errors.SwarmstoreError, PoolClosed, PoolTimeout) as exc:
                raise translate(exc) from exc
        raise AssertionError("unreachable")

    async def _aquery(self, sql: str, params: Any) -> list[Any]:
        pool = await self._apool()
        conn = await pool.getconn()
        try:
            cur = await conn.execute(sql, params)
            res = cur.pgresult
            return await cur.fetchall() if res is not None and res.status == TUPLES_OK else []
        except psycopg.OperationalError as exc:
            if conn.info.transaction_status != TransactionStatus.UNKNOWN:
                raise
            await pool.check()
            raise _BrokenConn() from exc
        finally:
            await pool.putconn(conn)

    def _check_pool(self) -> None:
        pool = self._pool
        if pool is not None:
            await_only(pool.check())

    def _send(self, conn: _BridgedConn, cur: BridgedCursor, queue: list[Queued]) -> None:
        if len(queue) == 1:
            sql, params, many = queue[0]
            if many:
                cur.executemany(sql, params)
            else:
                cur.execute(sql, params)
        else:
            await_only(_pipelined(conn.aconn, cur._cur, queue))

    def _sleep(self, seconds: float) -> None:
        await_only(asyncio.sleep(seconds))

    # -- wake-ups ---------------------------------------------------------------------------------

    def _listen_wait(self, names: list[str], timeout: float) -> bool:
        return await_only(self._await_work(names, timeout))

    async def _await_work(self, names: list[str], timeout: float) -> bool:
        if self._changed is None:
            self._changed = asyncio.Condition()
        changed = self._changed
        new = [n for n in names if n not in self._listening]
        if new:
            self._wanted.update(new)
            await self._start_pump()
            async with changed:  # (the pump LISTENs between two of its reads)
                await changed.wait_for(lambda: all(n in self._listening for n in new) or self._pump is None)
        before = sum(self._seen.get(n, 0) for n in names)
        async with changed:
            try:
                return await asyncio.wait_for(
                    changed.wait_for(lambda: sum(self._seen.get(n, 0) for n in names) != before), timeout
                )
            except TimeoutError:
                return False

    async def _start_pump(self) -> None:
        if self._pump is not None and not self._pump.done():
            return
        if self._listener is None:
            self._listener = await psycopg.AsyncConnection.connect(self.engine.config.conninfo, **self.engine._kwargs)
            await self._track(self._listener)
            self._listening = set()
        self._pump = asyncio.get_running_loop().create_task(self._pump_loop(self._listener))

    async def _pump_loop(self, conn: psycopg.AsyncConnection[Any]) -> None:
        changed = self._changed
        assert changed is not None
        try:
            while not self._closed:
                for name in sorted(self._wanted - self._listening):
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(name)))
                    self._listening.add(name)
                got = [n.channel async for n in conn.notifies(timeout=_PUMP_TICK)]
                async with changed:
                    for name in got:
                        self._seen[name] = self._seen.get(name, 0) + 1
                    changed.notify_all()
        finally:
            self._pump = None
            async with changed:
                changed.notify_all()

    # -- lifecycle --------------------------------------------------------------------------------

    def _after_fork(self) -> None:
        from .engine import _orphans

        _orphans.extend(x for x in (self._pool, self._listener) if x is not None)
        self._pool = None
        self._loop = None
        self._listener = None
        self._pump = None
        self._changed = None
        self._listening = set()
        self._wanted = set()

    async def aclose(self) -> None:
        """Close this view's connections (from the event loop that used them)."""
        self._closed = True
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def close(self) -> None:
        """Close this view's connections: from inside ``bridge.spawn`` (else use ``aclose``).
        The engine it views stays open."""
        if in_bridge():
            await_only(self.aclose())
        else:
            self._closed = True
