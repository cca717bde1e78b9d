"""WAL checkpoints beside the writer, on a thread of their own (a mixin of ``SqliteEngine``).

SQLite's own auto-checkpoint runs inside the COMMIT that crosses the limit: that commit (a write
call, or an event loop) waits for the whole copy. It is replaced by a WAL hook that, past the
limit, only wakes a checkpointer thread: the copy runs on another core while writes go on
(measured +15-20% sync writes/s, and no 100 ms commit stalls).
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress

import apsw

from ... import errors
from .errors import translate


class Checkpoints:
    """The checkpointer of a ``SqliteEngine`` (which sets the attributes below)."""

    _autockpt: int
    _closed: bool
    _lock: threading.Lock
    _ckpt: apsw.Connection | None
    _ckpt_wake: threading.Event | None
    _ckpt_lock: threading.Lock
    _restart_since: float

    def _connect(self) -> apsw.Connection:
        raise NotImplementedError

    def _on_wal(self, conn: apsw.Connection, name: str, pages: int) -> int:
        """After each commit of the writer: wake the checkpointer once the WAL passes the limit
        (it never blocks, so a commit made on an event loop stays short)."""
        if pages >= self._autockpt:
            self._checkpoint_soon()
        return apsw.SQLITE_OK

    def _checkpoint_soon(self) -> None:
        """Wake the checkpointer thread (started on first use)."""
        if self._ckpt_wake is None:
            self._ckpt_wake = threading.Event()
            threading.Thread(target=self._checkpointer, name="swarmstore-checkpoint", daemon=True).start()
        self._ckpt_wake.set()

    def _restart_wait(self, tries: int) -> bool:
        """RESTART's wait for a moment with no writer and no reader on old WAL frames. Writers of
        other connections leave only microseconds between their transactions, which SQLite's
        1-100 ms sleeps almost never hit: poll every 0.1 ms instead. Give up after 200 ms (a long
        reader elsewhere, say: this process's writers are held meanwhile); the next checkpoint
        tries again."""
        now = time.monotonic()
        if tries == 0:
            self._restart_since = now
        elif now - self._restart_since > 0.2:
            return False
        time.sleep(0.0001)
        return True

    def _checkpointer(self) -> None:
        wake = self._ckpt_wake
        assert wake is not None
        while not self._closed:
            if wake.wait(1.0):
                wake.clear()
                with suppress(errors.SwarmstoreError):
                    self.checkpoint()

    def checkpoint(self) -> None:
        """Run a WAL checkpoint beside the writer, on a connection of its own (the checkpointer
        thread's job). Writes go on meanwhile: a
        PASSIVE pass copies the WAL back into the file without the write lock, then a RESTART pass
        copies what was appended meanwhile and rewinds the WAL (it holds writers off only for that
        short tail), so the WAL stays bounded."""
        with self._ckpt_lock:
            if self._closed:
                return
            conn = self._ckpt
            if conn is None:
                conn = self._ckpt = self._connect()
                conn.set_busy_handler(self._restart_wait)
            try:
                # Passes until one finds little new: each copies what was appended during the
                # last, so the tail left for RESTART (which holds this process's writers off) is
                # short. One pass left it ~a third of the WAL: write calls waited ~17% of their
                # time for the lock (measured with put_many). At most three passes, so the WAL
                # stays under about twice the limit while writes go on.
                backfilled = -1
                for _ in range(3):
                    log, done = conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
                    if done - backfilled < 256 or log >= 2 * self._autockpt:
                        break  # (little left, or the WAL has grown to twice the limit: rewind now)
                    backfilled = done
                # This process's writers wait for the short tail: SQLite's busy handler alone
                # would almost never catch the lock free between two of their transactions.
                with self._lock:
                    conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_RESTART)
            except (apsw.BusyError, apsw.LockedError):
                pass  # a long reader or another checkpointer: the next commit past the limit asks again
            except apsw.Error as exc:
                raise translate(exc) from exc
