"""Models to JSON-ready values: what the CLI's ``--json`` and the MCP server's tool results print."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any


def plain(obj: Any) -> Any:
    """Models (dataclasses) to JSON-ready dicts, datetimes to ISO 8601 strings, recursively."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj
