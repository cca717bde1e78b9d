"""The sessions operations every engine implements (``engine.sessions``), and the rows they return.

JSON columns travel as JSON text (the domain encoded it with ``codec`` to check its size, and
decodes it on first read)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from ...access import SessionGrant


class SessionRow(NamedTuple):
    """One session. ``updated_at`` is the last change or event, ``event_count`` its last seq."""

    id: str
    app: str
    user: str
    project: str | None
    status: str
    state: str  # JSON text: the session's own keys
    temp: str  # JSON text: its temp: keys (without the prefix)
    metadata: str
    created_at: int
    updated_at: int
    terminated_at: int | None
    archived_at: int | None
    event_count: int


class SessionFilter(NamedTuple):
    """The filters of a session listing; each one given narrows it."""

    app: str | None = None
    user: str | None = None
    project: str | None = None
    statuses: Sequence[str] | None = None
    allowed: SessionGrant | None = None  # a scoped view's session rules (None: all)


class AppendTarget(NamedTuple):
    """What an append needs of its session (none of its state)."""

    status: str
    temp_set: bool  # it has temp: keys, which the append drops
    last_seq: int


class StateView(NamedTuple):
    """A session's state in every scope (JSON text; None: that scope has no row)."""

    app: str
    user: str
    status: str
    state: str
    temp: str
    user_state: str | None
    app_state: str | None


class EventRow(NamedTuple):
    """One event (an audit row): ``detail`` is JSON text {"seq", "type"[, "state_delta"]}."""

    session_id: str
    seq: int
    detail: str
    actor: str
    content: str
    at: int


class SessionOps(Protocol):
    """Sessions, their events and their scoped state."""

    def insert(self, tx: Any, id: str, app: str, user: str, project: str | None, metadata: str, now: int) -> bool:
        """Add a session in status ``created``; False (nothing written) if the id is taken."""
        ...

    def get(self, tx: Any | None, id: str) -> SessionRow | None:
        """The session, or None; ``tx`` None: read alone."""
        ...

    def status(self, tx: Any | None, id: str) -> str | None:
        """The session's status, or None if there is no such session; ``tx`` None: read alone, else
        locked against concurrent changes until the transaction ends."""
        ...

    def exists(self, tx: Any, id: str) -> bool:
        """Whether the session exists (for a row that refers to it: kept from changing meanwhile)."""
        ...

    def set_status(self, tx: Any, id: str, old: str, new: str, now: int) -> None:
        """Move the session from ``old`` to ``new`` (stamps terminated_at/archived_at; terminating
        drops its temp keys)."""
        ...

    def list(self, spec: SessionFilter, before: str | None, limit: int) -> builtins.list[SessionRow]:
        """At most ``limit`` sessions matching ``spec`` with ``id < before`` (None: from the
        newest), newest (largest id) first."""
        ...

    def for_append(self, tx: Any, id: str) -> AppendTarget | None:
        """Lock the session against concurrent appends and read what an append needs; None if
        there is no such session."""
        ...

    def append_event(
        self, tx: Any, session_id: str, seq: int, at: int, actor: str, type: str,
        content: str, state_delta: str | None, touch: bool,
    ) -> None:  # fmt: skip
        """Write event ``seq`` (its audit row; ``content``/``state_delta`` JSON text). ``touch``:
        drop the temp keys and activate a created session."""
        ...

    def events(self, session_id: str, after: int, limit: int) -> builtins.list[EventRow]:
        """At most ``limit`` events with ``seq > after``, in order."""
        ...

    def state_view(self, tx: Any | None, id: str) -> StateView | None:
        """The session's state in every scope (locked for a change when ``tx`` is a write's);
        None if there is no such session; ``tx`` None: read alone."""
        ...

    def save_state(self, tx: Any, id: str, state: str, temp: str, now: int) -> None:
        """Replace the session's own and temp keys (JSON text)."""
        ...

    def merge_scope(
        self, tx: Any, scope: str, app: str, user: str, sets: Mapping[str, Any], removals: Sequence[str], now: int
    ) -> str:
        """Set and remove keys of the ``user:`` or ``app:`` scope shared by the sessions of
        ``app`` (and ``user``), atomically; the scope's new state, as JSON text."""
        ...

    def ids_matching(self, fragment: str, limit: int) -> builtins.list[str]:
        """Ids that contain ``fragment``, at most ``limit``, in order (a scan: the CLI's)."""
        ...
