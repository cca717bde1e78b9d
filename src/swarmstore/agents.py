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
from .engine.ops.agents import AgentFilter, AgentRow
from .engine.ops.audit import AuditRecord
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
LIST_LIMIT = 10_000
_KEEP: Any = object()


_METADATA: dict[str, Any] = {"metadata": lambda r: orjson.loads(r.metadata)}  # (decoded on first read: models.Lazy)
_new = object.__new__


def _agent(r: AgentRow, now: int, within_us: int) -> Agent:
    """An agent row, its metadata decoded on first read; ``alive`` as of ``now``."""
    a = _new(Agent)
    a._lazy = _METADATA
    a._row = r
    a.id = r.id
    a.name = r.name
    a.agent_type = r.agent_type
    a.model = r.model
    a.session_id = r.session_id
    a.status = r.status
    a.current_task = r.current_task
    a.registered_at = EPOCH + r.registered_at * _US
    a.last_seen_at = EPOCH + r.last_seen_at * _US
    a.stopped_at = None if r.stopped_at is None else EPOCH + r.stopped_at * _US
    a.alive = r.status != "stopped" and now - r.last_seen_at <= within_us
    return a


class Agents:
    """``store.agents``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e = ctx.engine
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
        ops = self._e.agents

        def op(tx: Any) -> Agent:
            now = self._now()
            if session_id is not None and not self._e.sessions.exists(tx, session_id):
                raise NotFound(f"session_id: unknown session {session_id!r}")
            ops.insert(tx, aid, name, agent_type, model, session_id, meta, now)
            detail = {"name": name, "agent_type": agent_type}
            self._e.audit.append(tx, (AuditRecord(now, name, "agent.register", "agent", aid, None, detail),))
            return self._get(tx, aid, now)

        return self._e.write(op)

    @checked
    def heartbeat(self, agent_id: Id, status: AgentStatus | None = None, current_task: OptionalId = _KEEP) -> Agent:
        """Mark the agent alive now; optionally change its status and the task it runs (None: none)."""
        set_task = current_task is not _KEEP
        task = current_task if set_task else None
        ops = self._e.agents

        def op(tx: Any) -> Agent:
            now = self._now()
            before = self._get(tx, agent_id, now)
            if status is not None and status not in TRANSITIONS[before.status]:
                raise InvalidTransition(f"agent {agent_id} is {before.status}; it cannot become {status}")
            ops.heartbeat(tx, agent_id, now, status, set_task, task)
            after = self._get(tx, agent_id, now)
            if after.status != before.status or after.current_task != before.current_task:
                detail = {"status": after.status, "current_task": after.current_task}
                record = AuditRecord(now, before.name, "agent.status", "agent", agent_id, None, detail)
                self._e.audit.append(tx, (record,))
            return after

        return self._e.write(op)

    def stop(self, agent_id: Id) -> Agent:
        """Mark the agent stopped (final)."""
        return self.heartbeat(agent_id, "stopped", None)

    def _get(self, tx: Any | None, agent_id: str, now: int) -> Agent:
        row = self._e.agents.get(tx, agent_id)
        if row is None:
            raise NotFound(f"agent {agent_id!r} not found")
        return _agent(row, now, int(ALIVE_WITHIN_S * 1_000_000))

    @checked
    def get(self, agent_id: Id) -> Agent:
        """The agent with this id, or NotFound."""
        return self._get(None, agent_id, self._now())

    @checked
    def list(
        self, alive_only: Flag = True, agent_type: Name | None = None, within: Seconds = ALIVE_WITHIN_S
    ) -> builtins.list[Agent]:
        """Agents, most recently seen first. ``alive_only`` keeps those not stopped that were seen
        in the last ``within`` seconds; the others are gone."""
        within_us = seconds_us(within, "within") or 0
        now = self._now()
        spec = AgentFilter(now - within_us if alive_only else None, agent_type)
        return [_agent(r, now, within_us) for r in self._e.agents.list(spec, LIST_LIMIT)]
