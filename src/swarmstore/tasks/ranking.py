"""Claim order: every ready task has a *target*, the time by which it should be claimed.

Claims take the earliest target first, then the earliest submitted. ``Task.score`` is ``now -
target`` in seconds, so a higher score is claimed sooner and every waiting task's score grows by
one per second (aging: a task that waits long enough overtakes any task submitted later, so
nothing starves)::

    target   = min(ready_at + patience, deadline - estimated - 60 s)        (the second term only with a deadline)
    patience = (10 - priority) * 360 s          each priority step is worth 6 minutes of waiting
               - source bonus                    human 300 s, system 120 s, agent 0 s
               - 60 s * min(dependants, 20)      tasks waiting on this one make it more urgent
               - deadline bonus                  600 s, plus up to 600 s more the nearer the deadline

so a nearer deadline scores higher than a farther one or none, and a deadline close enough to be at
risk takes over (earliest deadline first). Because the target is a fixed time, the order stays
right as time passes without re-ranking; when a dependant arrives the prerequisite's target moves
earlier in the same transaction (the engine's ``add_dependant``, with ``UNBLOCK_BONUS``).
"""

from __future__ import annotations

import random

S = 1_000_000  # microseconds per second
PRIORITY_STEP = 360 * S
SOURCE_BONUS = {"human": 300 * S, "system": 120 * S, "agent": 0}
UNBLOCK_BONUS = 60 * S
UNBLOCK_CAP = 20
DEADLINE_BONUS = 600 * S
DEADLINE_HORIZON = 3600 * S
DEADLINE_MARGIN = 60 * S
MAX_BACKOFF = 300 * S


def patience(priority: int, source: str, dependants: int, deadline: int | None, now: int) -> int:
    """The wait (µs) a ready task is allowed before it is due; see the module docstring."""
    p = (10 - priority) * PRIORITY_STEP - SOURCE_BONUS[source] - UNBLOCK_BONUS * min(dependants, UNBLOCK_CAP)
    if deadline is not None:
        p -= DEADLINE_BONUS + DEADLINE_BONUS * DEADLINE_HORIZON // (DEADLINE_HORIZON + max(0, deadline - now))
    return p


def deadline_cap(deadline: int | None, estimated: int | None) -> int | None:
    """The latest claim time that still meets the deadline."""
    if deadline is None:
        return None
    return deadline - (estimated or 0) - DEADLINE_MARGIN


def backoff(retry_base_us: int, attempt: int) -> int:
    """The wait before a failed attempt's retry: exponential, capped, with jitter."""
    base = retry_base_us * (2 ** min(attempt - 1, 30))
    return int(min(base, MAX_BACKOFF) * random.uniform(0.5, 1.5))
