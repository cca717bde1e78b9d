"""Hierarchical namespaces: segments of ``[A-Za-z0-9_.-]+`` joined by ``:``.

A prefix ``p`` covers the namespace ``p`` itself and every namespace under ``p:`` — never a sibling
that merely starts with the same characters (``user:alice`` does not cover ``user:alice2``).
Because ``:`` sorts right before ``;``, the namespaces under ``p`` are exactly the key range
``[p + ":", p + ";")``, which lets every engine serve a prefix listing as index range scans.
"""

from __future__ import annotations

import re

from .errors import InvalidInput
from .validation import check_name

MAX_NAMESPACE = 512
MAX_KEY = 1024
SEP = ":"
_NS = re.compile(r"[A-Za-z0-9_.\-]+(?::[A-Za-z0-9_.\-]+)*")


_VALID: set[str] = set()  # namespaces already checked: a swarm writes to few, very often


def check_namespace(namespace: object, field: str = "namespace") -> str:
    """Validate and return a namespace."""
    if type(namespace) is str and namespace in _VALID:
        return namespace
    if not isinstance(namespace, str):
        raise InvalidInput(field, f"expected a string, got {type(namespace).__name__}")
    if not namespace:
        raise InvalidInput(field, "must not be empty")
    if len(namespace) > MAX_NAMESPACE:
        raise InvalidInput(field, f"longer than {MAX_NAMESPACE} characters")
    if _NS.fullmatch(namespace) is None:
        raise InvalidInput(
            field,
            f"{namespace!r} is malformed: use segments of letters, digits, '_', '.', '-' joined by ':'",
        )
    if len(_VALID) >= 4096:
        _VALID.clear()
    _VALID.add(namespace)
    return namespace


def check_prefix(prefix: object, field: str = "prefix") -> str:
    """A prefix is a namespace, or '' for everything."""
    if prefix == "":
        return ""
    return check_namespace(prefix, field)


def check_key(key: object, field: str = "key") -> str:
    """Keys are any non-empty string up to 1024 characters without control characters."""
    return check_name(key, field, MAX_KEY)


def children_range(prefix: str) -> tuple[str, str]:
    """The half-open key range holding every namespace strictly under ``prefix``."""
    return prefix + ":", prefix + ";"


def covers(prefix: str, namespace: str) -> bool:
    """Whether ``prefix`` covers ``namespace`` (segment-exact)."""
    return prefix == "" or namespace == prefix or namespace.startswith(prefix + SEP)


def depth(namespace: str) -> int:
    return namespace.count(SEP) + 1
