"""The PostgreSQL engine on a real server (SWARMSTORE_TEST_POSTGRES): transactions, retries,
error mapping, group commit (wake-ups, async mode, fork safety, migrations and options: in
test_postgres_lifecycle.py)."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from swarmstore import errors
from swarmstore.engine import open_engine
from swarmstore.engine.postgres.engine import PostgresEngine


def _agent(tx: Any, aid: str, status: str = "idle") -> None:
    tx.execute(
        "INSERT INTO agents (id, name, agent_type, status, registered_at, last_seen_at) VALUES (%s, %s, 't', %s, 1, 1)",
        (aid, aid, status),
    )


def _count(e: Any) -> int:
    return int(e.query("SELECT count(*) FROM agents")[0][0])


# -- transactions ------------------------------------------------------------------------------


def test_write_commits_and_an_error_rolls_the_whole_transaction_back(engine: PostgresEngine) -> None:
    engine.write(lambda tx: _agent(tx, "a"))

    def two_then_fail(tx: Any) -> None:
        _agent(tx, "b")
        _agent(tx, "c")
        raise errors.NotFound("x")

    with pytest.raises(errors.NotFound):
        engine.write(two_then_fail)
    assert [r[0] for r in engine.query("SELECT id FROM agents ORDER BY id")] == ["a"]


def test_read_snapshot_sees_one_snapshot(engine: PostgresEngine) -> None:
    engine.write(lambda tx: _agent(tx, "a"))

    def twice(tx: Any) -> tuple[int, int]:
        first = tx.execute("SELECT count(*) FROM agents").fetchone()[0]
        engine.write(lambda w: _agent(w, "b"))  # (another connection commits meanwhile)
        return first, tx.execute("SELECT count(*) FROM agents").fetchone()[0]

    assert engine.read_snapshot(twice) == (1, 1)
    assert _count(engine) == 2


def test_read_snapshot_is_read_only(engine: PostgresEngine) -> None:
    with pytest.raises(errors.ReadOnly):
        engine.read_snapshot(lambda tx: _agent(tx, "a"))


def test_serialization_failures_are_retried_inside_write(engine: PostgresEngine) -> None:
    """Two REPEATABLE READ transactions update the same row: the one that read first fails with
    a serialization failure when it writes; write() runs it again and the increment is kept."""
    engine.write(lambda tx: tx.execute("INSERT INTO app_state (app, state, updated_at) VALUES ('a', '{}', 0)"))
    first_read = threading.Event()
    other_done = threading.Event()
    calls: list[int] = []

    def increment(tx: Any) -> int:
        calls.append(1)
        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        n = tx.execute("SELECT updated_at FROM app_state WHERE app = 'a'").fetchone()[0]
        if len(calls) == 1:
            first_read.set()
            other_done.wait(10)
        tx.execute("UPDATE app_state SET updated_at = %s WHERE app = 'a'", (n + 1,))
        return int(n + 1)

    def other() -> None:
        first_read.wait(10)
        engine.write(lambda tx: tx.execute("UPDATE app_state SET updated_at = updated_at + 10 WHERE app = 'a'"))
        other_done.set()

    t = threading.Thread(target=other)
    t.start()
    assert engine.write(increment) == 11
    t.join()
    assert len(calls) == 2
    assert engine.query("SELECT updated_at FROM app_state")[0][0] == 11


def test_deadlocks_are_retried_inside_write(engine: PostgresEngine) -> None:
    engine.write(lambda tx: (_agent(tx, "a"), _agent(tx, "b")))
    both_locked = threading.Barrier(2, timeout=10)
    calls = {"ab": 0, "ba": 0}

    def lock_in_order(order: str) -> None:
        def fn(tx: Any) -> None:
            calls[order] += 1
            tx.execute("SET LOCAL deadlock_timeout = '20ms'")
            # (RETURNING, read: a write transaction sends statements when a result is read)
            tx.execute("UPDATE agents SET model = %s WHERE id = %s RETURNING id", (order, order[0])).fetchall()
            if calls[order] == 1:
                both_locked.wait()
            tx.execute("UPDATE agents SET model = %s WHERE id = %s", (order, order[1]))

        try:
            engine.write(fn)
        except BaseException as exc:
            failed.append(exc)

    failed: list[BaseException] = []
    threads = [threading.Thread(target=lock_in_order, args=(o,)) for o in ("ab", "ba")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []  # both committed: the deadlock never reached a caller
    # one lost the deadlock and ran again (both, when their detectors fire at the same moment)
    assert max(calls.values()) >= 2, calls
    models = dict(engine.query("SELECT id, model FROM agents"))
    assert models["a"] == models["b"]  # (whichever committed last wrote both)


# -- errors --------------------------------------------------------------------------------------


def test_unique_violation_is_a_conflict(engine: PostgresEngine) -> None:
    engine.write(lambda tx: _agent(tx, "a"))
    with pytest.raises(errors.Conflict, match="agents_pkey"):
        engine.write(lambda tx: _agent(tx, "a"))


def test_check_failure_is_a_storage_error_naming_the_constraint(engine: PostgresEngine) -> None:
    with pytest.raises(errors.StorageError, match="agents_status_check") as info:
        engine.write(lambda tx: _agent(tx, "a", status="bogus"))
    assert not isinstance(info.value, errors.Conflict)
    assert _count(engine) == 0


def test_foreign_key_violation_is_a_conflict(engine: PostgresEngine) -> None:
    def orphan(tx: Any) -> None:
        tx.execute("CREATE TEMP TABLE parent (id int PRIMARY KEY) ON COMMIT DROP")
        tx.execute("CREATE TEMP TABLE child (p int REFERENCES parent) ON COMMIT DROP")
        tx.execute("INSERT INTO child VALUES (1)")

    with pytest.raises(errors.Conflict, match="child_p_fkey"):
        engine.write(orphan)


def test_nul_characters_are_invalid_input(engine: PostgresEngine) -> None:
    with pytest.raises(errors.InvalidInput):
        engine.write(lambda tx: _agent(tx, "a\x00b"))
    with pytest.raises(errors.InvalidInput):
        engine.query("SELECT %s::jsonb", ('"a\\u0000b"',))


def test_bad_sql_is_a_storage_error_and_the_engine_goes_on(engine: PostgresEngine) -> None:
    with pytest.raises(errors.StorageError, match="42601"):
        engine.query("SELEC 1")
    assert engine.query("SELECT 1") == [(1,)]


def test_a_closed_engine_raises_store_closed(pg_url: str) -> None:
    e = open_engine(pg_url)
    e.close()
    with pytest.raises(errors.StoreClosed):
        e.query("SELECT 1")
    with pytest.raises(errors.StoreClosed):
        e.write(lambda tx: None)


def test_connections_the_server_ended_are_replaced(pg_url: str, pg_base_url: str) -> None:
    """A server restart (or an administrator) ends the pool's sessions: the next read runs on a
    new connection, and so does a write whose BEGIN found its connection broken."""
    e = open_engine(pg_url, pool_min=2, pool_max=2)
    try:

        def end_sessions() -> None:
            held = [e._conn(), e._conn()]  # (both pooled connections, then back to the pool)
            pids = [c.info.backend_pid for c in held]
            for c in held:
                e._release(c)
            with psycopg.connect(pg_base_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))

        end_sessions()
        assert e.query("SELECT 1") == [(1,)]
        end_sessions()
        e.write(lambda tx: _agent(tx, "a"))
        end_sessions()
        assert e.read_snapshot(lambda tx: tx.execute("SELECT count(*) FROM agents").fetchone()) == (1,)
    finally:
        e.close()


# -- group commit --------------------------------------------------------------------------------


def test_write_group_isolates_each_operation(engine: PostgresEngine) -> None:
    engine.write(lambda tx: _agent(tx, "taken"))
    out = engine.write_group(
        [lambda tx: _agent(tx, "a"), lambda tx: _agent(tx, "taken"), lambda tx: _agent(tx, "b") or "done"]
    )
    assert out is not None
    assert [ok for ok, _ in out] == [True, False, True]
    assert isinstance(out[1][1], errors.Conflict)
    assert out[2] == (True, "done")
    assert [r[0] for r in engine.query("SELECT id FROM agents ORDER BY id")] == ["a", "b", "taken"]


def test_write_group_isolates_a_last_operation_failing_only_at_commit(engine: PostgresEngine) -> None:
    # (statements whose results are not read reach the server with the next read or COMMIT: the
    # last operation's unique violation surfaces there, and is still that operation's alone)
    engine.write(lambda tx: _agent(tx, "taken"))
    out = engine.write_group([lambda tx: _agent(tx, "a"), lambda tx: _agent(tx, "taken")])
    assert [ok for ok, _ in out] == [True, False]
    assert isinstance(out[1][1], errors.Conflict)
    assert [r[0] for r in engine.query("SELECT id FROM agents ORDER BY id")] == ["a", "taken"]


def test_write_group_keeps_domain_errors_as_they_are(engine: PostgresEngine) -> None:
    boom = errors.NotFound("no such thing")

    def fail(tx: Any) -> None:
        _agent(tx, "x")
        raise boom

    out = engine.write_group([fail, lambda tx: _agent(tx, "y")])
    assert out == [(False, boom), (True, None)]
    assert [r[0] for r in engine.query("SELECT id FROM agents")] == ["y"]
    assert engine.write_group([fail]) == [(False, boom)]
