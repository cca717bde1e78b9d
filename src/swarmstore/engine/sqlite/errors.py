"""apsw errors -> swarmstore errors, done once at the engine edge."""

from __future__ import annotations

import apsw

from ... import errors


def translate(exc: BaseException) -> errors.SwarmstoreError:
    """Map an apsw error to a swarmstore error (done once, at the engine edge)."""
    if isinstance(exc, (apsw.ConnectionClosedError, apsw.CursorClosedError)):
        return errors.StoreClosed("the store is closed")
    if isinstance(exc, (apsw.BusyError, apsw.LockedError)):
        return errors.Busy(f"the database is locked by another writer: {exc}")
    if isinstance(exc, apsw.ConstraintError):
        # UNIQUE / PRIMARY KEY / FOREIGN KEY: another writer got there first. CHECK / NOT NULL: the
        # domain checks its input before writing, so this is a bug of the boundary, not a conflict.
        if getattr(exc, "extendedresult", None) in (apsw.SQLITE_CONSTRAINT_CHECK, apsw.SQLITE_CONSTRAINT_NOTNULL):
            return errors.StorageError(f"constraint failed: {exc}")
        return errors.Conflict(f"constraint violated: {exc}")
    if isinstance(exc, apsw.ReadOnlyError):
        return errors.ReadOnly("the store is read only (its file or folder is not writable): nothing was written")
    if isinstance(exc, apsw.TooBigError):
        return errors.InvalidInput("value", f"too big for the database: {exc}")
    return errors.StorageError(f"{type(exc).__name__}: {exc}")
