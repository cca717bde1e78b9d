"""What every CLI command shares: store selection and value parsing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import orjson
import typer

import swarmstore
from swarmstore import Store
from swarmstore.errors import SwarmstoreError

DEFAULT_DB = os.path.join(".swarmstore", "swarm.db")

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Store path or URL (default: $SWARMSTORE_URL or ./.swarmstore/swarm.db).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class _State:
    db: str | None = None


def db_url(db: str | None) -> str:
    return db or _State.db or os.environ.get("SWARMSTORE_URL") or DEFAULT_DB


@contextmanager
def opened(db: str | None, create: bool = False) -> Iterator[Store]:
    url = db_url(db)
    path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url
    if "://" not in url or url.startswith("sqlite:///"):
        if create:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        elif not os.path.exists(path):
            raise SwarmstoreError(f"no store at {path} (run `swarmstore init` or pass --db)")
    store = swarmstore.open(url)
    try:
        yield store
    finally:
        store.close()


def parse_value(text: str) -> Any:
    """CLI values are JSON when they parse as JSON, else plain strings."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
