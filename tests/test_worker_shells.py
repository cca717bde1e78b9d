"""Worker (threads) and AsyncWorker (coroutines) are two shells over one step core: the same
handler outcome leaves the same task behind, and a failed claim is handled the same way (logged,
backed off, and the worker goes on). Each test runs both shells, on every engine."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import swarmstore
import swarmstore.aio
from swarmstore import Task, Worker
from swarmstore.aio import AsyncWorker
from swarmstore.worker import WorkerStats

SHELLS = ["threads", "coroutines"]


def _explode(task: Task) -> None:
    raise ValueError(f"boom in {task.summary}")


def _run(shell: str, url: str, handler: Any, **kw: Any) -> WorkerStats:
    """Run ``handler`` (a sync function) under one shell until the queue is idle."""
    kw = {"until_idle": True, "poll_interval": 0.01, **kw}
    if shell == "threads":
        with swarmstore.open(url, retry_base_seconds=0.01) as st:
            return Worker(st, handler, install_signals=False, **kw).run()

    async def main() -> WorkerStats:
        async def async_handler(task: Task) -> Any:
            return handler(task)

        async with swarmstore.aio.open(url, retry_base_seconds=0.01) as st:
            return await AsyncWorker(st, async_handler, concurrency=1, **kw).run()

    return asyncio.run(main())


def _shape(error: str) -> list[str]:
    """An error text without what differs between the shells' stacks (their own frames, lines)."""
    return [line for line in error.splitlines() if not line.startswith("  ")]


@pytest.mark.parametrize("shell", SHELLS)
def test_a_failing_handler_records_its_traceback(store_url: str, shell: str) -> None:
    with swarmstore.open(store_url) as st:
        task = st.tasks.submit("t1", max_attempts=2)
    stats = _run(shell, store_url, _explode)
    assert (stats.completed, stats.retried, stats.failed, stats.lost) == (0, 1, 1, 0)
    with swarmstore.open(store_url) as st:
        failed = st.tasks.get(task.id)
    error = failed.error or ""
    assert failed.status == "failed"
    assert _shape(error) == ["ValueError: boom in t1", "Traceback (most recent call last):", "ValueError: boom in t1"]
    assert "in _explode" in error and 'raise ValueError(f"boom in {task.summary}")' in error, "the handler's frame"


class _ClaimsRefused(logging.Handler):
    """Refuses every claim (a trigger) until the worker has logged a failed claim; then lets them go."""

    def __init__(self, url: str) -> None:
        super().__init__(logging.WARNING)
        self.url = url
        self.seen: list[str] = []
        with swarmstore.open(url) as st:
            self.caps = st.engine.caps
        self._sql(
            "CREATE TRIGGER refuse_claims BEFORE UPDATE ON tasks WHEN NEW.status = 'running' "
            "BEGIN SELECT RAISE(ABORT, 'claims refused'); END",
            "CREATE OR REPLACE FUNCTION refuse_claims() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'claims refused'; END $$; "
            "CREATE TRIGGER refuse_claims BEFORE UPDATE ON tasks FOR EACH ROW WHEN (NEW.status = 'running') "
            "EXECUTE FUNCTION refuse_claims()",
        )
        # (a safety net: a worker that never logs would otherwise claim in vain for ever)
        self._gone = threading.Lock()
        self._later = threading.Timer(10, self.let_go)
        self._later.start()

    def _sql(self, sqlite: str, postgresql: str) -> None:
        if self.caps.name == "sqlite":
            import apsw

            conn = apsw.Connection(self.url)
            conn.execute(sqlite)
            conn.close()
        else:
            import psycopg
            from psycopg import sql

            from swarmstore.engine.postgres.config import parse

            cfg = parse(self.url, {})
            with psycopg.connect(cfg.conninfo, autocommit=True) as pg:
                if cfg.schema:
                    pg.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(cfg.schema)))
                pg.execute(postgresql)  # type: ignore[arg-type]

    def let_go(self) -> None:
        if self._gone.acquire(blocking=False):
            self._sql("DROP TRIGGER refuse_claims", "DROP TRIGGER refuse_claims ON tasks; DROP FUNCTION refuse_claims()")

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())
        self.let_go()


@pytest.fixture
def refused(store_url: str) -> Iterator[_ClaimsRefused]:
    handler = _ClaimsRefused(store_url)
    log = logging.getLogger("swarmstore.worker")
    log.addHandler(handler)
    try:
        yield handler
    finally:
        log.removeHandler(handler)
        handler._later.cancel()


@pytest.mark.parametrize("shell", SHELLS)
def test_a_failed_claim_is_logged_and_the_worker_goes_on(store_url: str, shell: str, refused: _ClaimsRefused) -> None:
    with swarmstore.open(store_url) as st:
        task = st.tasks.submit("after the refusal")
    stats = _run(shell, store_url, lambda t: t.summary)
    assert len(refused.seen) == 1 and re.match(r"claim failed \(.*claims refused.*\); trying again in", refused.seen[0], re.S)
    assert (stats.completed, stats.handled) == (1, 1), "the worker went on, and then found the queue idle"
    with swarmstore.open(store_url) as st:
        done = st.tasks.get(task.id)
    assert (done.status, done.result, done.attempt) == ("completed", "after the refusal", 1)
