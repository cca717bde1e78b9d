"""The agents operations every engine implements (``engine.agents``), and the rows they return."""

from __future__ import annotations

from typing import Protocol


class AgentOps(Protocol):
    """agents operations (to be declared by the engine-boundary move of issue 14)."""
