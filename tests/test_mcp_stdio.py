"""The MCP server as agents run it: ``swarmstore mcp`` as a real subprocess, the SDK's stdio client
talking to it; every tool called and its effect checked in the store; a denied call; a bad
argument; and nothing but the protocol on stdout."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters

import swarmstore
from mcp_helpers import ACTOR, TOOLS, ok, refused, server_args, server_env

RULES = [
    "--read", "project:acme:*", "--write", "project:acme:scratch:*", "--queue", "research",
    "--sessions", "myapp:*",
]  # fmt: skip


def over_stdio(db: str, body: Callable[[Any], Awaitable[None]], *extra: str) -> None:
    params = StdioServerParameters(command=sys.executable, args=server_args(db, *extra), env=server_env())

    async def main() -> None:
        async with Client(params, read_timeout_seconds=60) as client:
            await body(client)

    anyio.run(main)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "swarm.db")
    swarmstore.open(path, embedder=None).close()
    return path


def test_every_tool_over_stdio(db: str) -> None:
    ids: dict[str, str] = {}

    async def body(client: Any) -> None:
        assert {t.name for t in (await client.list_tools()).tools} >= TOOLS
        ns = "project:acme:scratch:notes"
        await ok(client, "memory_put", namespace=ns, key="plan", value={"steps": 3})
        await ok(client, "memory_put", namespace=ns, key="plan", value={"steps": 4})
        assert (await ok(client, "memory_get", namespace=ns, key="plan"))["version"] == 2
        assert [m["key"] for m in (await ok(client, "memory_list", prefix="project:acme"))["items"]] == ["plan"]
        assert (await ok(client, "memory_namespaces"))["namespaces"] == [ns]
        assert len((await ok(client, "memory_history", namespace=ns, key="plan"))["versions"]) == 2
        await ok(client, "memory_put", namespace=ns, key="gone", value="x")
        await ok(client, "memory_delete", namespace=ns, key="gone")
        await ok(client, "memory_put", namespace=ns, key="back", value="y")
        await ok(client, "memory_delete", namespace=ns, key="back")
        await ok(client, "memory_restore", namespace=ns, key="back")
        assert (await ok(client, "memory_search", query="steps", mode="keyword"))["hits"] is not None
        assert (await ok(client, "documents_search", query="anything", mode="keyword"))["hits"] == []

        s = await ok(client, "session_create", app="myapp", user="alice")
        ids["session"] = s["id"]
        assert (await ok(client, "session_get", session_id=s["id"]))["user"] == "alice"
        await ok(client, "session_append_event", session_id=s["id"], type="message", content="hello")
        await ok(client, "session_set_state", session_id=s["id"], key="topic", value="plans")
        assert (await ok(client, "session_get_state", session_id=s["id"], key="topic"))["value"] == "plans"

        root = await ok(client, "task_submit", summary="root", queue="research", priority=0)
        sub = await ok(client, "task_submit", summary="sub", queue="research", parent=root["id"], priority=10)
        after = await ok(client, "task_submit", summary="after", queue="research", depends_on=[sub["id"]])
        ids.update(root=root["id"], sub=sub["id"], after=after["id"])
        assert (await ok(client, "task_get", task_id=sub["id"]))["parent_id"] == root["id"]
        assert len((await ok(client, "task_list", queue="research"))["items"]) == 3
        assert (await ok(client, "task_plan", task_ids=[after["id"]]))["batches"] == [[sub["id"]], [after["id"]]]
        (t,) = (await ok(client, "task_claim", queues=["research"]))["tasks"]
        assert t["id"] == sub["id"]
        await ok(client, "task_heartbeat", task_id=t["id"], lease_token=t["lease_token"])
        await ok(client, "task_complete", task_id=t["id"], lease_token=t["lease_token"], result="ok")
        (t2,) = (await ok(client, "task_claim", queues=["research"]))["tasks"]
        assert t2["id"] == after["id"]
        await ok(client, "task_fail", task_id=t2["id"], lease_token=t2["lease_token"], error="boom", retry=False)
        await ok(client, "task_cancel", task_id=root["id"])
        assert (await ok(client, "task_tree", task_id=root["id"]))["children"][0]["task"]["id"] == sub["id"]
        assert await ok(client, "task_stats")
        # A bad argument: one readable line, over the wire too.
        assert "namespace" in await refused(client, "memory_get", "InvalidInput", namespace=["x"], key="k")

    over_stdio(db, body, *RULES)
    with swarmstore.open(db, embedder=None) as store:
        ns = "project:acme:scratch:notes"
        assert store.memory.get(ns, "plan").value == {"steps": 4}
        assert store.memory.get(ns, "back").value == "y"
        assert store.memory.namespaces() == [ns]
        assert [e.content for e in store.sessions.events(ids["session"]).items] == ["hello"]
        assert store.sessions.get_state(ids["session"], "topic") == "plans"
        assert store.tasks.get(ids["sub"]).result == "ok"
        assert store.tasks.get(ids["after"]).status == "failed"
        assert store.tasks.get(ids["root"]).status == "cancelled"
        rows = store.audit.list(limit=1000).items
        assert {a.actor for a in rows} == {ACTOR}


def test_every_audit_row_names_the_actor(db: str) -> None:
    async def body(client: Any) -> None:
        await ok(client, "task_submit", summary="t", queue="research")
        (t,) = (await ok(client, "task_claim", queues=["research"]))["tasks"]
        await ok(client, "task_heartbeat", task_id=t["id"], lease_token=t["lease_token"])
        await ok(client, "task_complete", task_id=t["id"], lease_token=t["lease_token"])

    over_stdio(db, body, *RULES)
    with swarmstore.open(db, embedder=None) as store:
        assert {(a.action, a.actor) for a in store.audit.list(limit=1000).items} == {
            ("task.submit", ACTOR),
            ("task.claim", ACTOR),
            ("task.heartbeat", ACTOR),
            ("task.complete", ACTOR),
        }


def test_a_denied_call_changes_nothing(db: str) -> None:
    with swarmstore.open(db, embedder=None) as store:
        store.memory.put("project:acme:decisions", "db", "sqlite")
        store.memory.put("project:other", "secret", "s3cr3t")

    async def body(client: Any) -> None:
        # Readable but not writable: the shared decisions.
        assert (await ok(client, "memory_get", namespace="project:acme:decisions", key="db"))["value"] == "sqlite"
        msg = await refused(
            client, "memory_put", "PermissionDenied", namespace="project:acme:decisions", key="db", value="mongo"
        )
        assert "project:acme:decisions" in msg
        # Another tenant: not even readable, and not listed.
        await refused(client, "memory_get", "PermissionDenied", namespace="project:other", key="secret")
        assert (await ok(client, "memory_namespaces"))["namespaces"] == ["project:acme:decisions"]
        await refused(client, "task_submit", "PermissionDenied", summary="x", queue="ops")

    over_stdio(db, body, *RULES)
    with swarmstore.open(db, embedder=None) as store:
        assert store.memory.get("project:acme:decisions", "db").version == 1
        assert store.tasks.list().items == []


def test_stdout_carries_only_the_protocol(db: str) -> None:
    """Raw JSON-RPC over the pipes: every stdout line is a JSON-RPC message, even when calls fail
    and the server logs; the logs and warnings go to stderr."""
    msgs = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "memory_get", "arguments": {
            "namespace": "project:acme:x", "key": "missing"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "memory_get", "arguments": {
            "namespace": 5}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "no_such_tool", "arguments": {}}},
    ]  # fmt: skip
    env = {**os.environ, **server_env()}
    proc = subprocess.Popen(
        [sys.executable, *server_args(db, *RULES)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    killer = threading.Timer(60, proc.kill)  # (a hung server fails the test instead of hanging it)
    killer.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"".join(orjson.dumps(m) + b"\n" for m in msgs))
        proc.stdin.flush()
        lines = []
        while len([m for m in lines if b'"id"' in m]) < 4:
            line = proc.stdout.readline()
            assert line, "the server closed stdout before answering"
            lines.append(line)
        proc.stdin.close()
        proc.stdin = None  # (closed: communicate() must not flush it)
        rest, stderr = proc.communicate()
    finally:
        killer.cancel()
    lines += rest.splitlines()
    replies = [orjson.loads(line) for line in lines if line.strip()]  # (a stray print would fail here)
    assert all(m.get("jsonrpc") == "2.0" for m in replies)
    by_id = {m["id"]: m for m in replies if "id" in m}
    assert set(by_id) == {1, 2, 3, 4}
    assert by_id[2]["result"]["isError"] is True
    assert by_id[2]["result"]["content"][0]["text"].startswith(("NotFound: ", "PermissionDenied: "))
    assert by_id[3]["result"]["content"][0]["text"].startswith("InvalidInput: ")
    assert proc.returncode == 0, stderr
