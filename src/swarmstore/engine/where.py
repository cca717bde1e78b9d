"""A listing's WHERE clause, built the same way by every engine from a filter spec."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..access import Grant
from ..namespaces import children_range
from .ops.agents import AgentFilter
from .ops.audit import AuditFilter
from .ops.memory import MemoryPurge
from .ops.search import SearchFilter
from .ops.sessions import SessionFilter
from .ops.tasks import TaskFilter


class Where:
    """Conditions ANDed, their values bound in order. Conditions are written with ``?`` for each
    value; an engine whose driver takes another placeholder names it (PostgreSQL: ``%s``), and
    one that binds arrays says so (``one_of`` then binds one array, not a value each)."""

    __slots__ = ("arrays", "conditions", "params", "placeholder")

    def __init__(self, placeholder: str = "?", *, arrays: bool = False) -> None:
        self.placeholder = placeholder
        self.arrays = arrays
        self.conditions: list[str] = []
        self.params: list[Any] = []

    def add(self, condition: str, *values: Any) -> None:
        """Add ``condition`` (with a ``?`` for each of ``values``)."""
        if self.placeholder != "?":
            condition = condition.replace("?", self.placeholder)
        self.conditions.append(condition)
        self.params += values

    def equal(self, column: str, value: Any) -> None:
        """``column = value``, unless ``value`` is None (no filter)."""
        if value is not None:
            self.add(f"{column} = ?", value)

    def one_of(self, column: str, values: Sequence[str]) -> None:
        """``column`` (text) is one of ``values``."""
        if self.arrays:
            self.add(f"{column} = ANY(?::text[])", list(values))
        else:
            self.add(f"{column} IN ({', '.join('?' * len(values))})", *values)

    def admitted(self, column: str, grant: Grant | None) -> None:
        """``column`` is a name ``grant`` admits (a scoped view's rules), unless ``grant`` is None."""
        if grant is not None and not grant.everything:
            condition, values = grant.condition(column, self.regexp)
            self.add(condition, *values)

    @property
    def regexp(self) -> str:
        """The engine's regular expression match operator (SQLite's calls ``access.sql_regexp``)."""
        return "REGEXP" if self.placeholder == "?" else "~"

    def below(self, column: str, value: Any) -> None:
        """``column < value`` (a keyset page's bound), unless ``value`` is None (the first page)."""
        if value is not None:
            self.add(f"{column} < ?", value)

    def clause(self) -> str:
        """`` WHERE`` and the conditions ANDed ("" when there are none)."""
        return " WHERE " + " AND ".join(self.conditions) if self.conditions else ""

    def query(self, select: str, order: str, limit: int) -> tuple[str, list[Any]]:
        """``select`` with these conditions, ``order`` and a limit: the SQL and its parameters."""
        return f"{select}{self.clause()} ORDER BY {order} LIMIT {self.placeholder}", [*self.params, limit]


_TASK_COLUMNS = ("queue", "agent_type", "parent_id", "session_id")  # (TaskFilter's fields, named as the columns)


def task_where(spec: TaskFilter, before: str | None, where: Where) -> Where:
    """A task listing's conditions, newest first from ``before``."""
    if spec.statuses is not None:
        where.one_of("status", spec.statuses)
        if not {"ready", "running"} & set(spec.statuses):
            where.add("status NOT IN ('ready', 'running')")  # (the partial index tasks_status)
    for column in _TASK_COLUMNS:
        where.equal(column, getattr(spec, column))
    where.admitted("queue", spec.queues)
    where.below("id", before)
    return where


def session_where(spec: SessionFilter, before: str | None, where: Where, user_column: str = "user") -> Where:
    """A session listing's conditions, newest first from ``before`` (``user_column``: the column
    as the engine must spell it; PostgreSQL quotes the reserved word)."""
    for column, value in (("app", spec.app), (user_column, spec.user), ("project", spec.project)):
        where.equal(column, value)
    if spec.statuses is not None:
        where.one_of("status", spec.statuses)
    if spec.allowed is not None:
        condition, values = spec.allowed.condition("app", user_column, where.regexp)
        where.add(condition, *values)
    where.below("id", before)
    return where


def agent_where(spec: AgentFilter, where: Where) -> Where:
    """An agent listing's conditions."""
    if spec.seen_since is not None:
        where.add("last_seen_at >= ? AND status <> 'stopped'", spec.seen_since)
    where.equal("agent_type", spec.agent_type)
    return where


def audit_where(spec: AuditFilter, before: int | None, where: Where) -> Where:
    """An audit listing's conditions, but for ``action_family`` and ``namespace``: prefixes,
    which each engine matches its own way (its collation decides what a range means)."""
    for column in ("entity", "entity_id", "actor", "action"):
        where.equal(column, getattr(spec, column))
    if spec.since is not None:
        where.add("at >= ?", spec.since)
    if spec.until is not None:
        where.add("at < ?", spec.until)
    if spec.allowed is not None and not spec.allowed.everything:
        condition, values = spec.allowed.condition("namespace", where.regexp)
        where.add(f"(namespace IS NULL OR {condition})", *values)
    where.below("id", before)
    return where


def purge_where(spec: MemoryPurge, now: int, where: Where) -> Where | None:
    """The memory rows a purge removes; None when it asks for neither deleted nor expired ones."""
    either: list[str] = []
    values: list[Any] = []
    if spec.deleted:
        if spec.deleted_before is None:
            either.append("deleted_at IS NOT NULL")
        else:
            either.append("deleted_at < ?")
            values.append(spec.deleted_before)
    if spec.expired:
        either.append("expires_at <= ?")
        values.append(now)
    if not either:
        return None
    where.add(f"({' OR '.join(either)})", *values)
    if spec.prefix:
        lo, hi = children_range(spec.prefix)
        where.add("(namespace = ? OR (namespace >= ? AND namespace < ?))", spec.prefix, lo, hi)
    return where


def search_item_where(spec: SearchFilter, where: Where) -> Where:
    """The conditions of a search's filter that an index item's own columns answer (``search_items
    i``): its kind, namespace prefix (segment-exact) and type."""
    if len(spec.kinds) == 1:
        where.add("i.kind = ?", spec.kinds[0])
    if spec.prefix:
        lo, hi = children_range(spec.prefix)
        where.add("(i.namespace = ? OR (i.namespace >= ? AND i.namespace < ?))", spec.prefix, lo, hi)
    if spec.types is not None:
        where.one_of("i.type", spec.types)
    where.admitted("i.namespace", spec.allowed)
    return where
