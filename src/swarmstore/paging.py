"""Keyset pagination of the newest-first listings (sessions, audit, tasks): the cursors.

The engines' listing operations take the last key of the previous page (``before``) and a row
count; this module turns a page's cursor into that key and the rows into a page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .models import Page
from .validation import decode_cursor, encode_cursor

T = TypeVar("T")
R = TypeVar("R", bound=tuple[Any, ...])


def before(cursor: str | None, listing: str, key_type: type = str) -> Any:
    """The key a page starts below: None for the first page, else the last key of the previous."""
    if cursor is None:
        return None
    (last,) = decode_cursor(cursor, listing, (key_type,))
    return last


def page(rows: Sequence[R], limit: int, decode: Callable[[R], T], listing: str) -> Page[T]:
    """A page of the first ``limit`` of ``rows`` (asked for ``limit + 1``: one more tells that
    there is a next page, whose cursor is the last key, the row's first field, of this one)."""
    items = [decode(r) for r in rows[:limit]]
    return Page(items, encode_cursor(listing, rows[limit - 1][0]) if len(rows) > limit else None)

