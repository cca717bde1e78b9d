"""The task queue: a DAG of prioritised tasks, claimed atomically by many workers under leases.

Lifecycle::

    blocked --(prerequisites completed)--> ready --claim--> running --complete--> completed
                                             ^                 |--fail (attempts left)--> ready, after backoff
                                             |                 |--fail (last attempt)---> failed
                                             +--retry(failed | cancelled)  lease expired -> ready | failed
    cancel: blocked | ready | running --> cancelled      (completed, failed, cancelled are terminal)

The claim order (priority, aging, deadlines) is in ``ranking``. One module per concern:
``submit`` (one task or a DAG), ``leases`` (claims, completions, failures, rescue), ``dag``
(dependency policies, cancel, retry, plan), ``reads``, ``maintenance`` (prune, short ids). Each is
a part of ``Tasks``; all of them call the engine's task operations (``engine.tasks``), never SQL.
"""

from __future__ import annotations

from .dag import Dag
from .leases import Leases
from .maintenance import Maintenance
from .ranking import (
    DEADLINE_BONUS,
    DEADLINE_HORIZON,
    DEADLINE_MARGIN,
    MAX_BACKOFF,
    PRIORITY_STEP,
    SOURCE_BONUS,
    UNBLOCK_BONUS,
    UNBLOCK_CAP,
    S,
    deadline_cap,
    patience,
)
from .reads import Reads
from .rows import FINISHED, OPEN
from .submit import MAX_PREREQUISITES, Submitting


class Tasks(Submitting, Leases, Dag, Reads, Maintenance):
    """``store.tasks``: submit, claim, finish and inspect tasks."""


__all__ = [
    "DEADLINE_BONUS",
    "DEADLINE_HORIZON",
    "DEADLINE_MARGIN",
    "FINISHED",
    "MAX_BACKOFF",
    "MAX_PREREQUISITES",
    "OPEN",
    "PRIORITY_STEP",
    "SOURCE_BONUS",
    "UNBLOCK_BONUS",
    "UNBLOCK_CAP",
    "S",
    "Tasks",
    "deadline_cap",
    "patience",
]
