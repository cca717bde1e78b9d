"""The vocabulary of public parameters: each type says what a valid argument is.

A public service method annotates its parameters with these (``namespace: Namespace``); the
``@checked`` decorator (``boundary.py``) runs the matching check on every call, once, before the
method's body. To a type checker each is the plain type it wraps. Later interfaces (the MCP
server, the HTTP API) can read the same annotations to describe their inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from .errors import InvalidInput
from .models import MEMORY_TYPES
from .namespaces import check_key, check_namespace, check_prefix
from .validation import (
    check_batch,
    check_bool,
    check_choice,
    check_choices,
    check_cursor,
    check_datetime,
    check_ids,
    check_int,
    check_limit,
    check_mapping,
    check_message,
    check_name,
    check_names,
    check_seconds,
    check_text,
    opt_name,
)

SESSION_STATUSES = ("created", "active", "paused", "terminated", "archived")
TASK_STATUSES = ("blocked", "ready", "running", "completed", "failed", "cancelled")
TASK_SOURCES = ("human", "agent", "system")
DEPENDENCY_POLICIES = ("cancel", "fail", "run")
AGENT_STATUSES = ("idle", "busy", "stopping", "stopped")
MAX_PRIORITY = 10
MAX_ATTEMPTS = 1000


@dataclass(frozen=True, slots=True)
class Check:
    """How to check one parameter: ``fn(value, field)`` returns the value or raises InvalidInput."""

    fn: Callable[[Any, str], Any]
    describe: str


def _choices(options: Iterable[str]) -> Callable[[Any, str], list[str]]:
    opts = tuple(sorted(options))
    return lambda v, f: check_choices(v, f, opts)


def _choice(options: Iterable[str]) -> Callable[[Any, str], str]:
    opts = tuple(sorted(options))
    return lambda v, f: check_choice(v, f, opts)


def _bounded(lo: int, hi: int | None = None) -> Callable[[Any, str], int]:
    return (lambda v, f: check_int(v, f, lo)) if hi is None else (lambda v, f: check_int(v, f, lo, hi))


Name = Annotated[str, Check(check_name, "a non-empty printable name, at most 256 characters")]
Id = Annotated[str, Check(check_name, "the id of an existing entity")]
OptionalId = Annotated[str | None, Check(opt_name, "an id, or null for none")]
EntityId = Annotated[str, Check(lambda v, f: check_name(v, f, 2048), "an audited entity's id")]
Namespace = Annotated[str, Check(check_namespace, "segments of [A-Za-z0-9_.-] joined by ':'")]
Prefix = Annotated[str, Check(check_prefix, "a namespace, or '' for all")]
Namespaces = Annotated[Sequence[str], Check(lambda v, f: _namespaces(v, f), "a list of namespaces, most specific first")]
Key = Annotated[str, Check(check_key, "a printable key, at most 1024 characters")]
IdempotencyKey = Annotated[str, Check(lambda v, f: check_name(v, f, 512), "a printable key, at most 512 characters")]
Text = Annotated[str, Check(check_text, "non-blank text, at most 4000 characters")]
Message = Annotated[str, Check(check_message, "text, at most 10000 characters kept")]
Reason = Annotated[str, Check(lambda v, f: check_name(v, f, 2000), "a one-line reason, at most 2000 characters")]
Limit = Annotated[int, Check(check_limit, "1 to 10000")]
ClaimLimit = Annotated[int, Check(_bounded(1, 1000), "1 to 1000")]
PageCursor = Annotated[str, Check(check_cursor, "the next_cursor of a previous page of the same listing")]
Version = Annotated[int, Check(_bounded(1), "a version number, from 1")]
Count = Annotated[int, Check(_bounded(0), "an integer >= 0")]
Depth = Annotated[int, Check(_bounded(1, 10_000), "1 to 10000")]
Priority = Annotated[int, Check(_bounded(0, MAX_PRIORITY), "0 (lowest) to 10 (highest)")]
Attempts = Annotated[int, Check(_bounded(1, MAX_ATTEMPTS), "1 to 1000")]
Seconds = Annotated[float | timedelta, Check(check_seconds, "a positive duration in seconds (or a timedelta)")]
When = Annotated[datetime, Check(check_datetime, "a timezone-aware datetime")]
Flag = Annotated[bool, Check(check_bool, "true or false")]
Object = Annotated[Mapping[str, Any], Check(check_mapping, "a JSON object")]
Batch = Annotated[Iterable[Any], Check(check_batch, "a list of items")]
Names = Annotated[str | Sequence[str], Check(check_names, "a name or a list of names")]
NameSet = Annotated[Iterable[str], Check(check_ids, "zero or more names")]
Ids = Annotated[Iterable[str], Check(check_ids, "a list of ids")]
MemoryKind = Annotated[str, Check(_choice(MEMORY_TYPES), "semantic, episodic or procedural")]
SessionStatuses = Annotated[str | Iterable[str], Check(_choices(SESSION_STATUSES), "a session status or several")]
SessionStatus = Annotated[str, Check(_choice(SESSION_STATUSES), "a session status")]
TaskStatuses = Annotated[str | Iterable[str], Check(_choices(TASK_STATUSES), "a task status or several")]
AgentStatus = Annotated[str, Check(_choice(AGENT_STATUSES), "idle, busy, stopping or stopped")]
FinishedStatuses = Annotated[str | Iterable[str], Check(_choices(("completed", "failed", "cancelled")), "finished statuses")]
Source = Annotated[str, Check(_choice(TASK_SOURCES), "human, agent or system")]
DependencyPolicy = Annotated[str, Check(_choice(DEPENDENCY_POLICIES), "cancel, fail or run")]

SEARCH_MODES = ("keyword", "semantic", "hybrid")
MAX_DOCUMENT_CHARS = 10_000_000
DocumentId = Annotated[str, Check(lambda v, f: check_name(v, f, 1024), "a document's path or id, at most 1024 characters")]
DocumentText = Annotated[
    str, Check(lambda v, f: check_message(v, f, MAX_DOCUMENT_CHARS), "the document's text, at most 10,000,000 characters")
]
Title = Annotated[str, Check(lambda v, f: check_name(v, f, 1024), "a one-line title, at most 1024 characters")]
Query = Annotated[str, Check(lambda v, f: check_text(v, f, 4000), "what to look for, at most 4000 characters")]
SearchMode = Annotated[str, Check(_choice(SEARCH_MODES), "keyword, semantic or hybrid")]
K = Annotated[int, Check(_bounded(1, 1000), "1 to 1000")]
MemoryKinds = Annotated[str | Iterable[str], Check(_choices(MEMORY_TYPES), "memory types")]
Glob = Annotated[str, Check(lambda v, f: check_name(v, f, 1024), "a glob pattern such as **/*.md")]
Folder = Annotated[Any, Check(lambda v, f: _folder(v, f), "a folder path")]


def _folder(value: object, field: str) -> str:
    import os

    if not isinstance(value, (str, os.PathLike)):
        raise InvalidInput(field, f"expected a folder path, got {type(value).__name__}")
    return os.fspath(value)


def _namespaces(value: object, field: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput(field, "expected a list of namespaces")
    out = [check_namespace(v, field) for v in value]
    if not 1 <= len(out) <= 64:
        raise InvalidInput(field, "give 1 to 64 namespaces")
    return out
