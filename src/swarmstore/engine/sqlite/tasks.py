"""The SQLite engine's tasks operations (``engine.tasks``): SQL text in ``sql/tasks.sql``."""

from __future__ import annotations

from typing import Any


class SqliteTaskOps:
    """``TaskOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
