"""The PostgreSQL engine's sessions operations (``engine.sessions``): SQL text in ``sql/sessions.sql``.

Many hosts write at once (READ COMMITTED): an append locks its session row before it reads the
last sequence number, a state change locks it before it reads the state, and the shared
``user:``/``app:`` scopes are merged by one upsert statement."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ..ops.audit import AuditRecord
from ..ops.sessions import AppendTarget, EventRow, SessionFilter, SessionRow, StateView
from ..where import Where, session_where
from .audit import write_audit
from .runner import QUERIES

_new = tuple.__new__


class PgSessionOps:
    """``SessionOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._q = QUERIES
        self._run = runner

    def insert(self, tx: Any, id: str, app: str, user: str, project: str | None, metadata: str, now: int) -> bool:
        return tx.execute(self._q.session_insert, (id, app, user, project, metadata, now, now)).fetchone() is not None

    def get(self, tx: Any | None, id: str) -> SessionRow | None:
        if tx is None:
            rows = self._run.query(self._q.session_get, (id,))
        else:
            rows = tx.execute(self._q.session_get, (id,)).fetchall()
        return _new(SessionRow, rows[0]) if rows else None

    def status(self, tx: Any | None, id: str) -> str | None:
        if tx is None:
            rows = self._run.query(self._q.session_status, (id,))
        else:
            rows = tx.execute(self._q.session_status_locked, (id,)).fetchall()
        return rows[0][0] if rows else None

    def exists(self, tx: Any, id: str) -> bool:
        return tx.execute(self._q.session_exists, (id,)).fetchone() is not None

    def set_status(self, tx: Any, id: str, old: str, new: str, now: int) -> None:
        tx.execute(self._q.session_set_status, {"id": id, "old": old, "new": new, "now": now})

    def list(self, spec: SessionFilter, before: str | None, limit: int) -> builtins.list[SessionRow]:
        where = session_where(spec, before, Where("%s", arrays=True), '"user"')
        return [_new(SessionRow, r) for r in self._run.query(*where.query(self._q.session_select, "id DESC", limit))]

    def for_append(self, tx: Any, id: str) -> AppendTarget | None:
        row = tx.execute(self._q.session_lock_for_append, (id,)).fetchone()
        if row is None:
            return None
        # (a statement of its own, after the lock: it sees the events of the appends before)
        last = tx.execute(self._q.session_last_seq, (id,)).fetchone()[0]
        return AppendTarget(row[0], row[1], last)

    def append_event(
        self, tx: Any, session_id: str, seq: int, at: int, actor: str, type: str,
        content: str, state_delta: str | None, touch: bool,
    ) -> None:  # fmt: skip
        detail: dict[str, Any] = {"seq": seq, "type": type}
        if state_delta is not None:
            detail["state_delta"] = orjson.Fragment(state_delta)
        record = AuditRecord(at, actor, "session.event", "session", session_id, None, detail, seq, content)
        write_audit(tx, (record,), read_ids=False)
        if touch:
            tx.execute(self._q.session_touch, {"now": at, "id": session_id})

    def events(self, session_id: str, after: int, limit: int) -> builtins.list[EventRow]:
        return [_new(EventRow, r) for r in self._run.query(self._q.events_page, (session_id, after, limit))]

    def state_view(self, tx: Any | None, id: str) -> StateView | None:
        if tx is None:
            rows = self._run.query(self._q.session_state_view, (id,))
        else:
            rows = tx.execute(self._q.session_state_view_locked, (id,)).fetchall()
        return _new(StateView, rows[0]) if rows else None

    def save_state(self, tx: Any, id: str, state: str, temp: str, now: int) -> None:
        tx.execute(self._q.session_save_state, (state, temp, now, id))

    def merge_scope(
        self, tx: Any, scope: str, app: str, user: str, sets: Mapping[str, Any], removals: Sequence[str], now: int
    ) -> str:
        params = {"app": app, "user": user, "sets": dict(sets), "removals": builtins.list(removals), "now": now}
        sql = self._q.user_state_merge if scope == "user:" else self._q.app_state_merge
        text: str = tx.execute(sql, params).fetchone()[0]
        return text

    def ids_matching(self, fragment: str, limit: int) -> builtins.list[str]:
        return [r[0] for r in self._run.query(self._q.session_ids_matching, (fragment, limit))]
