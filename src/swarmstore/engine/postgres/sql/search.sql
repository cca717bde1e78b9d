-- Named statements of the PostgreSQL engine: the search index (search_items, search_meta).
-- tsv is to_tsvector('english', ...) of the item's words (search.py's _words); vectors are pgvector.

-- name: search_item_set
-- (an upserted item: a changed text is re-indexed and its vector becomes pending; the same text
-- keeps its vector)
ON CONFLICT (kind, namespace, ref, seq) DO UPDATE SET
    type = excluded.type, tsv = excluded.tsv,
    vector = CASE WHEN i.text_hash = excluded.text_hash THEN i.vector END,
    text_hash = excluded.text_hash

-- name: search_upsert_memory
INSERT INTO search_items AS i (kind, namespace, ref, seq, type, text_hash, tsv)
VALUES ('memory', %s, %s, 0, %s, %s, to_tsvector('english', %s))
{{search_item_set}}

-- name: search_upsert_memories
-- (a run of puts of distinct keys, in the order their rows were locked)
INSERT INTO search_items AS i (kind, namespace, ref, seq, type, text_hash, tsv)
SELECT 'memory', u.namespace, u.key, 0, u.type, u.hash, to_tsvector('english', u.words)
FROM unnest(%s::text[], %s::text[], %s::text[], %s::bytea[], %s::text[]) AS u(namespace, key, type, hash, words)
ORDER BY u.namespace, u.key
{{search_item_set}}

-- name: search_remove_memories
DELETE FROM search_items i USING unnest(%s::text[], %s::text[]) AS u(namespace, key)
WHERE i.kind = 'memory' AND i.namespace = u.namespace AND i.ref = u.key AND i.seq = 0

-- name: search_upsert_chunks
INSERT INTO search_items AS i (kind, namespace, ref, seq, type, text_hash, tsv, vector)
SELECT 'chunk', %s, %s, u.seq, %s, u.hash, to_tsvector('english', u.words), u.vector::vector
FROM unnest(%s::int[], %s::bytea[], %s::text[], %s::text[]) AS u(seq, hash, words, vector)
ORDER BY u.seq
ON CONFLICT (kind, namespace, ref, seq) DO UPDATE SET
    type = excluded.type, text_hash = excluded.text_hash, tsv = excluded.tsv, vector = excluded.vector

-- name: search_remove_chunks
DELETE FROM search_items WHERE kind = 'chunk' AND namespace = %s AND ref = %s AND seq >= %s

-- name: search_pending
SELECT i.id, i.kind, i.namespace, i.ref, i.seq, coalesce(m.value::text, c.text), c.heading, i.text_hash
FROM search_items i
LEFT JOIN memories m ON i.kind = 'memory' AND m.namespace = i.namespace AND m.key = i.ref
LEFT JOIN document_chunks c ON i.kind = 'chunk' AND c.document = i.ref AND c.seq = i.seq
WHERE i.vector IS NULL AND (NOT %s OR i.text_hash IS NULL) AND coalesce(m.value::text, c.text) IS NOT NULL
ORDER BY i.id LIMIT %s

-- name: search_set_texts
UPDATE search_items i SET text_hash = u.hash, tsv = to_tsvector('english', u.words)
FROM unnest(%s::bigint[], %s::bytea[], %s::text[]) AS u(id, hash, words)
WHERE i.id = u.id AND i.text_hash IS NULL

-- name: search_set_vectors
UPDATE search_items i SET vector = u.vector::vector
FROM unnest(%s::bigint[], %s::bytea[], %s::text[]) AS u(id, hash, vector)
WHERE i.id = u.id AND i.text_hash = u.hash

-- name: search_meta_get
SELECT value FROM search_meta WHERE key = %s

-- name: search_meta_set
INSERT INTO search_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value

-- name: search_meta_embedder
SELECT key, value FROM search_meta WHERE key IN ('embedder', 'dim') ORDER BY key

-- name: search_meta_lock
-- (the embedder's rows, locked: two processes recording embedders at once take turns)
{{search_meta_embedder}} FOR UPDATE

-- name: search_clear_vectors
UPDATE search_items SET vector = NULL WHERE vector IS NOT NULL

-- name: search_counts
SELECT count(*), count(*) FILTER (WHERE text_hash IS NULL), count(*) FILTER (WHERE vector IS NULL) FROM search_items

-- name: search_rebuild
-- (after a copy: an item per memory and chunk, their texts and vectors pending)
INSERT INTO search_items (kind, namespace, ref, seq, type)
SELECT 'memory', namespace, key, 0, type FROM memories
UNION ALL
SELECT 'chunk', d.namespace, c.document, c.seq, d.type FROM document_chunks c JOIN documents d ON d.id = c.document

-- name: search_hnsw_exists
SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s

-- name: search_vector_counts
SELECT vector_dims(vector), count(*) FROM search_items WHERE vector IS NOT NULL GROUP BY 1
