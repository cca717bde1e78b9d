"""The SIGKILL storm, short enough for CI (~15 s): worker processes killed at random moments and
restarted while they work task DAGs with 1 s leases; then every promise of the queue is checked
(see swarmstore.bench.storm). STORM_SECONDS=120 makes it a soak."""

from __future__ import annotations

import os
from pathlib import Path

from swarmstore.bench.storm import run_storm


def test_sigkill_storm_loses_nothing_and_completes_nothing_twice(tmp_path: Path) -> None:
    report = run_storm(tmp_path, seconds=float(os.environ.get("STORM_SECONDS", "10")), workers=3, lease_seconds=1.0)
    print(report.summary())
    assert report.problems() == [], report.summary()
    # the storm did what it is for: kills landed on running tasks, which came back through their leases
    assert report.kills >= 5 and report.rescue_to_claim_s, report.summary()
    assert report.final["completed"] > 50 and report.final["cancelled"] + report.final["failed"] > 0, report.summary()
