"""The SQLite engine's operation sets, bound to what runs their reads."""

from __future__ import annotations

from typing import Any

from .agents import SqliteAgentOps
from .audit import SqliteAuditOps
from .documents import SqliteDocumentOps
from .memory import SqliteMemoryOps
from .search import SqliteSearchOps
from .sessions import SqliteSessionOps
from .tasks import SqliteTaskOps


def bind_ops(target: Any, runner: Any) -> None:
    """Give ``target`` (an engine, or the async API's view of one) its operation sets, whose
    stand-alone reads run on ``runner``."""
    target.memory = SqliteMemoryOps(runner)
    target.sessions = SqliteSessionOps(runner)
    target.tasks = SqliteTaskOps(runner)
    target.agents = SqliteAgentOps(runner)
    target.audit = SqliteAuditOps(runner)
    target.documents = SqliteDocumentOps(runner)
    target.search = SqliteSearchOps(runner)


__all__ = [
    "SqliteAgentOps",
    "SqliteAuditOps",
    "SqliteDocumentOps",
    "SqliteMemoryOps",
    "SqliteSearchOps",
    "SqliteSessionOps",
    "SqliteTaskOps",
    "bind_ops",
]
