"""The PostgreSQL engine's sessions operations (``engine.sessions``): SQL text in ``sql/sessions.sql``."""

from __future__ import annotations

from typing import Any


class PgSessionOps:
    """``SessionOps`` on PostgreSQL. ``runner`` runs stand-alone reads (the engine)."""

    def __init__(self, runner: Any) -> None:
        self._run = runner
