"""The PostgreSQL engine on a real server (SWARMSTORE_TEST_POSTGRES): wake-ups, async mode, fork
safety, migrations, options and info."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from typing import Any

import psycopg
import pytest

from pg_schemas import PgSchemas
from swarmstore import errors
from swarmstore.engine import open_engine
from swarmstore.engine.bridge import spawn
from swarmstore.engine.postgres.engine import SCHEMA_VERSION, PostgresEngine
from test_postgres_engine import _agent

# -- wake-ups ------------------------------------------------------------------------------------


def test_notify_wakes_a_waiter_when_the_transaction_commits(engine: PostgresEngine) -> None:
    woke: list[bool] = []
    listening = threading.Event()

    def waiter() -> None:
        woke.append(engine.wait_for_work(["work"], 0.01))  # (this thread listens from here on)
        listening.set()
        woke.append(engine.wait_for_work(["work"], 30))

    t = threading.Thread(target=waiter)
    t.start()
    assert listening.wait(30)
    engine.write(lambda tx: engine.notify(tx, "work", "q1"))
    t.join(30)
    assert woke == [False, True]


def test_a_notification_between_two_waits_is_not_lost(engine: PostgresEngine) -> None:
    assert engine.wait_for_work(["work"], 0.01) is False
    engine.write(lambda tx: engine.notify(tx, "work"))
    assert engine.wait_for_work(["work"], 30) is True


def test_no_wakeup_from_a_rolled_back_transaction_or_another_channel(engine: PostgresEngine) -> None:
    assert engine.wait_for_work(["work"], 0.01) is False

    def notify_then_fail(tx: Any) -> None:
        engine.notify(tx, "work")
        raise errors.Conflict("no")

    with pytest.raises(errors.Conflict):
        engine.write(notify_then_fail)
    engine.write(lambda tx: engine.notify(tx, "other"))
    assert engine.wait_for_work(["work"], 0.2) is False


def test_channels_belong_to_their_store(pg_schemas: PgSchemas) -> None:
    a, b = pg_schemas.take(), pg_schemas.take()
    ea, eb = open_engine(pg_schemas.url(a)), open_engine(pg_schemas.url(b))
    try:
        assert ea.wait_for_work(["work"], 0.01) is False
        eb.write(lambda tx: eb.notify(tx, "work"))
        assert ea.wait_for_work(["work"], 0.2) is False
        ea.write(lambda tx: ea.notify(tx, "work"))
        assert ea.wait_for_work(["work"], 30) is True
    finally:
        ea.close()
        eb.close()
        pg_schemas.give_back(a)
        pg_schemas.give_back(b)


def test_sqlite_has_no_wakeups_and_returns_at_once(tmp_path: Any) -> None:
    e = open_engine(str(tmp_path / "s.db"))
    try:
        assert e.caps.wakeups is False
        assert e.wait_for_work(["work"], 3600) is False  # (would hang the test if it waited)
    finally:
        e.close()


# -- async mode ----------------------------------------------------------------------------------


def test_async_mode_runs_the_same_methods_over_async_connections(engine: PostgresEngine) -> None:
    view = engine.for_async()
    threads_before = threading.active_count()

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        await spawn(view.write, lambda tx: _agent(tx, "a"))
        out["group"] = await spawn(view.write_group, [lambda tx: _agent(tx, "a"), lambda tx: _agent(tx, "b")])
        out["rows"] = await spawn(view.query, "SELECT id FROM agents ORDER BY id")
        out["snap"] = await spawn(view.read_snapshot, lambda tx: tx.execute("SELECT count(*) FROM agents").fetchone())
        out["threads"] = threading.active_count()
        assert await spawn(view.wait_for_work, ["work"], 0.01) is False
        waiter = asyncio.ensure_future(spawn(view.wait_for_work, ["work"], 30))
        await asyncio.sleep(0)
        await spawn(view.write, lambda tx: view.notify(tx, "work"))
        out["woke"] = await waiter
        await spawn(view.close)
        return out

    out = asyncio.run(main())
    assert [ok for ok, _ in out["group"]] == [False, True]
    assert isinstance(out["group"][0][1], errors.Conflict)
    assert out["rows"] == [("a",), ("b",)]
    assert out["snap"] == (2,)
    assert out["threads"] == threads_before  # (async connections: no thread was started)
    assert out["woke"] is True


def test_async_mode_retries_serialization_failures_too(engine: PostgresEngine) -> None:
    from swarmstore.engine.bridge import await_only

    engine.write(lambda tx: tx.execute("INSERT INTO app_state (app, state, updated_at) VALUES ('a', '{}', 0)"))
    view = engine.for_async()
    calls: list[int] = []

    def increment(tx: Any) -> int:
        calls.append(1)
        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        n = tx.execute("SELECT updated_at FROM app_state WHERE app = 'a'").fetchone()[0]
        if len(calls) == 1:  # another connection commits a change of the row in between
            bump = "UPDATE app_state SET updated_at = updated_at + 10 WHERE app = 'a'"
            await_only(asyncio.to_thread(engine.write, lambda w: w.execute(bump)))
        tx.execute("UPDATE app_state SET updated_at = %s WHERE app = 'a'", (n + 1,))
        return int(n + 1)

    async def main() -> int:
        try:
            return await spawn(view.write, increment)
        finally:
            await view.aclose()

    assert asyncio.run(main()) == 11
    assert len(calls) == 2


def test_async_mode_replaces_connections_the_server_ended(pg_url: str, pg_base_url: str) -> None:
    e = open_engine(pg_url, pool_min=1, pool_max=1)
    assert isinstance(e, PostgresEngine)
    view = e.for_async()

    async def main() -> list[Any]:
        try:
            pid = (await spawn(view.query, "SELECT pg_backend_pid()"))[0][0]
            with psycopg.connect(pg_base_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            return await spawn(view.query, "SELECT 1")
        finally:
            await view.aclose()

    try:
        assert asyncio.run(main()) == [(1,)]
    finally:
        e.close()


def test_async_mode_outside_the_bridge_is_an_error(engine: PostgresEngine) -> None:
    view = engine.for_async()

    async def main() -> None:
        view.query("SELECT 1")

    with pytest.raises(errors.StorageError, match="outside the async API"):
        asyncio.run(main())


# -- fork safety ---------------------------------------------------------------------------------


def _child_queries(url: str, engine: PostgresEngine, out: Any) -> None:
    try:
        got = [engine.query("SELECT %s::int", (i,))[0][0] for i in range(200)]
        engine.close()
        from swarmstore.engine.postgres import engine as module

        for inherited in module._orphans:  # (closing them talks to the server: the parent's socket?)
            inherited.close()
        out.put(got == list(range(200)))
    except BaseException as exc:
        out.put(repr(exc))


def test_a_forked_child_uses_connections_of_its_own(pg_url: str) -> None:
    engine = open_engine(pg_url, pool_min=1, pool_max=1)
    assert isinstance(engine, PostgresEngine)
    try:
        engine.query("SELECT 1")  # (the pool's one connection is in use before the fork)
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        child = ctx.Process(target=_child_queries, args=(pg_url, engine, out))
        child.start()
        mine = [engine.query("SELECT %s::int", (i,))[0][0] for i in range(200)]
        assert out.get(timeout=60) is True
        child.join(60)
        assert mine == list(range(200))
        assert engine.query("SELECT 42") == [(42,)]  # the parent's connection survived the child
    finally:
        engine.close()


# -- migrations ----------------------------------------------------------------------------------


def _open_and_report(url: str, out: Any) -> None:
    try:
        e = open_engine(url)
        out.put(e.stats()["schema_version"])
        e.close()
    except BaseException as exc:
        out.put(repr(exc))


def test_many_processes_opening_a_new_store_at_once_migrate_it_once(pg_schemas: PgSchemas) -> None:
    schema = pg_schemas.new_name()
    url = pg_schemas.url(schema)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_open_and_report, args=(url, out)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert results == [SCHEMA_VERSION] * 4
    with psycopg.connect(pg_schemas.base_url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT version FROM {schema}.schema_version ORDER BY version").fetchall()
    assert rows == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    pg_schemas.give_back(schema)


def test_reopening_is_idempotent_and_a_newer_schema_is_refused(engine: PostgresEngine, pg_url: str) -> None:
    again = open_engine(pg_url)
    assert again.stats()["schema_version"] == SCHEMA_VERSION
    again.write(lambda tx: tx.execute("INSERT INTO schema_version VALUES (999, 'future', 0)"))
    again.close()
    with pytest.raises(errors.SchemaError, match="999"):
        open_engine(pg_url)
    engine.write(lambda tx: tx.execute("DELETE FROM schema_version WHERE version = 999"))


def test_a_store_in_a_schema_beside_one_in_public_is_a_store_of_its_own(pg_base_url: str) -> None:
    """One database: a store in public (no schema option) and one in schema ``team_a``. The
    second is created and migrated although public already holds a store (and its
    schema_version), and each sees only its own rows."""
    from urllib.parse import urlsplit, urlunsplit

    name = f"swt_db_{os.getpid()}"
    with psycopg.connect(pg_base_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(pg_base_url)._replace(path="/" + name, query=""))
        public = open_engine(url)
        public.write(lambda tx: _agent(tx, "in-public"))
        team = open_engine(url, schema="team_a")
        try:
            assert team.stats()["schema"] == "team_a"
            assert team.counts()["agents"] == 0
            team.write(lambda tx: _agent(tx, "in-team"))
            assert [r[0] for r in public.query("SELECT id FROM agents")] == ["in-public"]
            assert [r[0] for r in team.query("SELECT id FROM agents")] == ["in-team"]
        finally:
            team.close()
            public.close()
    finally:
        with psycopg.connect(pg_base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- options and info ----------------------------------------------------------------------------


def test_stats_and_counts(engine: PostgresEngine) -> None:
    engine.write(lambda tx: _agent(tx, "a"))
    stats = engine.stats()
    assert stats["engine"] == "postgresql"
    assert stats["schema_version"] == SCHEMA_VERSION
    assert stats["database_bytes"] > 0
    assert stats["server_version"].startswith(("15", "16", "17", "18"))
    assert stats["schema"] == engine.schema
    assert stats["pool"]["pool_size"] >= 1
    assert engine.counts()["agents"] == 1
    assert engine.caps.name == "postgresql" and engine.caps.wakeups and not engine.caps.serialised_writes


def test_unknown_options_and_bad_schema_names_are_invalid_input(pg_base_url: str) -> None:
    with pytest.raises(errors.InvalidInput, match="synchronous"):
        open_engine(pg_base_url, synchronous="full")
    with pytest.raises(errors.InvalidInput, match="schema"):
        open_engine(pg_base_url, schema="Robert'); DROP")
    with pytest.raises(errors.InvalidInput, match="pool_max"):
        open_engine(pg_base_url, pool_min=5, pool_max=2)


def test_sqlite_options_are_checked_by_its_engine(tmp_path: Any) -> None:
    with pytest.raises(errors.InvalidInput, match="pool_max"):
        open_engine(str(tmp_path / "s.db"), pool_max=3)
    with pytest.raises(errors.InvalidInput, match="unknown engine"):
        open_engine("mysql://x/y")


def test_no_server_or_an_unknown_role_is_a_storage_error_saying_so(pg_base_url: str) -> None:
    with pytest.raises(errors.StorageError, match="refused"):
        open_engine("postgresql://postgres@127.0.0.1:1/x")
    with pytest.raises(errors.StorageError, match="no_such_role"):
        open_engine(pg_base_url.replace("postgres@", "no_such_role@", 1))


def test_the_store_url_reopens_the_store_and_its_shown_form_hides_the_password(pg_url: str, pg_base_url: str) -> None:
    import swarmstore

    with psycopg.connect(pg_base_url, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS swt_secret_user")
        admin.execute("CREATE ROLE swt_secret_user LOGIN SUPERUSER PASSWORD 's3cret'")
    try:
        url = pg_url.replace("postgres@", "swt_secret_user:s3cret@", 1)
        with swarmstore.open(url) as st:
            assert st.url == url  # (what a worker process on another host is given)
            shown = [repr(st), str(st.stats()["url"]), repr(st.engine)]
            with swarmstore.open(st.url) as again:
                assert again.stats()["schema_version"] == SCHEMA_VERSION
        assert all("s3cret" not in s and "***" in s for s in shown), shown
    finally:
        with psycopg.connect(pg_base_url, autocommit=True) as admin:
            admin.execute("DROP ROLE IF EXISTS swt_secret_user")


def test_the_postgres_scheme_is_an_alias(pg_url: str) -> None:
    alias = "postgres://" + pg_url.split("://", 1)[1]
    e = open_engine(alias)
    try:
        assert e.query("SELECT 1") == [(1,)]
    finally:
        e.close()


def test_a_missing_driver_says_which_extra_to_install() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from swarmstore.engine import open_engine\n"
        "try:\n    open_engine('postgresql://nobody@127.0.0.1:1/x')\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert "StorageError" in out.stdout and "swarmstore[postgres]" in out.stdout, out.stdout + out.stderr


def test_a_burst_of_first_writes_on_a_new_event_loop_shares_one_pool(pg_url: str) -> None:
    import swarmstore.aio

    async def burst() -> list[Any]:
        async with swarmstore.aio.open(pg_url, embedder=None) as store:  # (no call before the burst)
            return await asyncio.gather(
                *[store.memory.put("user:x", f"k{i}", i) for i in range(50)], return_exceptions=True
            )

    for _ in range(2):  # (and again on a second loop: the first loop's pool is not reused)
        got = asyncio.run(burst())
        assert [type(g).__name__ for g in got if isinstance(g, BaseException)] == []
