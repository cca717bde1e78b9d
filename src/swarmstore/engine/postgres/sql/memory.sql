-- Named statements of the PostgreSQL engine: memory. A statement may embed another as {{name}} (any file).
-- value and metadata are json (the text written, as on SQLite: migration 0002), read back as JSON text; times are bigint µs.

-- name: memory_cols
namespace, key, value, type, version, metadata, created_by, created_at, updated_at, expires_at, deleted_at, updated_by

-- name: memory_get
SELECT {{memory_cols}} FROM memories
WHERE namespace = %s AND key = %s AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > %s)

-- name: memory_get_any
SELECT {{memory_cols}} FROM memories WHERE namespace = %s AND key = %s

-- name: memory_history
-- A key's versions: its audit chain from memories.head back along audit.prev, puts only.
WITH RECURSIVE chain(id) AS (
    SELECT head FROM memories WHERE namespace = %(ns)s AND key = %(key)s
    UNION ALL
    SELECT a.prev FROM chain JOIN audit a ON a.id = chain.id WHERE a.prev IS NOT NULL
)
SELECT m.namespace, m.key, a.snapshot, a.version, m.created_by, m.created_at, a.at, m.deleted_at, a.actor
FROM chain JOIN audit a ON a.id = chain.id JOIN memories m ON m.namespace = %(ns)s AND m.key = %(key)s
WHERE a.snapshot IS NOT NULL

-- name: memory_get_version
{{memory_history}} AND a.version = %(version)s LIMIT 1

-- name: memory_list
-- The prefix's own namespace after a key (when exact), then the namespaces under it from a
-- (namespace, key): two index range scans (namespace and key are COLLATE "C": byte order).
(SELECT {{memory_cols}} FROM memories
 WHERE %(exact)s AND namespace = %(prefix)s AND key > %(after_key)s AND deleted_at IS NULL
   AND (expires_at IS NULL OR expires_at > %(now)s) AND (%(type)s::text IS NULL OR type = %(type)s::text)
 ORDER BY key LIMIT %(limit)s)
UNION ALL
(SELECT {{memory_cols}} FROM memories
 WHERE (namespace, key) > (%(from_ns)s, %(from_key)s) AND namespace < %(hi)s AND deleted_at IS NULL
   AND (expires_at IS NULL OR expires_at > %(now)s) AND (%(type)s::text IS NULL OR type = %(type)s::text)
 ORDER BY namespace, key LIMIT %(limit)s)
ORDER BY 1, 2 LIMIT %(limit)s

-- name: memory_namespaces
-- The live namespaces in [lo, hi): one index seek each (a skip scan), and the prefix itself.
WITH RECURSIVE found(namespace) AS (
    (SELECT namespace FROM memories
     WHERE namespace >= %(lo)s AND namespace < %(hi)s AND deleted_at IS NULL
       AND (expires_at IS NULL OR expires_at > %(now)s)
     ORDER BY namespace LIMIT 1)
    UNION ALL
    SELECT (SELECT m.namespace FROM memories m
            WHERE m.namespace > found.namespace AND m.namespace < %(hi)s AND m.deleted_at IS NULL
              AND (m.expires_at IS NULL OR m.expires_at > %(now)s)
            ORDER BY m.namespace LIMIT 1)
    FROM found WHERE found.namespace IS NOT NULL
)
SELECT namespace FROM found WHERE namespace IS NOT NULL
UNION ALL
(SELECT namespace FROM memories
 WHERE %(prefix)s <> '' AND namespace = %(prefix)s AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > %(now)s)
 LIMIT 1)

-- name: memory_upsert_returning
RETURNING namespace, key, version, metadata, created_by, created_at, prev_head

-- name: memory_put_rows
-- The rows of a run of puts of distinct keys, in (namespace, key) order (concurrent batches lock
-- their keys in one order).
SELECT u.namespace, u.key, 1, u.type, u.value::json, coalesce(u.metadata::json, '{}'::json), u.actor, u.actor,
       %(now)s::bigint, %(now)s::bigint, u.expires_at
FROM unnest(%(ns)s::text[], %(keys)s::text[], %(types)s::text[], %(values)s::text[], %(metas)s::text[],
            %(actors)s::text[], %(expires)s::bigint[]) AS u(namespace, key, type, value, metadata, actor, expires_at)
ORDER BY u.namespace, u.key

-- name: memory_put_insert
INSERT INTO memories AS m (namespace, key, version, type, value, metadata, created_by, updated_by,
                           created_at, updated_at, expires_at)

-- name: memory_put_set
version = m.version + 1, type = excluded.type, value = excluded.value, updated_by = excluded.updated_by,
updated_at = excluded.updated_at, expires_at = excluded.expires_at, deleted_at = NULL, prev_head = m.head

-- name: memory_put_keep_meta
-- Puts without metadata (a new key gets {}, a present one keeps its own). Two keys put at once by
-- two writers: the second waits for the first's row lock and continues from its version.
{{memory_put_insert}} {{memory_put_rows}}
ON CONFLICT (namespace, key) DO UPDATE SET {{memory_put_set}}
{{memory_upsert_returning}}

-- name: memory_put_new_meta
{{memory_put_insert}} {{memory_put_rows}}
ON CONFLICT (namespace, key) DO UPDATE SET {{memory_put_set}}, metadata = excluded.metadata
{{memory_upsert_returning}}

-- name: memory_put_one
-- One unconditional put (the same as memory_put_keep_meta/new_meta for one key, with no unnest).
-- A present key's audit row id is taken from the log's sequence here, once the row is locked (so
-- the ids follow the versions), and set as the head: the audit row is then written with that id
-- (write_audit's ids) and no UPDATE of the head follows. A new key's head is NULL (a nextval in
-- VALUES would be spent on every conflict): its audit row and head are written as for a batch.
INSERT INTO memories AS m (namespace, key, version, type, value, metadata, created_by, updated_by,
                           created_at, updated_at, expires_at)
VALUES (%(ns)s, %(key)s, 1, %(type)s, %(value)s::json, coalesce(%(meta)s::json, '{}'::json), %(actor)s,
        %(actor)s, %(now)s, %(now)s, %(expires)s)
ON CONFLICT (namespace, key) DO UPDATE SET {{memory_put_set}}, metadata = coalesce(%(meta)s::json, m.metadata),
    head = nextval('audit_id_seq')
RETURNING namespace, key, version, metadata, created_by, created_at, prev_head, head

-- name: memory_put_absent
-- A put expecting no live entry (expected_version 0): a new key, or the next version of a deleted
-- or expired one. No row back: another writer's entry is live (its row lock waited for).
{{memory_put_insert}}
VALUES (%(ns)s, %(key)s, 1, %(type)s, %(value)s::json, coalesce(%(meta)s::json, '{}'::json), %(actor)s,
        %(actor)s, %(now)s, %(now)s, %(expires)s)
ON CONFLICT (namespace, key) DO UPDATE SET {{memory_put_set}}, metadata = coalesce(%(meta)s::json, m.metadata)
WHERE m.deleted_at IS NOT NULL OR (m.expires_at IS NOT NULL AND m.expires_at <= %(now)s)
{{memory_upsert_returning}}

-- name: memory_put_expected
-- A put expecting live version N > 0: no row back unless it is (re-checked after a row lock wait).
UPDATE memories AS m
SET version = m.version + 1, type = %(type)s, value = %(value)s::json, metadata = coalesce(%(meta)s::json, m.metadata),
    updated_by = %(actor)s, updated_at = %(now)s, expires_at = %(expires)s, deleted_at = NULL, prev_head = m.head
WHERE m.namespace = %(ns)s AND m.key = %(key)s AND m.version = %(expected)s AND m.deleted_at IS NULL
  AND (m.expires_at IS NULL OR m.expires_at > %(now)s)
{{memory_upsert_returning}}

-- name: memory_set_heads
-- The keys' new heads: the ids their audit rows just got.
UPDATE memories AS m SET head = u.head
FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS u(namespace, key, head)
WHERE m.namespace = u.namespace AND m.key = u.key

-- name: memory_delete
UPDATE memories SET deleted_at = %(now)s, prev_head = head
WHERE namespace = %(ns)s AND key = %(key)s AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > %(now)s)
RETURNING version, prev_head

-- name: memory_restore
UPDATE memories SET deleted_at = NULL, prev_head = head
WHERE namespace = %s AND key = %s AND deleted_at IS NOT NULL
RETURNING {{memory_cols}}, prev_head

-- name: memory_forget_history
-- (purge: the keys' rows are being deleted; %s are their heads)
WITH RECURSIVE chain(id) AS (
    SELECT unnest(%s::bigint[])
    UNION ALL
    SELECT a.prev FROM chain JOIN audit a ON a.id = chain.id WHERE a.prev IS NOT NULL
)
UPDATE audit SET snapshot = NULL FROM chain WHERE audit.id = chain.id AND audit.snapshot IS NOT NULL

-- name: memory_list_range
-- One range of a scoped view's listing: from a (namespace, key), namespaces below hi, matching
-- the regular expression if given (a rule with a '*' inside it). An index range scan.
SELECT {{memory_cols}} FROM memories
WHERE (namespace, key) > (%(from_ns)s, %(from_key)s) AND namespace < %(hi)s
  AND (%(regex)s::text IS NULL OR namespace ~ %(regex)s::text) AND deleted_at IS NULL
  AND (expires_at IS NULL OR expires_at > %(now)s) AND (%(type)s::text IS NULL OR type = %(type)s::text)
ORDER BY namespace, key LIMIT %(limit)s
