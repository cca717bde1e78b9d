"""``copy_store``: a whole store into an empty one, streamed table by table, then verified."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from .. import errors
from .base import BATCH, Reader, Writer
from .canon import TableDigest
from .ends import open_reader, open_writer, same_store
from .schema import Plan, plan

# progress(table, rows copied so far in it, its row count); called per batch, and with
# table "verify" while the destination is read back.
Progress = Callable[[str, int, int], None]


class TableReport(NamedTuple):
    """One table: rows and SHA-256 of its canonical rows, on each side."""

    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sha256 == self.target_sha256


class CopyReport(NamedTuple):
    """What ``copy_store`` did and what the verification found (``ok``: every table matches)."""

    source: str
    target: str
    tables: list[TableReport]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)

    @property
    def mismatched(self) -> list[str]:
        return [t.table for t in self.tables if not t.ok]


def copy_store(src_url: str, dst_url: str, progress: Progress | None = None, *, batch: int = BATCH) -> CopyReport:
    """Copy every table of the store at ``src_url`` into the empty store at ``dst_url`` (created
    and migrated if new), keeping ids, sequence numbers and audit chains exactly, then read the
    destination back and compare row counts and checksums per table.

    The source is only read (one snapshot); the destination is written in one transaction, so a
    failed copy leaves it as empty as it was. A destination holding any row is refused
    (``Conflict``) before anything is written. A mismatch is reported (``report.ok`` is False), not
    raised."""
    if same_store(src_url, dst_url):
        raise errors.InvalidInput("dst_url", "the destination is the source itself")
    started = time.monotonic()
    reader = open_reader(src_url)
    try:
        writer = open_writer(dst_url)
        try:
            plans = plan(reader.tables(), writer.tables())
            sources = _fill(reader, writer, plans, progress, batch)
        finally:
            writer.close()
    finally:
        reader.close()
    check = writer.reader()  # (a new snapshot: what was committed)
    try:
        targets = [_digest(check, p, progress, batch) for p in plans]
    finally:
        check.close()
    tables = [
        TableReport(s.table, s.rows, t[0], s.hexdigest(), t[1]) for s, t in zip(sources, targets, strict=True)
    ]
    return CopyReport(reader.label, writer.label, tables, time.monotonic() - started)


def _fill(reader: Reader, writer: Writer, plans: list[Plan], progress: Progress | None, batch: int) -> list[TableDigest]:
    """Stream every table from reader to writer in one transaction; the source's digests."""
    writer.begin(plans)
    digests = []
    try:
        for p in plans:
            total = reader.count(p.name)
            digest = TableDigest(p.name, p.columns, p.json)
            if progress:
                progress(p.name, 0, total)
            for rows in reader.batches(p, batch):
                digest.update(rows)
                writer.insert(p, rows)
                if progress:
                    progress(p.name, digest.rows, total)
            if digest.rows != total:  # (one snapshot: they can only differ by a bug)
                raise errors.StorageError(f"read {digest.rows} rows of table {p.name}, which holds {total}")
            digests.append(digest)
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    return digests


def _digest(reader: Reader, p: Plan, progress: Progress | None, batch: int) -> tuple[int, str]:
    """The table's row count (its own ``count(*)``, not the rows streamed: a reader that lost rows
    on the way would lose them on both sides alike) and checksum."""
    digest = TableDigest(p.name, p.columns, p.json)
    total = reader.count(p.name)
    for rows in reader.batches(p, batch):
        digest.update(rows)
        if progress:
            progress("verify " + p.name, digest.rows, total)
    if digest.rows != total:
        return total, f"(read {digest.rows} of its {total} rows)"
    return total, digest.hexdigest()


def store_checksums(url: str, batch: int = BATCH) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every table of a store (the same a copy reports), read-only."""
    reader = open_reader(url)
    try:
        plans = plan(reader.tables(), reader.tables())
        out = {}
        for p in plans:
            out[p.name] = _digest(reader, p, None, batch)
        return out
    finally:
        reader.close()
