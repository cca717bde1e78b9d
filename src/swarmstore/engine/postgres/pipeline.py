"""The ``tx`` of a PostgreSQL write transaction: statements sent together, fewer round trips.

``execute`` only queues a statement; the queue goes to the server when a result is read
(``fetchall``, ``fetchone``, ``rowcount``...) or on ``flush``, in one round trip (psycopg's
pipeline mode when there is more than one statement). So BEGIN travels with the first
statement, statements whose results are not read travel with the next one, and COMMIT with
the last ones. Cursor semantics are kept: results are those of the last statement queued.
An error surfaces at the next read or flush (the first failing statement's error; the rest of
that queue is not run), and a transaction that failed is rolled back as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

# (sql, params, executemany?)
Queued = tuple[Any, Any, bool]


def send_sync(conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any], queue: list[Queued]) -> None:
    """Run ``queue`` on ``cur`` (a sync connection's), pipelined when it has more than one statement."""
    if len(queue) == 1:
        sql, params, many = queue[0]
        if many:
            cur.executemany(sql, params)
        else:
            cur.execute(sql, params)
        return
    with conn.pipeline():
        for sql, params, many in queue:
            if many:
                cur.executemany(sql, params)
            else:
                cur.execute(sql, params)


class PipelinedTx:
    """A cursor-like ``tx`` over a real cursor that queues statements (see the module docstring)."""

    __slots__ = ("_cur", "_queue", "_send", "broken_at_begin", "flushes")

    def __init__(self, cur: Any, send: Callable[[list[Queued]], None]) -> None:
        self._cur = cur
        self._send = send
        self._queue: list[Queued] = []
        self.flushes = 0
        # whether the first round trip (the one with BEGIN, never with COMMIT) failed with an
        # OperationalError: then nothing was committed, and the transaction may run elsewhere
        self.broken_at_begin = False

    def execute(self, query: Any, params: Any = None) -> PipelinedTx:
        self._queue.append((query, params, False))
        return self

    def executemany(self, query: Any, params_seq: Any) -> None:
        self._queue.append((query, list(params_seq), True))

    def flush(self) -> None:
        """Send what is queued (one round trip); raise the first error it met."""
        queue = self._queue
        if not queue:
            return
        self._queue = []
        self.flushes += 1
        try:
            self._send(queue)
        except psycopg.OperationalError:
            if self.flushes == 1:
                self.broken_at_begin = True
            raise

    def commit(self) -> None:
        """Queue COMMIT and flush. If nothing was sent yet, BEGIN and the statements go first, on
        their own: a connection found broken then has committed nothing (and may be replaced)."""
        if not self.flushes:
            self.flush()
        self._queue.append(("COMMIT", None, False))
        self.flush()

    def pending(self) -> int:
        """How many statements are queued (a mark for ``truncate``)."""
        return len(self._queue)

    def truncate(self, mark: int) -> None:
        """Drop the statements queued after ``mark`` (never sent: as if rolled back)."""
        del self._queue[mark:]

    # -- results (of the last statement): send the queue first ------------------------------------

    def fetchall(self) -> list[Any]:
        self.flush()
        return self._cur.fetchall()  # type: ignore[no-any-return]

    def fetchone(self) -> Any:
        self.flush()
        return self._cur.fetchone()

    def fetchmany(self, size: int = 0) -> list[Any]:
        self.flush()
        return self._cur.fetchmany(size)  # type: ignore[no-any-return]

    @property
    def rowcount(self) -> int:
        self.flush()
        return self._cur.rowcount  # type: ignore[no-any-return]

    @property
    def pgresult(self) -> Any:
        self.flush()
        return self._cur.pgresult

    @property
    def description(self) -> Any:
        self.flush()
        return self._cur.description

    @property
    def connection(self) -> Any:
        return self._cur.connection
