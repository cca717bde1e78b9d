"""swarmstore: the durable state of an agent swarm (sessions, memory, tasks, audit)."""

from __future__ import annotations

from . import errors
from .aio import AsyncStore, AsyncWorker
from .clock import ManualClock
from .memory import precedence
from .models import (
    Agent,
    AuditEntry,
    Completions,
    Document,
    DocumentChunk,
    Event,
    Hit,
    Memory,
    Page,
    PruneResult,
    Session,
    SyncReport,
    Task,
    TaskNode,
)
from .scoped import ScopedStore
from .search.embedder import Embedder
from .store import Store, open, reindex
from .worker import TaskContext, Worker, WorkerStats

__all__ = [
    "Agent",
    "AsyncStore",
    "AsyncWorker",
    "AuditEntry",
    "Completions",
    "Document",
    "DocumentChunk",
    "Embedder",
    "Event",
    "Hit",
    "ManualClock",
    "Memory",
    "Page",
    "PruneResult",
    "ScopedStore",
    "Session",
    "Store",
    "SyncReport",
    "Task",
    "TaskContext",
    "TaskNode",
    "Worker",
    "WorkerStats",
    "errors",
    "open",
    "precedence",
    "reindex",
]
__version__ = "0.1.0"
