"""Memory's engine boundary: the domain module calls named operations only, and every engine
implements exactly the MemoryOps protocol."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import swarmstore.memory as memory_module
from swarmstore.engine.base import Batchable
from swarmstore.engine.ops.memory import MemoryOps

# SQL keywords at the start of a string, the transitional engine attributes, cursors, audit ids
_FORBIDDEN = re.compile(
    r"""["'](\s*)(SELECT|INSERT|UPDATE|DELETE|WITH)\b|\.q\.|_q\b|placeholder|\.execute(many)?\(|audit_max_id|last_audit_id"""
)
ENGINES = ["swarmstore.engine.sqlite.memory:SqliteMemoryOps", "swarmstore.engine.postgres.memory:PgMemoryOps"]


def _operations(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_the_memory_service_holds_no_sql() -> None:
    source = Path(inspect.getfile(memory_module)).read_text()
    assert not [m.group(0) for m in _FORBIDDEN.finditer(source)]


def test_every_engine_implements_exactly_the_memory_operations() -> None:
    declared = _operations(MemoryOps)
    assert {"get", "list_live", "put", "put_many", "delete", "restore", "purge"} <= declared
    for spec in ENGINES:
        module, name = spec.split(":")
        cls = getattr(importlib.import_module(module), name)
        assert _operations(cls) == declared, spec
        for op in declared:  # (the same parameters, by name, as the protocol's)
            assert list(inspect.signature(getattr(cls, op)).parameters) == list(
                inspect.signature(getattr(MemoryOps, op)).parameters
            ), f"{spec}.{op}"


def test_a_put_is_a_batchable_operation() -> None:
    assert issubclass(memory_module._PutOp, Batchable)
