"""Every engine implements exactly its operation sets' protocols: the same operations, the same
parameters (sessions, agents and audit here; the other entities' sets join this list)."""

from __future__ import annotations

import inspect

import pytest

from swarmstore.engine.ops.agents import AgentOps
from swarmstore.engine.ops.audit import AuditOps
from swarmstore.engine.ops.sessions import SessionOps
from swarmstore.engine.postgres.agents import PgAgentOps
from swarmstore.engine.postgres.audit import PgAuditOps
from swarmstore.engine.postgres.sessions import PgSessionOps
from swarmstore.engine.sqlite.agents import SqliteAgentOps
from swarmstore.engine.sqlite.audit import SqliteAuditOps
from swarmstore.engine.sqlite.sessions import SqliteSessionOps

SETS = [(SessionOps, [SqliteSessionOps, PgSessionOps]), (AgentOps, [SqliteAgentOps, PgAgentOps]),
        (AuditOps, [SqliteAuditOps, PgAuditOps])]  # fmt: skip


def operations(cls: type) -> dict[str, list[str]]:
    """Public methods and their parameter names."""
    return {
        name: list(inspect.signature(fn).parameters)
        for name, fn in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(("protocol", "impls"), SETS, ids=[p.__name__ for p, _ in SETS])
def test_each_engine_implements_exactly_the_protocol(protocol: type, impls: list[type]) -> None:
    expected = operations(protocol)
    assert expected, "the protocol declares its operations"
    for impl in impls:
        assert operations(impl) == expected, impl.__name__
