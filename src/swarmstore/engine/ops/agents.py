"""The agents operations every engine implements (``engine.agents``), and the rows they return."""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple, Protocol


class AgentRow(NamedTuple):
    """One agent; ``metadata`` is JSON text, times are µs since the epoch."""

    id: str
    name: str
    agent_type: str
    model: str | None
    session_id: str | None
    status: str
    current_task: str | None
    metadata: str
    registered_at: int
    last_seen_at: int
    stopped_at: int | None


class AgentFilter(NamedTuple):
    """The filters of an agent listing."""

    seen_since: int | None = None  # only agents not stopped, seen at or after this time (µs)
    agent_type: str | None = None


class AgentOps(Protocol):
    """Registering agents, their heartbeats and status, and listing them."""

    def insert(
        self, tx: Any, id: str, name: str, agent_type: str, model: str | None, session_id: str | None,
        metadata: str, now: int,
    ) -> None:  # fmt: skip
        """Add an agent in status ``idle``, seen ``now``; ``metadata`` is JSON text."""
        ...

    def get(self, tx: Any | None, id: str) -> AgentRow | None:
        """The agent, or None; ``tx`` None: read alone, else locked against concurrent changes
        until the transaction ends."""
        ...

    def heartbeat(self, tx: Any, id: str, now: int, status: str | None, set_task: bool, task: str | None) -> None:
        """Mark the agent seen ``now``; a ``status`` (None: keep it) and, if ``set_task``, its
        current task. ``stopped`` also sets ``stopped_at``."""
        ...

    def list(self, spec: AgentFilter, limit: int) -> builtins.list[AgentRow]:
        """At most ``limit`` agents matching ``spec``, most recently seen first."""
        ...
