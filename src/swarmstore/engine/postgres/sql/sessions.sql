-- Named statements of the PostgreSQL engine: sessions. A statement may embed another as {{name}} (any file).
-- (psycopg placeholders; "user" is a reserved word, quoted; jsonb columns read back as JSON text)
-- Write transactions are READ COMMITTED: a statement that follows a row lock (FOR NO KEY UPDATE)
-- sees everything committed before the lock was granted.

-- name: session_insert
INSERT INTO sessions (id, app, "user", project, status, state, temp, metadata, created_at, updated_at)
VALUES (%s, %s, %s, %s, 'created', '{}', '{}', %s::jsonb, %s, %s)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: session_select
-- The event count and the last event's time come from the audit_events index, as on SQLite.
SELECT id, app, "user", project, status, state, temp, metadata, created_at,
       greatest(updated_at, coalesce((SELECT at FROM audit WHERE entity_id = sessions.id AND action = 'session.event'
                                      ORDER BY version DESC LIMIT 1), 0)),
       terminated_at, archived_at,
       coalesce((SELECT max(version) FROM audit WHERE entity_id = sessions.id AND action = 'session.event'), 0)
FROM sessions

-- name: session_get
{{session_select}} WHERE id = %s

-- name: session_status
SELECT status FROM sessions WHERE id = %s

-- name: session_status_locked
SELECT status FROM sessions WHERE id = %s FOR NO KEY UPDATE

-- name: session_exists
SELECT 1 FROM sessions WHERE id = %s FOR KEY SHARE

-- name: session_set_status
UPDATE sessions
SET status = %(new)s, updated_at = %(now)s,
    terminated_at = CASE WHEN %(new)s = 'terminated' THEN %(now)s ELSE terminated_at END,
    archived_at = CASE WHEN %(new)s = 'archived' THEN %(now)s ELSE archived_at END,
    temp = CASE WHEN %(new)s = 'terminated' THEN '{}'::jsonb ELSE temp END
WHERE id = %(id)s AND status = %(old)s

-- name: session_lock_for_append
-- Appends to one session queue on this lock: the next statement (its last seq) sees the one before.
SELECT status, temp <> '{}'::jsonb FROM sessions WHERE id = %s FOR NO KEY UPDATE

-- name: session_last_seq
SELECT coalesce(max(version), 0) FROM audit WHERE entity_id = %s AND action = 'session.event'

-- name: session_touch
UPDATE sessions
SET temp = '{}', updated_at = %(now)s, status = CASE status WHEN 'created' THEN 'active' ELSE status END
WHERE id = %(id)s

-- name: events_page
SELECT entity_id, version, detail, actor, snapshot, at FROM audit
WHERE entity_id = %s AND action = 'session.event' AND version > %s ORDER BY version LIMIT %s

-- name: session_state_view
SELECT s.app, s."user", s.status, s.state, s.temp, u.state, a.state
FROM sessions s
LEFT JOIN user_state u ON u.app = s.app AND u."user" = s."user"
LEFT JOIN app_state a ON a.app = s.app
WHERE s.id = %s

-- name: session_state_view_locked
{{session_state_view}} FOR NO KEY UPDATE OF s

-- name: session_save_state
UPDATE sessions SET state = %s::jsonb, temp = %s::jsonb, updated_at = %s WHERE id = %s

-- name: user_state_merge
-- Set and remove keys in one statement: concurrent changes of other keys are never lost.
INSERT INTO user_state (app, "user", state, updated_at) VALUES (%(app)s, %(user)s, %(sets)s - %(removals)s::text[], %(now)s)
ON CONFLICT (app, "user") DO UPDATE SET state = (user_state.state || %(sets)s) - %(removals)s::text[], updated_at = %(now)s
RETURNING state

-- name: app_state_merge
INSERT INTO app_state (app, state, updated_at) VALUES (%(app)s, %(sets)s - %(removals)s::text[], %(now)s)
ON CONFLICT (app) DO UPDATE SET state = (app_state.state || %(sets)s) - %(removals)s::text[], updated_at = %(now)s
RETURNING state

-- name: session_ids_matching
SELECT id FROM sessions WHERE strpos(id, %s) > 0 ORDER BY id LIMIT %s
