"""The searchable text of a memory's JSON value.

- a string is its own text;
- a number is written as Python writes it (``3``, ``2.5``, ``1e+20``), a boolean as ``true``/``false``;
  ``null`` and empty strings add nothing;
- an object gives one ``key: value`` line per leaf, in the object's own order, so that
  ``{"decision": "we retry with backoff"}`` is found by "decision" too. A nested leaf is named by its last
  three keys joined with dots (``retry.policy.base: 2s``); a list of scalars is one line, its items joined
  by ``", "`` (``tags: db, retry``); a list holding objects or lists gives the lines of each item under the
  list's key.

The text is capped at :data:`MAX_TEXT_CHARS` characters (32 KiB; a longer value is cut, at a word boundary
when one is near) so that indexing a large value stays cheap: put long texts in documents, which are
chunked. The value is walked without recursion, so any depth works, and the walk stops at the cap.
Anything that is not a JSON type is written with ``str`` (memory values are JSON; this only keeps the
function total).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_TEXT_CHARS = 32 * 1024
PATH_KEYS = 3  # a nested leaf is named by this many keys at most
MAX_KEY_CHARS = 200  # a longer key is cut in the name of its leaves
_WORD_BACKOFF = 64  # a cut text loses at most this many characters to end on a word boundary


def text_of(value: Any) -> str:
    """The searchable text of a JSON value (see the module docstring); at most ``MAX_TEXT_CHARS`` characters."""
    if isinstance(value, str):
        return _cap(value)
    out: list[str] = []
    size = 0
    # (value, name path) in document order: a stack, children pushed in reverse.
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack and size <= MAX_TEXT_CHARS:
        item, path = stack.pop()
        line: str | None = None
        if isinstance(item, Mapping):
            children = [(v, (*path, _key(k))[-PATH_KEYS:]) for k, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, (list, tuple)):
            if all(_is_scalar(v) for v in item):
                parts = [s for s in (_scalar(v) for v in item) if s]
                if parts:
                    line = ", ".join(parts)
            else:
                stack.extend((v, path) for v in reversed(item))
        else:
            line = _scalar(item)
        if line:
            if path:
                line = f"{'.'.join(path)}: {line}"
            out.append(line)
            size += len(line) + 1
    return _cap("\n".join(out))


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple))


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value[: MAX_TEXT_CHARS + 1]
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    try:
        return str(value)[: MAX_TEXT_CHARS + 1]
    except Exception:  # a foreign object's __str__ may raise: it adds no text
        return ""


def _key(key: Any) -> str:
    return (key if isinstance(key, str) else _scalar(key))[:MAX_KEY_CHARS]


def _cap(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    cut = text[:MAX_TEXT_CHARS]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= MAX_TEXT_CHARS - _WORD_BACKOFF:
        cut = cut[:space]
    return cut.rstrip()
