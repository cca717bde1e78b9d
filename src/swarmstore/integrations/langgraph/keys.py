"""LangGraph names to swarmstore names, reversibly.

A LangGraph namespace label may be any string; a swarmstore namespace segment is
``[A-Za-z0-9_.-]+``. Each label is encoded on its own (so a tuple prefix maps to a segment
prefix): ``A-Z a-z 0-9 _ -`` stay as they are, every other UTF-8 byte becomes ``.XX`` (upper
hex), and the empty label is ``.`` alone (no escape is a lone dot).
"""

from __future__ import annotations

import hashlib

_PLAIN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_HEX = "0123456789ABCDEF"


def encode_label(label: str) -> str:
    """One LangGraph label as one swarmstore segment."""
    if label.isascii() and label.replace("_", "a").replace("-", "a").isalnum():
        return label  # the common case: nothing to escape
    if not label:
        return "."
    out: list[str] = []
    for b in label.encode("utf-8", "surrogatepass"):
        if b in _PLAIN:
            out.append(chr(b))
        else:
            out.append("." + _HEX[b >> 4] + _HEX[b & 15])
    return "".join(out)


def decode_label(segment: str) -> str:
    """The inverse of ``encode_label``."""
    if "." not in segment:
        return segment
    if segment == ".":
        return ""
    raw = bytearray()
    i, n = 0, len(segment)
    while i < n:
        c = segment[i]
        if c == ".":
            raw.append(int(segment[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(c))
            i += 1
    return raw.decode("utf-8", "surrogatepass")


def encode_namespace(root: str, labels: tuple[str, ...]) -> str:
    """``labels`` under the swarmstore namespace ``root`` (``root`` alone for ``()``)."""
    if not labels:
        return root
    return root + ":" + ":".join(map(encode_label, labels))


def decode_namespace(root: str, namespace: str) -> tuple[str, ...]:
    """The inverse of ``encode_namespace``."""
    if namespace == root:
        return ()
    return tuple(decode_label(s) for s in namespace[len(root) + 1 :].split(":"))


def session_name(prefix: str, name: str) -> str:
    """A session id or user for ``name``: itself when printable and short, else a digest of it."""
    if name and name.isprintable() and len(name) + len(prefix) < 256:
        return prefix + name
    return prefix + "sha256." + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
