"""psycopg errors -> swarmstore errors, done once at the engine edge (by SQLSTATE)."""

from __future__ import annotations

import psycopg
from psycopg import errors as pg
from psycopg_pool import PoolClosed, PoolTimeout

from ... import errors

# Retried inside write(): the transaction lost a race and may simply run again.
RETRYABLE = (pg.SerializationFailure, pg.DeadlockDetected)


def _diag(exc: psycopg.Error) -> str:
    d = exc.diag
    return d.constraint_name or d.column_name or d.message_primary or str(exc)


def translate(exc: BaseException) -> errors.SwarmstoreError:
    """The swarmstore error for a psycopg (or pool) error."""
    if isinstance(exc, errors.SwarmstoreError):
        return exc
    if isinstance(exc, PoolClosed):
        return errors.StoreClosed("the store is closed")
    if isinstance(exc, PoolTimeout):
        return errors.Busy(f"no database connection came free in time: {exc}")
    if not isinstance(exc, psycopg.Error):
        return errors.StorageError(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, pg.UniqueViolation):
        return errors.Conflict(f"constraint violated: {_diag(exc)} (a row with this key exists)")
    if isinstance(exc, pg.ForeignKeyViolation):
        return errors.Conflict(f"constraint violated: {_diag(exc)} (a row it refers to is missing or still referred to)")
    if isinstance(exc, (pg.CheckViolation, pg.NotNullViolation, pg.ExclusionViolation)):
        # the domain checks its input before writing: a failing CHECK is a bug of the boundary
        return errors.StorageError(f"constraint {_diag(exc)} failed: {exc.diag.message_primary or exc}")
    if isinstance(exc, RETRYABLE):
        return errors.Busy(f"the transaction kept conflicting with concurrent ones: {exc.diag.message_primary or exc}")
    if isinstance(exc, (pg.LockNotAvailable, pg.QueryCanceled)):
        return errors.Busy(f"the database is busy: {exc.diag.message_primary or exc}")
    if isinstance(exc, pg.UntranslatableCharacter) or (
        isinstance(exc, psycopg.DataError) and "NUL" in str(exc) and exc.sqlstate is None
    ):
        return errors.InvalidInput("value", "PostgreSQL cannot store the NUL character (\\u0000) in text or JSON")
    if isinstance(exc, pg.ProgramLimitExceeded):
        return errors.InvalidInput("value", f"too big for the database: {exc.diag.message_primary or exc}")
    if isinstance(exc, pg.ReadOnlySqlTransaction):
        return errors.ReadOnly("the database is read only (a standby, or a read-only transaction): nothing was written")
    if isinstance(exc, (pg.UndefinedTable, pg.InvalidSchemaName)):
        return errors.SchemaError(f"the database has no swarmstore schema where expected: {exc.diag.message_primary or exc}")
    if isinstance(exc, psycopg.OperationalError):
        return errors.StorageError(f"database connection failed: {str(exc).strip()}")
    code = f" [{exc.sqlstate}]" if exc.sqlstate else ""
    return errors.StorageError(f"{type(exc).__name__}{code}: {str(exc).strip()}")
