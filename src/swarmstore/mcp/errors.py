"""How a failed tool call reads to the model: one line naming the typed error, never a traceback."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from ..errors import SwarmstoreError


def error_text(exc: SwarmstoreError) -> str:
    """``"NotFound: memory a/b not found"``, ``"InvalidInput: key: ..."``: the error's class, then its message."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def validation_text(exc: ValidationError) -> str:
    """The arguments that do not match the tool's schema, as an InvalidInput line (field: what is wrong)."""
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "arguments"
        got = err.get("input")
        shown = "" if err["type"] == "missing" else f" (got {type(got).__name__} {_short(got)})"
        parts.append(f"{field}: {err['msg'].lower()}{shown}")
    return "InvalidInput: " + "; ".join(parts)


def _short(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def error_result(text: str) -> CallToolResult:
    """A tool result the client sees as failed (``isError``), carrying ``text`` for the model to read."""
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
