"""The tasks' engine boundary: the domain package states no SQL, and every engine implements
exactly the task operations of the contract (``engine.ops.tasks.TaskOps``)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import swarmstore.tasks
from swarmstore.engine.ops.tasks import TaskOps
from swarmstore.engine.postgres.tasks import PgTaskOps
from swarmstore.engine.sqlite.tasks import SqliteTaskOps

PACKAGE = Path(swarmstore.tasks.__file__).parent
# what SQL, or building it, looks like in Python source
_SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE)\s+\w|\.execute(many)?\(|\bplaceholder\b|\._q\b|\.q\.|json_each|f'\{\{|f\"\{\{"
)


def _operations(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, callable) if not name.startswith("_")}


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_the_tasks_package_states_no_sql(path: Path) -> None:
    text = path.read_text()
    assert not _SQL.search(text), f"{path.name}: {_SQL.search(text)}"


@pytest.mark.parametrize("impl", [SqliteTaskOps, PgTaskOps])
def test_each_engine_implements_exactly_the_task_operations(impl: type) -> None:
    wanted = _operations(TaskOps)
    assert _operations(impl) == wanted
    for name in wanted:
        ours = list(inspect.signature(getattr(TaskOps, name)).parameters)
        theirs = list(inspect.signature(getattr(impl, name)).parameters)
        assert theirs == ours, f"{impl.__name__}.{name}"
