"""The memory operations every engine implements (``engine.memory``), and the rows they return."""

from __future__ import annotations

from typing import Protocol


class MemoryOps(Protocol):
    """memory operations (to be declared by the engine-boundary move of issue 14)."""
