"""The SQLite engine's agents operations (``engine.agents``): SQL text in ``sql/agents.sql``."""

from __future__ import annotations

import builtins
from typing import Any

from ..ops.agents import AgentFilter, AgentRow
from ..where import Where, agent_where

_new = tuple.__new__


class SqliteAgentOps:
    """``AgentOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        from .engine import QUERIES  # (here: the engine module imports this one)

        self._q = QUERIES
        self._run = runner

    def insert(
        self, tx: Any, id: str, name: str, agent_type: str, model: str | None, session_id: str | None,
        metadata: str, now: int,
    ) -> None:  # fmt: skip
        tx.execute(self._q.agent_insert, (id, name, agent_type, model, session_id, metadata, now, now))

    def get(self, tx: Any | None, id: str) -> AgentRow | None:
        rows = (
            self._run.query(self._q.agent_get, (id,)) if tx is None else tx.execute(self._q.agent_get, (id,)).fetchall()
        )
        return _new(AgentRow, rows[0]) if rows else None

    def heartbeat(self, tx: Any, id: str, now: int, status: str | None, set_task: bool, task: str | None) -> None:
        tx.execute(self._q.agent_heartbeat, (id, now, status, set_task, task))

    def list(self, spec: AgentFilter, limit: int) -> builtins.list[AgentRow]:
        rows = self._run.query(*agent_where(spec, Where()).query(self._q.agent_select, "last_seen_at DESC, id DESC", limit))
        return [_new(AgentRow, r) for r in rows]
