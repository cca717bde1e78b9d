"""The SQLite engine's sessions operations (``engine.sessions``): SQL text in ``sql/sessions.sql``."""

from __future__ import annotations

from typing import Any


class SqliteSessionOps:
    """``SessionOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
