"""Input checks shared by every entry point. Each failure is an InvalidInput naming the field.

Each check takes the value and the field's name and returns the value (a few normalise it: a
single name becomes a one-item list). They run once, at the public boundary (``boundary.py``),
driven by the parameter types of ``params.py``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

from .errors import InvalidInput

MAX_LIMIT = 10_000
MAX_INT = 2**63 - 1  # what an SQLite INTEGER (and a PostgreSQL bigint) holds
MIN_INT = -(2**63)
MAX_TEXT = 4000
MAX_ITEMS = 100_000  # values in one list argument (names, ids): a bound, not a policy
# Durations: 100 years at most, so that now + a duration stays far inside 64-bit microseconds.
MAX_SECONDS = 100 * 365 * 86_400
_US = timedelta(microseconds=1)


def _kind(value: object) -> str:
    return type(value).__name__


def check_name(value: object, field: str, max_len: int = 256) -> str:
    """A required identifier-like string: non-empty, printable (no control characters, no lone
    surrogates), bounded."""
    if type(value) is not str:
        if not isinstance(value, str):
            raise InvalidInput(field, f"expected a string, got {_kind(value)}")
        value = str(value)  # (a str subclass is stored as the plain string it holds)
    if not value:
        raise InvalidInput(field, "must not be empty")
    if len(value) > max_len:
        raise InvalidInput(field, f"longer than {max_len} characters")
    if not value.isprintable():
        raise InvalidInput(field, "must not contain control characters or unpaired surrogates")
    return value


def opt_name(value: object, field: str, max_len: int = 256) -> str | None:
    return None if value is None else check_name(value, field, max_len)


def check_text(value: object, field: str, max_len: int = MAX_TEXT) -> str:
    """Free text (a summary, an error message): non-blank, bounded, valid Unicode; newlines allowed."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"expected a string, got {_kind(value)}")
    if not value.strip():
        raise InvalidInput(field, "must not be empty")
    if len(value) > max_len:
        raise InvalidInput(field, f"longer than {max_len} characters")
    return _unicode(str(value), field)


def check_message(value: object, field: str, max_len: int = 10_000) -> str:
    """A message (an error text): any valid Unicode text, cut to ``max_len`` characters."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"expected a string, got {_kind(value)}")
    return _unicode(str(value)[:max_len], field)


def _unicode(value: str, field: str) -> str:
    """``value`` if it is valid Unicode text (no unpaired surrogate: it could not be stored)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidInput(field, "contains an unpaired surrogate (not valid Unicode text)") from None
    return value


def check_int(value: object, field: str, lo: int = MIN_INT, hi: int = MAX_INT) -> int:
    """An integer (not a bool) in ``[lo, hi]``; the default range is what the store can hold."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, f"expected an integer, got {_kind(value)}")
    if value < lo:
        raise InvalidInput(field, f"must be >= {lo}")
    if value > hi:
        raise InvalidInput(field, f"must be <= {hi}")
    return int(value)


def check_limit(limit: object, field: str = "limit") -> int:
    return check_int(limit, field, 1, MAX_LIMIT)


def check_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, f"expected True or False, got {_kind(value)}")
    return value


def duration_us(value: object, field: str) -> int:
    """A positive duration, seconds (int or float, finite) or a timedelta, in whole microseconds;
    at least one microsecond and at most 100 years."""
    if isinstance(value, timedelta):
        us = value // _US
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InvalidInput(field, "must be a finite number of seconds")
        if value > MAX_SECONDS:  # (before scaling: 1e300 s would make a huge int)
            raise InvalidInput(field, f"must be at most {MAX_SECONDS} seconds (100 years)")
        if value <= 0:  # (before scaling too: -1.8e302 s times 1e6 is -inf)
            raise InvalidInput(field, "must be positive")
        us = int(value * 1_000_000)
    else:
        raise InvalidInput(field, f"expected seconds or a timedelta, got {_kind(value)}")
    if us <= 0:
        raise InvalidInput(field, "must be positive")
    if us > MAX_SECONDS * 1_000_000:
        raise InvalidInput(field, f"must be at most {MAX_SECONDS} seconds (100 years)")
    return us


def check_seconds(value: object, field: str) -> float | timedelta:
    """A duration argument (see :func:`duration_us`), returned as given."""
    duration_us(value, field)
    return value  # type: ignore[return-value]


def check_datetime(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"expected a datetime, got {_kind(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, "datetime must be timezone-aware (use UTC)")
    return value


def check_mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(field, f"expected a mapping, got {_kind(value)}")
    return value


def _items(value: object, field: str) -> list[object]:
    """One string or a finite collection of them, as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInput(field, f"expected a string or a list of strings, got {_kind(value)}")
    items = []
    for item in value:
        items.append(item)
        if len(items) > MAX_ITEMS:
            raise InvalidInput(field, f"more than {MAX_ITEMS} values")
    return items


def check_names(value: object, field: str) -> list[str]:
    """One name or several (a list, tuple or other iterable of names), at least one."""
    names = [check_name(v, field) for v in _items(value, field)]
    if not names:
        raise InvalidInput(field, "must name at least one value")
    return names


def check_ids(value: object, field: str) -> list[str]:
    """Zero or more ids (one id string, or an iterable of them), duplicates dropped, order kept."""
    return list(dict.fromkeys(check_name(v, field) for v in _items(value, field)))


def check_choice(value: object, field: str, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        shown = repr(value) if isinstance(value, str) and value.isprintable() else f"a {_kind(value)}"
        raise InvalidInput(field, f"{shown[:80]} is not one of {', '.join(options)}")
    return value


def check_choices(value: object, field: str, choices: Iterable[str]) -> list[str]:
    """One value or several (any iterable of strings), each from ``choices``."""
    options = tuple(choices)
    values = _items(value, field)
    if not values:
        raise InvalidInput(field, "must name at least one value")
    return [check_choice(v, field, options) for v in values]


# -- cursors: opaque, and tagged with the listing that made them ----------------------------------


def encode_cursor(listing: str, *parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([listing, *parts])).decode().rstrip("=")


def check_cursor(cursor: object, field: str = "cursor") -> str:
    if not isinstance(cursor, str) or not cursor or len(cursor) > 4096 or not cursor.isascii():
        raise InvalidInput(field, "expected a cursor string from a previous page (next_cursor)")
    return cursor


def decode_cursor(cursor: object, listing: str, types: tuple[type, ...], field: str = "cursor") -> list[Any]:
    """The parts of a cursor made by :func:`encode_cursor` for ``listing``, of the given types."""
    text = check_cursor(cursor, field)
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidInput(field, "not a cursor made by this store") from None
    if not isinstance(parts, list) or not parts or parts[0] != listing:
        raise InvalidInput(field, f"not a cursor of this listing ({listing})")
    values = parts[1:]
    if len(values) != len(types) or not all(type(v) is t for v, t in zip(values, types, strict=True)):
        raise InvalidInput(field, f"not a cursor of this listing ({listing})")
    if any(type(v) is int and not MIN_INT <= v <= MAX_INT for v in values):
        raise InvalidInput(field, "not a cursor made by this store")
    return values


def check_batch(value: object, field: str) -> list[Any]:
    """The items of a batch call: a list, tuple or other iterable (not a string or a mapping)."""
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInput(field, f"expected a list of items, got {_kind(value)}")
    return value if type(value) is list else list(value)


def as_list(value: str | Iterable[str]) -> list[str]:
    """A checked one-or-several argument as a list (``@checked`` already made it one)."""
    if type(value) is list:
        return value
    return [value] if isinstance(value, str) else list(value)
