"""The PostgreSQL engine's audit operations (``engine.audit``): SQL text in ``sql/audit.sql``."""

from __future__ import annotations

from typing import Any


class PgAuditOps:
    """``AuditOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
