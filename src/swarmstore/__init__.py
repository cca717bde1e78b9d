"""swarmstore: the durable state of an agent swarm (sessions, memory, tasks, audit)."""

from __future__ import annotations

from . import errors
from .models import AuditEntry, Event, Memory, Page, Session
from .store import Store, open

__all__ = ["AuditEntry", "Event", "Memory", "Page", "Session", "Store", "errors", "open"]
__version__ = "0.1.0"
