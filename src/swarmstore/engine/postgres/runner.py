"""The transaction logic of the PostgreSQL engine, written once for its sync and async modes.

A subclass says how to get a connection (``_acquire``/``_release``) and how to sleep; the
connection it hands out offers ``execute(sql, params)`` (-> something with ``fetchall``),
``cursor()`` (the ``tx`` operations receive) and ``info.transaction_status``. Sync: a psycopg
connection from a ``ConnectionPool``. Async: an async connection seen through the greenlet bridge.
Connections are in autocommit mode: a stand-alone read is one round trip, and transactions are
opened with an explicit BEGIN.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg.pq import ExecStatus, TransactionStatus

from ... import errors
from ..base import Capabilities, Row, load_queries
from .errors import RETRYABLE, translate
from .pipeline import PipelinedTx, Queued, send_sync

R = TypeVar("R")
TUPLES_OK = ExecStatus.TUPLES_OK

CAPABILITIES = Capabilities(
    name="postgresql", multi_host=True, serialised_writes=False, local_reads=False, wakeups=True, group_commit=True
)
QUERIES = load_queries(__package__ or "swarmstore.engine.postgres")

BEGIN_WRITE = "BEGIN"  # READ COMMITTED: operations lock what they change (FOR UPDATE, conditional UPDATEs)
BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# Retries of serialization failures and deadlocks: jittered exponential backoff from 1 ms up to
# 50 ms a sleep, for at most MAX_RETRIES tries or RETRY_BUDGET_S seconds; then Busy.
MAX_RETRIES = 30
RETRY_BUDGET_S = 20.0
_CHANNEL = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")

COUNTS = (
    "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM audit WHERE action = 'session.event'),"
    " (SELECT count(*) FROM memories WHERE deleted_at IS NULL), (SELECT count(*) FROM memories),"
    " (SELECT count(*) FROM audit WHERE entity = 'memory' AND snapshot IS NOT NULL), (SELECT count(*) FROM audit),"
    " (SELECT count(*) FROM tasks), (SELECT count(*) FROM agents)"
)
COUNT_NAMES = ("sessions", "events", "memories_live", "memories_all", "memory_versions", "audit", "tasks", "agents")


def backoff(attempt: int) -> float:
    """Seconds to sleep before retry ``attempt`` (1, 2, ...): jittered, so racing transactions part."""
    return float(min(0.05, 0.001 * (2 ** min(attempt - 1, 10))) * random.uniform(0.5, 1.5))


class _Isolated(Exception):
    """(internal) the optimistic pass of a group failed: run it again, one savepoint per operation."""


class _Reconnect(Exception):
    """(internal) the pooled connection was found broken before the transaction began."""


class PgRunner:
    """The engine's methods over ``_acquire``/``_release``/``_sleep`` (see the module docstring)."""

    caps = CAPABILITIES
    q = QUERIES
    placeholder = "%s"  # (transitional: psycopg's placeholder)
    url: str
    display_url: str
    schema: str | None

    # -- what a mode provides -------------------------------------------------------------------

    def _acquire(self) -> Any:
        raise NotImplementedError

    def _release(self, conn: Any) -> None:
        raise NotImplementedError

    def _sleep(self, seconds: float) -> None:
        raise NotImplementedError

    def _listen_wait(self, names: list[str], timeout: float) -> bool:
        raise NotImplementedError

    def _conn(self) -> Any:
        try:
            return self._acquire()
        except (psycopg.Error, errors.SwarmstoreError) as exc:
            raise translate(exc) from exc
        except Exception as exc:  # (the pool's own errors: closed, timed out)
            raise translate(exc) from exc

    @staticmethod
    def _rollback(conn: Any) -> None:
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            pass  # (a broken connection: the pool discards it when it comes back)

    # -- reads ----------------------------------------------------------------------------------

    def _check_pool(self) -> None:
        """Drop the pool's idle connections that are broken (after one was found broken)."""
        raise NotImplementedError

    def _broken(self, conn: Any) -> bool:
        """Whether ``conn`` is broken; if so, the pool's other idle connections are checked too
        (a server restart breaks them all), so that a retry gets a working one."""
        if conn.info.transaction_status != TransactionStatus.UNKNOWN:
            return False
        self._check_pool()
        return True

    # A read that fails because its pooled connection was found broken (the server restarted, or
    # ended the session) runs once more on a new one: reads can run twice.

    def _on_connection(self, fn: Callable[[Any], R]) -> R:
        """``fn(conn)`` on a pooled connection, run once more on a new one if that one was
        found broken; driver errors translated."""
        for again in (False, True):
            conn = self._conn()
            try:
                return fn(conn)
            except psycopg.OperationalError as exc:
                if again or not self._broken(conn):
                    raise translate(exc) from exc
            except psycopg.Error as exc:
                raise translate(exc) from exc
            finally:
                self._release(conn)
        raise AssertionError("unreachable")

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        """Run one statement on its own (autocommit) and return its rows."""

        def run(conn: Any) -> list[Row]:
            cur = conn.execute(sql, params or None)
            # (not cur.description: it builds a Column per column, measured ~4 µs a call)
            res = cur.pgresult
            return cur.fetchall() if res is not None and res.status == TUPLES_OK else []

        return self._on_connection(run)

    def read(self, fn: Callable[[Any], R]) -> R:
        return self._on_connection(lambda conn: fn(conn.cursor()))

    def read_snapshot(self, fn: Callable[[Any], R]) -> R:
        def run(conn: Any) -> R:
            cur = conn.cursor()
            cur.execute(BEGIN_SNAPSHOT)
            try:
                result = fn(cur)
                cur.execute("COMMIT")
                return result
            except BaseException:
                self._rollback(conn)
                raise

        return self._on_connection(run)

    # -- writes ---------------------------------------------------------------------------------

    def _send(self, conn: Any, cur: Any, queue: list[Queued]) -> None:
        """Run a write transaction's queued statements on ``cur`` (see pipeline.py)."""
        send_sync(conn, cur, queue)

    def _transaction(self, conn: Any, body: Callable[[Any], R]) -> R:
        """``body(tx)`` in one transaction on ``conn``, committed; run again from the start after a
        serialization failure or deadlock (those never reach the caller, unless they go on past
        the retry budget: Busy). Other errors roll back and are translated. Raises _Reconnect if
        the connection is found broken by the first round trip (BEGIN's, never COMMIT's)."""
        attempt = 0
        started = time.monotonic()
        while True:
            cur = conn.cursor()
            tx = PipelinedTx(cur, partial(self._send, conn, cur))
            tx.execute(BEGIN_WRITE)
            try:
                result = body(tx)
                tx.commit()
                return result
            except BaseException as exc:
                if tx.broken_at_begin and self._broken(conn):
                    raise _Reconnect() from exc
                self._rollback(conn)
                if isinstance(exc, RETRYABLE):
                    attempt += 1
                    if attempt >= MAX_RETRIES or time.monotonic() - started > RETRY_BUDGET_S:
                        raise translate(exc) from exc
                    self._sleep(backoff(attempt))
                elif isinstance(exc, psycopg.Error):
                    raise translate(exc) from exc
                else:
                    raise

    def _in_transaction(self, body: Callable[[Any], R]) -> R:
        """``_transaction`` on a pooled connection (another one if it was found broken at BEGIN:
        nothing had run, so running it on the next is running it once)."""
        for again in (False, True):
            conn = self._conn()
            try:
                return self._transaction(conn, body)
            except _Reconnect as exc:
                if again:
                    raise translate(exc.__cause__ or exc) from exc
            finally:
                self._release(conn)
        raise AssertionError("unreachable")

    def write(self, fn: Callable[[Any], R]) -> R:
        """Run ``fn(tx)`` in one transaction (READ COMMITTED); commit when it returns, roll back if
        it raises. Serialization failures and deadlocks run it again (so ``fn`` must only act
        through ``tx``)."""
        return self._in_transaction(fn)

    def write_group(
        self, fns: Sequence[Callable[[Any], Any]], *, nowait: bool = False
    ) -> list[tuple[bool, Any]]:
        """Run many operations in one transaction, each isolated: ``(True, result)`` or
        ``(False, error)`` per operation, in order. Optimistic first (no savepoints: each costs a
        round trip); if an operation fails, the transaction rolls back and the group runs again
        with one savepoint per operation, so the failing one fails alone. ``nowait`` is accepted
        for the SQLite engine's callers and changes nothing (no write lock to wait for)."""
        if not fns:
            return []
        try:
            try:
                return self._in_transaction(lambda tx: self._group_body(tx, fns))
            except _Isolated:
                return self._in_transaction(lambda tx: self._group_isolated(tx, fns))
        except Exception as exc:  # (the commit failed, or the only operation did)
            err = translate(exc) if isinstance(exc, psycopg.Error) else exc
            return [(False, err)] * len(fns)

    @staticmethod
    def _group_body(tx: PipelinedTx, fns: Sequence[Callable[[Any], Any]]) -> list[tuple[bool, Any]]:
        results = []
        for fn in fns:
            try:
                results.append((True, fn(tx)))
            except RETRYABLE:
                raise
            except Exception as exc:
                if len(fns) == 1:
                    raise
                raise _Isolated() from exc
        try:  # (the last operations' statements: their errors are theirs, not the commit's)
            tx.flush()
        except RETRYABLE:
            raise
        except Exception as exc:
            if len(fns) == 1:
                raise
            raise _Isolated() from exc
        return results

    @staticmethod
    def _group_isolated(tx: PipelinedTx, fns: Sequence[Callable[[Any], Any]]) -> list[tuple[bool, Any]]:
        out: list[tuple[bool, Any]] = []
        for fn in fns:
            tx.execute("SAVEPOINT op")
            mark, flushes = tx.pending() - 1, tx.flushes
            try:
                result = fn(tx)
                tx.execute("RELEASE SAVEPOINT op")
                tx.flush()  # (so that the operation's own errors are raised here)
                out.append((True, result))
            except RETRYABLE:
                raise
            except Exception as exc:
                if tx.flushes == flushes:  # nothing of it was sent, not even the savepoint
                    tx.truncate(mark)
                else:
                    tx.truncate(0)
                    tx.execute("ROLLBACK TO SAVEPOINT op")
                    tx.execute("RELEASE SAVEPOINT op")
                out.append((False, translate(exc) if isinstance(exc, psycopg.Error) else exc))
        return out

    # -- wake-ups -------------------------------------------------------------------------------

    def channel(self, name: str) -> str:
        """The server-side channel of ``name``: prefixed with the store's schema (channels are
        per database, and a database may hold many stores)."""
        if not isinstance(name, str) or not _CHANNEL.match(name):
            raise errors.InvalidInput("channel", "1-40 lowercase letters, digits or _, not starting with a digit")
        return f"{self.schema}.{name}" if self.schema else name

    def notify(self, tx: Any, channel: str, payload: str = "") -> None:
        """Wake the store's waiters on ``channel`` when ``tx`` commits (nothing if it rolls back)."""
        tx.execute("SELECT pg_notify(%s, %s)", (self.channel(channel), payload))

    def wait_for_work(self, channels: Sequence[str], timeout: float) -> bool:
        """Wait until one of ``channels`` is notified (True) or ``timeout`` seconds pass (False).
        A notification may be lost (or spurious): callers poll as well, this only shortens waits."""
        names = [self.channel(c) for c in channels]
        if timeout <= 0 or not names:
            return False
        try:
            return self._listen_wait(names, float(timeout))
        except psycopg.Error as exc:
            raise translate(exc) from exc

    # -- info -----------------------------------------------------------------------------------

    def schema_version(self) -> int:
        return int(self.query("SELECT max(version) FROM schema_version")[0][0])

    def counts(self) -> dict[str, int]:
        """Rows per kind, for ``Store.stats``."""
        return dict(zip(COUNT_NAMES, (int(n) for n in self.query(COUNTS)[0]), strict=True))

    def stats(self) -> dict[str, Any]:
        version, size, schema = self.query(
            "SELECT current_setting('server_version'), pg_database_size(current_database()), current_schema()"
        )[0]
        return {
            "engine": "postgresql",
            "url": self.display_url,
            "server_version": version,
            "schema": schema,
            "schema_version": self.schema_version(),
            "database_bytes": int(size),
        }
