"""The PostgreSQL engine's memory operations (``engine.memory``): SQL text in ``sql/memory.sql``."""

from __future__ import annotations

from typing import Any


class PgMemoryOps:
    """``MemoryOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
