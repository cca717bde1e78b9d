-- Named statements of the SQLite engine: sessions. A statement may embed another as {{name}} (any file).

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

-- name: event_insert
-- An event is its audit row (schema 6): version = seq, snapshot = content, detail = {"seq",
-- "type"[, "state_delta"]}; the unique audit_events index refuses a duplicate seq. (The engine
-- writes them through audit.py's write_audit_row; this is the benchmark's raw-SQL baseline.)
INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail, version, snapshot)
VALUES (?, ?, 'session.event', 'session', ?, NULL, ?, ?, ?)

-- name: events_page
SELECT entity_id, version, detail, actor, snapshot, at FROM audit
WHERE entity_id = ? AND action = 'session.event' AND version > ? ORDER BY version LIMIT ?

-- name: session_ids_matching
SELECT id FROM sessions WHERE instr(id, ?1) > 0 ORDER BY id LIMIT ?2

-- name: session_state_view
-- (StateView's order; a write's read of it needs no lock: the writer holds SQLite's)
SELECT s.app, s.user, s.status, s.state, s.temp, u.state, a.state
FROM sessions s
LEFT JOIN user_state u ON u.app = s.app AND u.user = s.user
LEFT JOIN app_state a ON a.app = s.app
WHERE s.id = ?
