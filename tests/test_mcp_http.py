"""The MCP server over streamable HTTP: served on loopback; refused off loopback without a token;
a request without the right bearer token gets 401."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

import swarmstore
from cli_helpers import assert_error, cli
from mcp_helpers import ACTOR, ok, server_args, server_env

TOKEN = "t0ps3cret-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: str, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = [sys.executable, *server_args(db, "--write", "*", "--http", "--port", str(port), *extra)]
    proc = subprocess.Popen(args, env={**os.environ, **server_env()}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate()[1].decode())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            time.sleep(0.05)  # (waiting for a real server to listen: no clock to inject)
    proc.kill()
    raise AssertionError("the server did not listen within 60 s")


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "swarm.db")
    swarmstore.open(path, embedder=None).close()
    return path


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        p.terminate()
        out, _ = p.communicate(timeout=30)
        assert out == b""  # (nothing on stdout over HTTP either)


def post(url: str, token: str | None) -> int:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=b'{"jsonrpc":"2.0","id":1,"method":"ping"}', headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_served_on_loopback(db: str, stop: list[Any]) -> None:
    proc, url = start(db)
    stop.append(proc)

    async def main() -> None:
        async with Client(url) as client:
            assert (await ok(client, "memory_put", namespace="project:x", key="k", value=7))["version"] == 1

    anyio.run(main)
    with swarmstore.open(db, embedder=None) as store:
        m = store.memory.get("project:x", "k")
        assert (m.value, m.created_by) == (7, ACTOR)


def test_off_loopback_without_a_token_refuses_to_start(db: str) -> None:
    r = cli("mcp", "--actor", ACTOR, "--http", "--host", "0.0.0.0", "--port", str(free_port()), db=db,
            env={"SWARMSTORE_MCP_TOKEN": ""})  # fmt: skip
    assert_error(r, "token", "0.0.0.0", "SWARMSTORE_MCP_TOKEN")


def test_a_wrong_token_gets_401(db: str, stop: list[Any]) -> None:
    proc, url = start(db, "--token", TOKEN)
    stop.append(proc)
    assert post(url, None) == 401
    assert post(url, "wrong-token-of-the-same-kind") == 401
    assert post(url, TOKEN + "x") == 401

    async def main() -> None:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            assert (await ok(client, "memory_put", namespace="project:y", key="k", value=1))["version"] == 1

    anyio.run(main)
    with swarmstore.open(db, embedder=None) as store:
        assert store.memory.get("project:y", "k").value == 1
