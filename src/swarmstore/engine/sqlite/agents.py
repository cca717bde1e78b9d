"""The SQLite engine's agents operations (``engine.agents``): SQL text in ``sql/agents.sql``."""

from __future__ import annotations

from typing import Any


class SqliteAgentOps:
    """``AgentOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
