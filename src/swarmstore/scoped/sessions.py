"""Sessions, agents and the audit log through a scoped view (each method takes the store's own
parameters, checked first: see ``checked_as``)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from ..agents import Agents
from ..audit import Audit
from ..boundary import checked_as
from ..engine.ops.sessions import SessionFilter
from ..models import Agent, AuditEntry, Event, Page, Session
from ..paging import before, page
from ..sessions import Sessions, _session
from ..validation import as_list
from .scope import Scope


def _keys(delta: Any) -> Iterable[object]:
    return delta.keys() if isinstance(delta, Mapping) else ()


class ScopedSessions:
    """``view.sessions``: sessions of the apps and users the view's ``sessions`` rules admit.
    ``app:`` state keys (shared by all of an app's sessions) change only through a view of every
    user of the app (``app:*``)."""

    def __init__(self, inner: Sessions, scope: Scope) -> None:
        self._x = inner
        self._s = scope

    def _check(self, session_id: str, keys: Iterable[object] = ()) -> Session:
        """The session, if the view may use it; changing ``keys`` of its state, if any is an
        ``app:`` key, needs every user's sessions of the app."""
        s = self._x.get(session_id)
        self._s.session(s.app, s.user, s.id)
        self._app_wide(s.app, keys)
        return s

    def _app_wide(self, app: str, keys: Iterable[object]) -> None:
        if any(isinstance(k, str) and k.startswith("app:") for k in keys) and not self._s.rules.sessions.whole_app(app):
            self._s.deny("change", "app state", app, self._s.rules.sessions)

    @checked_as(Sessions.create)
    def create(self, app: str, user: str, project: Any, state: Any, metadata: Any, id: Any, *, actor: Any) -> Session:
        self._s.own(actor)
        self._s.session(app, user)
        self._app_wide(app, _keys(state))
        return self._x.create(app, user, project, state, metadata, id)

    @checked_as(Sessions.get)
    def get(self, id: str) -> Session:
        return self._check(id)

    @checked_as(Sessions.list)
    def list(self, *, app: Any, user: Any, project: Any, status: Any, limit: int, cursor: Any) -> Page[Session]:
        """The view's sessions matching every given filter, newest first."""
        statuses = None if status is None else as_list(status)
        spec = SessionFilter(app, user, project, statuses, self._s.rules.sessions)
        rows = self._x._e.sessions.list(spec, before(cursor, "sessions"), limit + 1)
        return page(rows, limit, _session, "sessions")

    @checked_as(Sessions.set_status)
    def set_status(self, id: str, status: str, *, actor: Any) -> Session:
        self._s.own(actor)
        self._check(id)
        return self._x.set_status(id, status)

    @checked_as(Sessions.terminate)
    def terminate(self, id: str, *, actor: Any) -> Session:
        return self.set_status(id, "terminated", actor=actor)

    @checked_as(Sessions.archive)
    def archive(self, id: str, *, actor: Any) -> Session:
        return self.set_status(id, "archived", actor=actor)

    @checked_as(Sessions.append_event, actor=None)
    def append_event(self, session_id: str, type: str, actor: str | None, content: Any, state_delta: Any) -> Event:
        """``store.sessions.append_event``: the event's actor is the view's (another is refused;
        None: the view's)."""
        self._s.own(actor)
        self._check(session_id, _keys(state_delta))
        return self._x.append_event(session_id, type, self._s.actor, content, state_delta)

    @checked_as(Sessions.events)
    def events(self, session_id: str, after: int, limit: int) -> Page[Event]:
        self._check(session_id)
        return self._x.events(session_id, after, limit)

    @checked_as(Sessions.state)
    def state(self, session_id: str) -> dict[str, Any]:
        self._check(session_id)
        return self._x.state(session_id)

    @checked_as(Sessions.get_state)
    def get_state(self, session_id: str, key: str, default: Any) -> Any:
        self._check(session_id)
        return self._x.get_state(session_id, key, default)

    @checked_as(Sessions.set_state)
    def set_state(self, session_id: str, key: str, value: Any, *, actor: Any) -> None:
        self._s.own(actor)
        self._check(session_id, [key])
        self._x.set_state(session_id, key, value)

    @checked_as(Sessions.update_state)
    def update_state(self, session_id: str, delta: Any, *, actor: Any) -> None:
        self._s.own(actor)
        self._check(session_id, _keys(delta))
        self._x.update_state(session_id, delta)

    @checked_as(Sessions.delete_state)
    def delete_state(self, session_id: str, key: str, *, actor: Any) -> None:
        self._s.own(actor)
        self._check(session_id, [key])
        self._x.delete_state(session_id, key)


class ScopedAgents:
    """``view.agents``: every agent may be read; a view registers agents named as its actor, in a
    session it may use, and heartbeats or stops only those."""

    def __init__(self, inner: Agents, scope: Scope, sessions: Sessions) -> None:
        self._a = inner
        self._s = scope
        self._sessions = sessions

    def _own(self, agent_id: str) -> None:
        agent = self._a.get(agent_id)
        if agent.name != self._s.actor:
            self._s.deny("change", "agent", agent.id, f"agents named {self._s.actor}")

    @checked_as(Agents.register)
    def register(self, name: str, agent_type: str, model: Any, session_id: Any, metadata: Any) -> Agent:
        self._s.own(name)
        if session_id is not None:
            s = self._sessions.get(session_id)
            self._s.session(s.app, s.user, s.id)
        return self._a.register(name, agent_type, model, session_id, metadata)

    @checked_as(Agents.heartbeat)
    def heartbeat(self, agent_id: str, status: Any, current_task: Any) -> Agent:
        self._own(agent_id)
        return self._a.heartbeat(agent_id, status, current_task)

    @checked_as(Agents.stop)
    def stop(self, agent_id: str) -> Agent:
        self._own(agent_id)
        return self._a.stop(agent_id)

    @checked_as(Agents.get)
    def get(self, agent_id: str) -> Agent:
        return self._a.get(agent_id)

    @checked_as(Agents.list)
    def list(self, alive_only: bool, agent_type: Any, within: Any) -> builtins.list[Agent]:
        return self._a.list(alive_only, agent_type, within)


class ScopedAudit:
    """``view.audit``: the rows of the view's own actor, but those about namespaces it may not read."""

    def __init__(self, inner: Audit, scope: Scope) -> None:
        self._a = inner
        self._s = scope

    @checked_as(Audit.list)
    def list(self, *, actor: Any, **filters: Any) -> Page[AuditEntry]:
        self._s.own(actor)
        return self._a._page(actor=self._s.actor, allowed=self._s.rules.read, **filters)
