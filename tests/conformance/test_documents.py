"""Documents: add, replace, list, remove, sync from a folder, and their search, on every engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import swarmstore
from swarmstore.clock import ManualClock
from swarmstore.errors import InvalidInput, NotFound
from sync_over_async import SyncOverAsync
from toy_embedders import WordsEmbedder

GUIDE = """# Install

Run pip install swarmstore to get the library and its command.

## Linux

Use apt to install the PostgreSQL server, then start it with pg_ctl.

## Windows

The embedded engine needs nothing more.
"""


@pytest.fixture(params=["sync", "async"])
def dstore(request: pytest.FixtureRequest, store_url: str, clock: ManualClock) -> Iterator[Any]:
    embedder = WordsEmbedder()
    opts: dict[str, Any] = {"clock": clock, "embedder": embedder, "chunk_chars": 100, "chunk_overlap": 10}
    st = swarmstore.open(store_url, **opts) if request.param == "sync" else SyncOverAsync(store_url, **opts)
    st.embedder = embedder
    yield st
    st.close()


def audit_actions(st: Any) -> list[str]:
    return [e.action for e in st.audit.list(entity="document", limit=1000)]


def test_add_chunks_by_heading_and_indexes_every_chunk(dstore: Any) -> None:
    doc = dstore.documents.add("docs/guide.md", GUIDE, title="Guide", type="guide", metadata={"lang": "en"})
    assert (doc.id, doc.title, doc.type, doc.metadata, doc.status) == ("docs/guide.md", "Guide", "guide", {"lang": "en"}, "indexed")
    chunks = dstore.documents.chunks("docs/guide.md")
    assert doc.chunks == len(chunks) >= 3
    assert {c.heading for c in chunks} >= {"Install", "Install > Linux", "Install > Windows"}
    assert all(GUIDE[c.start : c.end] == c.text for c in chunks)
    hit = dstore.documents.search("pg_ctl", mode="keyword", k=1)[0]
    assert hit.kind == "chunk" and hit.chunk.heading == "Install > Linux" and hit.document.id == "docs/guide.md"
    assert dstore.search("PostgreSQL server", mode="semantic", k=1)[0].chunk.heading == "Install > Linux"
    assert audit_actions(dstore) == ["document.add"]


def test_the_same_text_again_is_a_no_op_that_embeds_nothing(dstore: Any) -> None:
    dstore.documents.add("g.md", GUIDE)
    embedded = len(dstore.embedder.embedded)
    again = dstore.documents.add("g.md", GUIDE)
    assert again.status == "indexed" and len(dstore.embedder.embedded) == embedded
    assert audit_actions(dstore) == ["document.add"]


def test_new_text_replaces_chunks_keyword_rows_and_vectors(dstore: Any) -> None:
    dstore.documents.add("g.md", GUIDE)
    dstore.documents.add("g.md", "# Notes\n\nOnly kangaroo facts here.\n")
    assert [c.heading for c in dstore.documents.chunks("g.md")] == ["Notes"]
    assert dstore.documents.search("pg_ctl", mode="keyword") == []
    assert [h.chunk.seq for h in dstore.documents.search("kangaroo", mode="keyword")] == [0]
    semantic = dstore.documents.search("PostgreSQL server pg_ctl", mode="semantic", k=10)
    assert [h.chunk.text for h in semantic] == ["# Notes\n\nOnly kangaroo facts here."]
    assert audit_actions(dstore) == ["document.update", "document.add"]


def test_get_list_remove(dstore: Any) -> None:
    for name in ("b/2.md", "a/1.md", "b/1.md", "c.txt"):
        dstore.documents.add(name, f"text of {name}", type="txt" if name.endswith(".txt") else None)
    assert [d.id for d in dstore.documents.list()] == ["a/1.md", "b/1.md", "b/2.md", "c.txt"]
    assert [d.id for d in dstore.documents.list("b/")] == ["b/1.md", "b/2.md"]
    assert [d.id for d in dstore.documents.list(type="txt")] == ["c.txt"]
    first = dstore.documents.list(limit=3)
    assert len(first) == 3 and first.next_cursor
    assert [d.id for d in dstore.documents.list(limit=3, cursor=first.next_cursor)] == ["c.txt"]
    assert dstore.documents.get("a/1.md", with_text=True).text == "text of a/1.md"
    dstore.documents.remove("a/1.md")
    with pytest.raises(NotFound):
        dstore.documents.get("a/1.md")
    with pytest.raises(NotFound):
        dstore.documents.remove("a/1.md")
    assert dstore.documents.search("a/1.md", mode="keyword", k=10) == [] or all(
        h.document.id != "a/1.md" for h in dstore.documents.search("text of", mode="keyword", k=10)
    )
    assert "document.remove" in audit_actions(dstore)


def test_a_failed_embedding_keeps_the_document_and_is_retried(dstore: Any) -> None:
    dstore.embedder.fail_with = RuntimeError("model crashed")
    doc = dstore.documents.add("g.md", GUIDE)
    assert doc.status == "failed" and "model crashed" in doc.error
    assert dstore.documents.search("pg_ctl", mode="keyword", k=1)[0].document.id == "g.md"  # (keywords work)
    dstore.embedder.fail_with = None
    assert dstore.search("PostgreSQL server", mode="semantic", k=1)[0].chunk.heading == "Install > Linux"
    assert dstore.documents.get("g.md").status == "indexed"


def test_sync_adds_changes_removes_and_skips_unchanged(dstore: Any, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text("# A\n\nalpha")
    (root / "sub" / "b.md").write_text("# B\n\nbravo")
    (root / "notes.txt").write_text("not markdown")
    r = dstore.documents.sync(root)
    assert (sorted(r.added), r.changed, r.removed, r.unchanged, r.failed) == (["a.md", "sub/b.md"], [], [], 0, {})
    embedded = len(dstore.embedder.embedded)
    (root / "a.md").write_text("# A\n\nalpha changed")
    (root / "sub" / "b.md").unlink()
    (root / "c.md").write_text("charlie")
    r = dstore.documents.sync(root)
    assert (r.added, r.changed, r.removed, r.unchanged) == (["c.md"], ["a.md"], ["sub/b.md"], 0)
    r = dstore.documents.sync(root)
    assert (r.added, r.changed, r.removed, r.unchanged) == ([], [], [], 2)
    assert [d.id for d in dstore.documents.list()] == ["a.md", "c.md"]
    assert len(dstore.embedder.embedded) == embedded + 2  # (a.md's chunk and c.md's, nothing else)


def test_sync_refuses_paths_out_of_the_folder(dstore: Any, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    root.mkdir()
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n\nthe password")
    os.symlink(secret, root / "link.md")
    (root / "ok.md").write_text("fine")
    r = dstore.documents.sync(root)
    assert r.added == ["ok.md"] and "link.md" in r.failed and "outside" in r.failed["link.md"]
    assert dstore.documents.search("password", mode="keyword") == []
    with pytest.raises(InvalidInput):
        dstore.documents.sync(root, glob="../*.md")
    with pytest.raises(InvalidInput):
        dstore.documents.sync(tmp_path / "missing")


def test_bad_arguments_are_refused(dstore: Any) -> None:
    for args, kwargs in [(("", "x"), {}), (("a", 5), {}), (("a", "x"), {"namespace": "bad ns"}), (("a", "x"), {"metadata": 3})]:
        with pytest.raises(InvalidInput):
            dstore.documents.add(*args, **kwargs)
    assert list(dstore.documents.list()) == []
