-- Named statements of the SQLite engine. Domain code refers to them by name (engine.q.<name>).
-- Column lists must match the row decoders in the domain modules.

-- name: session_insert
INSERT INTO sessions (id, app, user, project, status, state, temp, metadata, created_at, updated_at)
VALUES (?, ?, ?, ?, 'created', ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: session_select
-- The event count and the last event's time come from the events key (one seek each), so an append
-- never has to rewrite the session row.
SELECT id, app, user, project, status, state, temp, metadata, created_at,
       max(updated_at, coalesce((SELECT created_at FROM events WHERE session_id = sessions.id
                                 ORDER BY seq DESC LIMIT 1), 0)),
       terminated_at, archived_at,
       coalesce((SELECT max(seq) FROM events WHERE session_id = sessions.id), 0)
FROM sessions

-- name: session_get
{{session_select}} WHERE id = ?

-- name: session_for_append
SELECT status, app, user, state, temp, coalesce((SELECT max(seq) FROM events WHERE session_id = ?1), 0)
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

-- name: event_insert
INSERT INTO events (session_id, seq, type, actor, content, state_delta, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: events_page
SELECT session_id, seq, type, actor, content, created_at, state_delta
FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?

-- name: memory_get
SELECT namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
       expires_at, deleted_at, updated_by
FROM memories
WHERE namespace = ?1 AND key = ?2 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)

-- name: memory_get_any
SELECT namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
       expires_at, deleted_at, updated_by
FROM memories WHERE namespace = ?1 AND key = ?2

-- name: memory_get_version
SELECT m.namespace, m.key, a.snapshot, a.version, m.created_by, m.created_at, a.at, m.deleted_at, a.actor
FROM memories m JOIN audit a INDEXED BY audit_entity ON a.entity = 'memory' AND a.entity_id = ?3
WHERE m.namespace = ?1 AND m.key = ?2 AND a.version = ?4 AND a.snapshot IS NOT NULL

-- name: memory_history
SELECT m.namespace, m.key, a.snapshot, a.version, m.created_by, m.created_at, a.at, m.deleted_at, a.actor
FROM memories m JOIN audit a INDEXED BY audit_entity ON a.entity = 'memory' AND a.entity_id = ?3
WHERE m.namespace = ?1 AND m.key = ?2 AND a.snapshot IS NOT NULL
ORDER BY a.id

-- name: memory_forget_history
UPDATE audit INDEXED BY audit_entity SET snapshot = NULL
WHERE entity = 'memory' AND entity_id = ? AND snapshot IS NOT NULL

-- name: memory_upsert_quiet
INSERT INTO memories (namespace, key, version, type, value, metadata, created_by, updated_by,
                      created_at, updated_at, expires_at, deleted_at)
VALUES (?1, ?2, 1, ?3, ?4, coalesce(?5, '{}'), ?6, ?6, ?7, ?7, ?8, NULL)
ON CONFLICT (namespace, key) DO UPDATE SET
    version = version + 1, type = ?3, value = ?4, metadata = coalesce(?5, metadata),
    updated_by = ?6, updated_at = ?7, expires_at = ?8, deleted_at = NULL

-- name: memory_upsert
{{memory_upsert_quiet}}
RETURNING version, metadata, created_by, created_at

-- name: memory_batch_existing
-- What a batch of puts continues from: one statement per namespace instead of a RETURNING per row
-- (an executemany with RETURNING builds a temporary table per row; measured ~1.6 ms per 1,000).
SELECT key, version, metadata, created_by, created_at FROM memories
WHERE namespace = ?1 AND key IN (SELECT value FROM json_each(?2))

-- name: memory_delete
UPDATE memories SET deleted_at = ?3
WHERE namespace = ?1 AND key = ?2 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)
RETURNING version

-- name: memory_restore
UPDATE memories SET deleted_at = NULL
WHERE namespace = ?1 AND key = ?2 AND deleted_at IS NOT NULL
RETURNING namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
          expires_at, deleted_at, updated_by

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

-- name: audit_insert_version
INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail, version, snapshot)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: count_rows
SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM events),
       (SELECT count(*) FROM memories WHERE deleted_at IS NULL), (SELECT count(*) FROM memories),
       (SELECT count(*) FROM audit WHERE entity = 'memory' AND snapshot IS NOT NULL), (SELECT count(*) FROM audit)
