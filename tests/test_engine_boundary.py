"""The engine boundary: domain code calls operations; every engine implements the same ones."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import swarmstore
from swarmstore.engine import ops
from swarmstore.engine.base import Batchable
from swarmstore.engine.postgres import ops as pg_ops
from swarmstore.engine.sqlite import ops as sqlite_ops

PACKAGE = Path(swarmstore.__file__).parent
# What is not domain code: the engines themselves, the benchmark (its baselines are raw SQL on
# purpose), the table-level copy between engines, and the async API's view of the SQLite engine
# (the runner of that engine's operations on an event loop: it runs the statements they pass it).
NOT_DOMAIN = ("engine", "bench", "transfer", "aio/view.py")
SQL = re.compile(r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|UPDATE\b.*\bSET|DELETE\s+FROM)\b", re.I | re.S)
FORBIDDEN_ATTRIBUTES = {"q", "placeholder", "execute", "executemany", "query"}


def domain_modules() -> list[Path]:
    def domain(path: Path) -> bool:
        rel = path.relative_to(PACKAGE)
        return rel.parts[0] not in NOT_DOMAIN and rel.as_posix() not in NOT_DOMAIN

    return sorted(p for p in PACKAGE.rglob("*.py") if domain(p))


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_domain_code_holds_no_sql(path: Path) -> None:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"line {node.lineno}: SQL text {node.value[:60]!r}")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"line {node.lineno}: .{node.attr} (SQL runs inside the engine)")
    assert not found, "\n".join(found)


PROTOCOLS = {
    "memory": ops.MemoryOps,
    "sessions": ops.SessionOps,
    "tasks": ops.TaskOps,
    "agents": ops.AgentOps,
    "audit": ops.AuditOps,
}


def operations(cls: type) -> dict[str, list[str]]:
    """Public methods of a class and their parameter names."""
    return {
        name: list(inspect.signature(fn).parameters)
        for name, fn in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize("entity", sorted(PROTOCOLS))
@pytest.mark.parametrize("module", [sqlite_ops, pg_ops], ids=["sqlite", "postgresql"])
def test_every_engine_defines_the_same_operations(entity: str, module: object) -> None:
    wanted = operations(PROTOCOLS[entity])
    assert wanted, f"{entity}: the protocol declares no operations"
    classes = {name: getattr(module, name) for name in dir(module) if name.endswith("Ops")}
    (impl,) = [c for c in classes.values() if c.__name__.lower().endswith(PROTOCOLS[entity].__name__.lower())]
    assert operations(impl) == wanted


def test_the_batchable_writes_say_so() -> None:
    """The async group commit batches only operations that subclass Batchable (no duck typing)."""
    from swarmstore.memory import _PutOp
    from swarmstore.tasks.leases import _StepOp

    assert issubclass(_PutOp, Batchable) and issubclass(_StepOp, Batchable)
