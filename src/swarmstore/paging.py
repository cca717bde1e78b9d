"""Keyset pagination shared by the newest-first listings (sessions, audit, and later tasks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .engine.base import Engine, Row
from .models import Page
from .validation import decode_cursor, encode_cursor

T = TypeVar("T")


def newest_first(
    engine: Engine,
    select: str,
    where: list[str],
    params: list[Any],
    cursor: str | None,
    limit: int,
    decode: Callable[[Row], T],
    listing: str,
    key_type: type = str,
) -> Page[T]:
    """Run ``select`` + ``where`` ordered by ``id DESC``, one page after ``cursor``.

    ``where``/``params`` are the caller's filters (fixed column names, bound values); the
    cursor is the last id of the previous page, so a page costs an index seek, not an offset.
    """
    ph = engine.placeholder
    where, params = list(where), list(params)
    if cursor is not None:
        (last,) = decode_cursor(cursor, listing, (key_type,))
        where.append(f"id < {ph}")
        params.append(last)
    sql = select
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY id DESC LIMIT {ph}"
    params.append(limit + 1)
    rows = engine.query(sql, params)
    items = [decode(r) for r in rows[:limit]]
    nxt = encode_cursor(listing, rows[limit - 1][0]) if len(rows) > limit else None
    return Page(items, nxt)
