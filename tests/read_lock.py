"""A lock that readers meet, simulated at the driver: an apsw exec tracer (install it with
``sql_capture.exec_tracing``) that answers reads as SQLite does while another connection holds a
lock. In WAL mode a reader meets one only in rare moments (recovery after a crash, say), too rare
to provoke on demand; this shows the store the same answers, on its real connections.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass

import apsw

from sql_capture import Bindings

_READ = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Met:
    """A read that met the lock: where it ran, whether its connection waits for locks, and how
    it ended (``busy``: refused at once; ``ran``: waited, then ran; ``gave up``: waited in vain)."""

    on_loop: bool
    waits: bool
    outcome: str


class HeldReadLock:
    """While held, reads of traced connections meet a lock. A connection that does not wait
    (busy timeout 0: an event loop's reader) gets SQLITE_BUSY at once. One that waits blocks until
    ``release()``; on a thread that runs an event loop it gives up at once with SQLITE_BUSY
    instead, as it would at the end of its busy timeout: the lock is released by a coroutine of
    that loop (the test's), which cannot run while the loop waits. Every read met is in ``met``."""

    def __init__(self, patience: float = 30.0) -> None:
        self._free = threading.Event()
        self._free.set()
        self._patience = patience
        self._own = threading.local()  # (the tracer's own PRAGMA is not traced)
        self.waiting = threading.Event()  # a read waits for the lock, off the loop
        self.met: list[Met] = []

    def hold(self) -> None:
        self.waiting.clear()
        self._free.clear()

    def release(self) -> None:
        self._free.set()

    def __call__(self, cursor: apsw.Cursor, sql: str, bindings: Bindings) -> bool:
        if self._free.is_set() or getattr(self._own, "busy", False) or not _READ.match(sql):
            return True
        self._own.busy = True
        try:
            [(timeout,)] = cursor.connection.execute("PRAGMA busy_timeout").fetchall()
        finally:
            self._own.busy = False
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        if timeout == 0:
            self.met.append(Met(on_loop, False, "busy"))
            raise apsw.BusyError("database is locked (simulated)")
        if on_loop:
            self.met.append(Met(on_loop, True, "gave up"))
            raise apsw.BusyError("database is locked (simulated: waited on the event loop)")
        self.waiting.set()
        if not self._free.wait(self._patience):
            self.met.append(Met(on_loop, True, "gave up"))
            raise apsw.BusyError("database is locked (simulated: never released)")
        self.met.append(Met(on_loop, True, "ran"))
        return True
