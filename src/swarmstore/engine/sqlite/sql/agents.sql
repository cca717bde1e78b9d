-- Named statements of the SQLite engine: agents. A statement may embed another as {{name}} (any file).

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

