"""The sessions operations every engine implements (``engine.sessions``), and the rows they return."""

from __future__ import annotations

from typing import Protocol


class SessionOps(Protocol):
    """sessions operations (to be declared by the engine-boundary move of issue 14)."""
