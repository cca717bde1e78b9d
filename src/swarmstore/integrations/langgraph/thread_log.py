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
Write = tuple[str, str, Typed, str]  # task id, channel, value, task path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


@dataclass(slots=True)
class Saved:
    """One checkpoint as stored: still serialized (each read decodes a fresh copy)."""

    seq: int
    id: str
    parent: str | None
    checkpoint: Typed
    metadata: Typed
    meta: dict[str, Any]  # the decoded metadata, for filters and runs
    writes: dict[tuple[str, int], Write] = field(default_factory=dict)


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
            t, data = content["cp"]
            mt, mdata = content["md"]
            md = (mt, unb64(mdata))
            self.add(seq, content["ns"], content["id"], content.get("parent"), (t, unb64(data)), md, loads(md))
        elif type == WRITES:
            rows = [(idx, channel, (t, unb64(data))) for idx, channel, t, data in content["w"]]
            self.add_writes(seq, content["ns"], content["cp"], content["task"], content["path"], rows)
        else:
            self.seen = seq
            if type == DELETE:
                self._delete(content)

    def add(
        self, seq: int, ns: str, cid: str, parent: str | None, checkpoint: Typed, metadata: Typed, meta: dict[str, Any]
    ) -> None:
        """Fold a checkpoint (from the log, or just appended: no need to decode what we encoded)."""
        self.seen = seq
        self.namespaces.setdefault(ns, {})[cid] = Saved(seq, cid, parent, checkpoint, metadata, meta)
        if cid >= self.latest.get(ns, ""):
            self.latest[ns] = cid

    def add_writes(self, seq: int, ns: str, cid: str, task: str, path: str, rows: list[tuple[int, str, Typed]]) -> None:
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
