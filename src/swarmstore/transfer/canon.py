"""Rows in one canonical form on every engine, and the per-table checksum over them.

A row is encoded as a JSON array of its values in column-name order: integers as integers, text as
text, NULL as null, and JSON columns parsed and re-encoded with sorted keys and integral numbers
written as integers (PostgreSQL's jsonb reorders keys, keeps the last of duplicate keys and writes
``1e20`` as ``100000000000000000000``; parsing both forms gives the same value). The checksum is
the SHA-256 of the rows, one per line, in primary-key order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from .. import errors

_SORT = orjson.OPT_SORT_KEYS


def _numbers(value: Any) -> Any:
    """``value`` with integral floats as integers (orjson reads big integers as floats, and jsonb
    may write a float as an integer: both sides of a copy must encode a number the same way)."""
    t = type(value)
    if t is float:
        return orjson.Fragment(str(int(value)).encode()) if value.is_integer() else value
    if t is dict:
        return {k: _numbers(v) for k, v in value.items()}
    if t is list:
        return [_numbers(v) for v in value]
    return value


def json_value(text: str | bytes, where: str) -> orjson.Fragment:
    """The canonical encoding of one JSON column value."""
    try:
        return orjson.Fragment(orjson.dumps(_numbers(orjson.loads(text)), option=_SORT))
    except orjson.JSONDecodeError as exc:
        raise errors.StorageError(f"{where} holds text that is not JSON: {exc}") from None


class TableDigest:
    """Counts and hashes one table's rows as they stream by (in primary-key order)."""

    def __init__(self, table: str, columns: Sequence[str], json: Iterable[str]) -> None:
        self.table = table
        self.rows = 0
        self._hash = hashlib.sha256()
        # (positions in column-name order, and which of those are JSON)
        order = sorted(range(len(columns)), key=lambda i: columns[i])
        json_cols = set(json)
        self._order = [(i, columns[i] in json_cols) for i in order]

    def update(self, batch: Sequence[Sequence[Any]]) -> None:
        """Add rows (values in the table's column order, JSON columns as text)."""
        out = []
        where = f"a {self.table} row"
        for row in batch:
            values = [
                json_value(row[i], where) if is_json and row[i] is not None else row[i] for i, is_json in self._order
            ]
            out.append(orjson.dumps(values))
        if out:
            self._hash.update(b"\n".join(out) + b"\n")
        self.rows += len(batch)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
