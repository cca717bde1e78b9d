"""Rendering for the CLI: rich tables for people, JSON for scripts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from ..jsonable import plain as plain  # (re-exported: the CLI imports it from here)
from ..models import Page

console = Console()


def emit_json(obj: Any) -> None:
    print(orjson.dumps(plain(obj), option=orjson.OPT_INDENT_2).decode())


def short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else orjson.dumps(plain(value)).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


def when(dt: datetime | None) -> str:
    return "" if dt is None else dt.strftime("%Y-%m-%d %H:%M:%S")


# At 80 columns a listing keeps its ids and namespaces on one line (to read and to copy them), lets
# the other columns wrap, and leaves out the columns below (--json has everything).
ONE_LINE = {"id", "namespace", "worker", "task", "seq", "v", "prio", "status", "type"}
WIDE_ONLY = {"updated", "score", "last seen", "worker"}
NARROW = 100


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    keep = [i for i, c in enumerate(columns) if c not in WIDE_ONLY or console.width >= NARROW]
    if len(keep) < len(columns):
        columns = [columns[i] for i in keep]
        rows = [[r[i] for i in keep] for r in rows]
    t = Table(title=title, title_justify="left")
    for c in columns:
        if c in ONE_LINE:
            t.add_column(c, no_wrap=True)
        else:
            t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    console.print(t)


def show_page(
    page: Page[Any],
    json_out: bool,
    title: str,
    columns: list[str],
    rows: Iterable[list[Any]],
    more_flag: str = "--cursor",
) -> None:
    """A listing page: JSON with ``next_cursor`` for scripts, or a table and how to get the next page."""
    if json_out:
        emit_json({"items": page.items, "next_cursor": page.next_cursor})
        return
    table(title, columns, list(rows))
    if page.next_cursor:
        console.print(f"more: {more_flag} {page.next_cursor}")
