"""The CLI as a user runs it: a real subprocess per command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(
    *args: str, db: str | None = None, env: dict[str, str] | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "swarmstore.cli", *args]
    if db:
        cmd += ["--db", db]
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=60)


def test_demo_and_inspection(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    r = run("demo", "--workers", "2", "--features", "4", db=db)
    assert r.returncode == 0, r.stderr
    assert "33 of 33 tasks completed" in r.stdout and "audit rows" in r.stdout
    assert "project:acme:decisions" in r.stdout and "test login (attempts: 2)" in r.stdout
    r = run("mem", "ls", "project:acme:decisions", "--json", db=db)
    items = json.loads(r.stdout)["items"]
    assert {i["key"] for i in items} == {"storage", "ids", "api"}
    r = run("mem", "history", "project:acme:decisions", "ids", "--json", db=db)
    assert [v["version"] for v in json.loads(r.stdout)] == [1, 2]
    r = run("mem", "history", "project:acme:features:login", "build", "--json", db=db)
    assert [v["version"] for v in json.loads(r.stdout)] == [1, 2, 3, 4], "four parts built, four versions"
    r = run("session", "ls", "--json", db=db)
    sessions = json.loads(r.stdout)["items"]
    users = {s["user"] for s in sessions}
    seeded = {"planner", "coder", "reviewer"}
    # each worker opens its session at its first task (on a loaded machine one may start too late to get one)
    assert seeded <= users and set() < users - seeded <= {"agent-0", "agent-1"}
    planner = next(s for s in sessions if s["user"] == "planner")
    r = run("session", "events", planner["id"], "--json", db=db)
    assert [e["seq"] for e in json.loads(r.stdout)["items"]] == [1, 2, 3, 4, 5]
    worker_events = sum(s["event_count"] for s in sessions if s["user"].startswith("agent-"))
    assert worker_events == 33, "each completed task logged one event"
    r = run("session", "show", planner["id"], db=db)
    assert r.returncode == 0 and planner["id"] in r.stdout
    r = run("audit", "ls", "--action", "memory.*", "--json", db=db)
    assert all(a["action"].startswith("memory.") for a in json.loads(r.stdout)["items"])
    r = run("task", "stats", "--json", db=db)
    assert json.loads(r.stdout)["by_status"]["completed"] == 33
    r = run("agent", "ls", "--all", "--json", db=db)
    assert sorted(a["name"] for a in json.loads(r.stdout)) == ["agent-0", "agent-1"]


def test_mem_roundtrip_and_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    assert run("init", db=db).returncode == 0
    assert run("mem", "put", "user:alice", "color", '"blue"', db=db).returncode == 0
    r = run("mem", "put", "user:alice", "color", '{"v": 2}', "--expected-version", "1", db=db)
    assert r.returncode == 0 and "version 2" in r.stdout
    r = run("mem", "put", "user:alice", "color", "x", "--expected-version", "1", db=db)
    assert r.returncode == 1 and r.stderr.startswith("error:") and "Traceback" not in r.stderr
    assert json.loads(run("mem", "get", "user:alice", "color", "--json", db=db).stdout)["value"] == {"v": 2}
    assert run("mem", "rm", "user:alice", "color", db=db).returncode == 0
    r = run("mem", "get", "user:alice", "color", db=db)
    assert r.returncode == 1 and "not found" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert run("mem", "restore", "user:alice", "color", db=db).returncode == 0
    r = run("mem", "put", "bad ns", "k", "v", db=db)
    assert r.returncode == 1 and "namespace" in r.stderr and "Traceback" not in r.stderr
    r = run("stats", db=str(tmp_path / "missing.db"))
    assert r.returncode == 1 and "no store" in r.stderr


def test_env_var_and_default_location(tmp_path: Path) -> None:
    db = str(tmp_path / "env.db")
    assert run("mem", "put", "a", "k", "1", env={"SWARMSTORE_URL": db}).returncode == 0
    assert os.path.exists(db)
    assert run("mem", "put", "a", "k", "1", cwd=str(tmp_path)).returncode == 0
    assert (tmp_path / ".swarmstore" / "swarm.db").exists()


def test_task_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    r = run("task", "submit", "design the api", "--priority", "8", "--json", db=db)
    assert r.returncode == 0, r.stderr
    root = json.loads(r.stdout)
    r = run("task", "submit", "build it", "--depends-on", root["id"], "--parent", root["id"], "--json", db=db)
    child = json.loads(r.stdout)
    assert child["status"] == "blocked" and child["depends_on"] == [root["id"]]
    r = run("task", "ls", "--status", "blocked", "--json", db=db)
    assert [t["id"] for t in json.loads(r.stdout)["items"]] == [child["id"]]
    r = run("task", "tree", root["id"], db=db)
    assert "design the api" in r.stdout and "build it" in r.stdout
    r = run("task", "show", child["id"], db=db)
    assert r.returncode == 0 and "blocked" in r.stdout
    r = run("task", "cancel", root["id"], db=db)
    assert "cancelled" in r.stdout
    r = run("task", "stats", "--json", db=db)
    assert json.loads(r.stdout)["by_status"]["cancelled"] == 2
    r = run("task", "retry", root["id"], db=db)
    assert "ready" in r.stdout
    r = run("task", "prune", "--older-than", "0", "--dry-run", db=db)
    assert r.returncode != 0 and "older_than" in r.stderr, "zero is not a valid age"
    r = run("task", "submit", "bad", "--depends-on", "nope", db=db)
    assert r.returncode == 1 and "unknown task" in r.stderr
    r = run("agent", "ls", "--all", "--json", db=db)
    assert json.loads(r.stdout) == []


def test_worker_command_drains_the_queue(tmp_path: Path) -> None:
    db = str(tmp_path / "w.db")
    for i in range(3):
        assert run("task", "submit", f"t{i}", "--payload", f'{{"i": {i}}}', db=db).returncode == 0
    root = str(Path(__file__).resolve().parent.parent)
    env = {"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = run("worker", "--handler", "tests.worker_handlers:echo", "--until-idle", "--concurrency", "2", db=db, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["completed"] == 3
    r = run("task", "ls", "--json", db=db)
    assert {t["status"] for t in json.loads(r.stdout)["items"]} == {"completed"}
    r = run("worker", "--handler", "tests.worker_handlers:nope", db=db, env=env)
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and "nope" in r.stderr
    r = run("worker", "--handler", "tests.worker_handlers:echo", "--prefetch", "0", db=db, env=env)
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and "prefetch" in r.stderr
