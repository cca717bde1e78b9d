"""Every CLI mistake: one ``error: ...`` line on stderr, exit status 1, nothing changed."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from cli_helpers import assert_error, cli, dump, unprivileged


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "s.db")
    assert cli("mem", "put", "user:alice", "color", '"blue"', db=path).returncode == 0
    return path


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nope"], "No such command 'nope'"),
        (["mem", "put", "a", "k"], "Missing argument"),
        (["mem", "get", "user:alice", "color", "--colour"], "No such option"),
        (["task", "submit", "x", "--priority", "11"], "--priority"),
        (["task", "ls", "--limit", "many"], "--limit"),
        (["demo", "--workers", "0"], "--workers"),
    ],
)
def test_usage_errors_are_one_line_and_exit_1(db: str, args: list[str], needle: str) -> None:
    before = dump(db)
    line = assert_error(cli(*args, db=db), needle)
    assert "--help" in line, "says where to read more"
    assert dump(db) == before


def test_file_errors_name_the_path_and_the_problem(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    assert_error(cli("stats", db=str(folder)), str(folder), "is a directory")
    assert_error(cli("init", db=str(folder)), str(folder), "is a directory")
    assert os.listdir(folder) == []
    text = tmp_path / "notes.txt"
    text.write_text("these are my notes, not a database\n" * 200)
    assert_error(cli("stats", db=str(text)), str(text), "not a database")
    assert_error(cli("mem", "put", "a", "k", "1", db=str(text)), str(text), "not a database")
    assert text.read_text() == "these are my notes, not a database\n" * 200
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = dump(other)
    assert_error(cli("mem", "put", "a", "k", "1", db=str(other)), str(other), "not a swarmstore store")
    assert dump(other) == before, "another application's database gets none of our tables"
    assert_error(cli("init", db=str(text / "s.db")), str(text), "not a directory")
    (tmp_path / "w.db-wal").mkdir()  # (SQLite cannot make the WAL: the store cannot be made)
    assert_error(cli("init", db=str(tmp_path / "w.db")), str(tmp_path / "w.db"))
    assert not (tmp_path / "w.db").exists(), "no half-made store left behind"
    assert_error(cli("stats", db=str(tmp_path / "missing.db")), "no store at")
    assert not (tmp_path / "missing.db").exists()
    assert "Error" not in "".join(cli("stats", db=str(text)).stderr.split("error: ", 1)[1:]), "no driver class name"


def test_json_looking_values_must_parse(db: str) -> None:
    before = dump(db)
    for bad in ("{bad", "[1, 2", '"unterminated', "12abc", "-", "1.2.3", "[]]"):
        assert_error(cli("mem", "put", "user:alice", "color", bad, db=db), "value", "--string")
    assert_error(cli("task", "submit", "t", "--payload", "{oops", db=db), "payload", "--string")
    assert_error(cli("mem", "put", "user:alice", "k", "1", "--metadata", "not json", db=db), "metadata")
    assert dump(db) == before

    def stored(key: str) -> object:
        return json.loads(cli("mem", "get", "user:alice", key, "--json", db=db).stdout)["value"]

    assert cli("mem", "put", "user:alice", "raw", "{bad", "--string", db=db).returncode == 0
    assert stored("raw") == "{bad"
    assert cli("mem", "put", "user:alice", "word", "hello world", db=db).returncode == 0
    assert stored("word") == "hello world", "text that does not look like JSON is a string"
    assert cli("mem", "put", "user:alice", "obj", ' {"a": [1, 2.5, null]}', db=db).returncode == 0
    assert stored("obj") == {"a": [1, 2.5, None]}
    assert cli("--db", db, "mem", "put", "user:alice", "n", "--", "-3").returncode == 0
    assert stored("n") == -3
    assert cli("mem", "put", "user:alice", "s", "42", "--string", db=db).returncode == 0
    assert stored("s") == "42"
    r = cli("task", "submit", "t", "--payload", "{x", "--string", "--json", db=db)
    assert json.loads(r.stdout)["payload"] == "{x"


def _short_ids(tree_output: str) -> dict[str, str]:
    """summary -> the short id printed at the end of its line in ``task tree``."""
    out = {}
    for line in tree_output.splitlines():
        words = line.strip("│├└─ ").split()
        out[" ".join(words[1:-1])] = words[-1]
    return out


def test_short_ids_printed_are_accepted_back(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    root = json.loads(cli("task", "submit", "root", "--json", db=db).stdout)
    kids = [
        json.loads(cli("task", "submit", f"kid {i}", "--parent", root["id"], "--json", db=db).stdout) for i in range(2)
    ]
    shown = _short_ids(cli("task", "tree", root["id"], db=db).stdout)
    assert shown == {"root": root["id"][-12:], "kid 0": kids[0]["id"][-12:], "kid 1": kids[1]["id"][-12:]}
    short_root, short_kid = shown["root"], shown["kid 0"]
    assert kids[0]["id"] in cli("task", "show", short_kid, db=db).stdout
    assert "kid 1" in cli("task", "tree", short_root, db=db).stdout
    assert "kid 1" in cli("task", "tree", short_root[:6], db=db).stdout, "a unique part of a short id"
    assert "kid 1" in cli("task", "tree", root["id"][:23].upper(), db=db).stdout, "a unique beginning, any case"
    r = cli("task", "ls", "--parent", short_root, "--json", db=db)
    assert {t["id"] for t in json.loads(r.stdout)["items"]} == {k["id"] for k in kids}
    r = cli("task", "submit", "after", "--depends-on", short_kid, "--parent", short_root, "--json", db=db)
    assert json.loads(r.stdout)["depends_on"] == [kids[0]["id"]]
    assert json.loads(r.stdout)["parent_id"] == root["id"]
    assert "cancelled" in cli("task", "cancel", short_kid, db=db).stdout
    assert "ready" in cli("task", "retry", short_kid, db=db).stdout
    r = cli("audit", "ls", "--entity", "task", "--entity-id", short_kid, "--json", db=db)
    assert {a["action"] for a in json.loads(r.stdout)["items"]} == {"task.submit", "task.cancel", "task.retry"}

    before = dump(db)
    common = root["id"][:4]
    assert kids[0]["id"][:4] == kids[1]["id"][:4] == common, "ids made within weeks share their first digits"
    assert_error(cli("task", "show", common, db=db), "ambiguous", "more characters")
    assert_error(cli("task", "cancel", common, db=db), "ambiguous")
    assert_error(cli("task", "show", "ffffffff0000", db=db), "no task id contains 'ffffffff0000'")
    assert_error(cli("task", "retry", "abc", db=db), "too short")
    assert_error(cli("task", "submit", "x", "--depends-on", common, db=db), "ambiguous")
    assert dump(db) == before

    sid = json.loads(cli("session", "ls", "--json", db=db).stdout)["items"]
    assert sid == []


def test_session_short_ids(tmp_path: Path) -> None:
    import swarmstore

    db = str(tmp_path / "s.db")
    with swarmstore.open(db) as st:
        s = st.sessions.create("app", "alice")
        st.sessions.append_event(s.id, "message", "alice", {"text": "hi"})
    listed = cli("session", "ls", db=db).stdout
    assert s.id[-12:] in listed and s.id not in listed, "the table shows the short id"
    assert s.id in cli("session", "show", s.id[-12:], db=db).stdout
    r = cli("session", "events", s.id[-12:], "--json", db=db)
    assert [e["seq"] for e in json.loads(r.stdout)["items"]] == [1]
    assert_error(cli("session", "show", "0000ffff", db=db), "no session id contains")


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_store_can_be_read_not_written(tmp_path: Path, what: str) -> None:
    as_user = unprivileged()
    folder = tmp_path / "ro"
    folder.mkdir()
    db = str(folder / "s.db")
    assert cli("mem", "put", "user:alice", "color", '"blue"', db=db).returncode == 0
    assert cli("task", "submit", "t", db=db).returncode == 0
    before = dump(db)
    assert sorted(os.listdir(folder)) == ["s.db"], "no -wal or -shm left: a read-only folder needs more"
    os.chmod(db, 0o444) if what == "file" else os.chmod(folder, 0o555)
    try:
        r = cli("mem", "get", "user:alice", "color", "--json", db=db, prefix=as_user)
        assert r.returncode == 0 and json.loads(r.stdout)["value"] == "blue", r.stderr
        r = cli("task", "ls", "--json", db=db, prefix=as_user)
        assert r.returncode == 0 and len(json.loads(r.stdout)["items"]) == 1, r.stderr
        short = json.loads(r.stdout)["items"][0]["id"][-12:]
        for args in (["stats"], ["mem", "ls"], ["mem", "history", "user:alice", "color"], ["task", "tree", short],
                     ["task", "stats"], ["session", "ls"], ["audit", "ls"], ["agent", "ls"]):  # fmt: skip
            r = cli(*args, db=db, prefix=as_user)
            assert r.returncode == 0, (args, r.stderr)
        for args in (["mem", "put", "user:alice", "color", '"red"'], ["task", "submit", "u"], ["init"],
                     ["mem", "rm", "user:alice", "color"], ["task", "prune", "--dry-run"]):  # fmt: skip
            assert_error(cli(*args, db=db, prefix=as_user), db, "read only")
        assert dump(db) == before
    finally:
        os.chmod(folder, 0o755)
        os.chmod(db, 0o644)


def test_worker_finds_its_handler_in_the_current_directory(tmp_path: Path) -> None:
    """As ``python -m`` would; run as the console script is (its own folder first on sys.path)."""
    work = tmp_path / "project"
    work.mkdir()
    (work / "myhandlers.py").write_text("def shout(task):\n    return task.summary.upper()\n")
    launcher = tmp_path / "bin" / "swarmstore"
    launcher.parent.mkdir()
    launcher.write_text("import sys\nfrom swarmstore.cli import main\nsys.exit(main())\n")
    db = str(tmp_path / "w.db")
    assert cli("task", "submit", "hello", db=db).returncode == 0
    r = cli("worker", "--handler", "myhandlers:shout", "--until-idle", db=db, cwd=work, python=[str(launcher)])
    assert r.returncode == 0, r.stderr
    tasks = json.loads(cli("task", "ls", "--json", db=db).stdout)["items"]
    assert [t["result"] for t in tasks] == ["HELLO"]
    r = cli("worker", "--handler", "myhandlers:nope", "--until-idle", db=db, cwd=work, python=[str(launcher)])
    assert_error(r, "myhandlers:nope")
    (work / "broken.py").write_text("raise RuntimeError('first line\\nsecond line')\n")
    r = cli("worker", "--handler", "broken:fn", "--until-idle", db=db, cwd=work, python=[str(launcher)])
    assert_error(r, "broken:fn", "RuntimeError: first line second line")


def test_small_ones(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    assert cli("init", db=db).returncode == 0
    out = cli("task", "stats", db=db).stdout
    assert "None" not in out and "no task is ready" in out
    cli("task", "submit", "t", db=db)
    assert "the oldest ready task has waited" in cli("task", "stats", db=db).stdout
    r = cli("agent", "ls", db=db)
    assert r.returncode == 0 and "--all" not in r.stdout, "no hint when nothing is hidden"
    import swarmstore

    with swarmstore.open(db) as st:
        agent = st.agents.stop(st.agents.register("old-worker", "worker").id)
    assert "1 stopped or gone agent(s) not shown: `swarmstore agent ls --all`" in cli("agent", "ls", db=db).stdout
    listed = cli("agent", "ls", "--all", db=db).stdout
    assert "old-worker" in listed and agent.id[-12:] in listed
    r = cli("audit", "ls", "--entity", "agent", "--entity-id", agent.id[-12:], "--json", db=db)
    assert [a["action"] for a in json.loads(r.stdout)["items"]] == ["agent.status", "agent.register"]
    long_ns = "project:acme:features:billing"
    cli("mem", "put", long_ns, "decision", '{"text": "' + "a long value " * 10 + '"}', db=db)
    out = cli("mem", "ls", "project", db=db, columns=80).stdout
    assert long_ns in out, "the namespace stays on one line at 80 columns"
    assert "value a long value" in out, "and the value has room (the time column is left out)"
    assert max(len(line) for line in out.splitlines()) <= 80


def test_folders_that_cannot_be_made_or_written(tmp_path: Path) -> None:
    as_user = unprivileged()
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    try:
        assert_error(
            cli("init", db=str(locked / "sub" / "s.db"), prefix=as_user), "cannot create directory", str(locked)
        )
        assert_error(cli("init", db=str(locked / "s.db"), prefix=as_user), "cannot create", "not writable")
        assert os.listdir(locked) == []
    finally:
        os.chmod(locked, 0o755)
