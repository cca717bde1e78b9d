"""Sessions, agents and the audit log through a scoped view."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from ..agents import Agents
from ..audit import Audit
from ..boundary import checked
from ..engine.ops.sessions import SessionFilter
from ..models import Agent, AuditEntry, Event, Page, Session
from ..paging import before, page
from ..params import Limit, Name, PageCursor, SessionStatuses
from ..sessions import _MISSING, Sessions, _session
from ..validation import as_list, check_name
from .scope import Scope


class ScopedSessions:
    """``view.sessions``: sessions of the apps and users the view's ``sessions`` rules admit.
    ``app:`` state keys (shared by all of an app's sessions) change only through a view of every
    user of the app (``app:*``)."""

    def __init__(self, inner: Sessions, scope: Scope) -> None:
        self._x = inner
        self._s = scope

    def _check(self, session_id: object, keys: Iterable[object] = ()) -> Session:
        """The session, if the view may use it; changing ``keys`` of its state, if any is an
        ``app:`` key (shared by every session of the app), needs every user's sessions of the app."""
        s = self._x.get(check_name(session_id, "session_id"))
        self._s.session(s.app, s.user, s.id)
        self._app_wide(s.app, keys)
        return s

    def _app_wide(self, app: str, keys: Iterable[object]) -> None:
        if any(isinstance(k, str) and k.startswith("app:") for k in keys) and not self._s.rules.sessions.whole_app(app):
            self._s.deny("change", "app state", app, self._s.rules.sessions)

    @staticmethod
    def _keys(delta: Any) -> Iterable[object]:
        return delta.keys() if isinstance(delta, Mapping) else ()

    def create(self, app: Any, user: Any, project: Any = None, state: Any = None, metadata: Any = None,
               id: Any = None, *, actor: Any = None) -> Session:  # fmt: skip
        self._s.own(actor)
        self._s.session(check_name(app, "app"), check_name(user, "user"))
        self._app_wide(app, self._keys(state))
        return self._x.create(app, user, project, state, metadata, id)

    def get(self, id: Any) -> Session:
        return self._check(id)

    @checked
    def list(
        self,
        *,
        app: Name | None = None,
        user: Name | None = None,
        project: Name | None = None,
        status: SessionStatuses | None = None,
        limit: Limit = 100,
        cursor: PageCursor | None = None,
    ) -> Page[Session]:
        """The view's sessions matching every given filter, newest first."""
        statuses = None if status is None else as_list(status)
        spec = SessionFilter(app, user, project, statuses, self._s.rules.sessions)
        rows = self._x._e.sessions.list(spec, before(cursor, "sessions"), limit + 1)
        return page(rows, limit, _session, "sessions")

    def set_status(self, id: Any, status: Any, *, actor: Any = None) -> Session:
        self._s.own(actor)
        self._check(id)
        return self._x.set_status(id, status)

    def terminate(self, id: Any, *, actor: Any = None) -> Session:
        return self.set_status(id, "terminated", actor=actor)

    def archive(self, id: Any, *, actor: Any = None) -> Session:
        return self.set_status(id, "archived", actor=actor)

    def append_event(self, session_id: Any, type: Any, actor: Any = None, content: Any = None,
                     state_delta: Any = None) -> Event:  # fmt: skip
        """``store.sessions.append_event``; the event's actor is the view's (naming another one is
        refused)."""
        self._s.own(actor)
        self._check(session_id, self._keys(state_delta))
        return self._x.append_event(session_id, type, self._s.actor, content, state_delta)

    def events(self, session_id: Any, after: Any = 0, limit: Any = 100) -> Page[Event]:
        self._check(session_id)
        return self._x.events(session_id, after, limit)

    def state(self, session_id: Any) -> dict[str, Any]:
        self._check(session_id)
        return self._x.state(session_id)

    def get_state(self, session_id: Any, key: Any, default: Any = _MISSING) -> Any:
        self._check(session_id)
        return self._x.get_state(session_id, key, default)

    def set_state(self, session_id: Any, key: Any, value: Any, *, actor: Any = None) -> None:
        self._s.own(actor)
        self._check(session_id, [key])
        self._x.set_state(session_id, key, value)

    def update_state(self, session_id: Any, delta: Any, *, actor: Any = None) -> None:
        self._s.own(actor)
        self._check(session_id, self._keys(delta))
        self._x.update_state(session_id, delta)

    def delete_state(self, session_id: Any, key: Any, *, actor: Any = None) -> None:
        self._s.own(actor)
        self._check(session_id, [key])
        self._x.delete_state(session_id, key)


class ScopedAgents:
    """``view.agents``: every agent may be read; a view registers agents, and heartbeats or
    stops only those named as its actor."""

    def __init__(self, inner: Agents, scope: Scope) -> None:
        self._a = inner
        self._s = scope

    def _own(self, agent_id: Any) -> None:
        agent = self._a.get(agent_id)
        if agent.name != self._s.actor:
            self._s.deny("change", "agent", agent.id, f"agents named {self._s.actor}")

    def register(self, name: Any, agent_type: Any, model: Any = None, session_id: Any = None,
                 metadata: Any = None) -> Agent:  # fmt: skip
        self._s.own(name)
        return self._a.register(name, agent_type, model, session_id, metadata)

    def heartbeat(self, agent_id: Any, status: Any = None, **options: Any) -> Agent:
        self._own(agent_id)
        return self._a.heartbeat(agent_id, status, **options)

    def stop(self, agent_id: Any) -> Agent:
        self._own(agent_id)
        return self._a.stop(agent_id)

    def get(self, agent_id: Any) -> Agent:
        return self._a.get(agent_id)

    def list(self, **filters: Any) -> builtins.list[Agent]:
        return self._a.list(**filters)


class ScopedAudit:
    """``view.audit``: the audit rows of the view's own actor."""

    def __init__(self, inner: Audit, scope: Scope) -> None:
        self._a = inner
        self._s = scope

    def list(self, **filters: Any) -> Page[AuditEntry]:
        self._s.own(filters.pop("actor", None))
        return self._a.list(actor=self._s.actor, **filters)

