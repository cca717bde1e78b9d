"""The SQLite engine's memory operations (``engine.memory``): SQL text in ``sql/memory.sql``."""

from __future__ import annotations

from typing import Any


class SqliteMemoryOps:
    """``MemoryOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
