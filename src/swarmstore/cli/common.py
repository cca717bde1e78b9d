"""What every CLI command shares: store selection and value parsing."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import orjson
import typer

import swarmstore
from swarmstore import Store
from swarmstore.engine import sqlite_path
from swarmstore.errors import InvalidInput, SwarmstoreError

DEFAULT_DB = os.path.join(".swarmstore", "swarm.db")

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Store path or URL (default: $SWARMSTORE_URL or ./.swarmstore/swarm.db).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
StringOpt = Annotated[bool, typer.Option("--string", help="Store the text as a string, even if it looks like JSON.")]


class _State:
    db: str | None = None


def db_url(db: str | None) -> str:
    return db or _State.db or os.environ.get("SWARMSTORE_URL") or DEFAULT_DB


def db_path(url: str) -> str | None:
    """The file of a SQLite store URL or path (None for a server URL)."""
    return sqlite_path(url)


def make_private_dirs(directory: str) -> None:
    """Create ``directory`` and its missing parents, each 0700 whatever the umask (stores hold
    private data); directories that exist keep their mode."""
    missing = []
    d = os.path.abspath(directory)
    while not os.path.exists(d):
        missing.append(d)
        d = os.path.dirname(d)
    try:
        for d in reversed(missing):
            os.mkdir(d, 0o700)
            os.chmod(d, 0o700)
    except OSError as exc:
        raise SwarmstoreError(f"cannot create directory {d}: {exc.strerror or exc}") from None


@contextmanager
def opened(db: str | None, create: bool = False, write: bool = False, embedder: Any = None) -> Iterator[Store]:
    """The selected store. ``create``: make it if missing (implies ``write``). ``write``: the
    command changes the store, so a read-only file is refused before anything runs. ``embedder``:
    for the commands that embed text ("default": the shipped model); the others open the store
    without one, so a store whose vectors another embedder made still works with them."""
    url = db_url(db)
    path = db_path(url)
    if path is not None:
        if create:
            make_private_dirs(os.path.dirname(os.path.abspath(path)))
        elif not os.path.exists(path):
            raise SwarmstoreError(f"no store at {path} (run `swarmstore init` or pass --db)")
    store = swarmstore.open(url, embedder=embedder)
    try:
        if (create or write) and getattr(store.engine, "readonly", False):
            raise SwarmstoreError(
                f"{path} is read only (the file or its directory is not writable): "
                "commands that read it work, this one writes"
            )
        yield store
    finally:
        store.close()


def looks_like_json(text: str) -> bool:
    """The CLI's rule: text that starts like a JSON object, array, string or number, or is exactly
    true/false/null, is JSON and must parse."""
    s = text.strip()
    return (s[:1] != "" and s[0] in '{["-0123456789') or s in ("true", "false", "null")


def parse_value(text: str, field: str = "value", as_string: bool = False) -> Any:
    """A value from the command line: JSON if it looks like JSON (and then it must parse), else
    the text as a string; ``as_string`` (``--string``) takes the text as it is."""
    if as_string or not looks_like_json(text):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            field, f"{text[:40]!r} looks like JSON but does not parse ({exc}); pass --string to store it as text"
        ) from None


def parse_json(text: str, field: str) -> Any:
    """An option that takes JSON only (``--metadata``)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(field, f"{text[:40]!r} is not JSON ({exc})") from None


def cli_prefix(url: str) -> str:
    """``swarmstore`` with the ``--db`` that selects ``url`` (none for the default store)."""
    return "swarmstore" if url == DEFAULT_DB else f"swarmstore --db {shlex.quote(url)}"


def forget_store(url: str) -> None:
    """Delete the store at ``url`` (its file, WAL and SHM) after checking that it is one."""
    path = db_path(url)
    if path is None:
        raise SwarmstoreError(f"--fresh deletes a store file; {url} is not one")
    if not os.path.exists(path):
        return
    with opened(url, write=True):
        pass  # (refuses what is not a writable swarmstore store before anything is deleted)
    for p in (path, path + "-wal", path + "-shm"):
        try:
            os.remove(p)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SwarmstoreError(f"cannot delete {p}: {exc.strerror or exc}") from None
