-- Named statements of the SQLite engine: audit. A statement may embed another as {{name}} (any file).

-- next_audit_id is the id the next audit row will get (writes hold the write lock, so no one else
-- can take it), last_audit_id the one just written; audit_chain_step is the recursive step of every walk along an entity's audit chain
-- (memory keys, tasks); audit_indexed is the audit_entity index's own WHERE clause.

-- name: next_audit_id
(SELECT coalesce(max(id), 0) + 1 FROM audit)

-- name: last_audit_id
(SELECT max(id) FROM audit)

-- name: audit_chain_step
SELECT a.prev FROM chain JOIN audit a ON a.id = chain.id WHERE a.prev IS NOT NULL

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

