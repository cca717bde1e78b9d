"""Capture the SQL a store really runs, with its bindings, and ask SQLite for its query plans.

``exec_tracing(tracer)`` puts an apsw exec tracer on every connection opened while it is active
(through ``apsw.connection_hooks``), so a store opened inside it is traced without any hook in its
code. ``capture_sql()`` uses it to record each statement the store's reader and writer
connections run, as executed (after the domain code assembled it), with the values bound to it.
Plan tests then explain exactly those statements, so that a change to the code that builds a
listing's SQL shows in its plan (no hand copies of the SQL to drift from it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import apsw

Bindings = tuple[Any, ...] | dict[str, Any] | None

# Statements that are transaction control or settings, not queries of the data.
_HOUSEKEEPING = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One statement as SQLite ran it."""

    sql: str
    bindings: Bindings


@dataclass
class Recorder:
    """What the traced connections ran, in order (from every thread)."""

    statements: list[Statement] = field(default_factory=list)

    def _trace(self, cursor: apsw.Cursor, sql: str, bindings: Bindings) -> bool:
        self.statements.append(Statement(sql, bindings))
        return True  # (let it run)

    def during(self, call: Callable[[], Any]) -> list[Statement]:
        """The data statements (no BEGIN, COMMIT, PRAGMA ...) run while ``call()`` ran."""
        start = len(self.statements)
        call()
        return [s for s in self.statements[start:] if not _HOUSEKEEPING.match(s.sql)]


Tracer = Callable[[apsw.Cursor, str, Bindings], bool]


@contextmanager
def exec_tracing(tracer: Tracer) -> Iterator[None]:
    """Give every apsw connection opened inside the block ``tracer`` as its exec tracer (it sees
    each statement before it runs, and may refuse it by raising an apsw error)."""

    def hook(conn: apsw.Connection) -> None:
        conn.exec_trace = tracer

    apsw.connection_hooks.append(hook)
    try:
        yield
    finally:
        apsw.connection_hooks.remove(hook)


@contextmanager
def capture_sql() -> Iterator[Recorder]:
    """Record what every apsw connection opened inside the block runs (open the store inside it)."""
    rec = Recorder()
    with exec_tracing(rec._trace):
        yield rec


def explain(path: str, stmt: Statement) -> list[str]:
    """SQLite's query plan of ``stmt`` with its own bindings, one line per step (indented by depth),
    on a fresh untraced connection to the file at ``path``."""
    conn = apsw.Connection(path)
    conn.exec_trace = None
    try:
        rows = conn.execute("EXPLAIN QUERY PLAN " + stmt.sql, stmt.bindings).fetchall()
    finally:
        conn.close()
    depth: dict[int, int] = {0: -1}
    out = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        out.append("  " * depth[node] + str(detail))
    return out
