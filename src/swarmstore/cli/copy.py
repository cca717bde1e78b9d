"""``swarmstore copy SRC DST``: a whole store into an empty one, with a progress bar, verified."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from swarmstore.transfer import CopyReport, copy_store

from .common import JsonOpt, db_path, make_private_dirs
from .output import emit_json, table


def copy(
    src: Annotated[str, typer.Argument(help="The store to copy: a SQLite path or URL, or postgresql://…")],
    dst: Annotated[str, typer.Argument(help="An empty store, or a new file or empty database, to copy into.")],
    json_out: JsonOpt = False,
) -> int:
    """Copy a whole store (SQLite or PostgreSQL) into an empty one, then compare every table's
    row count and checksum. Exit status 1 if any differs."""
    path = db_path(dst)
    if path is not None:
        make_private_dirs(os.path.dirname(os.path.abspath(path)))
    err = Console(stderr=True)
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=json_out or not err.is_terminal,
    ) as bar:
        bars: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in bars:
                bars[name] = bar.add_task(name, total=max(total, 1))
            bar.update(bars[name], completed=done if total else 1)

        report = copy_store(src, dst, progress)
    _show(report, json_out)
    if not report.ok:
        print(
            f"error: the copy differs from the source in {', '.join(report.mismatched)} "
            "(row counts or checksums): do not use it",
            file=sys.stderr,
        )
        return 1
    return 0


def _show(report: CopyReport, json_out: bool) -> None:
    if json_out:
        emit_json(
            {
                "source": report.source,
                "destination": report.target,
                "ok": report.ok,
                "rows": report.rows,
                "seconds": round(report.seconds, 3),
                "tables": [t._asdict() | {"ok": t.ok} for t in report.tables],
            }
        )
        return
    table(
        f"copied {report.source} -> {report.target}",
        ["table", "rows", "copied", "checksum", "ok"],
        [
            [t.table, t.source_rows, t.target_rows, t.source_sha256[:16], "yes" if t.ok else "NO"]
            for t in report.tables
        ],
    )
    if report.ok:
        print(
            f"verified: {len(report.tables)} tables, {report.rows:,} rows in {report.seconds:.1f} s: "
            "row counts and checksums match"
        )
