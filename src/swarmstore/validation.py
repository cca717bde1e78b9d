"""Input checks shared by the services. Each failure is an InvalidInput naming the field."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import orjson

from .errors import InvalidInput

MAX_LIMIT = 10_000


def check_name(value: object, field: str, max_len: int = 256) -> str:
    """A required identifier-like string: non-empty, printable, bounded."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"expected a string, got {type(value).__name__}")
    if not value:
        raise InvalidInput(field, "must not be empty")
    if len(value) > max_len:
        raise InvalidInput(field, f"longer than {max_len} characters")
    if not value.isprintable():
        raise InvalidInput(field, "must not contain control characters")
    return value


def opt_name(value: object, field: str, max_len: int = 256) -> str | None:
    return None if value is None else check_name(value, field, max_len)


def check_int(value: object, field: str, lo: int | None = None, hi: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, f"expected an integer, got {type(value).__name__}")
    if lo is not None and value < lo:
        raise InvalidInput(field, f"must be >= {lo}")
    if hi is not None and value > hi:
        raise InvalidInput(field, f"must be <= {hi}")
    return value


def check_limit(limit: object, field: str = "limit") -> int:
    return check_int(limit, field, 1, MAX_LIMIT)


def check_choice(value: object, field: str, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise InvalidInput(field, f"{value!r} is not one of {', '.join(options)}")
    return value


def check_choices(value: object, field: str, choices: Iterable[str]) -> list[str]:
    """One value or several (any iterable of strings), each from ``choices``."""
    options = tuple(choices)
    values = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    if not values:
        raise InvalidInput(field, "must name at least one value")
    for v in values:
        check_choice(v, field, options)
    return values


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode().rstrip("=")


def decode_cursor(cursor: object, n: int, field: str = "cursor") -> list[Any]:
    """Decode an opaque cursor made by :func:`encode_cursor` with ``n`` parts."""
    if not isinstance(cursor, str):
        raise InvalidInput(field, "expected a cursor string from a previous page")
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidInput(field, "not a cursor made by this store") from None
    if not isinstance(parts, list) or len(parts) != n:
        raise InvalidInput(field, "not a cursor made by this listing")
    return parts
