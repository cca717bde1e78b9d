"""The operation sets of the engine contract: one protocol per entity, with the rows it returns."""

from .agents import AgentOps
from .audit import AuditOps, AuditRecord
from .documents import DocumentOps
from .memory import MemoryOps
from .search import SearchOps
from .sessions import SessionOps
from .tasks import TaskOps

__all__ = [
    "AgentOps",
    "AuditOps",
    "AuditRecord",
    "DocumentOps",
    "MemoryOps",
    "SearchOps",
    "SessionOps",
    "TaskOps",
]
