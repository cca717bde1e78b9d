"""A PostgreSQL store's URL and options -> what the engine connects with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ... import errors

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Past this many vectors of one dimension, searches go through an HNSW index (approximate): an
# exact scan took 68 ms p50 at 100,000 x 384 here, so about the 20 ms a search may take at 30,000.
# (A namespace filter keeping a tenth made the exact scan 6 ms at 100,000.)
HNSW_MIN_VECTORS = 30_000
OPTIONS = ("schema", "pool_min", "pool_max", "pool_timeout", "connect_timeout", "hnsw_min_vectors")


@dataclass(frozen=True, slots=True)
class PgConfig:
    conninfo: str  # the URL as libpq takes it (our own query parameters removed)
    url: str  # as given, for display (any password hidden)
    schema: str | None  # the store's schema (None: the connection's search_path, usually public)
    pool_min: int = 1
    pool_max: int = 10
    pool_timeout: float = 30.0  # seconds a call waits for a free connection before Busy
    connect_timeout: float = 10.0
    hnsw_min_vectors: int = HNSW_MIN_VECTORS


def _number(value: Any, name: str, low: float, high: float, integer: bool) -> Any:
    try:
        n = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput(name, f"expected a number, got {value!r}") from None
    if not low <= n <= high:
        raise errors.InvalidInput(name, f"must be between {low:g} and {high:g}, got {n}")
    return n


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def parse(url: str, options: dict[str, Any]) -> PgConfig:
    """``postgresql://user@host:port/db[?schema=name&...]``. ``schema`` (a URL query parameter or
    an option): the store lives in that schema of the database (created if missing), so one
    database can hold many stores; other query parameters go to libpq as they are."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise errors.InvalidInput(
            "options", f"unknown option(s) for PostgreSQL: {', '.join(unknown)} (known: {', '.join(OPTIONS)})"
        )
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in OPTIONS}
    rest = [(k, v) for k, v in query if k not in OPTIONS]
    merged: dict[str, Any] = {**ours, **options}
    schema = merged.get("schema")
    if schema is not None and (not isinstance(schema, str) or not _SCHEMA.match(schema)):
        raise errors.InvalidInput("schema", "a schema name is 1-63 lowercase letters, digits or _, not starting with a digit")
    pool_min = _number(merged.get("pool_min", 1), "pool_min", 0, 1000, True)
    pool_max = _number(merged.get("pool_max", 10), "pool_max", 1, 1000, True)
    if pool_max < max(pool_min, 1):
        raise errors.InvalidInput("pool_max", f"must be at least pool_min ({pool_min})")
    conninfo = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(rest)))
    return PgConfig(
        conninfo=conninfo,
        url=_hide_password(url),
        schema=schema,
        pool_min=pool_min,
        pool_max=pool_max,
        pool_timeout=_number(merged.get("pool_timeout", 30.0), "pool_timeout", 0.001, 86400, False),
        connect_timeout=_number(merged.get("connect_timeout", 10.0), "connect_timeout", 0.1, 3600, False),
        hnsw_min_vectors=_number(merged.get("hnsw_min_vectors", HNSW_MIN_VECTORS), "hnsw_min_vectors", 1, 10**12, True),
    )
