-- Named statements of the SQLite engine. Domain code refers to them by name (engine.q.<name>).
-- Column lists must match the row decoders in the domain modules.
-- A statement may embed an earlier one as {{name}}; a snippet embedded mid-line carries no comment.
-- next_audit_id is the id the next audit row will get (writes hold the write lock, so no one else
-- can take it), last_audit_id the one just written; audit_chain_step is the recursive step of every walk along an entity's audit chain
-- (memory keys, tasks); audit_indexed is the audit_entity index's own WHERE clause.

-- name: session_insert
INSERT INTO sessions (id, app, user, project, status, state, temp, metadata, created_at, updated_at)
VALUES (?, ?, ?, ?, 'created', ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: session_select
-- The event count and the last event's time come from the audit_events index (one seek each), so
-- an append never has to rewrite the session row.
SELECT id, app, user, project, status, state, temp, metadata, created_at,
       max(updated_at, coalesce((SELECT at FROM audit WHERE entity_id = sessions.id AND action = 'session.event'
                                 ORDER BY version DESC LIMIT 1), 0)),
       terminated_at, archived_at,
       coalesce((SELECT max(version) FROM audit WHERE entity_id = sessions.id AND action = 'session.event'), 0)
FROM sessions

-- name: session_get
{{session_select}} WHERE id = ?

-- name: session_for_append
-- What an append reads: however large the session's state, nothing of it crosses to Python.
SELECT status, temp <> '{}',
       coalesce((SELECT max(version) FROM audit WHERE entity_id = ?1 AND action = 'session.event'), 0)
FROM sessions WHERE id = ?1

-- name: session_state_of
-- (an append with a state delta: the state it changes)
SELECT app, user, state FROM sessions WHERE id = ?

-- name: session_touch
UPDATE sessions
SET temp = '{}', updated_at = ?1, status = CASE status WHEN 'created' THEN 'active' ELSE status END
WHERE id = ?2

-- name: session_status_of
SELECT status FROM sessions WHERE id = ?

-- name: session_set_status
UPDATE sessions
SET status = ?1, updated_at = ?2,
    terminated_at = CASE WHEN ?1 = 'terminated' THEN ?2 ELSE terminated_at END,
    archived_at = CASE WHEN ?1 = 'archived' THEN ?2 ELSE archived_at END,
    temp = CASE WHEN ?1 = 'terminated' THEN '{}' ELSE temp END
WHERE id = ?3 AND status = ?4

-- name: session_save_state
UPDATE sessions SET state = ?, temp = ?, updated_at = ? WHERE id = ?

-- name: session_state_all
SELECT s.app, s.user, s.state, s.temp, u.state, a.state, s.status
FROM sessions s
LEFT JOIN user_state u ON u.app = s.app AND u.user = s.user
LEFT JOIN app_state a ON a.app = s.app
WHERE s.id = ?

-- name: user_state_get
SELECT state FROM user_state WHERE app = ? AND user = ?

-- name: app_state_get
SELECT state FROM app_state WHERE app = ?

-- name: user_state_save
INSERT INTO user_state (app, user, state, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (app, user) DO UPDATE SET state = ?3, updated_at = ?4

-- name: app_state_save
INSERT INTO app_state (app, state, updated_at) VALUES (?1, ?2, ?3)
ON CONFLICT (app) DO UPDATE SET state = ?2, updated_at = ?3

-- name: next_audit_id
(SELECT coalesce(max(id), 0) + 1 FROM audit)

-- name: last_audit_id
(SELECT max(id) FROM audit)

-- name: audit_chain_step
SELECT a.prev FROM chain JOIN audit a ON a.id = chain.id WHERE a.prev IS NOT NULL

-- name: event_insert
-- An event is its audit row (schema 6): version = seq, snapshot = content, detail = {"seq",
-- "type"[, "state_delta"]}; the unique audit_events index refuses a duplicate seq.
INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail, version, snapshot)
VALUES (?, ?, 'session.event', 'session', ?, NULL, ?, ?, ?)

-- name: events_page
SELECT entity_id, version, detail, actor, snapshot, at FROM audit
WHERE entity_id = ? AND action = 'session.event' AND version > ? ORDER BY version LIMIT ?

-- name: memory_get
SELECT namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
       expires_at, deleted_at, updated_by
FROM memories
WHERE namespace = ?1 AND key = ?2 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)

-- name: memory_get_any
SELECT namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
       expires_at, deleted_at, updated_by
FROM memories WHERE namespace = ?1 AND key = ?2

-- name: memory_chain
-- A key's audit rows, newest first: from memories.head back along audit.prev (rowid seeks).
WITH RECURSIVE chain(id) AS (
    SELECT head FROM memories WHERE namespace = ?1 AND key = ?2
    UNION ALL
    {{audit_chain_step}}
)

-- name: memory_history
{{memory_chain}}
SELECT m.namespace, m.key, a.snapshot, a.version, m.created_by, m.created_at, a.at, m.deleted_at, a.actor
FROM chain CROSS JOIN audit a ON a.id = chain.id CROSS JOIN memories m ON m.namespace = ?1 AND m.key = ?2
WHERE a.snapshot IS NOT NULL

-- name: memory_get_version
{{memory_history}} AND a.version = ?3 LIMIT 1

-- name: memory_forget_history
-- (purge: the key's row is being deleted; ?1 is its head)
WITH RECURSIVE chain(id) AS (
    SELECT ?1
    UNION ALL
    {{audit_chain_step}}
)
UPDATE audit SET snapshot = NULL FROM chain WHERE audit.id = chain.id AND audit.snapshot IS NOT NULL

-- name: memory_upsert
-- A single put: head is the id its audit row will get (the next one: the writer holds the lock).
INSERT INTO memories (namespace, key, version, type, value, metadata, created_by, updated_by,
                      created_at, updated_at, expires_at, deleted_at, head, prev_head)
VALUES (?1, ?2, 1, ?3, ?4, coalesce(?5, '{}'), ?6, ?6, ?7, ?7, ?8, NULL, {{next_audit_id}}, NULL)
ON CONFLICT (namespace, key) DO UPDATE SET
    version = version + 1, type = ?3, value = ?4, metadata = coalesce(?5, metadata),
    updated_by = ?6, updated_at = ?7, expires_at = ?8, deleted_at = NULL,
    prev_head = head, head = excluded.head
RETURNING version, metadata, created_by, created_at, head, prev_head

-- name: memory_batch_existing
-- What a batch of puts continues from, for one namespace's keys (?2, a JSON list): one statement
-- instead of a RETURNING per row (an executemany with RETURNING builds a temporary table per row;
-- measured ~1.6 ms per 1,000).
SELECT namespace, key, version, metadata, created_by, created_at, head FROM memories
WHERE namespace = ?1 AND key IN (SELECT value FROM json_each(?2))

-- name: memory_batch_existing_pairs
-- The same for a batch across many namespaces (a group of concurrent puts, say): ?1 is a JSON
-- list of [namespace, key] pairs. One statement per namespace cost 4.5 µs a key there, this 1.5;
-- for one namespace's keys it costs a few hundred instructions a key more than the above.
SELECT m.namespace, m.key, m.version, m.metadata, m.created_by, m.created_at, m.head
FROM json_each(?1) CROSS JOIN memories AS m ON m.namespace = json_each.value ->> 0 AND m.key = json_each.value ->> 1

-- name: memory_batch_insert
-- A batch's puts of keys it read as absent (memory_batch_existing, in the same transaction), and
-- memory_batch_update those of keys it read as present: each shorter and cheaper than the upsert
-- (the binding hashes the whole text at every row of an executemany).
INSERT INTO memories (namespace, key, version, type, value, metadata, created_by, updated_by,
                      created_at, updated_at, expires_at, head)
VALUES (?1, ?2, 1, ?3, ?4, coalesce(?5, '{}'), ?6, ?6, ?7, ?7, ?8, ?9)

-- name: memory_batch_update
UPDATE memories
SET version = version + 1, type = ?3, value = ?4, metadata = coalesce(?5, metadata), updated_by = ?6,
    updated_at = ?7, expires_at = ?8, deleted_at = NULL, prev_head = head, head = ?9
WHERE namespace = ?1 AND key = ?2

-- name: memory_delete
UPDATE memories SET deleted_at = ?3, prev_head = head, head = {{next_audit_id}}
WHERE namespace = ?1 AND key = ?2 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)
RETURNING version, head, prev_head

-- name: memory_restore
UPDATE memories SET deleted_at = NULL, prev_head = head, head = {{next_audit_id}}
WHERE namespace = ?1 AND key = ?2 AND deleted_at IS NOT NULL
RETURNING namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
          expires_at, deleted_at, updated_by, head, prev_head

-- name: memory_list
SELECT namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
       expires_at, deleted_at, updated_by
FROM memories
WHERE namespace = ?1 AND key > ?2 AND ?3 AND deleted_at IS NULL
  AND (expires_at IS NULL OR expires_at > ?4) AND (?5 IS NULL OR type = ?5)
UNION ALL
SELECT namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
       expires_at, deleted_at, updated_by
FROM memories
WHERE (namespace, key) > (?6, ?7) AND namespace < ?8 AND deleted_at IS NULL
  AND (expires_at IS NULL OR expires_at > ?4) AND (?5 IS NULL OR type = ?5)
ORDER BY 1, 2
LIMIT ?9

-- name: memory_next_namespace
SELECT namespace FROM memories
WHERE namespace > ?1 AND namespace < ?2 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)
ORDER BY namespace LIMIT 1

-- name: memory_exact_namespace
SELECT 1 FROM memories
WHERE namespace = ?1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)
LIMIT 1

-- name: audit_insert
INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail) VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: audit_insert_linked
-- An audit row whose id (its entity's new head) and prev (the entity's row before it) are given:
-- a memory key's, or a new task's (submit).
INSERT INTO audit (id, at, actor, action, entity, entity_id, namespace, detail, version, snapshot, prev)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: audit_max_id
SELECT coalesce(max(id), 0) FROM audit

-- name: audit_indexed
((entity NOT IN ('memory', 'task') AND action <> 'session.event') OR action IN ('memory.purge', 'task.prune'))

-- name: audit_memory_ids
-- Every audit row of one memory key, also across purges: the chain from its head, and the chain
-- from each purge row (found in the index: the key's row was deleted with it).
-- Embedded in audit listings: plain ? only (namespace, key, entity_id).
WITH RECURSIVE chain(id) AS (
    SELECT head FROM memories WHERE namespace = ? AND key = ?
    UNION ALL
    SELECT id FROM audit INDEXED BY audit_entity
    WHERE entity = 'memory' AND entity_id = ? AND action = 'memory.purge' AND {{audit_indexed}}
    UNION ALL
    {{audit_chain_step}}
)
SELECT id FROM chain

-- name: audit_task_ids
-- Every audit row of one task: the chain from its audit_head, or from its prune row once the task
-- is gone. Embedded in audit listings: plain ? only (task id, task id).
WITH RECURSIVE chain(id) AS (
    SELECT audit_head FROM tasks WHERE id = ?
    UNION ALL
    SELECT id FROM audit INDEXED BY audit_entity
    WHERE entity = 'task' AND entity_id = ? AND action = 'task.prune' AND {{audit_indexed}}
    UNION ALL
    {{audit_chain_step}}
)
SELECT id FROM chain

-- name: audit_session_ids
-- Every audit row of one session: its own changes (audit_entity) and its events (audit_events).
-- Embedded in audit listings: plain ? only (session id, session id).
SELECT id FROM audit INDEXED BY audit_entity WHERE entity = 'session' AND entity_id = ? AND {{audit_indexed}}
UNION ALL
SELECT id FROM audit INDEXED BY audit_events WHERE entity_id = ? AND action = 'session.event'

-- name: count_rows
SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM audit WHERE action = 'session.event'),
       (SELECT count(*) FROM memories WHERE deleted_at IS NULL), (SELECT count(*) FROM memories),
       (SELECT count(*) FROM audit WHERE entity = 'memory' AND snapshot IS NOT NULL), (SELECT count(*) FROM audit),
       (SELECT count(*) FROM tasks), (SELECT count(*) FROM agents)

-- ---------------------------------------------------------------------------------------------
-- tasks. rank = min(ready_at + patience, deadline_cap): the time by which a task should be claimed.

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
{{task_select}} WHERE idempotency_key = ?

-- name: tasks_by_ids
{{task_select}} WHERE id IN (SELECT value FROM json_each(?))

-- name: task_insert
-- audit_head: the id of the task's submit audit row (given: the writer holds the lock)
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
-- The claim's first half: the most urgent claimable tasks of one queue, read in index order.
-- (Claims for any agent type have a statement of their own: an agent-type test, even one that a
-- NULL parameter switches off, sets up its list per call, measured +10-20 µs a claim.)
SELECT id, rank, attempt FROM tasks INDEXED BY tasks_ready
WHERE status = 'ready' AND queue = ?1 AND not_before <= ?2
ORDER BY rank, id LIMIT ?3

-- name: task_candidates_typed
-- The same for claims limited to some agent types (?3, a JSON list) and untyped tasks.
SELECT id, rank, attempt FROM tasks INDEXED BY tasks_ready
WHERE status = 'ready' AND queue = ?1 AND not_before <= ?2
  AND (agent_type IS NULL OR agent_type IN (SELECT value FROM json_each(?3)))
ORDER BY rank, id LIMIT ?4

-- name: task_claim
-- The second half, per task, in the same transaction (an UPDATE ... WHERE id IN (subquery) was
-- 3x slower, measured: it builds a temporary list table per call), right after the claim's
-- audit row (audit_insert_task), which becomes the task's audit_head.
UPDATE tasks
SET status = 'running', attempt = attempt + 1, lease_token = ?2, lease_us = ?3,
    lease_expires_at = min(?4 + ?3, ?4 + timeout_us), worker_id = ?5, started_at = ?4, updated_at = ?4,
    audit_head = {{last_audit_id}}
WHERE id = ?1 AND status = 'ready'
RETURNING {{task_cols}}

-- name: task_expired
-- (INDEXED BY: without statistics the planner would walk every running task by status.)
SELECT id, attempt, max_attempts FROM tasks INDEXED BY tasks_leases
WHERE status = 'running' AND lease_expires_at < ?
LIMIT 1000

-- name: task_heartbeat
-- (after its audit row, like task_claim)
UPDATE tasks
SET lease_expires_at = min(?3 + coalesce(?4, lease_us), started_at + timeout_us), updated_at = ?3,
    audit_head = {{last_audit_id}}
WHERE id = ?1 AND status = 'running' AND lease_token = ?2
RETURNING id

-- name: task_complete_set
-- (after its audit row, like task_claim; a stale lease matches nothing and the caller rolls back)
UPDATE tasks
SET status = 'completed', result = ?3, finished_at = ?4, updated_at = ?4, lease_expires_at = NULL,
    audit_head = {{last_audit_id}}
WHERE id = ?1 AND status = 'running' AND lease_token = ?2

-- name: task_complete
{{task_complete_set}}
RETURNING {{task_cols}}

-- name: task_complete_quiet
-- Only what releasing the dependants needs (complete_and_claim): RETURNING every column costs ~12 µs.
{{task_complete_set}}
RETURNING dependants

-- name: audit_insert_task
-- A task change's audit row, linked to the task's chain: prev is the task's latest row until
-- now. The change's own UPDATE (claim, heartbeat, completion) or task_set_audit_head, next,
-- makes this row the task's audit_head.
INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail, prev)
VALUES (?1, ?2, ?3, 'task', ?4, NULL, ?5, (SELECT audit_head FROM tasks WHERE id = ?4))

-- name: audit_delete_last
-- The audit row just inserted, of a change that was then refused (complete_many isolates each
-- completion this way, with no savepoint).
DELETE FROM audit WHERE id = {{last_audit_id}}

-- name: task_set_audit_head
UPDATE tasks SET audit_head = {{last_audit_id}} WHERE id = ?

-- name: task_audit_set_detail
-- The detail of a task's latest audit row (known only after the change, like a completion's count
-- of released dependants).
UPDATE audit SET detail = ?2 WHERE id = (SELECT audit_head FROM tasks WHERE id = ?1)

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
RETURNING id, status

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

-- name: task_deps_delete
DELETE FROM task_deps WHERE task_id = ?

-- ---------------------------------------------------------------------------------------------
-- agents

-- name: agent_select
SELECT id, name, agent_type, model, session_id, status, current_task, metadata, registered_at,
       last_seen_at, stopped_at
FROM agents

-- name: agent_get
{{agent_select}} WHERE id = ?

-- name: agent_insert
INSERT INTO agents (id, name, agent_type, model, session_id, status, metadata, registered_at, last_seen_at)
VALUES (?, ?, ?, ?, ?, 'idle', ?, ?, ?)

-- name: agent_heartbeat
UPDATE agents
SET last_seen_at = ?2, status = coalesce(?3, status),
    current_task = CASE WHEN ?4 THEN ?5 ELSE current_task END,
    stopped_at = CASE WHEN coalesce(?3, status) = 'stopped' THEN ?2 END
WHERE id = ?1
RETURNING status

-- ---------------------------------------------------------------------------------------------
-- short ids (the CLI's): the ids that contain a fragment people typed (an id's beginning, its end, or
-- the 12-character short id the CLI prints). A scan of the ids, for the CLI only, never a hot path.

-- name: task_ids_matching
SELECT id FROM tasks WHERE instr(id, ?1) > 0 ORDER BY id LIMIT ?2

-- name: session_ids_matching
SELECT id FROM sessions WHERE instr(id, ?1) > 0 ORDER BY id LIMIT ?2
