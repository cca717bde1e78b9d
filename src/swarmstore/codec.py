"""JSON encoding of stored values: strict (only JSON types, finite numbers, 64-bit ints) and size-bounded."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

from .errors import InvalidInput

OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
loads = orjson.loads


def reject(obj: Any) -> Any:
    raise TypeError(f"{type(obj).__name__} is not a JSON type")


def _find_nonfinite(obj: Any) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_find_nonfinite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_find_nonfinite(v) for v in obj)
    return False


def dumps(value: Any, field: str, limit: int | None = None) -> str:
    """Serialise ``value`` to JSON text, or raise :class:`InvalidInput` naming ``field``."""
    try:
        raw = orjson.dumps(value, default=reject, option=OPTS)
    except TypeError as exc:
        msg = str(exc)
        if "64-bit" in msg:
            msg = "integers beyond 64 bits are not supported (store them as strings)"
        raise InvalidInput(field, f"not JSON-serialisable: {msg}") from None
    # orjson writes NaN/Infinity as null, which would silently change the value: look only when null appears.
    if b"null" in raw and _find_nonfinite(value):
        raise InvalidInput(field, "NaN and Infinity are not valid JSON numbers")
    if limit is not None and len(raw) > limit:
        raise InvalidInput(field, f"{len(raw)} bytes exceeds the limit of {limit} bytes")
    return raw.decode()


def dumps_dict(value: Any, field: str, limit: int | None = None) -> str:
    """Like :func:`dumps` but the value must be a mapping with string keys (metadata, state)."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        if not isinstance(value, Mapping):
            raise InvalidInput(field, f"expected a mapping, got {type(value).__name__}")
        value = dict(value)
    return dumps(value, field, limit)
