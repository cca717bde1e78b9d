"""How an Agents SDK session lives in one of our append-only event logs.

Events of a session, by type:

- ``agents.items``: the items of one ``add_items`` call, in order (one event, one commit).
- ``agents.pop``: a tombstone. ``{"seq": s, "index": i, "basis": b}`` says that item ``i`` of
  event ``s`` was popped, so everything after it up to the tombstone is gone. It counts only if
  it was appended right after the log it read (its own seq is ``b + 1``); otherwise another
  writer came between, the tombstone is void and the popper looks again. So pops need no lock,
  across processes too.
- ``agents.clear``: nothing before it is live. The session's state key ``agents_floor`` (set
  with it, in its commit) is a seq below that event: readers never look below it.

Reading walks the log back from its end: tombstones jump over what they removed, so
``get_items(limit)`` reads about ``limit`` items' events, whatever the history before them.

The operations are generators of *effects* (``GET``, ``Events``, ``Append``) that a sync or an
async driver carries out (``session.py``): one logic for both APIs.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInput

ITEMS = "agents.items"
POP = "agents.pop"
CLEAR = "agents.clear"
FLOOR = "agents_floor"


class Get:
    """Effect: the session (``swarmstore.Session``), or None if it does not exist yet."""


GET = Get()


LogEvent = tuple[int, str, Any]  # (seq, type, content): what the log reads of an event (plain
# tuples: a NamedTuple's construction cost ~0.5 µs an event, a third of a 100-event read)


@dataclass(frozen=True, slots=True)
class Events:
    """Effect: the events with ``lo < seq <= hi``, in order (every seq there exists), as ``LogEvent``s."""

    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class Pause:
    """Effect: wait this long (seconds) before trying again."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Append:
    """Effect: append an event (creating the session first if needed); the ``Event``."""

    type: str
    content: Any
    state_delta: dict[str, Any] | None = None


Op = Generator[Get | Events | Append | Pause, Any, Any]


def floor_of(session: Any) -> int:
    """The seq below which nothing is live (0 for a session never cleared)."""
    floor = session.state.get(FLOOR, 0)
    return floor if isinstance(floor, int) and not isinstance(floor, bool) else 0


def tail(
    last: int, floor: int, limit: int | None, per_event: float = 1.0
) -> Generator[Events, Any, list[tuple[int, int, Any]]]:
    """The live items, newest first, as ``(seq, index, item)``: at most ``limit`` (None: all).

    ``per_event``: how many items an event holds, as far as the caller knows; the first read
    takes ``limit / per_event`` events (each read that falls short doubles the next)."""
    out: list[tuple[int, int, Any]] = []
    pos, keep = last, -1  # keep: how many items of the event at pos are live (-1: all)
    window = last - floor if limit is None else max(1, math.ceil(limit / max(1.0, per_event)))
    while pos > floor and (limit is None or len(out) < limit):
        lo = max(floor, pos - window)
        events = yield Events(lo, pos)
        while pos > lo and (limit is None or len(out) < limit):
            seq, kind, content = events[pos - lo - 1]
            if kind == ITEMS and isinstance(content, list):
                n = len(content) if keep < 0 else min(keep, len(content))
                for i in range(n - 1, -1, -1):
                    out.append((pos, i, content[i]))
                    if limit is not None and len(out) >= limit:
                        break
                pos, keep = pos - 1, -1
            elif kind == POP and _valid_pop(seq, content, floor):
                pos, keep = content["seq"], content["index"]
            elif kind == CLEAR:
                return out
            else:  # a void tombstone, or another kind of event in this session
                pos, keep = pos - 1, -1
        window *= 2
    return out


def _valid_pop(seq: int, content: Any, floor: int) -> bool:
    return (
        isinstance(content, dict)
        and content.get("basis") == seq - 1
        and isinstance(content.get("seq"), int)
        and floor < content["seq"] < seq
        and isinstance(content.get("index"), int)
        and content["index"] >= 0
    )


def get_items(limit: int | None, per_event: float = 1.0) -> Op:
    """The latest ``limit`` live items in order (None or negative: all; 0: none), and how many
    items an event held among those read (``per_event`` if too few to tell)."""
    if limit == 0:
        return [], per_event
    session = yield GET
    if session is None:
        return [], per_event
    found = yield from tail(session.event_count, floor_of(session), None if limit is None or limit < 0 else limit, per_event)
    events = len({seq for seq, _, _ in found})
    return [item for _, _, item in reversed(found)], (len(found) / events if events > 2 else per_event)


def add_items(items: Sequence[Any]) -> Op:
    """Append the items as one event; a batch over the size limit goes as several, in order."""
    items = list(items)
    if not items:
        return None
    try:
        yield Append(ITEMS, items)
    except InvalidInput as e:
        if len(items) < 2 or "exceeds the limit" not in e.message:
            raise
        half = len(items) // 2
        yield from add_items(items[:half])
        yield from add_items(items[half:])
    return None


def pop_item() -> Op:
    """Remove and return the latest live item (None if there is none).

    (Poppers of one process take turns, see session.py; the void tombstones are for those of
    several processes, which back off a random while before they look again.)"""
    for attempt in itertools.count():
        if attempt:
            yield Pause(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))
        session = yield GET
        if session is None:
            return None
        last = session.event_count
        top = yield from tail(last, floor_of(session), 1)
        if not top:
            return None
        seq, index, item = top[0]
        event = yield Append(POP, {"seq": seq, "index": index, "basis": last})
        if event.seq == last + 1:
            return item
        # another writer appended between our read and our tombstone: it is void; look again
    raise AssertionError("unreachable")  # pragma: no cover


def clear_session() -> Op:
    """Make every item so far dead: a ``clear`` event, and the floor readers start above."""
    session = yield GET
    if session is None:
        return None
    yield Append(CLEAR, None, {FLOOR: session.event_count})
    return None
