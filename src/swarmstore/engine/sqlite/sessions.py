"""The SQLite engine's sessions operations (``engine.sessions``): SQL text in ``sql/sessions.sql``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ..ops.sessions import AppendTarget, EventRow, SessionFilter, SessionRow, StateView
from ..where import Where, session_where
from .audit import write_audit_row

_new = tuple.__new__
_dumps = orjson.dumps


def _rows(run: Any, tx: Any | None, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows of ``sql``: in ``tx``, or alone on ``run`` when ``tx`` is None."""
    if tx is None:
        return run.query(sql, params)  # type: ignore[no-any-return]
    return tx.execute(sql, params).fetchall()  # type: ignore[no-any-return]


class SqliteSessionOps:
    """``SessionOps`` on SQLite. ``runner`` runs reads: the engine, or the async API's view of it."""

    def __init__(self, runner: Any) -> None:
        from .engine import QUERIES  # (here: the engine module imports this one)

        self._q = QUERIES
        self._run = runner
        self._lists: dict[tuple[Any, ...], str] = {}

    def insert(self, tx: Any, id: str, app: str, user: str, project: str | None, metadata: str, now: int) -> bool:
        return bool(
            tx.execute(self._q.session_insert, (id, app, user, project, "{}", "{}", metadata, now, now)).fetchall()
        )

    def get(self, tx: Any | None, id: str) -> SessionRow | None:
        rows = _rows(self._run, tx, self._q.session_get, (id,))
        return _new(SessionRow, rows[0]) if rows else None

    def status(self, tx: Any | None, id: str) -> str | None:
        rows = _rows(self._run, tx, self._q.session_status_of, (id,))
        return rows[0][0] if rows else None

    def exists(self, tx: Any, id: str) -> bool:
        return bool(tx.execute(self._q.session_status_of, (id,)).fetchall())

    def set_status(self, tx: Any, id: str, old: str, new: str, now: int) -> None:
        tx.execute(self._q.session_set_status, (new, now, id, old))

    def list(self, spec: SessionFilter, before: str | None, limit: int) -> builtins.list[SessionRow]:
        if spec.allowed is not None:  # (a scoped view's: built each time, not one of the cached shapes)
            scoped = session_where(spec, before, Where()).query(self._q.session_select, "id DESC", limit)
            return [_new(SessionRow, r) for r in self._run.query(*scoped)]
        params: builtins.list[Any] = []
        shape: builtins.list[Any] = []
        for column, value in (("app", spec.app), ("user", spec.user), ("project", spec.project), ("id <", before)):
            if value is not None:
                shape.append(column)
                params.append(value)
        statuses = None if spec.statuses is None else sorted(set(spec.statuses))  # (few shapes: cached)
        if statuses is not None:
            shape.append(len(statuses))
            params += statuses
        key = tuple(shape)
        sql = self._lists.get(key)
        if sql is None:
            where = [f"{c} ?" if c == "id <" else f"{c} = ?" for c in shape if isinstance(c, str)]
            if statuses is not None:
                where.append(f"status IN ({', '.join('?' * len(statuses))})")
            sql = (
                self._q.session_select
                + (" WHERE " + " AND ".join(where) if where else "")
                + " ORDER BY id DESC LIMIT ?"
            )
            self._lists[key] = sql
        params.append(limit)
        return [_new(SessionRow, r) for r in self._run.query(sql, params)]

    def for_append(self, tx: Any, id: str) -> AppendTarget | None:
        rows = tx.execute(self._q.session_for_append, (id,)).fetchall()
        return _new(AppendTarget, rows[0]) if rows else None

    def append_event(
        self, tx: Any, session_id: str, seq: int, at: int, actor: str, type: str,
        content: str, state_delta: str | None, touch: bool,
    ) -> None:  # fmt: skip
        # (the unique audit_events index refuses a duplicate seq)
        detail: dict[str, Any] = {"seq": seq, "type": type}
        if state_delta is not None:
            detail["state_delta"] = orjson.Fragment(state_delta)
        text = _dumps(detail).decode()
        write_audit_row(tx, (at, actor, "session.event", "session", session_id, None, text, seq, content, None))
        if touch:
            tx.execute(self._q.session_touch, (at, session_id))

    def events(self, session_id: str, after: int, limit: int) -> builtins.list[EventRow]:
        return [_new(EventRow, r) for r in self._run.query(self._q.events_page, (session_id, after, limit))]

    def state_view(self, tx: Any | None, id: str) -> StateView | None:
        rows = _rows(self._run, tx, self._q.session_state_view, (id,))
        return _new(StateView, rows[0]) if rows else None

    def save_state(self, tx: Any, id: str, state: str, temp: str, now: int) -> None:
        tx.execute(self._q.session_save_state, (state, temp, now, id))

    def merge_scope(
        self, tx: Any, scope: str, app: str, user: str, sets: Mapping[str, Any], removals: Sequence[str], now: int
    ) -> str:
        # (read, change, write: the writer holds SQLite's write lock, so no other can interleave)
        if scope == "user:":
            rows = tx.execute(self._q.user_state_get, (app, user)).fetchall()
        else:
            rows = tx.execute(self._q.app_state_get, (app,)).fetchall()
        state = orjson.loads(rows[0][0]) if rows else {}
        state.update(sets)
        for k in removals:
            state.pop(k, None)
        text = _dumps(state).decode()
        if scope == "user:":
            tx.execute(self._q.user_state_save, (app, user, text, now))
        else:
            tx.execute(self._q.app_state_save, (app, text, now))
        return text

    def ids_matching(self, fragment: str, limit: int) -> builtins.list[str]:
        return [r[0] for r in self._run.query(self._q.session_ids_matching, (fragment, limit))]
