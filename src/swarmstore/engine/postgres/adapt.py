"""How the engine's connections are made: settings and type adaptation (one place for both modes)."""

from __future__ import annotations

import math
from typing import Any

import orjson
from psycopg import adapt, adapters
from psycopg.adapt import AdaptersMap

from .config import PgConfig

_JSONB_OID = 3802


class JsonText(adapt.Loader):
    """json/jsonb columns read back as their JSON text (what SQLite's TEXT columns hold): the
    domain decodes it where it decodes SQLite's."""

    def load(self, data: Any) -> str:
        return bytes(data).decode()


class DictAsJsonb(adapt.Dumper):
    """A dict parameter is jsonb, encoded with orjson (``orjson.Fragment`` embeds JSON text)."""

    oid = _JSONB_OID

    def dump(self, obj: Any) -> bytes:
        return orjson.dumps(obj)


ADAPTERS = AdaptersMap(adapters)
ADAPTERS.register_loader("json", JsonText)
ADAPTERS.register_loader("jsonb", JsonText)
ADAPTERS.register_dumper(dict, DictAsJsonb)



def connect_kwargs(cfg: PgConfig) -> dict[str, Any]:
    """What every connection of the engine (sync or async) is opened with."""
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "prepare_threshold": None,  # no server-side prepared statements (transaction-mode poolers)
        "context": ADAPTERS,
        "connect_timeout": max(2, math.ceil(cfg.connect_timeout)),
        "application_name": "swarmstore",
    }
    if cfg.schema:
        kwargs["options"] = f"-c search_path={cfg.schema}"
    return kwargs
