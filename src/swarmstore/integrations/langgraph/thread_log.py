"""A thread's checkpoints, folded from its session's event log.

Events (their ``content``):
- ``checkpoint``: ``{"ns", "id", "parent", "cp": [type, base64], "md": [type, base64], "meta": {...}}``
  (``meta``: the plain JSON parts of the metadata, for people reading the log);
- ``checkpoint.writes``: ``{"ns", "cp", "task", "path", "w": [[idx, channel, type, base64], ...]}``;
- ``checkpoint.delete``: ``{"scope": "thread"}``, ``{"runs": [run ids]}`` or ``{"keep_latest": true}``:
  tombstones, since the log is append-only (what came before stays in the log and the audit).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

CHECKPOINT = "checkpoint"
WRITES = "checkpoint.writes"
DELETE = "checkpoint.delete"

Typed = tuple[str, bytes]
Stored = tuple[str, "bytes | str"]  # a typed value, its bytes still in base64 when read from the log
Write = tuple[str, str, Stored, str]  # task id, channel, value, task path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def typed(value: Stored) -> Typed:
    """A stored typed value with its bytes decoded from base64 if need be."""
    t, data = value
    return (t, data) if isinstance(data, bytes) else (t, base64.b64decode(data))


class Saved:
    """One checkpoint as stored: still serialized (each read decodes a fresh copy). What a fold does
    not need (base64, the metadata) is decoded on first use: a cold read folds the log cheaply."""

    __slots__ = ("_cp", "_loads", "_md", "_meta", "id", "parent", "seq", "writes")

    def __init__(
        self, seq: int, id: str, parent: str | None, cp: Stored, md: Stored, loads: Any, meta: dict[str, Any] | None
    ) -> None:
        self.seq, self.id, self.parent = seq, id, parent
        self._cp, self._md, self._loads, self._meta = cp, md, loads, meta
        self.writes: dict[tuple[str, int], Write] = {}

    @property
    def checkpoint(self) -> Typed:
        cp = self._cp = typed(self._cp)
        return cp

    @property
    def metadata(self) -> Typed:
        md = self._md = typed(self._md)
        return md

    @property
    def meta(self) -> dict[str, Any]:
        """The decoded metadata (for filters and runs)."""
        if self._meta is None:
            self._meta = self._loads(self.metadata)
        return self._meta


@dataclass(slots=True)
class ThreadLog:
    """The live checkpoints of one thread by namespace, as of event ``seen``."""

    session_id: str
    seen: int = 0
    namespaces: dict[str, dict[str, Saved]] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)

    def apply(self, seq: int, type: str, content: dict[str, Any], loads: Any) -> None:
        """Fold one event read from the log (``loads`` decodes a typed value: the saver's serde)."""
        if type == CHECKPOINT:
            cp, md = content["cp"], content["md"]
            self.add(seq, content["ns"], content["id"], content.get("parent"), (cp[0], cp[1]), (md[0], md[1]), loads)
        elif type == WRITES:
            rows: list[tuple[int, str, Stored]] = [(idx, channel, (t, data)) for idx, channel, t, data in content["w"]]
            self.add_writes(seq, content["ns"], content["cp"], content["task"], content["path"], rows)
        else:
            self.seen = seq
            if type == DELETE:
                self._delete(content)

    def add(
        self,
        seq: int,
        ns: str,
        cid: str,
        parent: str | None,
        checkpoint: Stored,
        metadata: Stored,
        loads: Any,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Fold a checkpoint (from the log, or just appended: no need to decode what we encoded)."""
        self.seen = seq
        self.namespaces.setdefault(ns, {})[cid] = Saved(seq, cid, parent, checkpoint, metadata, loads, meta)
        if cid >= self.latest.get(ns, ""):
            self.latest[ns] = cid

    def add_writes(self, seq: int, ns: str, cid: str, task: str, path: str, rows: list[tuple[int, str, Stored]]) -> None:
        """Fold a task's writes: regular ones (idx >= 0) are kept once, special ones (idx < 0) replace."""
        self.seen = seq
        saved = self.namespaces.get(ns, {}).get(cid)
        if saved is None:
            return  # writes to a checkpoint deleted meanwhile
        writes = saved.writes
        for idx, channel, value in rows:
            key = (task, idx)
            if idx >= 0 and key in writes:
                continue
            writes[key] = (task, channel, value, path)

    def _delete(self, content: dict[str, Any]) -> None:
        if content.get("scope") == "thread":
            self.namespaces.clear()
            self.latest.clear()
            return
        runs = content.get("runs")
        for ns, saved in list(self.namespaces.items()):
            if runs is not None:
                gone = {cid for cid, s in saved.items() if s.meta.get("run_id") in runs}
            elif content.get("keep_latest"):
                gone = set(saved) - {self.latest[ns]}
            else:
                gone = set()
            for cid in gone:
                del saved[cid]
            if not saved:
                del self.namespaces[ns]
                del self.latest[ns]
            elif self.latest[ns] not in saved:
                self.latest[ns] = max(saved)

    def get(self, ns: str, checkpoint_id: str | None) -> Saved | None:
        """The checkpoint ``checkpoint_id`` of ``ns`` (None: the latest), if live."""
        saved = self.namespaces.get(ns)
        if not saved:
            return None
        return saved.get(self.latest[ns] if checkpoint_id is None else checkpoint_id)
