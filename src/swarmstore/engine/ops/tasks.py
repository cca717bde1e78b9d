"""The tasks operations every engine implements (``engine.tasks``), and the rows they return."""

from __future__ import annotations

from typing import Protocol


class TaskOps(Protocol):
    """tasks operations (to be declared by the engine-boundary move of issue 14)."""
