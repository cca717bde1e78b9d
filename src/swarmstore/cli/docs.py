"""``swarmstore docs add|sync|ls|show|rm``: documents indexed for search."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from swarmstore.errors import InvalidInput
from swarmstore.models import Document, SyncReport

from .common import DbOpt, JsonOpt, opened, parse_json
from .output import console, emit_json, show_page, table, when

docs_app = typer.Typer(help="Documents: texts split into chunks and indexed for search.", no_args_is_help=True)

TypeOpt = Annotated[str | None, typer.Option("--type", help="The document's type (markdown is split at headings).")]
NamespaceOpt = Annotated[str | None, typer.Option(help="A namespace, for `swarmstore search --prefix`.")]


def read_text(path: str) -> str:
    """The UTF-8 text of ``path`` (``-``: standard input)."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("path", f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except IsADirectoryError:
        raise InvalidInput("path", f"{path} is a folder: `swarmstore docs sync` indexes a folder") from None


@docs_app.command("add")
def docs_add(
    path: Annotated[str, typer.Argument(help="A text file, or - for standard input (then --id is required).")],
    id_: Annotated[str | None, typer.Option("--id", help="The document's id (default: PATH as given).")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    type_: TypeOpt = None,
    namespace: NamespaceOpt = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object.")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add (or replace) one document: stored, split into chunks, indexed. The same text again changes nothing."""
    if path == "-" and id_ is None:
        raise InvalidInput("id", "reading standard input (-), the document needs an --id")
    meta = None if metadata is None else parse_json(metadata, "metadata")
    doc_id = id_ if id_ is not None else Path(path).as_posix()
    text = read_text(path)
    with opened(db, create=True, embedder="default") as st:
        doc = st.documents.add(doc_id, text, title=title, type=type_, namespace=namespace, metadata=meta)
    if json_out:
        emit_json(doc)
    else:
        console.print(f"{doc.id}: {doc.chunks} chunks, {doc.status}{_reason(doc)}", highlight=False)


def _reason(doc: Document) -> str:
    return f" ({doc.error})" if doc.error else ""


@docs_app.command("sync")
def docs_sync(
    directory: Annotated[str, typer.Argument(help="The folder whose files become documents (ids relative to it).")],
    glob: Annotated[str, typer.Option(help="Which files.")] = "**/*.md",
    namespace: NamespaceOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> int:
    """Make the documents synced from DIRECTORY match its files: new and changed ones indexed,
    removed ones removed, unchanged ones left alone. Exit status 1 if a file failed."""
    with opened(db, create=True, embedder="default") as st:
        report = st.documents.sync(directory, glob, namespace)
    _show_sync(directory, report, json_out)
    if report.failed:
        print(f"error: {len(report.failed)} files failed (listed above); the others are synced", file=sys.stderr)
        return 1
    return 0


def _show_sync(directory: str, report: SyncReport, json_out: bool) -> None:
    if json_out:
        emit_json(report)
        return
    console.print(
        f"synced {directory}: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged, {len(report.failed)} failed",
        highlight=False,
    )
    for what, names in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for name in names:
            console.print(f"  {what:<8} {name}", highlight=False, markup=False)
    for name, reason in report.failed.items():
        console.print(f"  failed   {name}: {reason}", highlight=False, markup=False)


@docs_app.command("ls")
def docs_ls(
    prefix: Annotated[str, typer.Argument(help="Id (path) prefix ('' for all).")] = "",
    type_: TypeOpt = None,
    limit: int = 100,
    cursor: str | None = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List documents under an id prefix, in id order."""
    with opened(db) as st:
        page = st.documents.list(prefix, type_, limit, cursor)
    show_page(
        page,
        json_out,
        f"documents under {prefix or '(all)'}",
        ["id", "title", "type", "chunks", "status", "updated"],
        [[d.id, d.title or "", d.type or "", d.chunks, d.status, when(d.updated_at)] for d in page],
        more_flag="--cursor",
    )


@docs_app.command("show")
def docs_show(
    doc_id: Annotated[str, typer.Argument(metavar="ID")],
    chunks: Annotated[bool, typer.Option("--chunks", help="List its chunks too.")] = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One document (with --json, its text too)."""
    with opened(db) as st:
        doc = st.documents.get(doc_id, with_text=json_out)
        parts = st.documents.chunks(doc_id) if chunks else []
    if json_out:
        emit_json({"document": doc, "chunks": parts} if chunks else doc)
        return
    table(
        f"document {doc.id}",
        ["field", "value"],
        [
            ["title", doc.title or ""],
            ["type", doc.type or ""],
            ["namespace", doc.namespace or ""],
            ["sha256", doc.sha256],
            ["chunks", doc.chunks],
            ["status", doc.status + _reason(doc)],
            ["metadata", orjson.dumps(doc.metadata).decode()],
            ["created", when(doc.created_at)],
            ["updated", when(doc.updated_at)],
        ],
    )
    if chunks:
        table(
            f"chunks of {doc.id}",
            ["seq", "heading", "chars", "text"],
            [[c.seq, c.heading, f"{c.start}-{c.end}", _line(c.text)] for c in parts],
        )


def _line(text: str, width: int = 70) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@docs_app.command("rm")
def docs_rm(doc_id: Annotated[str, typer.Argument(metavar="ID")], db: DbOpt = None) -> None:
    """Remove a document, its chunks and their index entries (audited)."""
    with opened(db, write=True) as st:
        st.documents.remove(doc_id)
    console.print(f"removed {doc_id}", highlight=False, markup=False)
