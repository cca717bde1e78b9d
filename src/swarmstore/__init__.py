"""swarmstore: the durable state of an agent swarm (sessions, memory, tasks, audit)."""

from __future__ import annotations

from . import errors
from .aio import AsyncStore, AsyncWorker
from .clock import ManualClock
from .models import Agent, AuditEntry, Completions, Event, Memory, Page, PruneResult, Session, Task, TaskNode
from .store import Store, open
from .worker import TaskContext, Worker, WorkerStats

__all__ = [
    "Agent",
    "AsyncStore",
    "AsyncWorker",
    "AuditEntry",
    "Completions",
    "Event",
    "ManualClock",
    "Memory",
    "Page",
    "PruneResult",
    "Session",
    "Store",
    "Task",
    "TaskContext",
    "TaskNode",
    "Worker",
    "WorkerStats",
    "errors",
    "open",
]
__version__ = "0.1.0"
