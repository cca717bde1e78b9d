"""The raw-SQL baselines' shared parts: a plain apsw connection with the store's settings, and the
memory put's statements as a user would run them by hand."""

from __future__ import annotations

from typing import cast

import apsw

from ..engine.sqlite.engine import QUERIES as Q

# The store's own settings (SqliteEngine._connect), so that only swarmstore's code differs.
PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "cache_size=-65536",
    "wal_autocheckpoint=10000",
    "mmap_size=268435456",
)


def connect(path: str) -> apsw.Cursor:
    """A cursor on a new apsw connection to ``path`` with the store's pragmas."""
    conn = apsw.Connection(path)
    conn.set_busy_timeout(5000)
    for pragma in PRAGMAS:
        conn.execute(f"PRAGMA {pragma}").fetchall()
    return conn.cursor()


def put(cur: apsw.Cursor, namespace: str, key: str, value: str, t: int) -> None:
    """One memory put (the upsert and its audit row, which is the version's history), inside the
    caller's transaction."""
    v, meta, _, _, aid, prev = cur.execute(
        Q.memory_upsert, (namespace, key, "semantic", value, None, None, t, None)
    ).fetchall()[0]
    snap = f'{{"type":"semantic","expires_at":null,"metadata":{meta},"value":{value}}}'
    cur.execute(
        Q.audit_insert_linked,
        (aid, t, None, "memory.put", "memory", f"{namespace}/{key}", namespace, f'{{"version":{cast(int, v)}}}', v,
         snap, prev),
    )  # fmt: skip
