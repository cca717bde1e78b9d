"""Time: UTC, stored as integer microseconds since the epoch, exposed as aware datetimes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .errors import InvalidInput
from .validation import duration_us

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def now_us() -> int:
    """Current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def to_dt(us: int) -> datetime:
    """Microseconds since the epoch to an aware UTC datetime (exact, no float rounding).

    The fastest exact way measured (~0.2 µs): ``fromtimestamp(us / 1e6, UTC)`` rounds through a
    float, ``EPOCH + timedelta(microseconds=us)`` takes twice as long. Row decoders inline it."""
    return EPOCH + us * _US


def opt_dt(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + us * _US


def from_dt(value: datetime, field: str) -> int:
    """An aware datetime to microseconds since the epoch; naive datetimes are rejected."""
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise InvalidInput(field, "datetime must be timezone-aware (use UTC)")
    return (value - EPOCH) // _US


def seconds_us(value: float | int | timedelta | None, field: str) -> int | None:
    """A duration (seconds as a number, or a timedelta) in microseconds, or None for None; see
    :func:`validation.duration_us` for what is accepted."""
    return None if value is None else duration_us(value, field)


class ManualClock:
    """A clock that moves only when told: ``swarmstore.open(url, clock=ManualClock())`` makes ageing,
    TTLs, leases and backoffs testable without sleeping. Calling it returns the current time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.us = now_us() if start is None else from_dt(start, "start")

    def __call__(self) -> datetime:
        return to_dt(self.us)

    def now_us(self) -> int:
        return self.us

    def advance(self, seconds: float | timedelta) -> None:
        """Move the clock forward (a positive duration)."""
        self.us += seconds_us(seconds, "seconds") or 0


def clock_us(clock: object) -> Callable[[], int]:
    """The microsecond clock behind a store's ``clock`` option: a ManualClock, or any callable
    returning an aware datetime."""
    if isinstance(clock, ManualClock):
        return clock.now_us
    if not callable(clock):
        raise InvalidInput("clock", f"expected a callable returning an aware datetime, got {type(clock).__name__}")

    def read() -> int:
        return from_dt(clock(), "clock")

    return read
