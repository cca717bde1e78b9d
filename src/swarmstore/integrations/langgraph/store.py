"""``SwarmstoreStore``: LangGraph's long-term memory (``BaseStore``) on swarmstore memory."""

from __future__ import annotations

import asyncio
import contextlib
import operator
from collections.abc import Iterable
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

import swarmstore
from swarmstore.errors import NotFound
from swarmstore.models import Memory

from .embeddings import LangChainEmbedder
from .keys import decode_namespace, encode_namespace
from .matching import check_ops, matches, passes, predicate

TTL = "lg_ttl_minutes"  # metadata: the item's TTL, to refresh it on read
NOINDEX = "lg_noindex"  # metadata: put with index=False (left out of searches by query)
_PAGE = 1000
# SearchOp.query, read by name: outside the engines `.query` is reserved for SQL (test_engine_boundary.py)
_query_of = operator.attrgetter("query")


class SwarmstoreStore(BaseStore):
    """A LangGraph store on a swarmstore ``Store`` (or ``swarmstore.aio.AsyncStore``).

    A namespace tuple is the swarmstore namespace ``root:<label>:<label>...`` (each label encoded
    by ``keys.encode_label``), the item key is the memory key and the value dict the memory value;
    every put is a new version of the memory (history, restore and audit apply). ``index`` makes
    ``query`` a semantic search of swarmstore's index (the store's embedder: ``from_url`` opens
    one with ``index["embed"]``); without it a query is ignored, as in LangGraph's own stores.
    """

    supports_ttl = True

    def __init__(
        self,
        store: Any,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        root: str = "langgraph",
        owns_store: bool = False,
    ) -> None:
        self.store = getattr(store, "sync", store)  # an AsyncStore's plain store
        self.index_config = index
        self.ttl_config = ttl
        self.root = root
        self._memory = self.store.memory
        self._names: dict[tuple[str, ...], str] = {}
        self._owns = owns_store
        self._inline = not str(self.store.url).startswith("postgres")
        self.embeddings = None if index is None else index.get("embed")

    @classmethod
    def from_url(
        cls, url: str, *, index: IndexConfig | None = None, ttl: TTLConfig | None = None, **options: Any
    ) -> SwarmstoreStore:
        """Open the swarmstore at ``url`` (``options`` as ``swarmstore.open``'s) with ``index["embed"]``
        as its embedder when given; ``close()`` closes it."""
        if index is not None and index.get("embed") is not None:
            options.setdefault("embedder", LangChainEmbedder(index["embed"], index["dims"]))
        return cls(swarmstore.open(url, **options), index=index, ttl=ttl, owns_store=True)

    def close(self) -> None:
        """Close the swarmstore if ``from_url`` opened it."""
        if self._owns:
            self.store.close()

    # -- ops ---------------------------------------------------------------------------------------

    def _ns(self, labels: tuple[str, ...]) -> str:
        """The swarmstore namespace of ``labels`` (remembered: agents reuse a few namespaces)."""
        if type(labels) is not tuple:
            labels = tuple(labels)  # (a list, from a caller that built the op by hand)
        ns = self._names.get(labels)
        if ns is None:
            if len(self._names) > 4096:
                self._names.clear()
            ns = self._names[labels] = encode_namespace(self.root, labels)
        return ns

    def _item(self, m: Memory, labels: tuple[str, ...] | None = None) -> Item:
        ns = decode_namespace(self.root, m.namespace) if labels is None else labels
        return Item(value=m.value, key=m.key, namespace=ns, created_at=m.created_at, updated_at=m.updated_at)

    def _refresh(self, m: Memory, refresh: bool) -> None:
        """Restart an item's TTL on read: a new version with the same value (the core has no ``touch``)."""
        minutes = m.metadata.get(TTL) if m.expires_at is not None else None
        if minutes is None or not refresh or not (self.ttl_config or {}).get("refresh_on_read", True):
            return
        self._memory.put(m.namespace, m.key, m.value, metadata=m.metadata, ttl=float(minutes) * 60)

    def _get(self, op: GetOp) -> Item | None:
        try:
            m = self._memory.get(self._ns(op.namespace), op.key)
        except NotFound:
            return None
        self._refresh(m, op.refresh_ttl)
        return self._item(m, tuple(op.namespace))

    def _put(self, ops: list[PutOp]) -> None:
        items: list[dict[str, Any]] = []
        for op in ops:
            ns = self._ns(op.namespace)
            if op.value is None:
                self._flush(items)
                with contextlib.suppress(NotFound):  # deleting what is not there is no error
                    self._memory.delete(ns, op.key)
                continue
            value = op.value if type(op.value) is dict else dict(op.value)
            item: dict[str, Any] = {"namespace": ns, "key": op.key, "value": value}
            meta: dict[str, Any] = {}
            if op.ttl is not None:
                meta[TTL] = op.ttl
                item["ttl"] = op.ttl * 60
            if op.index is False:
                meta[NOINDEX] = True
            # metadata=None keeps the previous version's: harmless for a stale TTL (refresh needs an
            # expiry too) but not for a stale NOINDEX, which only a store with an index reads
            if meta or self.index_config is not None:
                item["metadata"] = meta
            items.append(item)
        self._flush(items)

    def _flush(self, items: list[dict[str, Any]]) -> None:
        if len(items) == 1:
            self._memory.put(**items[0])
        elif items:
            self._memory.put_many(list(items))
        items.clear()

    def _search(self, op: SearchOp) -> list[SearchItem]:
        prefix = encode_namespace(self.root, tuple(op.namespace_prefix))
        text = _query_of(op)
        if text and self.index_config is not None:
            return self._search_query(op, text, prefix)
        found: list[Memory] = []
        cursor = None
        keep = predicate(op.filter)
        while True:
            page = self._memory.list(prefix, limit=_PAGE, cursor=cursor)
            found.extend(m for m in page if keep(m.value))
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        found.sort(key=lambda m: m.updated_at, reverse=True)
        chosen = found[op.offset : op.offset + op.limit]
        for m in chosen:
            self._refresh(m, op.refresh_ttl)
        return [self._hit(m, None) for m in chosen]

    def _search_query(self, op: SearchOp, text: str, prefix: str) -> list[SearchItem]:
        want = op.offset + op.limit
        k = min(1000, want if not op.filter else max(want * 4, 100))
        while True:
            hits = self._memory.search(text, prefix=prefix, k=k, mode="semantic")
            kept = [h for h in hits if not h.memory.metadata.get(NOINDEX) and passes(h.memory.value, op.filter)]
            if len(kept) >= want or len(hits) < k or k == 1000:
                break
            k = min(1000, k * 4)
        chosen = kept[op.offset : want]
        for h in chosen:
            self._refresh(h.memory, op.refresh_ttl)
        return [self._hit(h.memory, h.score) for h in chosen]

    def _hit(self, m: Memory, score: float | None) -> SearchItem:
        return SearchItem(
            namespace=decode_namespace(self.root, m.namespace),
            key=m.key,
            value=m.value,
            created_at=m.created_at,
            updated_at=m.updated_at,
            score=score,
        )

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conds = op.match_conditions or ()
        literal: tuple[str, ...] = ()
        for cond in conds:  # the leading labels of a prefix condition narrow the scan
            if cond.match_type == "prefix":
                lead = []
                for label in cond.path:
                    if label == "*":
                        break
                    lead.append(label)
                literal = max(literal, tuple(lead), key=len)
        names = [decode_namespace(self.root, ns) for ns in self._memory.namespaces(encode_namespace(self.root, literal))]
        names = [n for n in names if n and all(matches(c, n) for c in conds)]
        if op.max_depth is not None:
            names = sorted({n[: op.max_depth] for n in names})
        else:
            names.sort()
        return names[op.offset : op.offset + op.limit]

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run LangGraph ops in order (consecutive puts as one transaction); results in op order."""
        ops = list(ops)
        check_ops(ops)
        results: list[Result] = [None] * len(ops)
        puts: list[PutOp] = []
        for i, op in enumerate(ops):
            if isinstance(op, PutOp):
                puts.append(op)
                continue
            if puts:
                self._put(puts)
                puts = []
            if isinstance(op, GetOp):
                results[i] = self._get(op)
            elif isinstance(op, SearchOp):
                results[i] = self._search(op)
            elif isinstance(op, ListNamespacesOp):
                results[i] = self._list_namespaces(op)
            else:
                raise ValueError(f"unknown operation {type(op).__name__}")
        if puts:
            self._put(puts)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """``batch``, inline on SQLite (microseconds), on a worker thread for PostgreSQL."""
        if self._inline:
            return self.batch(ops)
        return await asyncio.to_thread(self.batch, list(ops))
