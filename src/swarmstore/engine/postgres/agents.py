"""The PostgreSQL engine's agents operations (``engine.agents``): SQL text in ``sql/agents.sql``."""

from __future__ import annotations

from typing import Any


class PgAgentOps:
    """``AgentOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
