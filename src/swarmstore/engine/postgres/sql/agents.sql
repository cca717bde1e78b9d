-- Named statements of the PostgreSQL engine: agents. A statement may embed another as {{name}} (any file).

-- name: agent_select
SELECT id, name, agent_type, model, session_id, status, current_task, metadata, registered_at,
       last_seen_at, stopped_at
FROM agents

-- name: agent_get
{{agent_select}} WHERE id = %s

-- name: agent_get_locked
-- (a heartbeat's: its status check and change see no other change in between)
{{agent_select}} WHERE id = %s FOR NO KEY UPDATE

-- name: agent_insert
INSERT INTO agents (id, name, agent_type, model, session_id, status, metadata, registered_at, last_seen_at)
VALUES (%s, %s, %s, %s, %s, 'idle', %s::jsonb, %s, %s)

-- name: agent_heartbeat
UPDATE agents
SET last_seen_at = %(now)s, status = coalesce(%(status)s, status),
    current_task = CASE WHEN %(set_task)s THEN %(task)s ELSE current_task END,
    stopped_at = CASE WHEN coalesce(%(status)s, status) = 'stopped' THEN %(now)s END
WHERE id = %(id)s
