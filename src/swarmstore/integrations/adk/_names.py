"""Reversible mapping of ADK names (app, user, session ids) onto swarmstore ids and namespaces.

Namespace segments allow only ``[A-Za-z0-9_.-]``: any other character becomes ``_`` and six hex
digits of its code point, and ``_`` itself ``__``; the empty name is ``_`` alone.
"""

from __future__ import annotations

import hashlib
import re

_SAFE = re.compile(r"[A-Za-z0-9.-]+")
_PLAIN = re.compile(r"[A-Za-z0-9.-]*\Z")
MAX_ID = 256  # swarmstore's longest name


def encode(name: str) -> str:
    """``name`` as one namespace segment (reversible by ``decode``)."""
    if not name:
        return "_"
    if _PLAIN.match(name):
        return name
    out: list[str] = []
    i = 0
    while i < len(name):
        m = _SAFE.match(name, i)
        if m:
            out.append(m.group())
            i = m.end()
            continue
        c = name[i]
        out.append("__" if c == "_" else f"_{ord(c):06x}")
        i += 1
    return "".join(out)


def decode(segment: str) -> str:
    """The name ``encode`` made ``segment`` from; ValueError if it is not such a segment."""
    if segment == "_":
        return ""
    if "_" not in segment:
        return segment
    out: list[str] = []
    i = 0
    while i < len(segment):
        c = segment[i]
        if c != "_":
            out.append(c)
            i += 1
        elif segment[i + 1 : i + 2] == "_":
            out.append("_")
            i += 2
        else:
            out.append(chr(int(segment[i + 1 : i + 7], 16)))
            i += 7
    return "".join(out)


def namespace(prefix: str, app: str, user: str) -> str:
    """``<prefix>:<app>:<user>``, each name encoded."""
    return f"{prefix}:{encode(app)}:{encode(user)}"


def session_id(app: str, user: str, sid: str) -> str:
    """Our id of ADK's session ``sid`` of ``app``/``user`` (ADK ids are unique per app and user,
    ours across the store); a triple too long for an id is hashed (``adk#...``)."""
    ours = f"adk:{encode(app)}:{encode(user)}:{encode(sid)}"
    if len(ours) <= MAX_ID:
        return ours
    digest = hashlib.sha256("\x00".join((app, user, sid)).encode("utf-8", "surrogatepass")).hexdigest()
    return "adk#" + digest


def adk_session_id(ours: str) -> str | None:
    """ADK's session id from our id, or None if it was hashed (then it is in the metadata)."""
    if not ours.startswith("adk:"):
        return None
    return decode(ours.rsplit(":", 1)[1])
