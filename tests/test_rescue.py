"""A task rescued from a dead worker (its lease expired) keeps the target it had when it first
became ready: it is claimed before work that became ready after it, by the same priority rules.
The clock is injected: the claim-side rescue and the claim run at an explicit ``now``."""

from __future__ import annotations

from typing import Any

import swarmstore
from swarmstore import Store, Task
from swarmstore.clock import from_dt
from swarmstore.tasks import PRIORITY_STEP, SOURCE_BONUS, UNBLOCK_BONUS, S

LATER = 10 * S  # the leases of the test (1 s) have expired by then


def _claim_at(st: Store, now: int, limit: int = 1) -> list[Task]:
    """A claim (its rescue of expired leases first, then the candidates) as if run at ``now``."""
    spec = st.tasks._claim_spec("rescuer", ("default",), None, 30, limit)
    got: list[Task] = st.tasks._e.write(lambda cur: st.tasks._claim_in(cur, now, spec))
    return got


def _expire(st: Store, summary: str, **kw: Any) -> tuple[Task, int]:
    """Submit a task and claim it with a 1 s lease for a worker that then dies."""
    t = st.tasks.submit(summary, **kw)
    [held] = st.tasks.claim("doomed", lease_seconds=1)
    assert held.id == t.id
    return t, from_dt(held.lease_expires_at, "t") if held.lease_expires_at else 0


def test_a_rescued_task_is_claimed_before_later_work_of_its_priority(db_path: str) -> None:
    with swarmstore.open(db_path) as st:
        a, expires = _expire(st, "A")
        b = st.tasks.submit("B")  # ready after A, same priority
        [first] = _claim_at(st, expires + LATER)  # rescues A, then claims
        assert (first.id, first.attempt) == (a.id, 2), "A, rescued, before B"
        [second] = _claim_at(st, expires + LATER)
        assert second.id == b.id
        actions = [e.action for e in st.audit.list(entity_id=a.id)]
        assert actions[:2] == ["task.claim", "task.rescue"]


def test_priority_rules_still_hold_for_a_rescued_task(db_path: str) -> None:
    with swarmstore.open(db_path) as st:
        a, expires = _expire(st, "A", priority=5)
        b = st.tasks.submit("B", priority=5)
        c = st.tasks.submit("C", priority=9)  # later, but 4 priority steps more urgent
        got = _claim_at(st, expires + LATER, limit=3)
        assert [t.id for t in got] == [c.id, a.id, b.id]


def test_a_rescued_task_ranks_from_its_first_ready_time_with_its_current_patience(db_path: str) -> None:
    with swarmstore.open(db_path) as st:
        a, expires = _expire(st, "A", priority=5)
        st.tasks.submit("after A", depends_on=[a.id])  # while A runs: A is more urgent now
        now = expires + LATER
        [back] = _claim_at(st, now)
        ready_at = from_dt(a.created_at, "t")  # A was ready on submission
        target = ready_at + 5 * PRIORITY_STEP - SOURCE_BONUS["human"] - UNBLOCK_BONUS
        assert back.id == a.id and back.score == (now - target) / S


def test_the_last_attempt_still_fails_when_its_lease_expires(db_path: str) -> None:
    with swarmstore.open(db_path) as st:
        a, expires = _expire(st, "A", max_attempts=1)
        after = st.tasks.submit("after A", depends_on=[a.id])
        assert _claim_at(st, expires + LATER) == []
        gone = st.tasks.get(a.id)
        assert (gone.status, gone.error) == ("failed", "lease expired on the last attempt")
        assert st.tasks.get(after.id).status == "cancelled"
