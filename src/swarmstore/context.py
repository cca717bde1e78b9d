"""What every domain service shares: the engine and the store's settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .clock import now_us
from .engine.base import Engine

DEFAULT_MAX_VALUE_BYTES = 1 << 20


@dataclass(slots=True)
class Context:
    engine: Engine
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES
    actor: str | None = None
    retry_base_us: int = 1_000_000  # first retry backoff of a failed task; doubles per attempt
    max_task_depth: int = 100  # longest allowed prerequisite chain
    now_us: Callable[[], int] = now_us  # the store's clock (injectable: swarmstore.open(url, clock=...))
