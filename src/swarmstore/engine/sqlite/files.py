"""The database file on disk: created private, opened read-only when it cannot be written, and the
errors of opening it said in terms of the path (a directory, not a database, not writable...)."""

from __future__ import annotations

import os
from contextlib import suppress
from urllib.parse import quote

import apsw

from ... import errors

MEMORY = ":memory:"


def check_path(path: str) -> None:
    """Refuse a path that cannot be a database file before SQLite sees it."""
    if path == MEMORY:
        return
    if os.path.isdir(path):
        raise errors.InvalidInput("url", f"{path} is a directory, not a database file")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(parent):
        raise errors.InvalidInput("url", f"directory {parent} does not exist")
    if not os.path.isdir(parent):
        raise errors.InvalidInput("url", f"{parent} is not a directory")
    if os.path.exists(path) and not os.access(path, os.R_OK):
        raise errors.StorageError(f"cannot read {path}: permission denied")


def create_private(path: str) -> bool:
    """Create the database file with mode 0600 if it does not exist; True if this call made it.

    SQLite gives the -wal and -shm files the mode of the database file, so they are private too.
    An existing file keeps its mode."""
    if path == MEMORY:
        return False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False  # (another process may have made it a moment ago: fine)
    except PermissionError:
        raise errors.StorageError(
            f"cannot create {path}: directory {os.path.dirname(os.path.abspath(path))} is not writable"
        ) from None
    except OSError as exc:
        raise errors.StorageError(f"cannot create {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits away from the owner
    finally:
        os.close(fd)
    return True


def must_read_only(path: str) -> bool:
    """True when the file exists and it or its directory cannot be written (WAL mode writes beside
    the file): such a store is opened read-only, so reading it still works."""
    if path == MEMORY or not os.path.exists(path):
        return False
    parent = os.path.dirname(os.path.abspath(path))
    return not (os.access(path, os.W_OK) and os.access(parent, os.W_OK))


def read_only_uri(path: str) -> str:
    """The URI a read-only connection opens.

    A WAL database needs its -shm file; when it is absent and the directory is not writable, SQLite
    can only read the file as immutable. No process can be writing it then (a writer keeps the -wal
    and -shm files while its connection is open), so the snapshot read is the current state."""
    parent = os.path.dirname(os.path.abspath(path))
    name = "file:" + quote(os.path.abspath(path))
    if not os.path.exists(path + "-shm") and not os.access(parent, os.W_OK):
        return name + "?immutable=1"
    return name + "?mode=ro"


def check_schema(cur: apsw.Cursor, path: str, known: int, readonly: bool) -> None:
    """Refuse another application's SQLite file; a read-only store must need no migration."""
    tables = {r[0] for r in cur.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    if "schema_version" not in tables:
        if tables or readonly:
            raise errors.StorageError(f"{path} is not a swarmstore store (a database without its tables)")
        return
    if readonly:
        current = int(cur.execute("SELECT max(version) FROM schema_version").fetchall()[0][0] or 0)
        if current > known:
            raise errors.SchemaError(
                f"{path} has schema version {current}, newer than this swarmstore "
                f"(knows up to {known}): upgrade swarmstore to open it"
            )
        if current < known:
            raise errors.StorageError(
                f"{path} is read only and has schema version {current}: opening it writable once migrates it to {known}"
            )


def open_error(path: str, exc: apsw.Error) -> errors.SwarmstoreError:
    """An error met while opening ``path``, said in terms of the file."""
    if isinstance(exc, apsw.NotADBError):
        return errors.StorageError(f"{path} is not a database file")
    if isinstance(exc, apsw.CorruptError):
        return errors.StorageError(f"{path} is corrupt: {exc}")
    if isinstance(exc, apsw.ReadOnlyError):
        return errors.StorageError(f"cannot write {path} or its -wal and -shm files: {exc}")
    if isinstance(exc, (apsw.CantOpenError, apsw.PermissionsError, apsw.AuthError)):
        return errors.StorageError(f"cannot open {path}: {exc}")
    if isinstance(exc, (apsw.BusyError, apsw.LockedError)):
        return errors.Busy(f"{path} is locked by another writer: {exc}")
    if isinstance(exc, apsw.IOError):
        return errors.StorageError(f"cannot read or write {path}: {exc}")
    return errors.StorageError(f"cannot open {path}: {type(exc).__name__}: {exc}")


def remove_new(path: str) -> None:
    """Remove a database file this process just created (and SQLite's files beside it), after its
    opening failed: no half-made store is left behind."""
    for p in (path, path + "-wal", path + "-shm"):
        if os.path.isfile(p):
            with suppress(OSError):
                os.remove(p)
