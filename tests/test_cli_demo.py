"""``swarmstore demo`` as a user meets it: run twice, its hints run, a stray module in the folder."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

import swarmstore
from cli_helpers import SRC, assert_error, cli, dump
from swarmstore.demo import DECISIONS


def _hints(stdout: str) -> list[list[str]]:
    lines = stdout.splitlines()
    after = lines[lines.index("next:") + 1 :]
    return [shlex.split(line)[1:] for line in after if line.startswith("  swarmstore ")]


def test_demo_twice_refuses_then_fresh_starts_over_and_its_hints_run(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    r = cli("demo", "--workers", "2", "--features", "2", db=db, columns=80)
    assert r.returncode == 0, r.stderr
    assert "17 of 17 tasks completed" in r.stdout
    assert '{"task":' in r.stdout and "{'task'" not in r.stdout, "memory values as JSON, as `mem ls` shows them"
    assert "project:acme:features:login" in r.stdout, "the namespace stays on one line at 80 columns"

    before = dump(db)
    again = assert_error(cli("demo", "--workers", "2", "--features", "2", db=db), db, "already holds 17 tasks")
    assert f"swarmstore --db {db} demo --fresh" in again
    assert dump(db) == before

    r = cli("demo", "--workers", "2", "--features", "2", "--fresh", db=db)
    assert r.returncode == 0, r.stderr
    assert "17 of 17 tasks completed" in r.stdout, "counts only the fresh store's tasks"
    agents = json.loads(cli("agent", "ls", "--all", "--json", db=db).stdout)
    assert sorted(a["name"] for a in agents) == ["agent-0", "agent-1"], "each agent once"

    hints = _hints(r.stdout)
    assert hints[0][2:4] == ["task", "tree"] and all(h[:2] == ["--db", db] for h in hints)
    assert hints[-1][2:] == ["search", "which database do we use?"]
    for hint in hints:
        out = cli(*hint)
        assert out.returncode == 0, (hint, out.stderr)
    assert "feature: login" in cli(*hints[0]).stdout and "review login" in cli(*hints[0]).stdout


def _search_rows(stdout: str) -> list[str]:
    """The table rows of the demo's closing search."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("search by "))
    return [line for line in lines[start + 4 :] if line.startswith("│")]


def test_demo_ends_with_a_search_by_meaning_that_embeds_only_the_seeded_memories(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    r = cli("demo", "--workers", "2", "--features", "2", db=db)
    assert r.returncode == 0, r.stderr
    assert "search by meaning in project:acme:decisions: 'which database do we use?'" in r.stdout
    rows = _search_rows(r.stdout)
    assert "storage" in rows[0] and "semantic" in rows[0] and "PostgreSQL" in rows[0], rows
    question = {"which", "database", "do", "we", "use"}
    assert not question & set(DECISIONS["storage"].lower().replace(";", "").split()), "no word in common"
    with swarmstore.open(db) as st:
        counts = st.engine.search.counts()
        outcomes = len(st.memory.list("project:acme:features", limit=1000)) + len(
            st.memory.list("project:acme:release")
        )
    assert outcomes == 11 and counts["items"] - counts["pending_vectors"] == 8, (
        "the search embedded the 8 seeded memories only, not the swarm's outcomes"
    )

    summary = json.loads(cli("demo", "--workers", "2", "--features", "1", "--fresh", "--json", db=db).stdout)
    assert summary["search"]["mode"] == "hybrid" and summary["search"]["hits"][0]["key"] == "storage"


def test_demo_without_the_embed_extra_searches_by_keyword_and_says_how_to_enable_meaning(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "sitecustomize.py").write_text("import sys\nsys.modules['onnxruntime'] = None  # as if not installed\n")
    env = {"PYTHONPATH": os.pathsep.join([str(missing), SRC])}
    r = cli("demo", "--workers", "2", "--features", "1", db=db, env=env)
    assert r.returncode == 0, r.stderr
    assert "search by keyword in project:acme:decisions: 'SQLite'" in r.stdout
    assert "storage" in _search_rows(r.stdout)[0]
    assert "search by meaning needs the embed extra: pip install 'swarmstore[embed]'" in r.stdout
    hint = _hints(r.stdout)[-1]
    assert hint[2:] == ["search", "SQLite", "--mode", "keyword"]
    out = cli(*hint, env=env)
    assert out.returncode == 0 and "project:acme:decisions/storage" in out.stdout, out.stderr


def test_fresh_deletes_only_a_store(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a store\n" * 100)
    assert_error(cli("demo", "--fresh", db=str(notes)), str(notes), "not a database")
    assert notes.read_text() == "not a store\n" * 100


def test_demo_workers_do_not_import_modules_from_the_current_directory(tmp_path: Path) -> None:
    """A stray orjson.py in the folder: the demo's worker processes must not execute it."""
    work = tmp_path / "project"
    work.mkdir()
    marker = tmp_path / "stray-module-ran"
    (work / "orjson.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('stray orjson.py')\n")
    launcher = tmp_path / "bin" / "swarmstore"  # (as the console script runs: its own folder first on sys.path)
    launcher.parent.mkdir()
    launcher.write_text("import sys\nfrom swarmstore.cli import main\nsys.exit(main())\n")
    r = cli("demo", "--workers", "2", "--features", "1", cwd=work, python=[str(launcher)])
    assert r.returncode == 0, r.stderr
    assert "9 of 9 tasks completed" in r.stdout
    assert not marker.exists()
    assert "  swarmstore task tree " in r.stdout, "the default store needs no --db in the hints"


def test_worker_env_leaves_the_current_directory_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from swarmstore.demo import worker_env

    here = str(Path(swarmstore.__file__).resolve().parent.parent)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([".", str(tmp_path), "", "/opt/elsewhere"]))
    paths = worker_env()["PYTHONPATH"].split(os.pathsep)
    assert str(tmp_path) not in paths and "." not in paths and "" not in paths
    assert "/opt/elsewhere" in paths and here in paths, "swarmstore from where this process took it"
