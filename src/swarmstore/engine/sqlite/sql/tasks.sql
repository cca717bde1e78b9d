-- Named statements of the SQLite engine: tasks. A statement may embed another as {{name}} (any file).

-- name: task_cols
id, summary, payload, queue, agent_type, status, priority, source, rank, deadline, estimated_us,
attempt, max_attempts, timeout_us, not_before, lease_token, lease_expires_at, worker_id, result,
error, parent_id, session_id, idempotency_key, on_dependency_failure, deps, waiting, dependants,
metadata, created_at, updated_at, started_at, finished_at, ready_at

-- name: task_select
SELECT {{task_cols}} FROM tasks

-- name: task_get
{{task_select}} WHERE id = ?

-- name: task_by_key
SELECT id FROM tasks WHERE idempotency_key = ?

-- name: tasks_by_ids
{{task_select}} WHERE id IN (SELECT value FROM json_each(?))

-- name: task_insert
-- audit_head: the id of the task's submit audit row (written first, by write_audit)
INSERT INTO tasks (id, summary, payload, queue, agent_type, status, priority, source, rank, patience,
                   deadline_cap, ready_at, not_before, deadline, estimated_us, max_attempts, timeout_us,
                   parent_id, session_id, idempotency_key, on_dependency_failure, deps, waiting,
                   dependants, depth, metadata, created_at, updated_at, finished_at, error, audit_head)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: task_dep_insert
INSERT INTO task_deps (task_id, depends_on) VALUES (?, ?)

-- name: task_prereqs
SELECT id, status, depth FROM tasks WHERE id IN (SELECT value FROM json_each(?))

-- name: task_add_dependant
-- A new dependant makes a waiting prerequisite more urgent (up to 20 dependants count).
UPDATE tasks
SET dependants = dependants + 1,
    patience = patience - CASE WHEN dependants < 20 THEN ?2 ELSE 0 END,
    rank = CASE WHEN status = 'ready'
                THEN min(ready_at + patience - CASE WHEN dependants < 20 THEN ?2 ELSE 0 END,
                         coalesce(deadline_cap, ready_at + patience))
                ELSE rank END
WHERE id = ?1 AND status IN ('blocked', 'ready', 'running')

-- name: task_candidates
-- The claim's first half: the most urgent claimable tasks of one queue, read in index order,
-- with the chain head their claim's audit row links to.
-- (Claims for any agent type have a statement of their own: an agent-type test, even one that a
-- NULL parameter switches off, sets up its list per call, measured +10-20 µs a claim.)
SELECT id, rank, attempt, audit_head FROM tasks INDEXED BY tasks_ready
WHERE status = 'ready' AND queue = ?1 AND not_before <= ?2
ORDER BY rank, id LIMIT ?3

-- name: task_candidates_typed
-- The same for claims limited to some agent types (?3, a JSON list) and untyped tasks.
SELECT id, rank, attempt, audit_head FROM tasks INDEXED BY tasks_ready
WHERE status = 'ready' AND queue = ?1 AND not_before <= ?2
  AND (agent_type IS NULL OR agent_type IN (SELECT value FROM json_each(?3)))
ORDER BY rank, id LIMIT ?4

-- name: task_claim
-- The second half, per task, in the same transaction (an UPDATE ... WHERE id IN (subquery) was
-- 3x slower, measured: it builds a temporary list table per call), right after the claim's
-- audit row (?6), which becomes the task's audit_head. (The candidates were read under the write
-- lock, in this transaction: each is still ready.)
UPDATE tasks
SET status = 'running', attempt = attempt + 1, lease_token = ?2, lease_us = ?3,
    lease_expires_at = min(?4 + ?3, ?4 + timeout_us), worker_id = ?5, started_at = ?4, updated_at = ?4,
    audit_head = ?6
WHERE id = ?1
RETURNING {{task_cols}}

-- name: task_expired
-- (INDEXED BY: without statistics the planner would walk every running task by status.)
SELECT id, attempt, max_attempts FROM tasks INDEXED BY tasks_leases
WHERE status = 'running' AND lease_expires_at < ?
LIMIT 1000

-- name: task_heartbeat
-- (returns the chain head its audit row links to: the UPDATE leaves audit_head as it was)
UPDATE tasks
SET lease_expires_at = min(?3 + coalesce(?4, lease_us), started_at + timeout_us), updated_at = ?3
WHERE id = ?1 AND status = 'running' AND lease_token = ?2
RETURNING audit_head, worker_id

-- name: task_lease_check
-- A completion's check, before it writes anything (a refused one writes nothing): the task's
-- lease, how many wait for it, the chain head its audit row links to, and the lease holder.
SELECT status, lease_token, dependants, audit_head, worker_id FROM tasks WHERE id = ?

-- name: task_complete
-- (after task_lease_check and its audit row ?5, under the write lock: the task is running)
UPDATE tasks
SET status = 'completed', result = ?2, finished_at = ?3, updated_at = ?3, lease_expires_at = NULL,
    audit_head = ?4
WHERE id = ?1

-- name: task_heads
SELECT id, audit_head FROM tasks WHERE id IN (SELECT value FROM json_each(?))

-- name: task_head
SELECT audit_head FROM tasks WHERE id = ?

-- name: task_set_audit_head
UPDATE tasks SET audit_head = ?2 WHERE id = ?1

-- name: task_finish_running
-- A running task's attempt ends: back to ready (retry after backoff, or handed back) or failed.
UPDATE tasks
SET status = ?4, error = coalesce(?5, error), not_before = ?6, ready_at = ?6,
    rank = min(?6 + patience, coalesce(deadline_cap, ?6 + patience)),
    attempt = attempt - ?7, lease_expires_at = NULL, updated_at = ?3,
    lease_token = CASE WHEN ?4 = 'failed' THEN lease_token END,
    finished_at = CASE WHEN ?4 = 'failed' THEN ?3 END
WHERE id = ?1 AND status = 'running' AND (?2 IS NULL OR lease_token = ?2)
RETURNING attempt

-- name: task_rescue
-- A running task whose lease expired goes back to ready with the target it had when it first
-- became ready (ready_at is kept): it was due then, so it is not queued behind later work. Its
-- patience may have shrunk while it ran (new dependants), hence the target is recomputed.
UPDATE tasks
SET status = 'ready', error = ?3, rank = min(ready_at + patience, coalesce(deadline_cap, ready_at + patience)),
    lease_token = NULL, lease_expires_at = NULL, updated_at = ?2
WHERE id = ?1 AND status = 'running'

-- name: task_dependants_open
SELECT t.id, t.status, t.on_dependency_failure, t.waiting
FROM task_deps d JOIN tasks t ON t.id = d.task_id
WHERE d.depends_on = ? AND t.status IN ('blocked', 'ready', 'running')

-- name: task_release_step
UPDATE tasks
SET waiting = waiting - 1,
    status = CASE WHEN waiting = 1 THEN 'ready' ELSE status END,
    ready_at = CASE WHEN waiting = 1 THEN max(?2, not_before) ELSE ready_at END,
    rank = CASE WHEN waiting = 1
                THEN min(max(?2, not_before) + patience, coalesce(deadline_cap, max(?2, not_before) + patience))
                ELSE rank END,
    updated_at = ?2

-- name: task_release_dependants
-- After a prerequisite completes: one fewer to wait for; those with none left become ready.
{{task_release_step}}
WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = ?1) AND status = 'blocked'
RETURNING id, status, audit_head

-- name: task_release_one
-- (the same for one dependant, whose failed prerequisite it may run without)
{{task_release_step}}
WHERE id = ?1 AND status = 'blocked'
RETURNING status

-- name: task_end
-- Cancel or fail an unfinished task (not through its lease): cancellation, dependency failure.
UPDATE tasks
SET status = ?2, error = ?3, finished_at = ?4, updated_at = ?4, lease_expires_at = NULL
WHERE id = ?1 AND status IN ('blocked', 'ready', 'running')
RETURNING status

-- name: task_downstream
-- (CROSS JOIN keeps the recursive row outermost, so each step is an index seek.)
-- Every unfinished task below a root: its dependants and its children, transitively.
WITH RECURSIVE below(id) AS (
    SELECT ?1
    UNION
    SELECT d.task_id FROM below b CROSS JOIN task_deps d ON d.depends_on = b.id
    UNION
    SELECT t.id FROM below b CROSS JOIN tasks t ON t.parent_id = b.id
)
SELECT t.id FROM below b CROSS JOIN tasks t ON t.id = b.id
WHERE t.id <> ?1 AND t.status IN ('blocked', 'ready', 'running')

-- name: task_retry
UPDATE tasks
SET status = ?2, waiting = ?3, attempt = 0, error = NULL, result = NULL, finished_at = NULL,
    lease_token = NULL, lease_expires_at = NULL, not_before = ?4, ready_at = ?4,
    rank = min(?4 + patience, coalesce(deadline_cap, ?4 + patience)), updated_at = ?4
WHERE id = ?1 AND status IN ('failed', 'cancelled')
RETURNING id

-- name: task_rewait_dependants
-- A retried prerequisite is open again: blocked dependants that had counted it as settled (the
-- 'run' policy) wait for it again, so none can start before it ends.
UPDATE tasks SET waiting = waiting + 1, updated_at = ?2
WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = ?1) AND status = 'blocked'
RETURNING id

-- name: task_prereq_states
SELECT t.id, t.status FROM task_deps d JOIN tasks t ON t.id = d.depends_on WHERE d.task_id = ?

-- name: task_children
{{task_select}} WHERE parent_id = ? ORDER BY id

-- name: task_dependencies
{{task_select}} WHERE id IN (SELECT depends_on FROM task_deps WHERE task_id = ?) ORDER BY id

-- name: task_dependants
{{task_select}} WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = ?) ORDER BY id

-- name: task_subtree
WITH RECURSIVE sub(id) AS (
    SELECT ?1
    UNION
    SELECT t.id FROM sub s CROSS JOIN tasks t ON t.parent_id = s.id
)
{{task_select}} WHERE id IN (SELECT id FROM sub) ORDER BY id

-- name: task_plan_nodes
SELECT id, status, deps FROM tasks WHERE id IN (SELECT value FROM json_each(?))

-- name: task_open_in_queue
-- Whether a queue still has work that is not finished (a worker's until_idle test, run often):
-- three index probes instead of the counts of stats().
SELECT EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_ready WHERE status = 'ready' AND queue = ?1)
    OR EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_leases WHERE status = 'running' AND queue = ?1)
    OR EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_status
               WHERE status = 'blocked' AND status NOT IN ('ready', 'running') AND queue = ?1)

-- name: task_counts
SELECT queue, status, count(*) FROM tasks GROUP BY queue, status

-- name: task_oldest_ready
SELECT min(ready_at) FROM tasks WHERE status = 'ready'

-- name: task_finished_since
SELECT coalesce(sum(status = 'completed'), 0), coalesce(sum(status = 'failed'), 0) FROM tasks WHERE finished_at >= ?

-- name: task_prunable
SELECT t.id FROM tasks t
WHERE t.finished_at < ?1 AND t.status IN (SELECT value FROM json_each(?2))
  AND NOT EXISTS (
      SELECT 1 FROM task_deps d JOIN tasks u ON u.id = d.task_id
      WHERE d.depends_on = t.id AND u.status IN ('blocked', 'ready', 'running'))
  AND NOT EXISTS (
      SELECT 1 FROM tasks c WHERE c.parent_id = t.id AND c.status IN ('blocked', 'ready', 'running'))
LIMIT ?3

-- name: task_delete
DELETE FROM tasks WHERE id = ?

-- name: task_session_exists
SELECT 1 FROM sessions WHERE id = ?

-- name: task_deps_delete
DELETE FROM task_deps WHERE task_id = ?

-- name: task_ids_matching
SELECT id FROM tasks WHERE instr(id, ?1) > 0 ORDER BY id LIMIT ?2

