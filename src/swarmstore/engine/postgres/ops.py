"""The PostgreSQL engine's operation sets, bound to what runs their reads."""

from __future__ import annotations

from typing import Any

from .agents import PgAgentOps
from .audit import PgAuditOps
from .documents import PgDocumentOps
from .memory import PgMemoryOps
from .search import PgSearchOps
from .sessions import PgSessionOps
from .tasks import PgTaskOps


def bind_ops(target: Any, runner: Any) -> None:
    """Give ``target`` (an engine, or the async API's view of one) its operation sets, whose
    stand-alone reads run on ``runner``."""
    target.memory = PgMemoryOps(runner)
    target.sessions = PgSessionOps(runner)
    target.tasks = PgTaskOps(runner)
    target.agents = PgAgentOps(runner)
    target.audit = PgAuditOps(runner)
    target.documents = PgDocumentOps(runner)
    target.search = PgSearchOps(runner)


__all__ = [
    "PgAgentOps",
    "PgAuditOps",
    "PgDocumentOps",
    "PgMemoryOps",
    "PgSearchOps",
    "PgSessionOps",
    "PgTaskOps",
    "bind_ops",
]
