-- Named statements of the SQLite engine: memory. A statement may embed another as {{name}} (any file).

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


-- name: memory_list_range
-- One range of a scoped view's listing: from a (namespace, key), namespaces below ?3, matching
-- a rule with a '*' inside it: the GLOB ?8 (in C) and, when the rule fixes the count of ':' (?9),
-- that count, which together are exact; else the regular expression ?4 (a Python function) on
-- what passes the GLOB. An index range scan.
SELECT namespace, key, value, type, version, metadata, created_by, created_at, updated_at,
       expires_at, deleted_at, updated_by
FROM memories
WHERE (namespace, key) > (?1, ?2) AND namespace < ?3
  AND (?8 IS NULL OR namespace GLOB ?8)
  AND (?9 IS NULL OR length(namespace) - length(replace(namespace, ':', '')) = ?9)
  AND (?4 IS NULL OR namespace REGEXP ?4)
  AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?5) AND (?6 IS NULL OR type = ?6)
ORDER BY namespace, key
LIMIT ?7
