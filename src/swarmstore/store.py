"""The synchronous store: one open database and its services."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from .agents import Agents
from .audit import Audit
from .clock import clock_us, now_us, seconds_us
from .context import DEFAULT_MAX_VALUE_BYTES, Context
from .engine import open_engine
from .engine.base import Engine
from .memory import MemoryStore
from .sessions import Sessions
from .tasks import Tasks
from .validation import check_int, opt_name


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
        return f"Store({self.url!r})"


_STORE_OPTIONS = ("max_value_bytes", "actor", "retry_base_seconds", "max_task_depth", "clock")


def open(url: str, **options: Any) -> Store:
    """Open (creating and migrating if needed) the store at a path or URL.

    ``"swarm.db"`` or ``"sqlite:///path/swarm.db"`` use the embedded SQLite engine (options
    ``synchronous`` ("normal" or "full"), ``busy_timeout_ms``...); ``"postgresql://user@host/db"``
    the PostgreSQL engine (options ``schema`` (also ``?schema=`` in the URL), ``pool_min``,
    ``pool_max``, ``pool_timeout``, ``connect_timeout``; needs ``pip install "swarmstore[postgres]"``).
    Store options: ``max_value_bytes``
    (default 1 MiB), ``actor`` (default actor recorded in the audit log), ``retry_base_seconds``
    (first retry backoff of a failed task, default 1 s), ``max_task_depth`` (longest allowed
    prerequisite chain, default 100), ``clock`` (a callable returning the current aware datetime,
    e.g. ``swarmstore.clock.ManualClock()`` in tests; default: the system clock).
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
