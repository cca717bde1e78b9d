"""The PostgreSQL engine's tasks operations (``engine.tasks``): SQL text in ``sql/tasks.sql``."""

from __future__ import annotations

from typing import Any


class PgTaskOps:
    """``TaskOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
