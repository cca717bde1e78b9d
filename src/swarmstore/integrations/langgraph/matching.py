"""LangGraph's filters and namespace match conditions, evaluated on decoded items."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.store.base import InvalidNamespaceError, ListNamespacesOp, MatchCondition, Op, PutOp, SearchOp


def check_labels(labels: Sequence[Any], *, wildcards: bool = False, put: bool = False) -> None:
    """Raise LangGraph's ``InvalidNamespaceError`` as its stores do (before anything runs)."""
    if put and not labels:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    for label in labels:
        if not isinstance(label, str):
            raise InvalidNamespaceError(f"Invalid namespace label {label!r} in {labels}: labels must be strings.")
        if wildcards and label == "*":
            continue
        if "." in label or "\x00" in label or not label:
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} in {labels}: labels must be non-empty, without '.' or NUL."
            )
    if put and labels[0] == "langgraph":
        raise InvalidNamespaceError(f'Root label for namespace cannot be "langgraph". Got: {labels}')


def check_ops(ops: Sequence[Op]) -> None:
    """Check every op of a batch first: a bad one refuses the whole batch."""
    for op in ops:
        if isinstance(op, ListNamespacesOp):
            for cond in op.match_conditions or ():
                check_labels(cond.path, wildcards=True)
        elif isinstance(op, SearchOp):
            check_labels(op.namespace_prefix)
        else:
            check_labels(op.namespace, put=isinstance(op, PutOp) and op.value is not None)


def matches(cond: MatchCondition, labels: tuple[str, ...]) -> bool:
    """Whether ``labels`` starts (prefix) or ends (suffix) with the condition's path; ``*`` is any label."""
    path = tuple(cond.path)
    if len(labels) < len(path):
        return False
    if cond.match_type == "suffix":
        labels, path = labels[::-1], path[::-1]
    pairs = zip(labels, path, strict=False)  # (labels may be longer)
    return all(p == "*" or k == p for k, p in pairs)


def _op(value: Any, op: str, want: Any) -> bool:
    if op == "$eq":
        return bool(value == want)
    if op == "$ne":
        return bool(value != want)
    try:
        a, b = float(value), float(want)
    except (TypeError, ValueError):
        return False
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}.get(op, False)


def _compare(value: Any, want: Any) -> bool:
    if isinstance(want, Mapping):
        if any(k.startswith("$") for k in want):
            return all(_op(value, k, v) for k, v in want.items())
        return isinstance(value, Mapping) and all(_compare(value.get(k), v) for k, v in want.items())
    if isinstance(want, list | tuple):
        return (
            isinstance(value, list | tuple)
            and len(value) == len(want)
            and all(_compare(a, b) for a, b in zip(value, want, strict=True))
        )
    return bool(value == want)


def _at(value: Mapping[str, Any], key: str) -> Any:
    """``value[key]``, or the nested value a dotted ``key`` names (``user.access-level``)."""
    if key in value or "." not in key:
        return value.get(key)
    found: Any = value
    for part in key.split("."):
        if not isinstance(found, Mapping):
            return None
        found = found.get(part)
    return found


def passes(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether an item's value passes a LangGraph ``filter`` (``$eq $ne $gt $gte $lt $lte``)."""
    return not filter or all(_compare(_at(value, k), v) for k, v in filter.items())


def predicate(filter: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any]], bool]:
    """``passes`` for one filter, with equality on plain top-level keys (the common case) made cheap."""
    if not filter:
        return lambda value: True
    pairs = tuple(filter.items())
    if any("." in k or v is None or isinstance(v, Mapping | list | tuple) for k, v in pairs):
        return lambda value: passes(value, filter)
    if len(pairs) == 1:
        [(key, want)] = pairs
        return lambda value: bool(value.get(key) == want)
    return lambda value: all(value.get(k) == v for k, v in pairs)
