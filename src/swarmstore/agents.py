"""Agents: who is alive and what they run.

An agent registers, then heartbeats while it works. One that stops heartbeating is shown as gone
(``alive=False``); the tasks it held come back through their lease expiry, not through the agent
record. States: ``idle <-> busy``, then ``stopping -> stopped`` (stopped is final: register again).
Status changes are audited; a heartbeat that changes nothing but the last-seen time is not (it
would flood the log with liveness pings).
"""

from __future__ import annotations

import builtins
from typing import Any

import orjson

from . import codec
from .boundary import checked
from .clock import _US, EPOCH, seconds_us
from .context import Context
from .engine.base import Cursor, Row
from .errors import InvalidTransition, NotFound
from .ids import new_id
from .models import Agent
from .params import AgentStatus, Flag, Id, Name, Object, OptionalId, Seconds

TRANSITIONS: dict[str, frozenset[str]] = {
    "idle": frozenset({"idle", "busy", "stopping", "stopped"}),
    "busy": frozenset({"idle", "busy", "stopping", "stopped"}),
    "stopping": frozenset({"stopping", "stopped"}),
    "stopped": frozenset({"stopped"}),
}
ALIVE_WITHIN_S = 30.0
_KEEP: Any = object()


_METADATA: dict[str, Any] = {"metadata": lambda r: orjson.loads(r[7])}  # (decoded on first read: models.Lazy)
_new = object.__new__


def _agent(r: Row, now: int, within_us: int) -> Agent:
    """An agent row, its metadata decoded on first read; ``alive`` as of ``now``."""
    a = _new(Agent)
    a._lazy = _METADATA
    a._row = r
    a.id = r[0]
    a.name = r[1]
    a.agent_type = r[2]
    a.model = r[3]
    a.session_id = r[4]
    a.status = r[5]
    a.current_task = r[6]
    a.registered_at = EPOCH + r[8] * _US
    a.last_seen_at = EPOCH + r[9] * _US
    a.stopped_at = None if r[10] is None else EPOCH + r[10] * _US
    a.alive = r[5] != "stopped" and now - r[9] <= within_us
    return a


class Agents:
    """``store.agents``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e = ctx.engine
        self._q = ctx.engine.q
        self._now = ctx.now_us

    @checked
    def register(
        self,
        name: Name,
        agent_type: Name,
        model: Name | None = None,
        session_id: Id | None = None,
        metadata: Object | None = None,
    ) -> Agent:
        """Record a new agent (status ``idle``); returns it with its new id."""
        meta = codec.dumps_dict(metadata, "metadata", self._ctx.max_value_bytes)
        aid = new_id()

        def op(cur: Cursor) -> Agent:
            now = self._now()
            if session_id is not None and not cur.execute(self._q.session_status_of, (session_id,)).fetchall():
                raise NotFound(f"session_id: unknown session {session_id!r}")
            cur.execute(self._q.agent_insert, (aid, name, agent_type, model, session_id, meta, now, now))
            detail = orjson.dumps({"name": name, "agent_type": agent_type}).decode()
            cur.execute(self._q.audit_insert, (now, name, "agent.register", "agent", aid, None, detail))
            return self._get(cur, aid, now)

        return self._e.write(op)

    @checked
    def heartbeat(self, agent_id: Id, status: AgentStatus | None = None, current_task: OptionalId = _KEEP) -> Agent:
        """Mark the agent alive now; optionally change its status and the task it runs (None: none)."""
        set_task = current_task is not _KEEP
        task = current_task if set_task else None

        def op(cur: Cursor) -> Agent:
            now = self._now()
            before = self._get(cur, agent_id, now)
            if status is not None and status not in TRANSITIONS[before.status]:
                raise InvalidTransition(f"agent {agent_id} is {before.status}; it cannot become {status}")
            cur.execute(self._q.agent_heartbeat, (agent_id, now, status, set_task, task))
            after = self._get(cur, agent_id, now)
            if after.status != before.status or after.current_task != before.current_task:
                detail = orjson.dumps({"status": after.status, "current_task": after.current_task}).decode()
                cur.execute(self._q.audit_insert, (now, before.name, "agent.status", "agent", agent_id, None, detail))
            return after

        return self._e.write(op)

    def stop(self, agent_id: Id) -> Agent:
        """Mark the agent stopped (final)."""
        return self.heartbeat(agent_id, "stopped", None)

    def _get(self, cur: Cursor, agent_id: str, now: int) -> Agent:
        rows = cur.execute(self._q.agent_get, (agent_id,)).fetchall()
        if not rows:
            raise NotFound(f"agent {agent_id!r} not found")
        return _agent(rows[0], now, int(ALIVE_WITHIN_S * 1_000_000))

    @checked
    def get(self, agent_id: Id) -> Agent:
        """The agent with this id, or NotFound."""
        return self._e.read(lambda cur: self._get(cur, agent_id, self._now()))

    @checked
    def list(
        self, alive_only: Flag = True, agent_type: Name | None = None, within: Seconds = ALIVE_WITHIN_S
    ) -> builtins.list[Agent]:
        """Agents, most recently seen first. ``alive_only`` keeps those not stopped that were seen
        in the last ``within`` seconds; the others are gone."""
        within_us = seconds_us(within, "within") or 0
        now = self._now()
        ph = self._e.placeholder
        sql = self._q.agent_select
        params: builtins.list[Any] = []
        where = []
        if alive_only:
            where.append(f"last_seen_at >= {ph} AND status <> 'stopped'")
            params.append(now - within_us)
        if agent_type is not None:
            where.append(f"agent_type = {ph}")
            params.append(agent_type)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_seen_at DESC LIMIT 10000"
        return [_agent(r, now, within_us) for r in self._e.query(sql, params)]
