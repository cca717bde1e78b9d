"""``SwarmstoreSessionService``: Google ADK's ``BaseSessionService`` on swarmstore sessions.

An ADK session is one of our sessions (app and user as ours, id ``adk:<app>:<user>:<id>``, names
encoded as in ``_names``); an ADK event is one of our events (type ``adk.event``, actor its author,
content the event as JSON without its ``state_delta``, which is the event's state delta). ADK's
``app:``/``user:``/``temp:`` keys are our scopes. ``last_update_time`` is the timestamp of the
last event (the creation time before any), as ADK's SQL services keep it.

Calls go through ``swarmstore.aio`` (reads on the event loop, writes group-committed): measured
faster than the sync store on threads (a session get 3.8 µs against 36 µs; get, stale check and
append 134 µs against 311 µs).
"""

from __future__ import annotations

import builtins
import importlib
import uuid
from typing import Any

import orjson
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig, ListSessionsResponse
from google.adk.sessions.session import Session as AdkSession
from typing_extensions import override

from ...aio import AsyncStore
from ...errors import Conflict, NotFound
from ...models import Event as OurEvent
from ...models import Session as OurSession
from ...store import Store
from . import _names


def _stale_session_error() -> type[ValueError]:
    """ADK's ``StaleSessionError`` (a ValueError) where ADK has it, else ValueError, which ADK's SQL
    services raise for a stale session in the versions without it (2.5.0)."""
    try:
        module = importlib.import_module("google.adk.errors._stale_session_error")
    except ImportError:
        return ValueError
    error: type[ValueError] = module.StaleSessionError
    return error


StaleSessionError = _stale_session_error()
EVENT_TYPE = "adk.event"
OPEN = ("created", "active", "paused")
_PAGE = 1000


def _event_to_adk(e: OurEvent) -> Event:
    content = e.content
    if e.state_delta:
        content.setdefault("actions", {})["state_delta"] = e.state_delta
    # JSON mode: bytes (inline data, blobs) were dumped as base64, which only JSON validation reads back
    return Event.model_validate_json(orjson.dumps(content))


def _timestamp(e: OurEvent) -> float:
    """An event's ADK timestamp; for an event another swarmstore client appended, its time."""
    if e.type == EVENT_TYPE:
        return float(e.content["timestamp"])
    return e.created_at.timestamp()


def _persisted(state: dict[str, Any] | None) -> dict[str, Any]:
    """The keys of a state or state delta that are stored: all but ``temp:`` ones, as ADK's services."""
    return {k: v for k, v in (state or {}).items() if not k.startswith("temp:")}


class SwarmstoreSessionService(BaseSessionService):
    """ADK sessions kept in a swarmstore store (any engine): an ``AsyncStore``, or a ``Store``
    (then used through ``AsyncStore(store)``; closing it stays the caller's).

    ``delete_session`` terminates and archives the session (its events and audit stay; ADK no
    longer sees it, and its id cannot be created again: ``AlreadyExistsError``).
    """

    def __init__(self, store: Store | AsyncStore, *, project: str | None = None) -> None:
        self._store = store if isinstance(store, AsyncStore) else AsyncStore(store)
        self._s = self._store.sessions
        self._project = project

    # -- reads -----------------------------------------------------------------------------------

    async def _open(self, ours: str) -> OurSession | None:
        try:
            s = await self._s.get(ours)
        except NotFound:
            return None
        return s if s.status in OPEN else None

    async def _resolve(self, app: str, user: str, sid: str) -> tuple[str, str, OurSession | None]:
        """ADK's id rule: a padded id is looked up as given, then stripped."""
        ours = _names.session_id(app, user, sid)
        s = await self._open(ours)
        if s is None and sid != sid.strip():
            sid = sid.strip()
            ours = _names.session_id(app, user, sid)
            s = await self._open(ours)
        return sid, ours, s

    async def _events(self, ours: str, after: int) -> builtins.list[OurEvent]:
        out: builtins.list[OurEvent] = []
        while True:
            page = await self._s.events(ours, after=after, limit=_PAGE)
            out.extend(page.items)
            if page.next_cursor is None:
                return out
            after = int(page.next_cursor)

    async def _updated(self, s: OurSession, last: OurEvent | None = None) -> float:
        """ADK's update time: the last event's timestamp, or the creation time."""
        if s.event_count == 0:
            return s.created_at.timestamp()
        if last is None or last.seq != s.event_count:
            [last] = (await self._s.events(s.id, after=s.event_count - 1, limit=1)).items
        return _timestamp(last)

    # -- BaseSessionService ------------------------------------------------------------------------

    @override
    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> AdkSession:
        sid = session_id
        if sid:
            sid = (await self._resolve(app_name, user_id, sid))[0]
        if not sid:
            sid = str(uuid.uuid4())
        ours = _names.session_id(app_name, user_id, sid)
        meta = None if ours.startswith("adk:") else {"adk_session_id": sid}
        delta = _persisted(state)
        try:
            s = await self._s.create(app_name, user_id, self._project, state=delta or None, metadata=meta, id=ours)
        except Conflict:
            raise AlreadyExistsError(f"Session with id {sid} already exists.") from None
        merged = await self._s.state(ours)  # with the app: and user: keys other sessions set
        return AdkSession(
            id=sid,
            app_name=app_name,
            user_id=user_id,
            state=merged,
            events=[],
            last_update_time=s.created_at.timestamp(),
        )

    @override
    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> AdkSession | None:
        sid, ours, s = await self._resolve(app_name, user_id, session_id)
        if s is None:
            return None
        state = await self._s.state(ours)
        n = None if config is None else config.num_recent_events
        since = None if config is None else config.after_timestamp
        if n == 0:
            raw: builtins.list[OurEvent] = []
        elif since:
            raw = [e for e in await self._events(ours, 0) if _timestamp(e) >= since]
            raw = raw[-n:] if n else raw
        else:
            raw = await self._events(ours, max(0, s.event_count - n) if n else 0)
        updated = await self._updated(s, raw[-1] if raw else None)
        events = [_event_to_adk(e) for e in raw if e.type == EVENT_TYPE]  # (not other clients' events)
        return AdkSession(
            id=sid, app_name=app_name, user_id=user_id, state=state, events=events, last_update_time=updated
        )

    @override
    async def list_sessions(self, *, app_name: str, user_id: str | None = None) -> ListSessionsResponse:
        out: builtins.list[AdkSession] = []
        cursor = None
        while True:
            page = await self._s.list(app=app_name, user=user_id, status=list(OPEN), limit=_PAGE, cursor=cursor)
            for s in page.items:
                sid = _names.adk_session_id(s.id)
                if sid is None:
                    sid = s.metadata.get("adk_session_id") if s.id.startswith("adk#") else None
                    if sid is None:
                        continue  # not an ADK session
                state = await self._s.state(s.id)
                updated = await self._updated(s)
                out.append(AdkSession(id=sid, app_name=app_name, user_id=s.user, state=state, last_update_time=updated))
            cursor = page.next_cursor
            if cursor is None:
                break
        out.sort(key=lambda a: (a.last_update_time, a.user_id, a.id))
        return ListSessionsResponse(sessions=out)

    @override
    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        _, ours, s = await self._resolve(app_name, user_id, session_id)
        if s is not None:
            await self._s.terminate(ours)
            await self._s.archive(ours)

    @override
    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        page = await self._s.list(app=app_name, user=user_id, limit=1)
        if not page.items:
            return {}
        state = await self._s.state(page.items[0].id)
        return {k[5:]: v for k, v in state.items() if k.startswith("user:")}

    @override
    async def append_event(self, session: AdkSession, event: Event) -> Event:
        if event.partial:
            return event
        self._apply_temp_state(session, event)
        event = self._trim_temp_delta_state(event)
        content = event.model_dump(mode="json", exclude_none=True)
        actions = content.get("actions")
        delta = None
        if actions and actions.get("state_delta"):
            delta = _persisted(actions.pop("state_delta"))
        ours = _names.session_id(session.app_name, session.user_id, session.id)
        s = await self._open(ours)
        if s is None:
            not_found: Any = SessionNotFoundError  # (untyped in ADK 2.5)
            raise not_found(f"Session {session.id} not found.")
        if await self._updated(s) > session.last_update_time:
            raise StaleSessionError(
                "The last_update_time provided in the session object is earlier than the update_time in"
                " storage. Please check if it is a stale session."
            )
        await self._s.append_event(ours, EVENT_TYPE, event.author or "adk", content, state_delta=delta or None)
        session.last_update_time = event.timestamp
        stored: Event = await super().append_event(session, event)  # the session object's part
        return stored
