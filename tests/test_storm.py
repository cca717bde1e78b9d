"""The SIGKILL storm, short enough for CI (~15 s an engine): worker processes killed at random
moments and restarted while they work task DAGs with 1 s leases; then every promise of the queue
is checked (see swarmstore.bench.storm). STORM_SECONDS=120 makes it a soak."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from swarmstore.bench.storm import run_storm


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_sigkill_storm_loses_nothing_and_completes_nothing_twice(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """On PostgreSQL the worker processes are many hosts' workers: each its own connections to
    one database, claiming with SKIP LOCKED, while some of them are killed."""
    url = request.getfixturevalue("pg_url") if engine == "postgresql" else None
    seconds = float(os.environ.get("STORM_SECONDS", "10"))
    report = run_storm(tmp_path, seconds=seconds, workers=3, lease_seconds=1.0, url=url)
    print(report.summary())
    assert report.problems() == [], report.summary()
    # the storm did what it is for: kills landed on running tasks, which came back through their leases
    assert report.kills >= 5 and report.rescue_to_claim_s, report.summary()
    assert report.final["completed"] > 50 and report.final["cancelled"] + report.final["failed"] > 0, report.summary()
