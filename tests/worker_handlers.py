"""Task handlers that worker subprocesses in the tests import (``tests.worker_handlers:NAME``)."""

from __future__ import annotations

import os
from typing import Any

from swarmstore import Task, TaskContext


def echo(task: Task) -> Any:
    return {"pid": os.getpid(), "payload": task.payload}


def slow(task: Task, ctx: TaskContext) -> Any:
    """Sleeps ``payload["seconds"]`` (stopping early when the task is cancelled or handed back),
    after writing a marker file so the test knows the task is running."""
    marker = task.payload.get("marker")
    if marker:
        with open(marker, "w") as f:
            f.write(task.id)
    ctx.cancelled.wait(task.payload.get("seconds", 1.0))
    return {"pid": os.getpid(), "slept": task.payload.get("seconds")}


def flaky(task: Task) -> Any:
    if task.attempt < 2:
        raise RuntimeError(f"attempt {task.attempt} fails")
    return {"attempt": task.attempt}
