"""The PostgreSQL engine's agents operations (``engine.agents``): SQL text in ``sql/agents.sql``."""

from __future__ import annotations

import builtins
from typing import Any

from ..ops.agents import AgentFilter, AgentRow
from ..where import Where, agent_where
from .runner import QUERIES

_new = tuple.__new__


class PgAgentOps:
    """``AgentOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._q = QUERIES
        self._run = runner

    def insert(
        self, tx: Any, id: str, name: str, agent_type: str, model: str | None, session_id: str | None,
        metadata: str, now: int,
    ) -> None:  # fmt: skip
        tx.execute(self._q.agent_insert, (id, name, agent_type, model, session_id, metadata, now, now))

    def get(self, tx: Any | None, id: str) -> AgentRow | None:
        if tx is None:
            rows = self._run.query(self._q.agent_get, (id,))
        else:
            rows = tx.execute(self._q.agent_get_locked, (id,)).fetchall()
        return _new(AgentRow, rows[0]) if rows else None

    def heartbeat(self, tx: Any, id: str, now: int, status: str | None, set_task: bool, task: str | None) -> None:
        params = {"id": id, "now": now, "status": status, "set_task": set_task, "task": task}
        tx.execute(self._q.agent_heartbeat, params)

    def list(self, spec: AgentFilter, limit: int) -> builtins.list[AgentRow]:
        where = agent_where(spec, Where("%s"))
        rows = self._run.query(*where.query(self._q.agent_select, "last_seen_at DESC, id DESC", limit))
        return [_new(AgentRow, r) for r in rows]
