"""Short ids: the CLI prints the last 12 characters of an id where a whole one would not fit, and
every command that takes an id accepts any unique part of one (at least 4 characters): the short
id, its beginning, the id's beginning..."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from swarmstore import Store
from swarmstore.errors import InvalidInput, NotFound

SHORT = 12
MIN_FRAGMENT = 4
_FULL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_FRAGMENT = re.compile(r"^[0-9a-f-]+$")


def short_id(full: str | None) -> str:
    """How the CLI prints an id in a table or tree."""
    return "" if full is None else full[-SHORT:]


def _resolve(text: str, what: str, match: Callable[[str], list[str]]) -> str:
    given = text.strip().lower()
    if _FULL.match(given) or not _FRAGMENT.match(given):
        return text  # (a whole id, or no part of one: the command itself says if it does not exist)
    if len(given.replace("-", "")) < MIN_FRAGMENT:
        raise InvalidInput(f"{what} id", f"{text!r} is too short: give at least {MIN_FRAGMENT} characters of the id")
    found = match(given)
    if not found:
        raise NotFound(f"no {what} id contains {text!r}")
    if len(found) > 1:
        shown = ", ".join(found[:2])
        raise InvalidInput(
            f"{what} id", f"{text!r} is ambiguous: it matches {shown} and maybe more; give more characters"
        )
    return found[0]


def task_id(st: Store, text: str) -> str:
    """The whole task id that ``text`` (a whole id, or a unique part of one) names."""
    return _resolve(text, "task", st.tasks._match_ids)


def task_ids(st: Store, texts: Iterable[str]) -> list[str]:
    return [task_id(st, t) for t in texts]


def session_id(st: Store, text: str) -> str:
    """The whole session id that ``text`` (a whole id, or a unique part of one) names."""
    return _resolve(text, "session", st.sessions._match_ids)


def agent_id(st: Store, text: str) -> str:
    """The whole agent id that ``text`` names (agents are few: matched among all of them)."""
    return _resolve(text, "agent", lambda f: [a.id for a in st.agents.list(alive_only=False) if f in a.id][:2])


def entity_id(st: Store, entity: str | None, text: str) -> str:
    """An audit entity id: task, session and agent ids may be given in part."""
    resolvers = {"task": task_id, "session": session_id, "agent": agent_id}
    return resolvers[entity](st, text) if entity in resolvers else text


def short_entity(entity: str, full: str) -> str:
    return short_id(full) if entity in ("task", "session", "agent") else full
