"""Run ADK's own session- and memory-service tests (vendored unchanged beside this file) against
swarmstore's ADK services, on both engines, next to ADK's in-memory reference backends.

The upstream files pick their backend inside each test (``get_session_service(service_type)``,
``InMemoryMemoryService()``), so this file adds ours: the session tests' ``service_type``
parametrization gains ``swarmstore-sqlite`` and ``swarmstore-postgresql``, and the memory tests
are parametrized over ``in_memory`` and the same two; a fixture hands each test the service of its
backend. ``DESELECTED`` lists what does not run, each with its reason (README.md too).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import swarmstore

try:
    from swarmstore.integrations.adk import SwarmstoreMemoryService, SwarmstoreSessionService
except ImportError:  # the adk extra is not installed: nothing here to run
    collect_ignore = ["test_session_service.py", "test_in_memory_memory_service.py"]

OURS = ("swarmstore-sqlite", "swarmstore-postgresql")

# test id fragment -> why it does not run
DESELECTED: dict[str, str] = {
    "[SessionServiceType.DATABASE]": (
        "ADK's own SQLAlchemy backend: this 1.18 file opens it on a sync 'sqlite:///:memory:' URL, which"
        " ADK 2.x's async DatabaseSessionService refuses (and it needs sqlalchemy, not in our extras)"
    ),
    "test_add_session_to_memory[": (
        "reads InMemoryMemoryService's private dict `_session_events` by a 'app/user' key, which ADK 2.x"
        " keys by (app, user): it fails on ADK 2.13's own in-memory service too; the ingest is checked"
        " through the public API by the search tests and tests/test_integration_adk.py"
    ),
    "test_add_session_with_no_events_to_memory[": "the same private `_session_events` read (fails on ADK 2.13's own)",
}


def _open_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> swarmstore.Store:
    url = str(tmp_path / "adk.db") if backend == "swarmstore-sqlite" else str(request.getfixturevalue("pg_url"))
    return swarmstore.open(url)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__
    if module.endswith("test_session_service"):
        # add our backends to the upstream `service_type` lists (the marker is rewritten before
        # pytest's own hook reads it)
        marks = metafunc.definition.own_markers
        for i, m in enumerate(marks):
            if m.name == "parametrize" and m.args and m.args[0] == "service_type":
                marks[i] = pytest.mark.parametrize(m.args[0], [*m.args[1], *OURS], **m.kwargs).mark
    elif module.endswith("test_in_memory_memory_service"):
        metafunc.parametrize("adk_memory_backend", ["in_memory", *OURS], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = str(Path(__file__).parent)
    keep, drop = [], []
    for item in items:
        mine = str(item.path).startswith(here)
        (drop if mine and any(frag in item.nodeid for frag in DESELECTED) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def adk_session_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """For a swarmstore ``service_type``, the upstream ``get_session_service`` returns our service."""
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("service_type") if callspec else None
    if backend not in OURS:
        yield
        return
    store = _open_store(str(backend), request, tmp_path)
    module = request.module
    upstream = module.get_session_service

    def get_session_service(service_type: Any = None, *args: Any, **kwargs: Any) -> Any:
        if service_type in OURS:
            return SwarmstoreSessionService(store)
        return upstream(service_type, *args, **kwargs)

    monkeypatch.setattr(module, "get_session_service", get_session_service)
    yield
    store.close()


@pytest.fixture(autouse=True)
def adk_memory_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """For a swarmstore backend, the upstream memory tests' ``InMemoryMemoryService()`` is ours."""
    backend = str(getattr(request, "param", "in_memory"))
    if backend not in OURS:
        yield backend
        return
    store = _open_store(backend, request, tmp_path)
    monkeypatch.setattr(request.module, "InMemoryMemoryService", lambda: SwarmstoreMemoryService(store))
    yield backend
    store.close()
