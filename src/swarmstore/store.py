"""The synchronous store: one open database and its services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .agents import Agents
from .audit import Audit
from .boundary import checked
from .clock import clock_us, now_us, seconds_us
from .context import DEFAULT_MAX_VALUE_BYTES, Context
from .documents import Documents, as_document
from .engine import open_engine
from .engine.base import Engine
from .engine.ops.search import Candidate
from .memory import MemoryStore, memory_model
from .models import DocumentChunk, Hit
from .params import K, Names, Object, Prefix, Query, SearchMode
from .search.chunking import search_text
from .search.service import SearchService, resolve_embedder
from .search.text import text_of
from .sessions import Sessions
from .tasks import Tasks
from .validation import check_int, opt_name

if TYPE_CHECKING:
    from .scoped import ScopedStore


class Store:
    """An open swarmstore. Safe to share between threads; many processes may open the same file.

    Services: ``sessions``, ``memory``, ``tasks``, ``agents``, ``audit``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        actor: str | None = None,
        retry_base_seconds: float = 1.0,
        max_task_depth: int = 100,
        clock: object = None,
        embedder: Any = "default",
        chunk_chars: int = 1200,
        chunk_overlap: int = 150,
        _check_embedder: bool = True,
    ):
        self.engine = engine
        base = seconds_us(retry_base_seconds, "retry_base_seconds")
        self._ctx = Context(
            engine,
            check_int(max_value_bytes, "max_value_bytes", 1),
            opt_name(actor, "actor"),
            base if base is not None else 1_000_000,
            check_int(max_task_depth, "max_task_depth", 1, 10_000),
            now_us if clock is None else clock_us(clock),
        )
        self.sessions = Sessions(self._ctx)
        self.memory = MemoryStore(self._ctx)
        self.tasks = Tasks(self._ctx)
        self.agents = Agents(self._ctx)
        self.audit = Audit(engine)
        self._search = SearchService(self._ctx, resolve_embedder(embedder), self._hydrate)
        if _check_embedder:
            self._search.check_embedder()
        self.documents = Documents(self._ctx, self._search, chunk_chars, chunk_overlap)
        self.memory._searcher = self._search

    @checked
    def search(
        self,
        query: Query,
        *,
        prefix: Prefix | None = None,
        types: Names | None = None,
        k: K = 10,
        mode: SearchMode = "hybrid",
        filters: Object | None = None,
    ) -> list[Hit]:
        """Memories and document chunks matching ``query``, best first, at most ``k``.

        ``mode``: "keyword" (BM25 over the words), "semantic" (by meaning: needs an embedder) or
        "hybrid" (by meaning, exact keyword matches lifted). ``prefix`` (namespaces), ``types``
        (memory or document types) and ``filters`` (equality on metadata keys) are applied before
        ranking. Deleted and expired memories never appear."""
        return self._search.find(("memory", "chunk"), query, prefix, types, k, mode, filters)

    def scoped(
        self,
        actor: str,
        *,
        read: Iterable[str] | str | None = None,
        write: Iterable[str] | str | None = None,
        queues: Iterable[str] | str | None = None,
        sessions: Iterable[str] | str | None = None,
        bind: Mapping[str, str] | None = None,
    ) -> ScopedStore:
        """A view of this store for ``actor``, limited by rules (patterns of segments joined by ':';
        ``*`` stands for one segment, or, last, for one or more; ``{name}`` is filled from
        ``bind``, ``{actor}`` from ``actor``):

        - ``read`` / ``write``: the memory and document namespaces it may read / write (writing
          implies reading), e.g. ``["project:acme:*", "user:{user}"]``;
        - ``queues``: the task queues it may use (submit, claim, read...), e.g. ``["research"]``;
        - ``sessions``: the sessions it may use, as ``app:user`` (``"chat:*"``: every user's).

        The view has this store's API. Every audit row it writes names ``actor``; a call outside
        the rules raises PermissionDenied, changes nothing and is audited (``access.denied``).
        A kind without rules is closed to the view."""
        from .scoped import ScopedStore, scope_of

        return ScopedStore(self, scope_of(self, actor, read, write, queues, sessions, bind))

    def index(self, progress: Any = None) -> int:
        """Index what is pending (texts, then vectors if an embedder is set): how many items."""
        return self._search.index_pending(progress=progress, strict=True)

    def reindex(self, progress: Any = None) -> int:
        """Embed every memory and chunk again with this store's embedder (after changing it)."""
        return self._search.reindex(progress)

    def _hydrate(self, candidates: list[Candidate]) -> list[tuple[Any, Any, str]]:
        """The entities of search candidates that still exist and are live: (key, model, text)."""
        now = self._ctx.now_us()
        out: list[tuple[Any, Any, str]] = []
        chunks = [(c.ref, c.seq) for c in candidates if c.kind == "chunk"]
        found = {(d[0], ch.seq): (d, ch) for d, ch in self.engine.documents.read_many(chunks)} if chunks else {}
        for c in candidates:
            key = (c.kind, c.namespace, c.ref, c.seq)
            if c.kind == "memory":
                row = self.engine.memory.get(c.namespace, c.ref, now)
                if row is not None:
                    m = memory_model(row)
                    out.append((key, m, text_of(m.value)))
            elif (c.ref, c.seq) in found:
                d, ch = found[c.ref, c.seq]
                chunk = DocumentChunk(*ch)
                out.append((key, (chunk, as_document(d)), search_text(ch.heading, ch.text)))
        return out

    @property
    def url(self) -> str:
        return self.engine.url

    def stats(self) -> dict[str, Any]:
        """The engine's figures (schema version, file or database size...) and row counts."""
        info = self.engine.stats()
        info["rows"] = self.engine.counts()
        return info

    def close(self) -> None:
        """Close every connection; further calls raise StoreClosed."""
        self.engine.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({getattr(self.engine, 'display_url', self.url)!r})"  # (no password shown)


_STORE_OPTIONS = (
    "max_value_bytes", "actor", "retry_base_seconds", "max_task_depth", "clock", "embedder", "chunk_chars",
    "chunk_overlap",
)  # fmt: skip


def open(url: str, **options: Any) -> Store:
    """Open (creating and migrating if needed) the store at a path or URL.

    ``"swarm.db"`` or ``"sqlite:///path/swarm.db"`` use the embedded SQLite engine (options
    ``synchronous`` ("normal" or "full"), ``busy_timeout_ms``...); ``"postgresql://user@host/db"``
    the PostgreSQL engine (options ``schema`` (also ``?schema=`` in the URL), ``pool_min``,
    ``pool_max``, ``pool_timeout``, ``connect_timeout``, ``hnsw_min_vectors``; needs ``pip install "swarmstore[postgres]"``).
    Store options: ``max_value_bytes``
    (default 1 MiB), ``actor`` (default actor recorded in the audit log), ``retry_base_seconds``
    (first retry backoff of a failed task, default 1 s), ``max_task_depth`` (longest allowed
    prerequisite chain, default 100), ``clock`` (a callable returning the current aware datetime,
    e.g. ``swarmstore.clock.ManualClock()`` in tests; default: the system clock), ``embedder``
    (for semantic search: "default", the shipped model when ``swarmstore[embed]`` is installed;
    None: keyword search only; or any object with ``name``, ``dim`` and ``embed(texts)``),
    ``chunk_chars`` and ``chunk_overlap`` (document chunk sizes, default 1200 and 150 characters).
    """
    store_opts = {k: options.pop(k) for k in _STORE_OPTIONS if k in options}
    if not isinstance(url, str):
        from .errors import InvalidInput

        raise InvalidInput("url", f"expected a path or URL string, got {type(url).__name__}")
    engine = open_engine(url, **options)  # (checks the engine's own options)
    try:
        return Store(engine, **store_opts)
    except BaseException:
        engine.close()
        raise


def reindex(url: str, embedder: Any = "default", progress: Any = None, **options: Any) -> int:
    """Embed every memory and document chunk of the store at ``url`` again with ``embedder`` (the
    way to change a store's embedder; ``swarmstore reindex`` on the command line): how many items."""
    store_opts = {k: options.pop(k) for k in _STORE_OPTIONS if k in options}
    store_opts.pop("embedder", None)
    engine = open_engine(url, **options)
    try:
        store = Store(engine, embedder=embedder, _check_embedder=False, **store_opts)
    except BaseException:
        engine.close()
        raise
    with store:
        return store.reindex(progress)
