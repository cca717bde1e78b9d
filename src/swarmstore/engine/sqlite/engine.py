"""The embedded SQLite engine (apsw): WAL, one writer connection, one reader per thread.

All apsw usage lives in this module; apsw errors are translated to ``swarmstore.errors`` here.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import apsw

from ... import errors
from ...access import sql_regexp
from ..base import Capabilities, Cursor, Row, load_migrations, load_queries
from . import files
from .agents import SqliteAgentOps
from .audit import SqliteAuditOps
from .checkpoint import Checkpoints
from .documents import SqliteDocumentOps
from .errors import translate
from .memory import SqliteMemoryOps
from .ops import bind_ops
from .search import SqliteSearchOps
from .sessions import SqliteSessionOps
from .tasks import SqliteTaskOps

R = TypeVar("R")

QUERIES = load_queries(__package__ or "swarmstore.engine.sqlite")
CAPABILITIES = Capabilities(
    name="sqlite", multi_host=False, serialised_writes=True, local_reads=True, wakeups=False, group_commit=True
)
_SYNC = {"off": "OFF", "normal": "NORMAL", "full": "FULL", "extra": "EXTRA"}
_engines: weakref.WeakSet[SqliteEngine] = weakref.WeakSet()


MIGRATIONS = load_migrations(__package__ or "swarmstore.engine.sqlite")
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _in_snapshot(cur: apsw.Cursor, fn: Callable[[Cursor], R]) -> R:
    """Run ``fn`` in one read transaction on ``cur``: its statements see one snapshot."""
    cur.execute("BEGIN")
    try:
        return fn(cur)
    finally:
        cur.execute("COMMIT")


class SqliteEngine(Checkpoints):
    """One open SQLite database file. Safe to share between threads; many processes may open it."""

    placeholder = "?"
    q = QUERIES
    caps = CAPABILITIES
    memory: SqliteMemoryOps
    sessions: SqliteSessionOps
    tasks: SqliteTaskOps
    agents: SqliteAgentOps
    audit: SqliteAuditOps
    documents: SqliteDocumentOps
    search: SqliteSearchOps

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "normal",
        busy_timeout_ms: int = 5000,
        cache_size_kib: int = 65536,
        wal_autocheckpoint: int = 10_000,
        mmap_size: int = 256 << 20,
        readonly: bool | None = None,
    ) -> None:
        """``readonly``: None opens the file read-only when it or its directory is not writable
        (reads work, writes raise ReadOnly), True always, False never."""
        if synchronous not in _SYNC:
            raise errors.InvalidInput("synchronous", f"must be one of {', '.join(_SYNC)}")
        if not isinstance(path, str) or not path:
            raise errors.InvalidInput("url", "a database path is required")
        self.path = path
        self.url = "sqlite:///" + path
        self._sync = _SYNC[synchronous]
        self._busy = int(busy_timeout_ms)
        self._cache = int(cache_size_kib)
        # Checkpointing every 10k pages (~40 MB of WAL) instead of SQLite's 1k writes each hot page
        # back once per checkpoint rather than many times: measured 9k -> 16k commits/s, p99 440 -> 95 µs.
        # The checkpoints run on a thread of their own (see "checkpoints" below).
        self._autockpt = int(wal_autocheckpoint)
        self._mmap = int(mmap_size)
        self.shared: dict[str, Any] = {"query": self.query}  # (see SqliteSearchOps._index)
        bind_ops(self, self)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[apsw.Connection] = []
        self._ckpt: apsw.Connection | None = None  # checkpoints beside the writer (see checkpoint)
        self._ckpt_wake: threading.Event | None = None
        self._ckpt_lock = threading.Lock()
        self._restart_since = 0.0
        self._busy_since = 0.0
        self._closed = False
        files.check_path(path)
        self.readonly = files.must_read_only(path) if readonly is None else bool(readonly)
        if self.readonly and not os.path.exists(path):
            raise errors.StorageError(f"no database at {path} to open read-only")
        created = False if self.readonly else files.create_private(path)
        try:
            self._writer = self._connect_writer()
            self._wcur = self._writer.cursor()
            files.check_schema(self._wcur, path, SCHEMA_VERSION, self.readonly)
            if not self.readonly:
                self._migrate()
        except (apsw.Error, errors.SwarmstoreError) as exc:
            with suppress(Exception):
                self._writer.close()
            if created:
                files.remove_new(path)
            if isinstance(exc, apsw.Error):
                raise files.open_error(path, exc) from exc
            raise
        _engines.add(self)

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> apsw.Connection:
        if self.readonly:
            conn = apsw.Connection(
                files.read_only_uri(self.path), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
            )
            conn.set_busy_timeout(self._busy)
        else:
            conn = apsw.Connection(self.path)
            conn.set_busy_timeout(self._busy)
            # journal_mode=WAL is persistent in the file; setting it needs a lock, so it waits like a write.
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
        conn.execute(f"PRAGMA synchronous={self._sync}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA cache_size=-{self._cache}")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute(f"PRAGMA wal_autocheckpoint={self._autockpt}")
        conn.execute(f"PRAGMA mmap_size={self._mmap}")
        conn.execute("PRAGMA journal_size_limit=67108864")
        # ``x REGEXP r``: a scoped view's rules with a '*' inside them (see access.Grant.condition)
        conn.create_scalar_function("regexp", sql_regexp, 2, deterministic=True)
        return conn

    def _connect_writer(self) -> apsw.Connection:
        conn = self._connect()
        if self.readonly:
            return conn  # (never writes: writes fail with ReadOnlyError)
        conn.set_wal_hook(self._on_wal)  # replaces SQLite's auto-checkpoint: see checkpoint()
        conn.set_busy_handler(self._write_wait)
        return conn

    # Waiting for another process's write lock. SQLite's own handler sleeps 1, 2, 5, 10 ... up to
    # 100 ms between tries, while a transaction holds the lock for well under a millisecond: a
    # process that lost the lock once slept through dozens of commits (an AsyncWorker's whole
    # loop idles meanwhile) and, near the end of a queue, up to 100 ms after the work ran out.
    # Polled every 0.25 ms for the first millisecond, then 1, 2 and 5 ms: measured with 4 worker
    # processes, 0.81-0.90x one process's claim+complete rate -> 0.92-0.95x (AsyncWorker), and
    # the processes share the work instead of one taking nearly all of it.
    _WAITS = (0.00025, 0.00025, 0.00025, 0.00025, 0.001, 0.002)
    _WAIT_MAX = 0.005

    def _write_wait(self, tries: int) -> bool:
        now = time.monotonic()
        if tries == 0:
            self._busy_since = now
        elif now - self._busy_since > self._busy / 1000:
            return False  # (SQLITE_BUSY: errors.Busy)
        time.sleep(self._WAITS[tries] if tries < len(self._WAITS) else self._WAIT_MAX)
        return True

    def _reader(self, slot: str = "cur", busy_timeout_ms: int | None = None) -> apsw.Cursor:
        """This thread's read cursor in ``slot`` (made on first use): ``cur`` waits for locks like
        the writer, ``nowait`` (an event loop's) is opened with a busy timeout of 0."""
        if self._closed:
            raise errors.StoreClosed("the store is closed")
        conn = self._connect()
        if busy_timeout_ms is not None:
            conn.set_busy_timeout(busy_timeout_ms)
        with self._lock:
            self._readers.append(conn)
        cur = conn.cursor()
        setattr(self._local, slot, cur)
        return cur

    def _after_fork(self) -> None:
        # Connections must not cross fork(): the child opens its own on first use.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers = []
        self._ckpt = None
        self._ckpt_wake = None
        self._ckpt_lock = threading.Lock()
        if not self._closed:
            self._writer = self._connect_writer()
            self._wcur = self._writer.cursor()

    # -- running statements --------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            try:
                cur = self._local.cur
            except AttributeError:
                cur = self._reader()
            rows: list[Row] = cur.execute(sql, params).fetchall()
            return rows
        except apsw.Error as exc:
            raise translate(exc) from exc

    def read(self, fn: Callable[[Cursor], R]) -> R:
        try:
            try:
                cur = self._local.cur
            except AttributeError:
                cur = self._reader()
            return fn(cur)
        except apsw.Error as exc:
            raise translate(exc) from exc

    # -- reads that never wait (an event loop's): busy -> errors.Busy at once ---------------------

    def _nowait_cursor(self) -> apsw.Cursor:
        try:
            cur: apsw.Cursor = self._local.nowait
            return cur
        except AttributeError:
            return self._reader("nowait", busy_timeout_ms=0)

    def query_nowait(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Like ``query``, on a connection that raises Busy instead of waiting for a lock."""
        try:
            rows: list[Row] = self._nowait_cursor().execute(sql, params).fetchall()
            return rows
        except apsw.Error as exc:
            raise translate(exc) from exc

    def read_nowait(self, fn: Callable[[Cursor], R]) -> R:
        try:
            return fn(self._nowait_cursor())
        except apsw.Error as exc:
            raise translate(exc) from exc

    def read_snapshot_nowait(self, fn: Callable[[Cursor], R]) -> R:
        try:
            return _in_snapshot(self._nowait_cursor(), fn)
        except apsw.Error as exc:
            raise translate(exc) from exc

    def read_snapshot(self, fn: Callable[[Cursor], R]) -> R:
        try:
            try:
                cur = self._local.cur
            except AttributeError:
                cur = self._reader()
            return _in_snapshot(cur, fn)
        except apsw.Error as exc:
            raise translate(exc) from exc

    def write(self, fn: Callable[[Cursor], R]) -> R:
        with self._lock:
            if self._closed:
                raise errors.StoreClosed("the store is closed")
            cur = self._wcur
            try:
                cur.execute("BEGIN IMMEDIATE")
            except apsw.Error as exc:
                raise translate(exc) from exc
            try:
                result = fn(cur)
                cur.execute("COMMIT")
            except BaseException as exc:
                try:
                    if not self._writer.getautocommit():
                        cur.execute("ROLLBACK")
                except apsw.Error:
                    pass
                if isinstance(exc, apsw.Error):
                    raise translate(exc) from exc
                raise
            return result

    def write_group(
        self, fns: Sequence[Callable[[Cursor], Any]], *, nowait: bool = False
    ) -> list[tuple[bool, Any]] | None:
        """Run many operations in one transaction, each isolated as if in its own savepoint
        (group commit; see _run_group).

        Returns ``(True, result)`` or ``(False, error)`` per operation, in order. An operation that
        raises is rolled back alone; the others commit together. If the commit itself fails,
        every operation fails with that error.

        ``nowait=True`` (an event loop's call): return None at once, having done nothing, if the
        write lock is not free this instant (another thread or process writes).
        """
        if nowait:
            if not self._lock.acquire(blocking=False):
                return None
        else:
            self._lock.acquire()
        try:
            if self._closed:
                return [(False, errors.StoreClosed("the store is closed"))] * len(fns)
            cur = self._wcur
            try:
                if not self._begin(cur, nowait):
                    return None
            except apsw.Error as exc:
                return [(False, translate(exc))] * len(fns)
            return self._run_group(cur, fns, nowait)
        finally:
            self._lock.release()

    def _begin(self, cur: apsw.Cursor, nowait: bool) -> bool:
        """BEGIN IMMEDIATE on the writer; with ``nowait``, False at once (nothing begun) if another
        connection holds the lock this instant."""
        if not nowait:
            cur.execute("BEGIN IMMEDIATE")
            return True
        self._writer.set_busy_timeout(0)
        try:
            cur.execute("BEGIN IMMEDIATE")
        except apsw.BusyError:
            return False
        finally:
            self._writer.set_busy_handler(self._write_wait)
        return True

    def _run_group(
        self, cur: apsw.Cursor, fns: Sequence[Callable[[Cursor], Any]], nowait: bool
    ) -> list[tuple[bool, Any]] | None:
        """Run ``fns`` in the open transaction and commit. Optimistically first, with no savepoints:
        a savepoint copies every page an operation first touches into a journal (a lone write
        measured 84 -> 64 µs without one; in groups of 100, ~4% of the time; one savepoint for the
        whole group measured 15% slower than one per operation). If any operation fails, the
        whole attempt rolls back and the group runs again, each operation in its own savepoint, so
        that the failing one fails alone (operations only touch the transaction, so running one
        twice is running it once). Returns None (nothing applied) if ``nowait`` and the lock
        was taken by another process in between."""
        results: list[Any] = []
        try:
            for fn in fns:
                results.append(fn(cur))
            cur.execute("COMMIT")
            return [(True, r) for r in results]
        except BaseException as exc:
            if not self._writer.getautocommit():
                with suppress(apsw.Error):
                    cur.execute("ROLLBACK")
            if len(fns) == 1 or len(results) == len(fns) or not isinstance(exc, Exception):
                # alone (its transaction was its savepoint), or the commit itself failed
                err = translate(exc) if isinstance(exc, apsw.Error) else exc
                if not isinstance(err, Exception):
                    raise
                return [(False, err)] * len(fns)
        # The ROLLBACK let go of SQLite's lock (this thread still holds the process's): another
        # process may take it meanwhile, and an event loop must not wait for it.
        try:
            if not self._begin(cur, nowait):
                return None  # nothing is applied: the caller hands the group to a thread
        except apsw.Error as exc:
            return [(False, translate(exc))] * len(fns)
        return self._run_isolated(cur, fns)

    def _run_isolated(self, cur: apsw.Cursor, fns: Sequence[Callable[[Cursor], Any]]) -> list[tuple[bool, Any]]:
        out: list[tuple[bool, Any]] = []
        try:
            for fn in fns:
                cur.execute("SAVEPOINT op")
                try:
                    out.append((True, fn(cur)))
                    cur.execute("RELEASE op")
                except Exception as exc:
                    if self._writer.getautocommit():
                        raise  # the error ended the whole transaction: nothing can commit
                    cur.execute("ROLLBACK TO op")
                    cur.execute("RELEASE op")
                    out.append((False, translate(exc) if isinstance(exc, apsw.Error) else exc))
            cur.execute("COMMIT")
        except BaseException as exc:
            if not self._writer.getautocommit():
                with suppress(apsw.Error):
                    cur.execute("ROLLBACK")
            err = translate(exc) if isinstance(exc, apsw.Error) else exc
            if not isinstance(err, Exception):
                raise
            return [(False, err)] * len(fns)
        return out

    def pages_written(self) -> int:
        """Pages this process's writer connection has written (to the WAL) since it opened: what
        writes cost in page writes, which is what a commit costs on a given machine (the
        benchmark reports pages per operation)."""
        return int(self._writer.status(apsw.SQLITE_DBSTATUS_CACHE_WRITE)[0])

    @contextmanager
    def raw_writer(self) -> Iterator[apsw.Connection]:
        """The writer connection, under the write lock, outside any transaction (maintenance)."""
        with self._lock:
            yield self._writer

    # -- schema --------------------------------------------------------------------------------

    def _migrate(self) -> None:
        cur = self._wcur
        # Up to date (the common case): a read suffices, so opening never waits for the write lock.
        try:
            row = cur.execute("SELECT max(version) FROM schema_version").fetchall()[0]
            if int(row[0] or 0) == SCHEMA_VERSION:
                return
        except apsw.SQLError:
            pass  # no schema_version table yet: a new file
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
            row = cur.execute("SELECT max(version) FROM schema_version").fetchall()[0]
            current = int(row[0] or 0)
            if current > SCHEMA_VERSION:
                raise errors.SchemaError(
                    f"{self.path} has schema version {current}, newer than this swarmstore "
                    f"(knows up to {SCHEMA_VERSION}): upgrade swarmstore to open it"
                )
            for version, name, sql in MIGRATIONS:
                if version > current:
                    cur.execute(sql)
                    cur.execute(
                        "INSERT INTO schema_version VALUES (?, ?, CAST(unixepoch('subsec') * 1000000 AS INTEGER))",
                        (version, name),
                    )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        return int(self.query("SELECT max(version) FROM schema_version")[0][0])

    # -- info and lifecycle --------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        def size(p: str) -> int:
            try:
                return os.path.getsize(p)
            except OSError:
                return 0

        return {
            "engine": "sqlite",
            "path": self.path,
            "sqlite_version": apsw.sqlite_lib_version(),
            "schema_version": self.schema_version(),
            "file_bytes": size(self.path),
            "wal_bytes": size(self.path + "-wal"),
        }

    def counts(self) -> dict[str, int]:
        names = ("sessions", "events", "memories_live", "memories_all", "memory_versions", "audit", "tasks", "agents")
        return dict(zip(names, (int(n) for n in self.query(QUERIES.count_rows)[0]), strict=True))

    def notify(self, tx: Any, channel: str, payload: str = "") -> None:
        """No wake-ups on SQLite (``caps.wakeups`` is False): waiters poll."""

    def wait_for_work(self, channels: Sequence[str], timeout: float) -> bool:
        """No wake-ups on SQLite: False at once (the caller polls)."""
        return False

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        with self._ckpt_lock:  # (a checkpoint in progress finishes first)
            ckpt, self._ckpt = self._ckpt, None
            if ckpt is not None:
                ckpt.close()
        if self._ckpt_wake is not None:
            self._ckpt_wake.set()  # the checkpointer sees the store closed and ends
        self._writer.close()


def _reinit_after_fork() -> None:
    for engine in list(_engines):
        engine._after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)
