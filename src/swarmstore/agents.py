"""Agents: who is alive and what they run.

An agent registers, then heartbeats while it works. One that stops heartbeating is shown as gone
(``alive=False``); the tasks it held come back through their lease expiry, not through the agent
record. States: ``idle <-> busy``, then ``stopping -> stopped`` (stopped is final: register again).
Status changes are audited; a heartbeat that changes nothing but the last-seen time is not (it
would flood the log with liveness pings).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import orjson

from . import codec
from .clock import _US, EPOCH, now_us, seconds_us
from .context import Context
from .engine.base import Cursor, Row
from .errors import InvalidTransition, NotFound
from .ids import new_id
from .models import Agent
from .validation import check_choice, check_name, opt_name

STATUSES = ("idle", "busy", "stopping", "stopped")
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

    def register(
        self,
        name: str,
        agent_type: str,
        model: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Agent:
        """Record a new agent (status ``idle``); returns it with its new id."""
        name = check_name(name, "name")
        agent_type = check_name(agent_type, "agent_type")
        model = opt_name(model, "model")
        session_id = opt_name(session_id, "session_id")
        meta = codec.dumps_dict(metadata, "metadata", self._ctx.max_value_bytes)
        aid = new_id()

        def op(cur: Cursor) -> Agent:
            now = now_us()
            if session_id is not None and not cur.execute(self._q.session_status_of, (session_id,)).fetchall():
                raise NotFound(f"session_id: unknown session {session_id!r}")
            cur.execute(self._q.agent_insert, (aid, name, agent_type, model, session_id, meta, now, now))
            detail = orjson.dumps({"name": name, "agent_type": agent_type}).decode()
            cur.execute(self._q.audit_insert, (now, name, "agent.register", "agent", aid, None, detail))
            return self._get(cur, aid, now)

        return self._e.write(op)

    def heartbeat(self, agent_id: str, status: str | None = None, current_task: str | None = _KEEP) -> Agent:
        """Mark the agent alive now; optionally change its status and the task it runs."""
        check_name(agent_id, "agent_id")
        if status is not None:
            check_choice(status, "status", STATUSES)
        set_task = current_task is not _KEEP
        task = opt_name(current_task, "current_task") if set_task else None

        def op(cur: Cursor) -> Agent:
            now = now_us()
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

    def stop(self, agent_id: str) -> Agent:
        """Mark the agent stopped (final)."""
        return self.heartbeat(agent_id, "stopped", None)

    def _get(self, cur: Cursor, agent_id: str, now: int) -> Agent:
        rows = cur.execute(self._q.agent_get, (agent_id,)).fetchall()
        if not rows:
            raise NotFound(f"agent {agent_id!r} not found")
        return _agent(rows[0], now, int(ALIVE_WITHIN_S * 1_000_000))

    def get(self, agent_id: str) -> Agent:
        check_name(agent_id, "agent_id")
        return self._e.read(lambda cur: self._get(cur, agent_id, now_us()))

    def list(
        self, alive_only: bool = True, agent_type: str | None = None, within: float = ALIVE_WITHIN_S
    ) -> builtins.list[Agent]:
        """Agents, most recently seen first. ``alive_only`` keeps those not stopped that were seen
        in the last ``within`` seconds; the others are gone."""
        within_us = seconds_us(within, "within")
        assert within_us is not None
        agent_type = opt_name(agent_type, "agent_type")
        now = now_us()
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
