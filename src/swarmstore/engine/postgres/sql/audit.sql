-- Named statements of the PostgreSQL engine: audit. A statement may embed another as {{name}} (any file).
-- (audit rows are written by audit.py:write_audit only)

-- name: audit_indexed
-- the audit_entity index's own WHERE clause (a query must state it for the index to serve it)
((entity NOT IN ('memory', 'task') AND action <> 'session.event') OR action IN ('memory.purge', 'task.prune'))

-- name: audit_chain_step
SELECT a.prev FROM chain JOIN audit a ON a.id = chain.id WHERE a.prev IS NOT NULL

-- name: audit_memory_ids
-- Every audit row of one memory key, also across purges: the chain from its head, and the chain
-- from each purge row. Parameters: namespace, key, entity_id.
WITH RECURSIVE chain(id) AS (
    SELECT head FROM memories WHERE namespace = %s AND key = %s AND head IS NOT NULL
    UNION ALL
    SELECT id FROM audit
    WHERE entity = 'memory' AND entity_id = %s AND action = 'memory.purge' AND {{audit_indexed}}
    UNION ALL
    {{audit_chain_step}}
)
SELECT id FROM chain

-- name: audit_task_ids
-- Every audit row of one task: the chain from its audit_head, or from its prune row. Parameters:
-- task id, task id.
WITH RECURSIVE chain(id) AS (
    SELECT audit_head FROM tasks WHERE id = %s AND audit_head IS NOT NULL
    UNION ALL
    SELECT id FROM audit
    WHERE entity = 'task' AND entity_id = %s AND action = 'task.prune' AND {{audit_indexed}}
    UNION ALL
    {{audit_chain_step}}
)
SELECT id FROM chain

-- name: audit_session_ids
-- Every audit row of one session: its own changes (audit_entity) and its events (audit_events).
SELECT id FROM audit WHERE entity = 'session' AND entity_id = %s AND {{audit_indexed}}
UNION ALL
SELECT id FROM audit WHERE entity_id = %s AND action = 'session.event'
