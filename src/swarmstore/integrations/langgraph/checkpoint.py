"""``SwarmstoreSaver``: LangGraph checkpoints as the events of swarmstore sessions."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from swarmstore.errors import Conflict, NotFound

from .keys import session_name
from .thread_log import CHECKPOINT, DELETE, WRITES, Saved, Stored, ThreadLog, b64, typed

T = TypeVar("T")
APP = "langgraph"
_PAGE = 1000


def _plain(metadata: Any) -> dict[str, Any]:
    """The metadata's scalar entries, readable in the event log as they are."""
    return {k: v for k, v in metadata.items() if isinstance(v, str | int | bool) or (isinstance(v, float) and math.isfinite(v))}


class SwarmstoreSaver(BaseCheckpointSaver[int]):
    """A LangGraph checkpointer on a swarmstore ``Store`` (or ``swarmstore.aio.AsyncStore``).

    Each thread is a session of app ``langgraph`` (user: the thread id); each checkpoint a
    ``checkpoint`` event, each ``put_writes`` a ``checkpoint.writes`` event and each deletion a
    ``checkpoint.delete`` event, so the dashboard and the audit log show them. Reads fold the
    log once per thread and then only the events appended since (one range read each).
    """

    def __init__(self, store: Any, *, serde: SerializerProtocol | None = None, cached_threads: int = 1024) -> None:
        """``cached_threads``: how many threads' folded logs to keep (least recently used go first)."""
        super().__init__(serde=serde)
        self.store = getattr(store, "sync", store)  # an AsyncStore's plain store
        self._sessions = self.store.sessions
        self._threads: OrderedDict[str, ThreadLog] = OrderedDict()
        self._cap = max(1, cached_threads)
        self._created: set[str] = set()
        self._lock = threading.RLock()
        self._seq = ("", 0)  # (session, seq) of the last append
        # SQLite calls return in microseconds: run them inline; a network engine on a thread.
        self._inline = not str(self.store.url).startswith("postgres")

    # -- the log ----------------------------------------------------------------------------

    def _thread(self, thread_id: str) -> ThreadLog:
        """The thread's log, brought up to date (one range read when nothing is new)."""
        sid = session_name("langgraph:", str(thread_id))
        with self._lock:
            log = self._threads.get(sid)
            if log is None:
                log = ThreadLog(sid)
            else:
                self._threads.move_to_end(sid)
            loads = self.serde.loads_typed
            while True:
                try:
                    page = self._sessions.events(sid, after=log.seen, limit=_PAGE)
                except NotFound:
                    return log  # no session yet: an empty thread (not cached)
                for e in page:
                    log.apply(e.seq, e.type, e.content, loads)
                if page.next_cursor is None:
                    break
            self._threads[sid] = log
            if len(self._threads) > self._cap:
                self._threads.popitem(last=False)
            return log

    def _append(self, thread_id: str, type: str, content: dict[str, Any]) -> None:
        """Append one event to the thread's session (created on first use); ``_current`` tells whether
        the cached log may fold it in place."""
        sid = session_name("langgraph:", str(thread_id))
        if sid not in self._created:
            with contextlib.suppress(Conflict):  # created before, or by another process
                self._sessions.create(
                    APP, session_name("", str(thread_id)), id=sid, metadata={"thread_id": str(thread_id)}
                )
            self._created.add(sid)
        event = self._sessions.append_event(sid, type, APP, content)
        self._seq = (sid, event.seq)

    def _current(self) -> ThreadLog | None:
        """The log of the last append if nothing else was appended before it: fold the event in place
        (else the next read folds it from the log, with the other writer's)."""
        sid, seq = self._seq
        log = self._threads.get(sid)
        return log if log is not None and seq == log.seen + 1 else None

    def _thread_ids(self) -> Iterator[str]:
        cursor = None
        while True:
            page = self._sessions.list(app=APP, limit=500, cursor=cursor)
            for s in page:
                yield str(s.metadata.get("thread_id", s.user))
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _tuple(self, thread_id: str, ns: str, saved: Saved) -> CheckpointTuple:
        loads = self.serde.loads_typed
        writes = sorted(saved.writes.items(), key=lambda kv: writes_sort_key(kv[1][3], kv[0][0], kv[0][1]))
        return CheckpointTuple(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": saved.id}},
            loads(saved.checkpoint),
            loads(saved.metadata),
            None
            if saved.parent is None
            else {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": saved.parent}},
            [(task, channel, loads(typed(value))) for (task, channel, value, _path) in (w for _, w in writes)],
        )

    # -- the saver ---------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by ``config`` (the latest of its namespace without an id)."""
        c = config["configurable"]
        thread_id, ns = str(c["thread_id"]), c.get("checkpoint_ns", "")
        saved = self._thread(thread_id).get(ns, get_checkpoint_id(config))
        return None if saved is None else self._tuple(thread_id, ns, saved)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first, by thread (all threads when ``config`` is None)."""
        c = (config or {}).get("configurable", {})
        threads = [str(c["thread_id"])] if c.get("thread_id") is not None else list(self._thread_ids())
        want_ns, want_id = c.get("checkpoint_ns"), get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        for thread_id in threads:
            log = self._thread(thread_id)
            found = [
                (saved.id, ns, saved)
                for ns, by_id in log.namespaces.items()
                if want_ns is None or ns == want_ns
                for saved in by_id.values()
                if (want_id is None or saved.id == want_id)
                and (before_id is None or saved.id < before_id)
                and (not filter or all(saved.meta.get(k) == v for k, v in filter.items()))
            ]
            for _, ns, saved in sorted(found, key=lambda f: f[0], reverse=True):
                if limit is not None:
                    if limit <= 0:
                        return
                    limit -= 1
                yield self._tuple(thread_id, ns, saved)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Append ``checkpoint`` to its thread's session; the config that names it."""
        c = config["configurable"]
        thread_id, ns = str(c["thread_id"]), c.get("checkpoint_ns", "")
        md = get_serializable_checkpoint_metadata(config, metadata)
        ct, cdata = self.serde.dumps_typed(checkpoint)
        mt, mdata = self.serde.dumps_typed(md)
        parent = c.get("checkpoint_id")
        content = {"ns": ns, "id": checkpoint["id"], "cp": [ct, b64(cdata)], "md": [mt, b64(mdata)], "meta": _plain(md)}
        if parent is not None:
            content["parent"] = parent  # (no null in the content: the codec then skips its NaN walk)
        with self._lock:
            self._append(thread_id, CHECKPOINT, content)
            log = self._current()
            if log is not None:
                log.add(self._seq[1], ns, checkpoint["id"], parent, (ct, cdata), (mt, mdata), self.serde.loads_typed)
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}}

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Append a task's pending writes for the checkpoint named by ``config``."""
        c = config["configurable"]
        dumps = self.serde.dumps_typed
        rows: list[tuple[int, str, Stored]] = []
        for idx, (channel, value) in enumerate(writes):
            rows.append((WRITES_IDX_MAP.get(channel, idx), channel, dumps(value)))
        ns, cid = c.get("checkpoint_ns", ""), c["checkpoint_id"]
        w = [[idx, channel, t, b64(data)] for idx, channel, (t, data) in rows]  # type: ignore[arg-type]
        content = {"ns": ns, "cp": cid, "task": task_id, "path": task_path, "w": w}
        with self._lock:
            self._append(str(c["thread_id"]), WRITES, content)
            log = self._current()
            if log is not None:
                log.add_writes(self._seq[1], ns, cid, task_id, task_path, rows)

    def _tombstone(self, thread_id: str, content: dict[str, Any]) -> None:
        if self._thread(thread_id).namespaces:
            self._append(thread_id, DELETE, content)

    def delete_thread(self, thread_id: str) -> None:
        """Drop every checkpoint and write of the thread (a ``checkpoint.delete`` event)."""
        self._tombstone(str(thread_id), {"scope": "thread"})

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Drop the checkpoints (and their writes) whose metadata names one of ``run_ids``."""
        runs = [str(r) for r in run_ids]
        if not runs:
            return
        for thread_id in list(self._thread_ids()):
            log = self._thread(thread_id)
            if any(s.meta.get("run_id") in runs for by_id in log.namespaces.values() for s in by_id.values()):
                self._append(thread_id, DELETE, {"runs": runs})

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Append every live checkpoint and write of the source thread to the target, in order."""
        log = self._thread(str(source_thread_id))
        target = str(target_thread_id)
        every = sorted(((s.seq, ns, s) for ns, by_id in log.namespaces.items() for s in by_id.values()), key=lambda x: x[0])
        for _, ns, s in every:
            cp, md = s.checkpoint, s.metadata
            content = {"ns": ns, "id": s.id, "cp": [cp[0], b64(cp[1])], "md": [md[0], b64(md[1])], "meta": _plain(s.meta)}
            if s.parent is not None:
                content["parent"] = s.parent
            self._append(target, CHECKPOINT, content)
            by_task: dict[tuple[str, str], list[list[Any]]] = {}
            for (task, idx), (_, channel, value, path) in s.writes.items():
                t, data = typed(value)
                by_task.setdefault((task, path), []).append([idx, channel, t, b64(data)])
            for (task, path), w in by_task.items():
                self._append(target, WRITES, {"ns": ns, "cp": s.id, "task": task, "path": path, "w": w})

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: only the newest checkpoint of each namespace stays; ``delete``: none."""
        for thread_id in thread_ids:
            if strategy == "delete":
                self.delete_thread(str(thread_id))
            elif strategy == "keep_latest":
                self._tombstone(str(thread_id), {"keep_latest": True})
            else:
                raise ValueError(f"unknown prune strategy {strategy!r}: 'keep_latest' or 'delete'")

    # -- async: the same calls, inline on SQLite, on a worker thread for PostgreSQL ---------------

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._inline:
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        found = await self._run(lambda: list(self.list(config, filter=filter, before=before, limit=limit)))
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._run(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await self._run(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._run(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._run(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._run(self.prune, thread_ids, strategy=strategy)
