"""The task tools: submit work (with prerequisites and subtasks), take it, keep it, finish it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from ..jsonable import plain
from .calls import Calls
from .fields import Cursor, LeaseSeconds, LeaseToken, Limit, Metadata, TaskId
from .memory_tools import READ, REMOVE, WRITE

Queue = Annotated[str, Field(description="The queue, e.g. 'research' (you may only use the queues your rules allow).")]
Status = Literal["blocked", "ready", "running", "completed", "failed", "cancelled"]


def register(server: MCPServer, calls: Calls, actor: str) -> None:
    tasks = calls.view.tasks

    async def task_submit(
        summary: Annotated[str, Field(description="What to do, in one line (the worker reads it).")],
        payload: Annotated[Any, Field(description="The task's input: any JSON value.")] = None,
        queue: Queue = "default",
        agent_type: Annotated[str | None, Field(description="Only workers of this agent type may claim it.")] = None,
        priority: Annotated[int, Field(description="0 (lowest) to 10 (highest).")] = 5,
        depends_on: Annotated[
            list[str], Field(description="Ids of tasks that must complete first: until then this one stays 'blocked'.")
        ] = [],  # noqa: B006 (pydantic copies defaults)
        parent: Annotated[
            str | None, Field(description="The id of the task this one is a subtask of (to split work: see task_tree).")
        ] = None,
        session_id: Annotated[str | None, Field(description="The session the task belongs to (optional).")] = None,
        max_attempts: Annotated[int, Field(description="How many times it may be tried (1 to 1000).")] = 3,
        timeout_seconds: Annotated[float, Field(description="Longest a run may take, in seconds.")] = 3600,
        idempotency_key: Annotated[
            str | None,
            Field(description="Submitting again with the same key returns the first task instead of a new one."),
        ] = None,
        metadata: Metadata = None,
        on_dependency_failure: Annotated[
            Literal["cancel", "fail", "run"],
            Field(
                description="What happens to this task if a prerequisite fails: cancel it, fail it, or run it anyway."
            ),
        ] = "cancel",
    ) -> dict[str, Any]:
        """Submit a task to a queue. It is 'ready' at once, or 'blocked' until every task of `depends_on`
        completes. Returns the task with its `id`."""
        task = await calls(
            tasks.submit,
            summary,
            payload,
            queue=queue,
            agent_type=agent_type,
            priority=priority,
            depends_on=depends_on,
            parent=parent,
            session_id=session_id,
            max_attempts=max_attempts,
            timeout_seconds=timeout_seconds,
            idempotency_key=idempotency_key,
            source="agent",
            metadata=metadata,
            on_dependency_failure=on_dependency_failure,
        )
        return plain(task)  # type: ignore[no-any-return]

    async def task_get(task_id: TaskId) -> dict[str, Any]:
        """One task: status, payload, result or error, attempts, prerequisites, parent."""
        return plain(await calls(tasks.get, task_id))  # type: ignore[no-any-return]

    async def task_list(
        status: Annotated[list[Status] | None, Field(description="Only tasks in these statuses.")] = None,
        queue: Annotated[str | None, Field(description="Only this queue.")] = None,
        agent_type: Annotated[str | None, Field(description="Only tasks for this agent type.")] = None,
        parent: Annotated[str | None, Field(description="Only the subtasks of this task.")] = None,
        session_id: Annotated[str | None, Field(description="Only this session's tasks.")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """List tasks, newest first, one page at a time: `items` and `next_cursor` (pass it back as `cursor`)."""
        page = await calls(
            tasks.list,
            status=status,
            queue=queue,
            agent_type=agent_type,
            parent=parent,
            session_id=session_id,
            limit=limit,
            cursor=cursor,
        )
        return {"items": plain(page.items), "next_cursor": page.next_cursor}

    async def task_claim(
        queues: Annotated[list[str], Field(description="The queues to take work from.")] = ["default"],  # noqa: B006
        agent_types: Annotated[list[str] | None, Field(description="Only tasks for these agent types.")] = None,
        lease_seconds: LeaseSeconds = 60,
        limit: Annotated[int, Field(description="How many tasks to take at most (1 to 1000).")] = 1,
        worker_id: Annotated[str | None, Field(description="Your worker name (default: your actor name).")] = None,
    ) -> dict[str, Any]:
        """Take the most urgent ready tasks: each is now 'running' and yours for `lease_seconds`. `tasks` may
        be empty (nothing to do). Keep each task's `id` and `lease_token`: pass them to task_heartbeat while
        you work (before the lease ends), then to task_complete or task_fail."""
        got = await calls(
            tasks.claim, worker_id or actor, queues, agent_types=agent_types, lease_seconds=lease_seconds, limit=limit
        )
        return {"tasks": plain(got)}

    async def task_heartbeat(
        task_id: TaskId,
        lease_token: LeaseToken,
        lease_seconds: Annotated[
            float | None, Field(description="The new lease length (null: the same as before).")
        ] = None,
    ) -> dict[str, Any]:
        """Extend your lease on a running task. Fails with TaskCancelled if the task was cancelled (stop then)
        or LeaseLost if the lease already expired."""
        return plain(await calls(tasks.heartbeat, task_id, lease_token, lease_seconds))  # type: ignore[no-any-return]

    async def task_complete(
        task_id: TaskId,
        lease_token: LeaseToken,
        result: Annotated[Any, Field(description="The task's result: any JSON value.")] = None,
    ) -> dict[str, Any]:
        """Finish a task you claimed, with its `result`. Tasks waiting only on it become ready."""
        return plain(await calls(tasks.complete, task_id, lease_token, result))  # type: ignore[no-any-return]

    async def task_fail(
        task_id: TaskId,
        lease_token: LeaseToken,
        error: Annotated[str, Field(description="What went wrong, for whoever looks at it next.")],
        retry: Annotated[
            bool, Field(description="Try again later if attempts are left (false: fail it for good).")
        ] = True,
    ) -> dict[str, Any]:
        """Record that your attempt at a task failed. With `retry` and attempts left it is ready again after
        a backoff; otherwise it is 'failed' and the tasks depending on it follow their policy."""
        return plain(await calls(tasks.fail, task_id, lease_token, error, retry))  # type: ignore[no-any-return]

    async def task_cancel(
        task_id: TaskId,
        cascade: Annotated[
            bool, Field(description="Also cancel every unfinished task depending on it or under it.")
        ] = True,
        reason: Annotated[str | None, Field(description="Why, in one line.")] = None,
    ) -> dict[str, Any]:
        """Cancel a task that is not finished (a running one's worker learns at its next heartbeat)."""
        return plain(await calls(tasks.cancel, task_id, cascade, reason))  # type: ignore[no-any-return]

    async def task_plan(
        task_ids: Annotated[list[str], Field(description="The tasks you want finished.")],
    ) -> dict[str, Any]:
        """The order to finish `task_ids` in: `batches` of task ids; the tasks of one batch can run in parallel
        once the batches before it are done (unfinished prerequisites included)."""
        return {"batches": await calls(tasks.plan, task_ids)}

    async def task_stats() -> dict[str, Any]:
        """Counts of tasks per status and per queue, the oldest ready task's wait, recent throughput."""
        return plain(await calls(tasks.stats))  # type: ignore[no-any-return]

    async def task_tree(task_id: TaskId) -> dict[str, Any]:
        """A task and all its subtasks, transitively: `{"task": ..., "children": [...]}`, children oldest first."""
        return plain(await calls(tasks.tree, task_id))  # type: ignore[no-any-return]

    server.add_tool(task_submit, annotations=WRITE)
    server.add_tool(task_get, annotations=READ)
    server.add_tool(task_list, annotations=READ)
    server.add_tool(task_claim, annotations=WRITE)
    server.add_tool(task_heartbeat, annotations=WRITE)
    server.add_tool(task_complete, annotations=WRITE)
    server.add_tool(task_fail, annotations=WRITE)
    server.add_tool(task_cancel, annotations=REMOVE)
    server.add_tool(task_plan, annotations=READ)
    server.add_tool(task_stats, annotations=READ)
    server.add_tool(task_tree, annotations=READ)
