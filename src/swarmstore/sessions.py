"""Sessions: one per agent conversation, with an append-only event log and scoped state.

State keys without a prefix belong to the session; ``user:`` keys are shared by every session of
the same app and user, ``app:`` keys by every session of the app, and ``temp:`` keys live only
until the next event is appended.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from . import codec
from .boundary import checked
from .clock import _US, EPOCH, to_dt
from .context import Context
from .engine.ops.audit import AuditRecord
from .engine.ops.sessions import EventRow, SessionFilter, SessionRow
from .errors import Conflict, InvalidInput, InvalidTransition, NotFound
from .ids import new_id
from .models import Event, Page, Session
from .namespaces import check_key
from .paging import before, page
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


def _obj(text: str | None) -> dict[str, Any]:
    return {} if text is None or text == "{}" else orjson.loads(text)


def _state(r: SessionRow) -> dict[str, Any]:
    state = _obj(r.state)
    if r.temp != "{}":
        state.update({"temp:" + k: v for k, v in orjson.loads(r.temp).items()})
    return state


def _at(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + us * _US


# (fields read from a row on first use; see models.Lazy). The times too: a listing of 100
# sessions spent ~1 µs a row making datetimes that few callers read.
_STATE: dict[str, Any] = {
    "state": _state,
    "created_at": lambda r: EPOCH + r.created_at * _US,
    "updated_at": lambda r: EPOCH + r.updated_at * _US,
    "terminated_at": lambda r: _at(r.terminated_at),
    "archived_at": lambda r: _at(r.archived_at),
}
_STATE_META: dict[str, Any] = {**_STATE, "metadata": lambda r: orjson.loads(r.metadata)}
_new = object.__new__


def _session(r: SessionRow) -> Session:
    """A session row: its state, times, and metadata unless empty, decoded on first read."""
    s = _new(Session)
    s.id = r.id
    s.app = r.app
    s.user = r.user
    s.project = r.project
    s.status = r.status
    if r.metadata == "{}":
        s.metadata = {}
        s._lazy = _STATE
    else:
        s._lazy = _STATE_META
    s._row = r
    s.event_count = r.event_count
    return s


def _event(r: EventRow) -> Event:
    detail = orjson.loads(r.detail)
    return Event(
        r.session_id, r.seq, detail["type"], r.actor, orjson.loads(r.content), to_dt(r.at), detail.get("state_delta")
    )


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
        ops = self._e.sessions
        record = AuditRecord(now, actor, "session.create", "session", sid, None, {"app": app, "user": user})

        def op(tx: Any) -> Session:
            if not ops.insert(tx, sid, app, user, project, meta, now):
                raise Conflict(f"a session with id {sid!r} already exists")
            if delta:
                self._apply(tx, sid, app, user, "{}", "{}", delta, now)
            self._e.audit.append(tx, (record,))
            return _session(self._must(ops.get(tx, sid), sid))

        return self._e.write(op)

    @staticmethod
    def _must(row: SessionRow | None, sid: str) -> SessionRow:
        if row is None:
            raise NotFound(f"session {sid!r} not found")
        return row

    @checked
    def get(self, id: Id) -> Session:
        """The session with this id, or NotFound."""
        return _session(self._must(self._e.sessions.get(None, id), id))

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
        spec = SessionFilter(app, user, project, None if status is None else as_list(status))
        rows = self._e.sessions.list(spec, before(cursor, "sessions"), limit + 1)
        return page(rows, limit, _session, "sessions")

    @checked
    def set_status(self, id: Id, status: SessionStatus, *, actor: Name | None = None) -> Session:
        """Move a session along ``created -> active <-> paused -> terminated -> archived``."""
        actor = actor or self._ctx.actor
        now = self._now()
        ops = self._e.sessions

        def op(tx: Any) -> Session:
            old = ops.status(tx, id)
            if old is None:
                raise NotFound(f"session {id!r} not found")
            if old != status:
                if status not in TRANSITIONS[old]:
                    raise InvalidTransition(f"session {id!r} cannot go from {old} to {status}")
                ops.set_status(tx, id, old, status, now)
                detail = {"from": old, "to": status}
                self._e.audit.append(tx, (AuditRecord(now, actor, "session.status", "session", id, None, detail),))
            return _session(self._must(ops.get(tx, id), id))

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
        now = self._now()
        ops = self._e.sessions

        def op(tx: Any) -> Event:
            target = ops.for_append(tx, session_id)
            if target is None:
                raise NotFound(f"session {session_id!r} not found")
            status = target.status
            if status not in OPEN:
                raise InvalidTransition(f"session {session_id!r} is {status}: no more events can be appended")
            # The event is its own audit row; the session row is rewritten only when the append
            # changes it (first event, temp keys to drop, a state delta).
            seq = target.last_seq + 1
            touch = status == "created" or target.temp_set
            ops.append_event(tx, session_id, seq, now, actor, type, body, delta_text, touch)
            if delta:
                view = self._must_view(ops.state_view(tx, session_id), session_id)
                self._apply(tx, session_id, view.app, view.user, view.state, "{}", delta, now)
            flat = None if delta_text is None else orjson.loads(delta_text)
            return Event(session_id, seq, type, actor, orjson.loads(body), to_dt(now), flat)

        return self._e.write(op)

    @checked
    def events(self, session_id: Id, after: Count = 0, limit: Limit = 100) -> Page[Event]:
        """Events with ``seq > after`` in order; ``next_cursor`` is the seq to pass as ``after``."""
        ops = self._e.sessions
        rows = ops.events(session_id, after, limit + 1)
        if not rows and after == 0 and ops.status(None, session_id) is None:
            raise NotFound(f"session {session_id!r} not found")
        items = [_event(r) for r in rows[:limit]]
        return Page(items, str(items[-1].seq) if len(rows) > limit else None)

    # -- state ---------------------------------------------------------------------------------

    @staticmethod
    def _must_view(view: Any, sid: str) -> Any:
        if view is None:
            raise NotFound(f"session {sid!r} not found")
        return view

    @checked
    def state(self, session_id: Id) -> dict[str, Any]:
        """The merged view: session keys, then ``temp:``, ``user:`` and ``app:`` keys with their prefixes."""
        v = self._must_view(self._e.sessions.state_view(None, session_id), session_id)
        merged = _obj(v.state)
        for prefix, text in (("temp:", v.temp), ("user:", v.user_state), ("app:", v.app_state)):
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
        keys = sorted(s + k for s, d in (delta | removals).items() for k in d)
        record = AuditRecord(now, actor, "session.state", "session", session_id, None, {"keys": keys})

        def op(tx: Any) -> None:
            v = self._must_view(self._e.sessions.state_view(tx, session_id), session_id)
            if v.status not in OPEN:
                raise InvalidTransition(f"session {session_id!r} is {v.status}: its state can no longer change")
            self._apply(tx, session_id, v.app, v.user, v.state, v.temp, delta, now, removals)
            self._e.audit.append(tx, (record,))

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
        tx: Any,
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
        ops = self._e.sessions
        scopes = set(delta) | set(removals)
        if "" in scopes or "temp:" in scopes:
            s, t = _obj(state), _obj(temp)
            s.update(delta.get("", {}))
            t.update(delta.get("temp:", {}))
            for k in removals.get("", []):
                s.pop(k, None)
            for k in removals.get("temp:", []):
                t.pop(k, None)
            ops.save_state(tx, sid, codec.dumps(s, "state", limit), codec.dumps(t, "state", limit), now)
        for scope in ("user:", "app:"):
            if scope in scopes:
                # merged by the engine, atomically (other sessions share these keys); too big: the
                # InvalidInput rolls the write back
                text = ops.merge_scope(tx, scope, app, user, delta.get(scope, {}), removals.get(scope, []), now)
                size = len(orjson.dumps(orjson.loads(text)))  # (as codec counts it, whatever the engine's spacing)
                if size > limit:
                    raise InvalidInput("state", f"{size} bytes exceeds the limit of {limit} bytes")

    # -- short ids -----------------------------------------------------------------------------

    @checked
    def _match_ids(self, fragment: Name, limit: ClaimLimit = 2) -> builtins.list[str]:
        """Ids that contain ``fragment``, at most ``limit`` (the CLI's short ids); a scan of the ids.
        Private until the async facade mirrors it."""
        return self._e.sessions.ids_matching(fragment, limit)
