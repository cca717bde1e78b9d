"""``swarmstore search``, ``docs``, ``index`` and ``reindex`` as a user runs them: real subprocesses,
the shipped model (no network)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from cli_helpers import SRC, assert_error, cli, dump

TESTS = str(Path(__file__).resolve().parent)
DEPLOY = "# Deploy\n\nWe ship on Fridays only after the canary passes.\n\n## Rollback\n\nTELEMETRY_BIND sets the exporter address.\n"


def piped(text: str, *args: str, db: str) -> subprocess.CompletedProcess[str]:
    """``swarmstore ARGS --db DB`` reading ``text`` on its standard input."""
    env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "swarmstore.cli", *args, "--db", db]
    return subprocess.run(cmd, input=text, capture_output=True, text=True, env=env, timeout=120)


def _json(*args: str, db: str, **kw: object) -> object:
    r = cli(*args, "--json", db=db, **kw)  # type: ignore[arg-type]
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_docs_sync_add_ls_show_rm(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "deploy.md").write_text(DEPLOY)
    (notes / "sub" / "lunch.md").write_text("Lunch is at noon.\n")
    r = cli("docs", "sync", str(notes), db=db)
    assert r.returncode == 0, r.stderr
    assert "2 added, 0 changed, 0 removed, 0 unchanged, 0 failed" in r.stdout
    assert "added    sub/lunch.md" in r.stdout

    (notes / "sub" / "lunch.md").write_text("Lunch is at one now.\n")
    (notes / "deploy.md").unlink()
    (notes / "new.md").write_text("# New\n\nfresh notes\n")
    (notes / "skip.txt").write_text("not markdown\n")
    report = _json("docs", "sync", str(notes), db=db)
    assert report == {"added": ["new.md"], "changed": ["sub/lunch.md"], "removed": ["deploy.md"], "unchanged": 0,
                      "failed": {}}  # fmt: skip
    assert _json("docs", "sync", str(notes), "--glob", "**/*.txt", db=db)["removed"] == ["new.md", "sub/lunch.md"]

    outside = tmp_path / "secret.md"
    outside.write_text("outside the folder\n")
    (notes / "link.md").symlink_to(outside)
    r = cli("docs", "sync", str(notes), db=db)
    assert_error(r, "1 files failed")
    assert "failed   link.md: refused" in r.stdout and "2 added, 0 changed, 1 removed" in r.stdout, "the rest synced"
    ids = [d["id"] for d in _json("docs", "ls", db=db)["items"]]
    assert ids == ["new.md", "sub/lunch.md"], "the symlink out of the folder is not stored"

    deploy = tmp_path / "deploy.md"
    deploy.write_text(DEPLOY)
    doc = _json("docs", "add", str(deploy), "--id", "ops/deploy.md", "--title", "Deploy", "--type", "runbook",
                "--namespace", "ops", db=db)  # fmt: skip
    assert (doc["id"], doc["title"], doc["type"], doc["namespace"], doc["chunks"]) == (
        "ops/deploy.md", "Deploy", "runbook", "ops", 2)  # fmt: skip
    assert doc["status"] == "indexed"
    again = _json("docs", "add", str(deploy), "--id", "ops/deploy.md", "--title", "Deploy", "--type", "runbook",
                  "--namespace", "ops", db=db)  # fmt: skip
    assert again["updated_at"] == doc["updated_at"], "the same text again changes nothing"
    r = piped("# From stdin\n\npiped text\n", "docs", "add", "-", "--id", "stdin.md", db=db)
    assert r.returncode == 0 and "stdin.md: 1 chunks, indexed" in r.stdout, r.stderr

    listing = _json("docs", "ls", "ops/", db=db)
    assert [d["id"] for d in listing["items"]] == ["ops/deploy.md"] and listing["next_cursor"] is None
    assert [d["id"] for d in _json("docs", "ls", "--type", "runbook", db=db)["items"]] == ["ops/deploy.md"]
    page = _json("docs", "ls", "--limit", "2", db=db)
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = _json("docs", "ls", "--limit", "2", "--cursor", page["next_cursor"], db=db)
    assert [d["id"] for d in page["items"] + rest["items"]] == ["new.md", "ops/deploy.md", "stdin.md", "sub/lunch.md"]

    shown = _json("docs", "show", "ops/deploy.md", "--chunks", db=db)
    assert shown["document"]["text"] == DEPLOY
    assert [(c["seq"], c["heading"]) for c in shown["chunks"]] == [(0, "Deploy"), (1, "Deploy > Rollback")]
    r = cli("docs", "show", "ops/deploy.md", "--chunks", db=db)
    assert r.returncode == 0 and "Deploy > Rollback" in r.stdout and "runbook" in r.stdout

    before = dump(db)
    assert_error(piped("no id", "docs", "add", "-", db=db), "--id")
    binary = tmp_path / "blob.md"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert_error(cli("docs", "add", str(binary), db=db), "not UTF-8")
    assert_error(cli("docs", "add", str(notes), db=db), "is a folder")
    assert_error(cli("docs", "add", str(tmp_path / "missing.md"), db=db), "No such file")
    assert_error(cli("docs", "sync", str(tmp_path / "nowhere"), db=db), "is not a folder")
    assert_error(cli("docs", "sync", str(notes), "--glob", "../*.md", db=db), "glob")
    assert dump(db) == before, "a refused command changes nothing"

    r = cli("docs", "rm", "ops/deploy.md", db=db)
    assert r.returncode == 0 and "removed ops/deploy.md" in r.stdout
    assert_error(cli("docs", "show", "ops/deploy.md", db=db), "'ops/deploy.md' not found")
    assert_error(cli("docs", "rm", "ops/deploy.md", db=db), "not found")


def test_search_by_meaning_and_by_keyword(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    for ns, key, value in [
        ("project:acme:decisions", "retries", "failed calls back off exponentially, with jitter"),
        ("project:acme:decisions", "storage", "embedded SQLite in WAL mode"),
        ("project:other:decisions", "lunch", "the team eats at noon"),
    ]:
        assert cli("mem", "put", ns, key, value, db=db).returncode == 0
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "deploy.md").write_text(DEPLOY)
    assert cli("docs", "sync", str(notes), db=db).returncode == 0

    hits = _json("search", "how do we cope with unreliable requests?", db=db)
    assert isinstance(hits, list) and len(hits) == 5, "three memories and two chunks"
    top = hits[0]
    assert (top["kind"], top["memory"]["namespace"], top["memory"]["key"]) == (
        "memory", "project:acme:decisions", "retries")  # fmt: skip
    assert top["retrievers"] == ["semantic"] and top["chunk"] is None
    r = cli("search", "how do we cope with unreliable requests?", "--k", "1", db=db)
    assert r.returncode == 0, r.stderr
    assert "project:acme:decisions/retries" in r.stdout and "back off exponentially" in r.stdout
    assert "1 hits" in r.stdout and "semantic" in r.stdout

    hits = _json("search", "TELEMETRY_BIND", "--mode", "keyword", db=db)
    assert [(h["kind"], h["chunk"]["document"], h["chunk"]["seq"]) for h in hits] == [("chunk", "deploy.md", 1)]
    assert hits[0]["retrievers"] == ["keyword"] and hits[0]["document"]["id"] == "deploy.md"
    r = cli("search", "TELEMETRY_BIND", db=db, columns=80)
    assert r.returncode == 0 and "deploy.md#1 › Deploy > Rollback" in r.stdout, r.stdout
    assert r.stdout.index("deploy.md#1") < r.stdout.index("exporter"), "the chunk found by keyword ranks first"

    keys = [h["memory"]["key"] for h in _json("search", "decisions", "--prefix", "project:acme", "--k", "5",
                                                 "--mode", "semantic", db=db)]  # fmt: skip
    assert sorted(keys) == ["retries", "storage"], "the prefix filters before ranking"
    kinds = {h["kind"] for h in _json("search", "release", "--type", "semantic", db=db)}
    assert kinds == {"memory"}, "memory type 'semantic': the documents (no type) are filtered out"

    before = dump(db)
    assert_error(cli("search", "x", "--mode", "fuzzy", db=db), "mode", "keyword")
    assert_error(cli("search", "x", "--k", "0", db=db), "k")
    assert_error(cli("search", "x", db=str(tmp_path / "none.db")), "no store")
    assert dump(db) == before


def test_without_the_embed_extra_keyword_search_works_and_the_rest_says_how(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    assert cli("mem", "put", "a", "k", "embedded SQLite in WAL mode", db=db).returncode == 0
    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "sitecustomize.py").write_text("import sys\nsys.modules['onnxruntime'] = None  # as if not installed\n")
    env = {"PYTHONPATH": os.pathsep.join([str(missing), SRC])}
    for mode in ("hybrid", "semantic"):
        line = assert_error(cli("search", "which database", "--mode", mode, db=db, env=env), "pip install")
        assert "swarmstore[embed]" in line and "--mode keyword" in line
    hits = _json("search", "SQLite", "--mode", "keyword", db=db, env=env)
    assert [h["memory"]["key"] for h in hits] == ["k"]  # type: ignore[index]
    assert_error(cli("reindex", db=db, env=env), "swarmstore[embed]")


def test_reindex_switches_embedders_with_a_progress_bar_and_index_embeds_what_is_pending(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    for i in range(5):
        assert cli("mem", "put", "a", f"k{i}", f"note number {i} about deploys", db=db).returncode == 0
    assert _json("index", db=db)["items"] >= 5, "their texts and vectors"  # type: ignore[index]
    assert _json("index", db=db)["items"] == 0, "nothing pending any more"  # type: ignore[index]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "deploy.md").write_text(DEPLOY)
    assert cli("docs", "sync", str(notes), db=db).returncode == 0  # (2 chunks, embedded as they are added)

    words = "toy_embedders:WordsEmbedder"  # (a user's own embedder, imported from the current folder)
    r = cli("reindex", "--embedder", words, db=db, cwd=TESTS)
    assert r.returncode == 0 and "re-embedded 7 items" in r.stdout, r.stderr
    assert r.stderr == "", "no progress bar when stderr is not a terminal"
    line = assert_error(cli("search", "deploys", db=db), "test-words", "swarmstore reindex")
    assert "all-MiniLM" in line

    r = cli("reindex", db=db, env={"TTY_COMPATIBLE": "1"})
    assert r.returncode == 0 and "re-embedded 7 items" in r.stdout, r.stderr
    bar = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", r.stderr)  # (the terminal's control codes out)
    assert re.search(r"reindex +━+ 7/7", bar), ("the bar reaches its total", bar)
    assert _json("search", "shipping on fridays", "--k", "1", db=db)[0]["kind"] == "chunk"  # type: ignore[index]

    assert_error(cli("reindex", "--embedder", "none", db=db), "embedder", "needs one")
    assert_error(cli("reindex", "--embedder", "nowhere:Thing", db=db, cwd=TESTS), "embedder", "nowhere")
    assert_error(cli("reindex", "--embedder", "toy_embedders:re", db=db, cwd=TESTS), "not callable")
    assert_error(cli("reindex", db=str(tmp_path / "none.db")), "no store")
    assert not (tmp_path / "none.db").exists()


def test_a_store_of_another_embedder_still_works_with_the_commands_that_do_not_embed(tmp_path: Path) -> None:
    """Only search by meaning needs the store's own embedder: listing and keyword search work."""
    sys.path.insert(0, TESTS)
    import swarmstore
    from toy_embedders import WordsEmbedder

    db = str(tmp_path / "s.db")
    with swarmstore.open(db, embedder=WordsEmbedder()) as st:
        st.memory.put("p", "k", "alpha bravo")
        st.index()
    r = cli("mem", "ls", db=db)
    assert r.returncode == 0 and "alpha bravo" in r.stdout, r.stderr
    r = cli("search", "alpha", "--mode", "keyword", db=db)
    assert r.returncode == 0 and "p/k" in r.stdout, r.stderr
    assert_error(cli("search", "alpha", db=db), "swarmstore reindex")
