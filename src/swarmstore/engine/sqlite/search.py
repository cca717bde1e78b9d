"""The SQLite engine's search index (``engine.search``): FTS5 for keywords, an in-process numpy
matrix for vectors (``vectors.py``); SQL text in ``sql/search.sql``."""

from __future__ import annotations

import builtins
import threading
from collections.abc import Sequence
from typing import Any

from ...search.query import KeywordQuery
from ..ops.search import Candidate, IndexedText, PendingItem, SearchFilter, Vector
from ..where import Where, search_item_where

_new = tuple.__new__
_ITEM = "SELECT i.id, i.kind, i.namespace, i.ref, i.seq"
# An item is live when its entity is: a memory not deleted nor expired, a chunk of a document.
_JOINS = (
    " LEFT JOIN memories m ON i.kind = 'memory' AND m.namespace = i.namespace AND m.key = i.ref"
    " LEFT JOIN documents d ON i.kind = 'chunk' AND d.id = i.ref"
)
_LIVE = (
    "i.removed = 0 AND (m.namespace IS NOT NULL AND m.deleted_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > ?)"
    " OR d.id IS NOT NULL)"
)
_MAKING = threading.Lock()
_ROUND = 64  # semantic candidates checked per round (more rounds only when many are filtered out)
_MAX_ROUND = 8192


def _filters(spec: SearchFilter, now: int, where: Where) -> Where:
    """The conditions of ``spec`` on ``search_items i`` joined to its entities (``_JOINS``)."""
    where.add(_LIVE, now)
    search_item_where(spec, where)
    for key, value in (spec.metadata or {}).items():
        path = '$."' + key.replace('"', '""') + '"'
        where.add("coalesce(m.metadata, d.metadata) -> ? = json(?)", path, _json(value))
    return where


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


class SqliteSearchOps:
    """``SearchOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    index_on_write = False  # (the audit log says what changed: see migrations/0008_search.sql)

    def __init__(self, runner: Any) -> None:
        from .engine import QUERIES

        self._run = runner
        self._q = QUERIES
        self._shared: dict[str, Any] = runner.shared

    # -- searches --------------------------------------------------------------------------------

    def keyword(self, query: KeywordQuery, spec: SearchFilter, now: int, limit: int) -> builtins.list[Candidate]:
        where = Where()
        where.add("search_fts MATCH ?", query.fts5)
        _filters(spec, now, where)
        sql, params = where.query(
            f"{_ITEM}, -bm25(search_fts) FROM search_fts CROSS JOIN search_items i ON i.id = search_fts.rowid{_JOINS}",
            "bm25(search_fts)",
            limit,
        )
        return [_new(Candidate, r) for r in self._run.query(sql, params)]

    def semantic(self, vector: Any, spec: SearchFilter, now: int, limit: int) -> builtins.list[Candidate]:
        ids, scores = self._index().search(vector, spec.kinds, spec.prefix, spec.types, len(vector), spec.allowed)
        if not len(ids):
            return []
        import numpy as np

        out: builtins.list[Candidate] = []
        batch = max(limit, _ROUND)
        # The best ``batch`` by a partial sort first (the common case needs no more); the rest
        # sorted only if too many of those fail the checks below.
        if batch < len(scores):
            top = np.argpartition(-scores, batch)[:batch]
            order = top[np.argsort(-scores[top], kind="stable")]
        else:
            order = np.argsort(-scores, kind="stable")
        checked = np.zeros(len(scores), bool)
        pos = 0
        # The matrix answered kind, namespace (and a view's rules) and type; liveness and metadata are checked on the
        # best candidates, round after round, until ``limit`` pass or none is left.
        while len(out) < limit:
            if pos >= len(order):
                rest = np.flatnonzero(~checked)
                if not len(rest):
                    break
                order, pos = rest[np.argsort(-scores[rest], kind="stable")], 0
            take = order[pos : pos + batch]
            pos += len(take)
            batch = min(2 * batch, _MAX_ROUND)  # (a round's ids are bound one a variable)
            checked[take] = True
            by_id = {int(ids[j]): float(scores[j]) for j in take}
            live = self._live(builtins.list(by_id), spec, now)
            out += sorted(
                (_new(Candidate, (*live[i], by_id[i])) for i in by_id if i in live), key=lambda c: -c.score
            )
        return out[:limit]

    def _live(self, ids: builtins.list[int], spec: SearchFilter, now: int) -> dict[int, tuple[Any, ...]]:
        where = _filters(spec._replace(prefix="", types=None, allowed=None), now, Where())
        where.add(f"i.id IN ({', '.join('?' * len(ids))})", *ids)
        rows = self._run.query(f"{_ITEM} FROM search_items i{_JOINS}{where.clause()}", where.params)
        return {r[0]: r for r in rows}

    def _index(self) -> Any:
        """The engine's vector index (one per engine, whichever view searches), made on first use."""
        index = self._shared.get("vectors")
        if index is None:
            from .vectors import VectorIndex

            with _MAKING:
                index = self._shared.get("vectors") or self._shared.setdefault("vectors", VectorIndex(self._shared["query"], self._q))
        return index

    # -- indexing --------------------------------------------------------------------------------

    def pending(self, limit: int, texts_only: bool = False) -> builtins.list[PendingItem]:
        sql = self._q.search_pending_texts if texts_only else self._q.search_pending_vectors
        return [_new(PendingItem, r) for r in self._run.query(sql, (limit,))]

    def maintain(self) -> None:
        return None  # (the vector matrix needs no index)

    def behind(self) -> bool:
        # (audit rows are read once: a range of them with no memory change only moves this
        # process's mark; the stored one moves with the next catch-up)
        last = self._run.query(self._q.search_last_audit)[0][0]
        seen = max(self._seen(), self._shared.get("audit_checked", 0))
        if last <= seen:
            return False
        if self._run.query(self._q.search_memory_changes, (seen, last)):
            return True
        self._shared["audit_checked"] = last
        return False

    def _seen(self) -> int:
        rows = self._run.query(self._q.search_meta_get, ("audit_seen",))
        return int(rows[0][0]) if rows else 0

    def catch_up(self, tx: Any) -> int:
        q = self._q
        seen = int((tx.execute(q.search_meta_get, ("audit_seen",)).fetchall() or [(0,)])[0][0])
        last = tx.execute(q.search_last_audit).fetchall()[0][0]
        changed = tx.execute(q.search_memory_changes, (seen, last)).fetchall()
        marks = [(ns, key, type_) for ns, key, type_ in changed if type_ is not None]
        if marks:
            tx.executemany(q.search_mark_memory, marks)
        for namespace, key, type_ in changed:
            if type_ is None:  # (purged)
                for (item,) in tx.execute(q.search_remove_memory, (namespace, key)).fetchall():
                    tx.execute(q.search_fts_delete, (item,))
        tx.execute(q.search_meta_set, ("audit_seen", str(last)))
        return len(changed)

    def index_texts(self, tx: Any, items: Sequence[IndexedText]) -> None:
        from ..ops.search import text_hash

        q = self._q
        old = dict(tx.execute(q.search_hashes, (_json([i.id for i in items]),)).fetchall())
        same, changed = [], []
        for item_id, text, source in items:
            digest = text_hash(text)
            if old.get(item_id) == digest:
                same.append((item_id, None, source))  # (the same text: its keyword row and vector stay)
            else:
                changed.append((item_id, digest, source, text))
        if same:
            tx.executemany(q.search_clear_stale, same)
        for item_id, digest, source, text in changed:
            if tx.execute(q.search_set_text, (item_id, digest, source)).fetchall():
                tx.execute(q.search_fts_put, (item_id, text))

    def set_vectors(self, tx: Any, vectors: Sequence[Vector]) -> int:
        conn = tx.getconnection()
        stored = 0
        for v in vectors:
            tx.execute(self._q.search_set_vector, v)
            stored += conn.changes()
        return stored

    def embedder(self) -> tuple[str, int] | None:
        name = self._run.query(self._q.search_meta_get, ("embedder",))
        dim = self._run.query(self._q.search_meta_get, ("dim",))
        return (name[0][0], int(dim[0][0])) if name and dim else None

    def set_embedder(self, tx: Any, name: str, dim: int) -> None:
        rows = tx.execute(self._q.search_meta_get, ("embedder",)).fetchall()
        dims = tx.execute(self._q.search_meta_get, ("dim",)).fetchall()
        if rows and (rows[0][0] != name or int(dims[0][0]) != dim):
            tx.execute(self._q.search_clear_vectors)
        tx.execute(self._q.search_meta_set, ("embedder", name))
        tx.execute(self._q.search_meta_set, ("dim", str(dim)))

    def counts(self) -> dict[str, int]:
        items, texts, vectors = self._run.query(self._q.search_counts)[0]
        return {"items": items, "pending_texts": texts, "pending_vectors": vectors}
