"""Retention (prune) and the CLI's short-id lookups."""

from __future__ import annotations

import builtins
from typing import Any

from ..boundary import checked
from ..clock import seconds_us
from ..models import PruneResult
from ..params import ClaimLimit, FinishedStatuses, Flag, Name, Seconds
from ..validation import as_list
from .rows import FINISHED, TaskService

PRUNE_BATCH = 100_000


class Maintenance(TaskService):
    @checked
    def prune(
        self,
        older_than: Seconds,
        statuses: FinishedStatuses = FINISHED,
        dry_run: Flag = False,
        *,
        actor: Name | None = None,
    ) -> PruneResult:
        """Remove finished tasks that finished more than ``older_than`` ago (seconds or timedelta),
        never one that an unfinished task still depends on or has as parent."""
        age = seconds_us(older_than, "older_than")
        wanted = as_list(statuses)
        actor = actor or self._ctx.actor

        def op(tx: Any) -> PruneResult:
            now = self._now()
            assert age is not None
            ids = self._e.tasks.prunable(tx, now - age, wanted, PRUNE_BATCH)
            if dry_run or not ids:
                return PruneResult(ids, dry_run)
            self._e.tasks.delete(tx, ids, now, actor)
            return PruneResult(ids, False)

        return self._e.write(op)

    @checked
    def _match_ids(self, fragment: Name, limit: ClaimLimit = 2) -> builtins.list[str]:
        """Ids that contain ``fragment``, at most ``limit`` (the CLI's short ids); a scan of the ids.
        Private until the async facade mirrors it."""
        return self._e.tasks.ids_matching(fragment, limit)
