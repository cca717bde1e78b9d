-- Named statements of the PostgreSQL engine: tasks. (psycopg placeholders; jsonb columns are
-- read back as JSON text by the engine's loaders.) Writes run in READ COMMITTED: a statement that
-- waits for a row another transaction changed re-checks its WHERE on the row as committed, so
-- the conditional UPDATEs below (status guards, waiting counts) never act on a stale row.

-- name: pg_task_cols
id, summary, payload, queue, agent_type, status, priority, source, rank, deadline, estimated_us,
attempt, max_attempts, timeout_us, not_before, lease_token, lease_expires_at, worker_id, result,
error, parent_id, session_id, idempotency_key, on_dependency_failure, deps, waiting, dependants,
metadata, created_at, updated_at, started_at, finished_at, ready_at

-- name: pg_task_select
SELECT {{pg_task_cols}} FROM tasks

-- name: pg_task_get
{{pg_task_select}} WHERE id = %s

-- name: pg_task_lock
{{pg_task_select}} WHERE id = %s FOR UPDATE

-- name: pg_task_by_key
SELECT id FROM tasks WHERE idempotency_key = %s

-- name: pg_tasks_by_ids
{{pg_task_select}} WHERE id = ANY(%s::text[])

-- name: pg_task_prereqs
-- (locked in id order: a completion on another connection waits for this submit, then releases
-- its new dependants; or it came first, and this submit sees the prerequisite completed)
SELECT id, status, depth FROM tasks WHERE id = ANY(%s::text[]) ORDER BY id FOR UPDATE

-- name: pg_task_session_exists
SELECT 1 FROM sessions WHERE id = %s

-- name: pg_task_insert
INSERT INTO tasks (id, summary, payload, queue, agent_type, status, priority, source, rank, patience,
                   deadline_cap, ready_at, not_before, deadline, estimated_us, max_attempts, timeout_us,
                   parent_id, session_id, idempotency_key, on_dependency_failure, deps, waiting,
                   dependants, depth, metadata, created_at, updated_at, finished_at, error, audit_head)
VALUES (%s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
        %s::jsonb, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)

-- name: pg_task_insert_one
-- One task, after its submit row was written without reading its id back: the audit_head is that
-- row's id, the identity sequence's last value in this session (currval).
INSERT INTO tasks (id, summary, payload, queue, agent_type, status, priority, source, rank, patience,
                   deadline_cap, ready_at, not_before, deadline, estimated_us, max_attempts, timeout_us,
                   parent_id, session_id, idempotency_key, on_dependency_failure, deps, waiting,
                   dependants, depth, metadata, created_at, updated_at, finished_at, error, audit_head)
VALUES (%s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
        %s::jsonb, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, currval('audit_id_seq'))

-- name: pg_task_dep_insert
INSERT INTO task_deps (task_id, depends_on) VALUES (%s, %s)

-- name: pg_task_add_dependant
UPDATE tasks
SET dependants = dependants + 1,
    patience = patience - CASE WHEN dependants < 20 THEN %(bonus)s ELSE 0 END,
    rank = CASE WHEN status = 'ready'
                THEN LEAST(ready_at + patience - CASE WHEN dependants < 20 THEN %(bonus)s ELSE 0 END,
                           coalesce(deadline_cap, ready_at + patience))
                ELSE rank END
WHERE id = %(id)s AND status IN ('blocked', 'ready', 'running')

-- name: pg_task_claim_set
-- A claim: one statement for the whole batch. The candidates are locked as they are picked, in
-- claim order; those another transaction holds are skipped (SKIP LOCKED), never waited for.
-- RETURNING gives audit_head as it was (the chain head the claim's audit row links to).
UPDATE tasks
SET status = 'running', attempt = attempt + 1, lease_token = %(token)s, lease_us = %(lease)s,
    lease_expires_at = LEAST(%(now)s + %(lease)s, %(now)s + timeout_us), worker_id = %(worker)s,
    started_at = %(now)s, updated_at = %(now)s

-- name: pg_task_claim
{{pg_task_claim_set}}
WHERE id IN (
    SELECT id FROM tasks
    WHERE status = 'ready' AND queue = %(queue)s AND not_before <= %(now)s
    ORDER BY rank, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING {{pg_task_cols}}, audit_head

-- name: pg_task_claim_typed
{{pg_task_claim_set}}
WHERE id IN (
    SELECT id FROM tasks
    WHERE status = 'ready' AND queue = %(queue)s AND not_before <= %(now)s
      AND (agent_type IS NULL OR agent_type = ANY(%(types)s::text[]))
    ORDER BY rank, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING {{pg_task_cols}}, audit_head

-- name: pg_task_claim_queues
-- (several queues: the most urgent of all of them)
{{pg_task_claim_set}}
WHERE id IN (
    SELECT id FROM tasks
    WHERE status = 'ready' AND queue = ANY(%(queues)s::text[]) AND not_before <= %(now)s
      AND (%(types)s::text[] IS NULL OR agent_type IS NULL OR agent_type = ANY(%(types)s::text[]))
    ORDER BY rank, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING {{pg_task_cols}}, audit_head

-- name: pg_task_set_heads
UPDATE tasks SET audit_head = v.head
FROM unnest(%s::text[], %s::bigint[]) AS v(id, head)
WHERE tasks.id = v.id

-- name: pg_task_heads
SELECT id, audit_head FROM tasks WHERE id = ANY(%s::text[])

-- name: pg_task_expired
-- (a lease another claimer is rescuing right now is left to it)
SELECT id, attempt, max_attempts FROM tasks
WHERE status = 'running' AND lease_expires_at < %s
ORDER BY lease_expires_at LIMIT 1000
FOR UPDATE SKIP LOCKED

-- name: pg_task_heartbeat
UPDATE tasks
SET lease_expires_at = LEAST(%(now)s + coalesce(%(lease)s, lease_us), started_at + timeout_us), updated_at = %(now)s
WHERE id = %(id)s AND status = 'running' AND lease_token = %(token)s
RETURNING audit_head, worker_id

-- name: pg_task_complete
-- (a stale lease or a cancelled task matches nothing: nothing is written)
UPDATE tasks
SET status = 'completed', result = %s::jsonb, finished_at = %s, updated_at = %s, lease_expires_at = NULL
WHERE id = %s AND status = 'running' AND lease_token = %s
RETURNING dependants, audit_head, worker_id

-- name: pg_task_release_step
UPDATE tasks
SET waiting = waiting - 1,
    status = CASE WHEN waiting = 1 THEN 'ready' ELSE status END,
    ready_at = CASE WHEN waiting = 1 THEN GREATEST(%(now)s, not_before) ELSE ready_at END,
    rank = CASE WHEN waiting = 1
                THEN LEAST(GREATEST(%(now)s, not_before) + patience,
                           coalesce(deadline_cap, GREATEST(%(now)s, not_before) + patience))
                ELSE rank END,
    updated_at = %(now)s

-- name: pg_task_release_dependants
-- After a prerequisite completes: one fewer to wait for; those with none left become ready. The
-- dependants are locked in id order first (two prerequisites completing at once on two
-- connections: the second waits, then counts down from the first's count).
{{pg_task_release_step}}
WHERE id IN (
    SELECT t.id FROM task_deps d JOIN tasks t ON t.id = d.task_id
    WHERE d.depends_on = %(id)s AND t.status = 'blocked'
    ORDER BY t.id FOR UPDATE OF t)
  AND status = 'blocked'
RETURNING id, status, audit_head, queue

-- name: pg_task_release_one
{{pg_task_release_step}}
WHERE id = %(id)s AND status = 'blocked'
RETURNING status, queue

-- name: pg_task_finish_running
UPDATE tasks
SET status = %(status)s, error = coalesce(%(error)s, error), not_before = %(ready_at)s, ready_at = %(ready_at)s,
    rank = LEAST(%(ready_at)s + patience, coalesce(deadline_cap, %(ready_at)s + patience)),
    attempt = attempt - %(back)s, lease_expires_at = NULL, updated_at = %(now)s,
    lease_token = CASE WHEN %(status)s = 'failed' THEN lease_token END,
    finished_at = CASE WHEN %(status)s = 'failed' THEN %(now)s::bigint END
WHERE id = %(id)s AND status = 'running' AND (%(token)s::text IS NULL OR lease_token = %(token)s)
RETURNING queue

-- name: pg_task_rescue
UPDATE tasks
SET status = 'ready', error = %s, rank = LEAST(ready_at + patience, coalesce(deadline_cap, ready_at + patience)),
    lease_token = NULL, lease_expires_at = NULL, updated_at = %s
WHERE id = %s AND status = 'running'
RETURNING queue

-- name: pg_task_dependants_open
SELECT t.id, t.status, t.on_dependency_failure, t.waiting
FROM task_deps d JOIN tasks t ON t.id = d.task_id
WHERE d.depends_on = %s AND t.status IN ('blocked', 'ready', 'running')
ORDER BY t.id

-- name: pg_task_end
UPDATE tasks
SET status = %(status)s, error = %(reason)s, finished_at = %(now)s, updated_at = %(now)s, lease_expires_at = NULL
WHERE id = ANY(%(ids)s::text[]) AND status IN ('blocked', 'ready', 'running')
RETURNING id

-- name: pg_task_downstream
-- (the recursive term may name "below" once: both kinds of edge in one lateral subquery)
WITH RECURSIVE below(id) AS (
    SELECT %(id)s::text
    UNION
    SELECT n.id FROM below b CROSS JOIN LATERAL (
        SELECT d.task_id AS id FROM task_deps d WHERE d.depends_on = b.id
        UNION ALL
        SELECT t.id FROM tasks t WHERE t.parent_id = b.id) n
)
SELECT t.id FROM below b JOIN tasks t ON t.id = b.id
WHERE t.id <> %(id)s AND t.status IN ('blocked', 'ready', 'running')
ORDER BY t.id

-- name: pg_task_retry
UPDATE tasks
SET status = %(status)s, waiting = %(waiting)s, attempt = 0, error = NULL, result = NULL, finished_at = NULL,
    lease_token = NULL, lease_expires_at = NULL, not_before = %(now)s, ready_at = %(now)s,
    rank = LEAST(%(now)s + patience, coalesce(deadline_cap, %(now)s + patience)), updated_at = %(now)s
WHERE id = %(id)s AND status IN ('failed', 'cancelled')
RETURNING queue

-- name: pg_task_rewait_dependants
UPDATE tasks SET waiting = waiting + 1, updated_at = %(now)s
WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = %(id)s) AND status = 'blocked'
RETURNING id

-- name: pg_task_prereq_states
SELECT t.id, t.status FROM task_deps d JOIN tasks t ON t.id = d.depends_on
WHERE d.task_id = %s ORDER BY t.id FOR UPDATE OF t

-- name: pg_task_children
{{pg_task_select}} WHERE parent_id = %s ORDER BY id

-- name: pg_task_dependencies
{{pg_task_select}} WHERE id IN (SELECT depends_on FROM task_deps WHERE task_id = %s) ORDER BY id

-- name: pg_task_dependants
{{pg_task_select}} WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = %s) ORDER BY id

-- name: pg_task_subtree
WITH RECURSIVE sub(id) AS (
    SELECT %s::text
    UNION
    SELECT t.id FROM sub s JOIN tasks t ON t.parent_id = s.id
)
{{pg_task_select}} WHERE id IN (SELECT id FROM sub) ORDER BY id

-- name: pg_task_plan_nodes
SELECT id, status, deps FROM tasks WHERE id = ANY(%s::text[])

-- name: pg_task_open_in_queue
SELECT EXISTS (SELECT 1 FROM tasks WHERE status = 'ready' AND queue = %(q)s)
    OR EXISTS (SELECT 1 FROM tasks WHERE status = 'running' AND queue = %(q)s)
    OR EXISTS (SELECT 1 FROM tasks WHERE status = 'blocked' AND queue = %(q)s)

-- name: pg_task_counts
SELECT queue, status, count(*) FROM tasks GROUP BY queue, status

-- name: pg_task_oldest_ready
SELECT min(ready_at) FROM tasks WHERE status = 'ready'

-- name: pg_task_finished_since
SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed')
FROM tasks WHERE finished_at >= %s

-- name: pg_task_prunable
-- (locked, skipping any that another transaction holds: a submit may be making one a prerequisite)
SELECT t.id FROM tasks t
WHERE t.finished_at < %s AND t.status = ANY(%s::text[])
  AND NOT EXISTS (
      SELECT 1 FROM task_deps d JOIN tasks u ON u.id = d.task_id
      WHERE d.depends_on = t.id AND u.status IN ('blocked', 'ready', 'running'))
  AND NOT EXISTS (
      SELECT 1 FROM tasks c WHERE c.parent_id = t.id AND c.status IN ('blocked', 'ready', 'running'))
ORDER BY t.id
LIMIT %s
FOR UPDATE OF t SKIP LOCKED

-- name: pg_task_delete
DELETE FROM tasks WHERE id = ANY(%s::text[])

-- name: pg_task_deps_delete
DELETE FROM task_deps WHERE task_id = ANY(%s::text[])

-- name: pg_task_ids_matching
SELECT id FROM tasks WHERE strpos(id, %s) > 0 ORDER BY id LIMIT %s
