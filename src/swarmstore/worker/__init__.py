"""Workers: claim -> handle -> complete/fail. ``Worker`` runs handlers on threads; the async API's
``AsyncWorker`` runs them as coroutines; both are shells over one step core (``core.StepCore``)."""

from __future__ import annotations

from .core import StepCore, WorkerOptions, WorkerStats, beat_refused, failure_text, log
from .handlers import load_handler, takes_context
from .threads import TaskContext, Worker

__all__ = [
    "StepCore",
    "TaskContext",
    "Worker",
    "WorkerOptions",
    "WorkerStats",
    "beat_refused",
    "failure_text",
    "load_handler",
    "log",
    "takes_context",
]
