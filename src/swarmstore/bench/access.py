"""What a scoped view (``store.scoped``) costs: its calls beside the store's own, and its
filtered listing beside the raw SQL a user would write for the same rows; alternating rounds."""

from __future__ import annotations

import random
from typing import Any

from .. import Store
from ..clock import now_us
from . import raw
from .harness import Result, measure_pair

# A page of every user's "prefs" namespace: rows of the view's rule ``user:*:prefs``, by hand, as
# well as by hand it gets: the '+' keeps SQLite from turning the GLOB into a range of its own that
# would start each page at 'user:' (measured 5x slower: a naive baseline would flatter us).
_RAW_PREFS = (
    "SELECT namespace, key, value, type, version, metadata, created_by, created_at, updated_at, expires_at, "
    "deleted_at, updated_by FROM memories WHERE (namespace, key) > (?, '') AND namespace < 'user;' "
    "AND +namespace GLOB 'user:*:prefs' AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?) "
    "ORDER BY namespace, key LIMIT 101"
)


def run(store: Store, path: str, data: dict[str, Any], n: int, rnd: random.Random) -> list[Result]:
    keys = [k for k in data["keys"] if k[0].startswith("project:")]
    view = store.scoped("agent:bench", read=["project:*"], write=["project:*"])
    prefs = store.scoped("agent:bench", read=["user:*:prefs"])
    rk = [rnd.choice(keys) for _ in range(n)]
    areas = sorted({ns for ns, _ in keys})
    ra = [rnd.choice(areas) for _ in range(n)]
    users = sorted({ns.rsplit(":", 1)[0] for ns, _ in data["keys"] if ns.startswith("user:")})
    ru = [rnd.choice(users[:-4]) for _ in range(n)]
    out: list[Result] = []

    def pair(ours: Result, base: Result, note: str) -> None:
        ours.baseline, ours.target, ours.read = base, note, True
        out.append(ours)

    r, b = measure_pair("view: memory get", lambda i: view.memory.get(*rk[i]), lambda i: store.memory.get(*rk[i]), n, 500)
    pair(r, b, "raw: store.memory.get")

    m = max(200, n // 10)

    def view_list(i: int) -> None:
        assert len(view.memory.list(ra[i], limit=100)) == 100

    r, b = measure_pair("view: memory listing (100 rows)", view_list, lambda i: store.memory.list(ra[i], limit=100), m, 50)
    pair(r, b, "raw: store.memory.list")

    rc = raw.connect(path)

    def start_at(i: int) -> None:
        page = prefs.memory.list("user", limit=100, cursor=_cursor(ru[i]))
        assert len(page) == 100

    def raw_at(i: int) -> Any:
        return rc.execute(_RAW_PREFS, (ru[i] + ":prefs", now_us())).fetchall()

    r, b = measure_pair("view 'user:*:prefs': listing (100 rows)", start_at, raw_at, m, 50)
    pair(r, b, "raw: SQL with GLOB")
    return out


def _cursor(user_ns: str) -> str:
    """A listing cursor just before ``user_ns``'s prefs namespace (its first key is k000)."""
    from ..validation import encode_cursor

    return encode_cursor("memory", user_ns + ":prefs", "")
