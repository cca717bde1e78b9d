"""Sessions: one per agent conversation, with an append-only event log and scoped state.

State keys without a prefix belong to the session; ``user:`` keys are shared by every session of
the same app and user, ``app:`` keys by every session of the app, and ``temp:`` keys live only
until the next event is appended.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import orjson

from . import audit, codec
from .boundary import checked
from .clock import _US, EPOCH, to_dt
from .context import Context
from .engine.base import Cursor, Row
from .errors import Conflict, InvalidInput, InvalidTransition, NotFound
from .ids import new_id
from .models import Event, Page, Session
from .namespaces import check_key
from .paging import newest_first
from .params import ClaimLimit, Count, Id, Key, Limit, Name, Object, PageCursor, SessionStatus, SessionStatuses
from .validation import as_list

TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"active", "terminated"}),
    "active": frozenset({"paused", "terminated"}),
    "paused": frozenset({"active", "terminated"}),
    "terminated": frozenset({"archived"}),
    "archived": frozenset(),
}
OPEN = frozenset({"created", "active", "paused"})
SCOPES = ("user:", "app:", "temp:")
_MISSING: Any = object()


def _obj(text: str) -> dict[str, Any]:
    return {} if text == "{}" else orjson.loads(text)


def _state(r: Row) -> dict[str, Any]:
    state = _obj(r[5])
    if r[6] != "{}":
        state.update({"temp:" + k: v for k, v in orjson.loads(r[6]).items()})
    return state


# (fields read from a row on first use; see models.Lazy)
_STATE: dict[str, Any] = {"state": _state}
_STATE_META: dict[str, Any] = {**_STATE, "metadata": lambda r: orjson.loads(r[7])}
_new = object.__new__


def _session(r: Row) -> Session:
    """A session row (session_cols): its state, and metadata unless empty, decoded on first read."""
    s = _new(Session)
    s.id = r[0]
    s.app = r[1]
    s.user = r[2]
    s.project = r[3]
    s.status = r[4]
    if r[7] == "{}":
        s.metadata = {}
        s._lazy = _STATE
    else:
        s._lazy = _STATE_META
    s._row = r
    s.created_at = EPOCH + r[8] * _US
    s.updated_at = EPOCH + r[9] * _US
    s.terminated_at = None if r[10] is None else EPOCH + r[10] * _US
    s.archived_at = None if r[11] is None else EPOCH + r[11] * _US
    s.event_count = r[12]
    return s


def _event(r: Row) -> Event:
    # (an event is its audit row: entity_id, version = seq, detail, actor, snapshot = content, at)
    detail = orjson.loads(r[2])
    return Event(r[0], r[1], detail["type"], r[3], orjson.loads(r[4]), to_dt(r[5]), detail.get("state_delta"))


def split_key(key: object, field: str = "key") -> tuple[str, str]:
    """Split a state key into (scope, bare key); scope is '', 'user:', 'app:' or 'temp:'."""
    key = check_key(key, field)
    for scope in SCOPES:
        if key.startswith(scope):
            bare = key[len(scope) :]
            if not bare:
                raise InvalidInput(field, f"{key!r} has a scope prefix but no name")
            return scope, bare
    return "", key


class Sessions:
    """``store.sessions``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._e = ctx.engine
        self._q = ctx.engine.q
        self._now = ctx.now_us

    # -- sessions ------------------------------------------------------------------------------

    @checked
    def create(
        self,
        app: Name,
        user: Name,
        project: Name | None = None,
        state: Object | None = None,
        metadata: Object | None = None,
        id: Name | None = None,
        *,
        actor: Name | None = None,
    ) -> Session:
        """Create a session in status ``created``; a duplicate ``id`` is a Conflict."""
        sid = new_id() if id is None else id
        meta = codec.dumps_dict(metadata, "metadata", self._ctx.max_value_bytes)
        delta = self._delta(state, "state")
        actor = actor or self._ctx.actor or user
        now = self._now()

        def op(cur: Cursor) -> Session:
            if not cur.execute(
                self._q.session_insert, (sid, app, user, project, "{}", "{}", meta, now, now)
            ).fetchall():
                raise Conflict(f"a session with id {sid!r} already exists")
            if delta:
                self._apply(cur, sid, app, user, "{}", "{}", delta, now)
            audit.record(cur, self._e, now, actor, "session.create", "session", sid, None, {"app": app, "user": user})
            return _session(cur.execute(self._q.session_get, (sid,)).fetchall()[0])

        return self._e.write(op)

    @checked
    def get(self, id: Id) -> Session:
        """The session with this id, or NotFound."""
        rows = self._e.query(self._q.session_get, (id,))
        if not rows:
            raise NotFound(f"session {id!r} not found")
        return _session(rows[0])

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
        """Sessions matching every given filter, newest first; ``status`` may name several."""
        ph = self._e.placeholder
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("app", app), ("user", user), ("project", project)):
            if value is not None:
                where.append(f"{column} = {ph}")
                params.append(value)
        if status is not None:
            statuses = as_list(status)
            where.append(f"status IN ({', '.join([ph] * len(statuses))})")
            params += statuses
        return newest_first(self._e, self._q.session_select, where, params, cursor, limit, _session, "sessions")

    @checked
    def set_status(self, id: Id, status: SessionStatus, *, actor: Name | None = None) -> Session:
        """Move a session along ``created -> active <-> paused -> terminated -> archived``."""
        actor = actor or self._ctx.actor
        now = self._now()

        def op(cur: Cursor) -> Session:
            rows = cur.execute(self._q.session_status_of, (id,)).fetchall()
            if not rows:
                raise NotFound(f"session {id!r} not found")
            old = rows[0][0]
            if old == status:
                return _session(cur.execute(self._q.session_get, (id,)).fetchall()[0])
            if status not in TRANSITIONS[old]:
                raise InvalidTransition(f"session {id!r} cannot go from {old} to {status}")
            cur.execute(self._q.session_set_status, (status, now, id, old))
            audit.record(cur, self._e, now, actor, "session.status", "session", id, None, {"from": old, "to": status})
            return _session(cur.execute(self._q.session_get, (id,)).fetchall()[0])

        return self._e.write(op)

    def terminate(self, id: Id, *, actor: Name | None = None) -> Session:
        """End a session: temp keys are dropped; its state and events stay for history."""
        return self.set_status(id, "terminated", actor=actor)

    def archive(self, id: Id, *, actor: Name | None = None) -> Session:
        """Archive a terminated session."""
        return self.set_status(id, "archived", actor=actor)

    # -- events --------------------------------------------------------------------------------

    @checked
    def append_event(
        self,
        session_id: Id,
        type: Name,
        actor: Name,
        content: Any = None,
        state_delta: Object | None = None,
    ) -> Event:
        """Append one event (next sequence number, gap-free across processes) and apply ``state_delta``.

        Appending clears the ``temp:`` keys set before it; a ``created`` session becomes ``active``.
        """
        limit = self._ctx.max_value_bytes
        body = codec.dumps(content, "content", limit)
        delta = self._delta(state_delta, "state_delta")
        delta_text = codec.dumps(dict(state_delta), "state_delta", limit) if state_delta else None
        # the event's audit detail, less its seq (known inside the transaction)
        tail = orjson.dumps(type).decode() + ("}" if delta_text is None else ',"state_delta":' + delta_text + "}")
        now = self._now()

        def op(cur: Cursor) -> Event:
            rows = cur.execute(self._q.session_for_append, (session_id,)).fetchall()
            if not rows:
                raise NotFound(f"session {session_id!r} not found")
            status, temp_set, last = rows[0]
            if status not in OPEN:
                raise InvalidTransition(f"session {session_id!r} is {status}: no more events can be appended")
            # The next seq comes from the session's events in the audit_events index, so the
            # session row is rewritten only when the append changes it (first event, temp keys to
            # drop, a state delta). The event is its own audit row.
            seq = last + 1
            detail = f'{{"seq":{seq},"type":{tail}'
            cur.execute(self._q.event_insert, (now, actor, session_id, detail, seq, body))
            if status == "created" or temp_set:
                cur.execute(self._q.session_touch, (now, session_id))
            if delta:
                app, user, state = cur.execute(self._q.session_state_of, (session_id,)).fetchall()[0]
                self._apply(cur, session_id, app, user, state, "{}", delta, now)
            flat = None if delta_text is None else orjson.loads(delta_text)
            return Event(session_id, seq, type, actor, orjson.loads(body), to_dt(now), flat)

        return self._e.write(op)

    @checked
    def events(self, session_id: Id, after: Count = 0, limit: Limit = 100) -> Page[Event]:
        """Events with ``seq > after`` in order; ``next_cursor`` is the seq to pass as ``after``."""
        rows = self._e.query(self._q.events_page, (session_id, after, limit + 1))
        if not rows and after == 0 and not self._e.query(self._q.session_status_of, (session_id,)):
            raise NotFound(f"session {session_id!r} not found")
        items = [_event(r) for r in rows[:limit]]
        return Page(items, str(items[-1].seq) if len(rows) > limit else None)

    # -- state ---------------------------------------------------------------------------------

    @checked
    def state(self, session_id: Id) -> dict[str, Any]:
        """The merged view: session keys, then ``temp:``, ``user:`` and ``app:`` keys with their prefixes."""
        rows = self._e.query(self._q.session_state_all, (session_id,))
        if not rows:
            raise NotFound(f"session {session_id!r} not found")
        _app, _user, state, temp, user_state, app_state, _status = rows[0]
        merged = _obj(state)
        for prefix, text in (("temp:", temp), ("user:", user_state), ("app:", app_state)):
            if text and text != "{}":
                merged.update({prefix + k: v for k, v in orjson.loads(text).items()})
        return merged

    @checked
    def get_state(self, session_id: Id, key: Key, default: Any = _MISSING) -> Any:
        """One state key (with its scope prefix); ``default`` if given, else NotFound when absent."""
        split_key(key)
        value = self.state(session_id).get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise NotFound(f"state key {key!r} not set in session {session_id!r}")
            return default
        return value

    @checked
    def set_state(self, session_id: Id, key: Key, value: Any, *, actor: Name | None = None) -> None:
        """Set one state key; its prefix picks the scope."""
        return self.update_state(session_id, {key: value}, actor=actor)

    @checked
    def update_state(self, session_id: Id, delta: Object, *, actor: Name | None = None) -> None:
        """Set several state keys in one transaction."""
        return self._change_state(session_id, self._delta(delta, "delta"), {}, actor)

    @checked
    def delete_state(self, session_id: Id, key: Key, *, actor: Name | None = None) -> None:
        """Remove one state key (no error if it was not set)."""
        scope, bare = split_key(key)
        return self._change_state(session_id, {}, {scope: [bare]}, actor)

    def _change_state(
        self,
        session_id: str,
        delta: dict[str, dict[str, Any]],
        removals: dict[str, builtins.list[str]],
        actor: str | None,
    ) -> None:
        actor = actor or self._ctx.actor
        now = self._now()

        def op(cur: Cursor) -> None:
            rows = cur.execute(self._q.session_state_all, (session_id,)).fetchall()
            if not rows:
                raise NotFound(f"session {session_id!r} not found")
            app, user, state, temp, _u, _a, status = rows[0]
            if status not in OPEN:
                raise InvalidTransition(f"session {session_id!r} is {status}: its state can no longer change")
            self._apply(cur, session_id, app, user, state, temp, delta, now, removals)
            keys = sorted(s + k for s, d in (delta | removals).items() for k in d)
            audit.record(cur, self._e, now, actor, "session.state", "session", session_id, None, {"keys": keys})

        return self._e.write(op)

    def _delta(self, delta: Mapping[str, Any] | None, field: str) -> dict[str, dict[str, Any]]:
        """Validate a state mapping and split it by scope: {'': {...}, 'user:': {...}, ...}."""
        if delta is None:
            return {}
        if not isinstance(delta, Mapping):
            raise InvalidInput(field, f"expected a mapping, got {type(delta).__name__}")
        out: dict[str, dict[str, Any]] = {}
        for key, value in delta.items():
            scope, bare = split_key(key, f"{field} key")
            out.setdefault(scope, {})[bare] = value
        codec.dumps(dict(delta), field, self._ctx.max_value_bytes)
        return out

    def _apply(
        self,
        cur: Cursor,
        sid: str,
        app: str,
        user: str,
        state: str,
        temp: str,
        delta: dict[str, dict[str, Any]],
        now: int,
        removals: dict[str, builtins.list[str]] | None = None,
    ) -> None:
        removals = removals or {}
        limit = self._ctx.max_value_bytes
        scopes = set(delta) | set(removals)
        if "" in scopes or "temp:" in scopes:
            s, t = _obj(state), _obj(temp)
            s.update(delta.get("", {}))
            t.update(delta.get("temp:", {}))
            for k in removals.get("", []):
                s.pop(k, None)
            for k in removals.get("temp:", []):
                t.pop(k, None)
            cur.execute(
                self._q.session_save_state,
                (codec.dumps(s, "state", limit), codec.dumps(t, "state", limit), now, sid),
            )
        if "user:" in scopes:
            rows = cur.execute(self._q.user_state_get, (app, user)).fetchall()
            u = _obj(rows[0][0]) if rows else {}
            u.update(delta.get("user:", {}))
            for k in removals.get("user:", []):
                u.pop(k, None)
            cur.execute(self._q.user_state_save, (app, user, codec.dumps(u, "state", limit), now))
        if "app:" in scopes:
            rows = cur.execute(self._q.app_state_get, (app,)).fetchall()
            a = _obj(rows[0][0]) if rows else {}
            a.update(delta.get("app:", {}))
            for k in removals.get("app:", []):
                a.pop(k, None)
            cur.execute(self._q.app_state_save, (app, codec.dumps(a, "state", limit), now))

    # -- short ids -----------------------------------------------------------------------------

    @checked
    def _match_ids(self, fragment: Name, limit: ClaimLimit = 2) -> builtins.list[str]:
        """Ids that contain ``fragment``, at most ``limit`` (the CLI's short ids); a scan of the ids.
        Private until the async facade mirrors it."""
        return [r[0] for r in self._e.query(self._q.session_ids_matching, (fragment, limit))]
