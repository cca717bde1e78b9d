"""``swarmstore search``, ``index`` and ``reindex``: recall by keyword and by meaning from the shell."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import swarmstore
from swarmstore.errors import EmbedderUnavailable, InvalidInput, SwarmstoreError
from swarmstore.models import Hit
from swarmstore.search.text import text_of

from .common import DbOpt, JsonOpt, db_path, db_url, opened
from .output import NARROW, console, emit_json


def search(
    query: Annotated[str, typer.Argument(help="What to look for: words, an identifier, or a question.")],
    prefix: Annotated[str | None, typer.Option(help="Only memories in namespaces under this prefix.")] = None,
    k: Annotated[int, typer.Option("--k", help="How many hits at most.")] = 10,
    mode: Annotated[str, typer.Option(help="keyword | semantic | hybrid")] = "hybrid",
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Memory or document type; repeat for several.")
    ] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Memories and document chunks matching QUERY, best first (hybrid: by meaning, exact words lifted)."""
    with opened(db, embedder=None if mode == "keyword" else "default") as st:
        try:
            hits = st.search(query, prefix=prefix, types=type_, k=k, mode=mode)
        except EmbedderUnavailable as exc:
            if "pip install" not in str(exc):
                raise
            raise EmbedderUnavailable(
                f"search by meaning (--mode {mode}) needs the embed extra: pip install 'swarmstore[embed]'; "
                "--mode keyword works without it"
            ) from None
    if json_out:
        emit_json(hits)
        return
    wide = console.width >= NARROW  # (at 80 columns: no kind, which the place shows with its #)
    t = Table(title=f"{len(hits)} hits for {query!r} ({mode})", title_justify="left")
    for col in ("score", "kind", "where", "found by") if wide else ("score", "where", "found by"):
        t.add_column(col, no_wrap=True)  # (the text wraps, the place stays whole to read and copy)
    t.add_column("text", overflow="fold")
    for h in hits:
        row = [f"{h.score:.3f}", h.kind, where(h), "+".join(h.retrievers), excerpt(h)]
        t.add_row(*(row if wide else row[:1] + row[2:]))
    console.print(t)


def where(hit: Hit) -> str:
    """``namespace/key`` of a memory, ``document#seq`` (and its heading) of a chunk."""
    if hit.memory is not None:
        return f"{hit.memory.namespace}/{hit.memory.key}"
    assert hit.chunk is not None
    place = f"{hit.chunk.document}#{hit.chunk.seq}"
    return f"{place} › {hit.chunk.heading}" if hit.chunk.heading else place


def excerpt(hit: Hit, width: int = 80) -> str:
    """The hit's text on one line, cut at ``width`` characters."""
    text = text_of(hit.memory.value) if hit.memory is not None else hit.chunk.text if hit.chunk else ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@contextmanager
def progress_bar(label: str, quiet: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a bar on stderr (a terminal's only)."""
    err = Console(stderr=True)
    with Progress(
        TextColumn(f"{label:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    ) as bar:
        job = bar.add_task(label, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(job, completed=done, total=max(total, 1))

        yield progress


def load_embedder(spec: str) -> Any:
    """``default`` (the shipped model) or ``module:factory`` (a class or function returning an
    ``Embedder``: an object with ``name``, ``dim`` and ``embed(texts)``)."""
    if spec == "default":
        return "default"
    if spec == "none":
        raise InvalidInput(
            "embedder", "reindex embeds vectors, so it needs one: 'default' or module:factory "
            "(keyword search needs no embedder and no reindex)"
        )  # fmt: skip
    from swarmstore.worker import load_handler

    try:
        factory = load_handler(spec)
    except InvalidInput as exc:
        raise InvalidInput("embedder", exc.message.replace("module:function", "module:factory")) from None
    try:
        embedder = factory()
    except Exception as exc:
        raise InvalidInput("embedder", f"{spec!r} failed: {type(exc).__name__}: {exc}") from None
    if not all(hasattr(embedder, a) for a in ("name", "dim", "embed")):
        raise InvalidInput("embedder", f"{spec!r} did not return an embedder (name, dim and embed(texts))")
    return embedder


def reindex(
    embedder: Annotated[
        str, typer.Option(help="'default' (the shipped model) or module:factory returning your own Embedder.")
    ] = "default",
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Embed every memory and document chunk again (after changing the store's embedder)."""
    url = db_url(db)
    path = db_path(url)
    if path is not None and not os.path.exists(path):
        raise SwarmstoreError(f"no store at {path} (run `swarmstore init` or pass --db)")
    chosen = load_embedder(embedder)
    t0 = time.perf_counter()
    with progress_bar("reindex", json_out) as progress:
        n = swarmstore.reindex(url, embedder=chosen, progress=progress)
    _done("re-embedded", n, time.perf_counter() - t0, json_out)


def index(db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Index what is pending (texts, then vectors with the default embedder if installed)."""
    t0 = time.perf_counter()
    with opened(db, write=True, embedder="default") as st, progress_bar("index", json_out) as progress:
        n = st.index(progress)
    _done("indexed", n, time.perf_counter() - t0, json_out)


def _done(verb: str, n: int, seconds: float, json_out: bool) -> None:
    if json_out:
        emit_json({"items": n, "seconds": round(seconds, 3)})
    else:
        console.print(f"{verb} {n} items in {seconds:.1f} s", highlight=False)
