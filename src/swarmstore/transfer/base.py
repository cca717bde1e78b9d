"""The two ends of a copy, as each engine's module implements them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from .schema import Plan, TableInfo

Rows = list[tuple[Any, ...]]
BATCH = 5_000  # rows read and written at a time: a store of any size streams through in bounded memory


class Reader(Protocol):
    """A store read at the table level, all tables from one snapshot (``open`` to ``close``)."""

    label: str  # the store, for messages

    def tables(self) -> Mapping[str, TableInfo]:
        """Every table, as the catalog describes it."""
        ...

    def count(self, table: str) -> int: ...

    def batches(self, plan: Plan, size: int = BATCH) -> Iterator[Rows]:
        """The table's rows in primary-key order (text compared bytewise), values in
        ``plan.columns`` order, JSON columns as compact JSON text (as SQLite stores it)."""
        ...

    def close(self) -> None: ...


class Writer(Protocol):
    """An empty store being filled: one transaction from ``begin`` to ``commit``."""

    label: str

    def tables(self) -> Mapping[str, TableInfo]: ...

    def begin(self, plans: Sequence[Plan]) -> None:
        """Start the transaction, keep other writers out, and refuse (changing nothing) if any of
        the tables holds a row."""
        ...

    def insert(self, plan: Plan, rows: Rows) -> None: ...

    def commit(self) -> None:
        """Make the rows durable (and, where ids come from sequences, move them past the copied ids)."""
        ...

    def rollback(self) -> None: ...

    def reader(self) -> Reader:
        """A new reader of what was committed (the verification reads through it); may be called
        after ``close``."""
        ...

    def close(self) -> None: ...
