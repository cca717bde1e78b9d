-- Named statements of the SQLite engine: the search index (search_items, search_fts, search_meta).

-- name: search_next_gen
(SELECT coalesce(max(gen), 0) + 1 FROM search_items)

-- name: search_fts_put
-- (REPLACE drops the rowid's previous row, if any)
INSERT OR REPLACE INTO search_fts (rowid, text) VALUES (?1, ?2)

-- name: search_fts_delete
DELETE FROM search_fts WHERE rowid = ?1

-- name: search_memory_changes
-- The memory keys the audit rows (?1, ?2] put or purged, with their current row's type (NULL: purged).
SELECT DISTINCT a.namespace, substr(a.entity_id, length(a.namespace) + 2), m.type
FROM audit a LEFT JOIN memories m ON m.namespace = a.namespace AND m.key = substr(a.entity_id, length(a.namespace) + 2)
WHERE a.id > ?1 AND a.id <= ?2 AND a.entity = 'memory' AND (a.action = 'memory.put' OR a.action = 'memory.purge')

-- name: search_mark_memory
-- A put memory's item: new, or stale (its text is read again by the next indexing pass).
INSERT INTO search_items (kind, namespace, ref, seq, type, stale, removed, gen)
VALUES ('memory', ?1, ?2, 0, ?3, 1, 0, {{search_next_gen}})
ON CONFLICT (kind, namespace, ref, seq) DO UPDATE SET type = excluded.type, stale = 1, removed = 0, gen = excluded.gen

-- name: search_remove_memory
UPDATE search_items SET removed = 1, stale = 0, text_hash = NULL, vector = NULL, gen = {{search_next_gen}}
WHERE kind = 'memory' AND namespace = ?1 AND ref = ?2 AND seq = 0 AND removed = 0
RETURNING id

-- name: search_last_audit
SELECT coalesce(max(id), 0) FROM audit

-- name: search_remove_chunks
UPDATE search_items SET removed = 1, text_hash = NULL, vector = NULL, gen = {{search_next_gen}}
WHERE kind = 'chunk' AND namespace = ?1 AND ref = ?2 AND seq >= ?3 AND removed = 0
RETURNING id

-- name: search_upsert_chunk
INSERT INTO search_items (kind, namespace, ref, seq, type, text_hash, vector, removed, gen)
VALUES ('chunk', ?1, ?2, ?3, ?4, ?5, ?6, 0, {{search_next_gen}})
ON CONFLICT (kind, namespace, ref, seq) DO UPDATE SET
    type = excluded.type, text_hash = excluded.text_hash, vector = excluded.vector, removed = 0,
    gen = excluded.gen
RETURNING id

-- name: search_pending_cols
SELECT i.id, i.kind, i.namespace, i.ref, i.seq, coalesce(m.value, c.text), c.heading,
       CASE WHEN i.stale THEN NULL ELSE i.text_hash END
FROM search_items i
LEFT JOIN memories m ON i.kind = 'memory' AND m.namespace = i.namespace AND m.key = i.ref
LEFT JOIN document_chunks c ON i.kind = 'chunk' AND c.document = i.ref AND c.seq = i.seq

-- name: search_pending_texts
-- Items whose text is to be (re)read (new, or their entity changed), with the memory's value or
-- the chunk's text and heading. (Each condition is its partial index's.)
{{search_pending_cols}}
WHERE (i.stale = 1 OR i.text_hash IS NULL) AND i.removed = 0 AND coalesce(m.value, c.text) IS NOT NULL
ORDER BY i.id LIMIT ?1

-- name: search_pending_vectors
-- Items with their text indexed and no vector yet.
{{search_pending_cols}}
WHERE i.vector IS NULL AND i.removed = 0 AND i.stale = 0 AND i.text_hash IS NOT NULL
  AND coalesce(m.value, c.text) IS NOT NULL
ORDER BY i.id LIMIT ?1

-- name: search_hashes
-- (?1: a JSON list of item ids)
SELECT i.id, i.text_hash FROM json_each(?1) CROSS JOIN search_items i ON i.id = json_each.value

-- name: search_set_text
-- An item's new text: its vector becomes pending. Only while it is still pending and its entity
-- still holds the source the text was made from (?3): a newer put's text is never overwritten.
UPDATE search_items SET text_hash = ?2, vector = NULL, stale = 0, gen = {{search_next_gen}}
WHERE id = ?1 AND (stale = 1 OR text_hash IS NULL) AND {{search_source_is}}
RETURNING id

-- name: search_clear_stale
-- An item whose entity changed but not its text: its keyword row and vector stay.
UPDATE search_items SET stale = 0 WHERE id = ?1 AND stale = 1 AND {{search_source_is}}

-- name: search_source_is
-- (the item's entity holds ?3 now: the memory's value, or the chunk's text)
coalesce((SELECT m.value FROM memories m WHERE search_items.kind = 'memory'
              AND m.namespace = search_items.namespace AND m.key = search_items.ref),
         (SELECT c.text FROM document_chunks c WHERE search_items.kind = 'chunk'
              AND c.document = search_items.ref AND c.seq = search_items.seq)) = ?3

-- name: search_set_vector
UPDATE search_items SET vector = ?3, gen = {{search_next_gen}}
WHERE id = ?1 AND text_hash = ?2 AND removed = 0

-- name: search_meta_get
SELECT value FROM search_meta WHERE key = ?1

-- name: search_meta_set
INSERT INTO search_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value

-- name: search_clear_vectors
UPDATE search_items SET vector = NULL, gen = {{search_next_gen}} WHERE vector IS NOT NULL

-- name: search_counts
SELECT count(*), coalesce(sum(text_hash IS NULL OR stale), 0), coalesce(sum(vector IS NULL), 0)
FROM search_items WHERE removed = 0

-- name: search_rebuild
-- (after a copy: an item per memory and chunk, their texts and vectors pending)
INSERT INTO search_items (kind, namespace, ref, seq, type, gen)
SELECT 'memory', namespace, key, 0, type, 1 FROM memories
UNION ALL
SELECT 'chunk', d.namespace, c.document, c.seq, d.type, 1 FROM document_chunks c JOIN documents d ON d.id = c.document

-- name: search_top_gen
-- (the in-process vector index: the generation of the last change, then the rows changed since)
SELECT coalesce(max(gen), 0) FROM search_items

-- name: search_changed_items
SELECT id, kind, namespace, type, vector, removed FROM search_items WHERE gen > ?1 ORDER BY gen
