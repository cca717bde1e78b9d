-- Named statements of the PostgreSQL engine: documents and their chunks (metadata: json, read back as its text).

-- name: document_cols
id, namespace, title, type, metadata, sha256, text, chunks, status, error, origin, created_by, updated_by,
created_at, updated_at

-- name: document_get
SELECT {{document_cols}} FROM documents WHERE id = %s

-- name: document_get_locked
SELECT {{document_cols}} FROM documents WHERE id = %s FOR UPDATE

-- name: document_list
-- (ids are COLLATE "C": the range is the ids that start with the prefix, in code point order)
SELECT {{document_cols}} FROM documents
WHERE id > %(after)s AND id >= %(prefix)s AND id < %(prefix)s || chr(1114111)
  AND (%(type)s::text IS NULL OR type = %(type)s::text)
ORDER BY id LIMIT %(limit)s

-- name: document_chunks
SELECT document, seq, heading, text, start, "end" FROM document_chunks WHERE document = %s ORDER BY seq

-- name: document_read_many
SELECT d.id, d.namespace, d.title, d.type, d.metadata, d.sha256, d.text, d.chunks, d.status, d.error, d.origin,
       d.created_by, d.updated_by, d.created_at, d.updated_at, c.document, c.seq, c.heading, c.text, c.start, c."end"
FROM unnest(%s::text[], %s::int[]) AS u(document, seq)
JOIN document_chunks c ON c.document = u.document AND c.seq = u.seq
JOIN documents d ON d.id = u.document

-- name: document_chunk
SELECT document, seq, heading, text, start, "end" FROM document_chunks WHERE document = %s AND seq = %s

-- name: document_hashes
SELECT id, sha256 FROM documents WHERE origin = %s

-- name: document_insert
INSERT INTO documents AS d (id, namespace, title, type, metadata, sha256, text, chunks, status, error, origin,
                            created_by, updated_by, created_at, updated_at)
VALUES (%(id)s, %(ns)s, %(title)s, %(type)s, %(meta)s::json, %(sha)s, %(text)s, %(chunks)s, %(status)s, %(error)s,
        %(origin)s, %(actor)s, %(actor)s, %(now)s, %(now)s)
ON CONFLICT (id) DO UPDATE SET
    namespace = excluded.namespace, title = excluded.title, type = excluded.type, metadata = excluded.metadata,
    sha256 = excluded.sha256, text = excluded.text, chunks = excluded.chunks, status = excluded.status,
    error = excluded.error, origin = excluded.origin, updated_by = excluded.updated_by, updated_at = excluded.updated_at

-- name: document_chunks_insert
INSERT INTO document_chunks (document, seq, heading, text, start, "end")
SELECT %s, u.seq, u.heading, u.text, u.start, u.end
FROM unnest(%s::int[], %s::text[], %s::text[], %s::int[], %s::int[]) AS u(seq, heading, text, start, "end")

-- name: document_chunks_delete
DELETE FROM document_chunks WHERE document = %s

-- name: document_delete
DELETE FROM documents WHERE id = %s RETURNING namespace, chunks

-- name: document_status
UPDATE documents SET
    status = CASE
        WHEN NOT EXISTS (SELECT 1 FROM search_items i WHERE i.kind = 'chunk' AND i.namespace = documents.namespace
                         AND i.ref = documents.id AND i.vector IS NULL) THEN 'indexed'
        WHEN %(error)s::text IS NOT NULL THEN 'failed'
        ELSE 'pending' END,
    error = CASE
        WHEN NOT EXISTS (SELECT 1 FROM search_items i WHERE i.kind = 'chunk' AND i.namespace = documents.namespace
                         AND i.ref = documents.id AND i.vector IS NULL) THEN NULL
        ELSE %(error)s::text END
WHERE id = ANY(%(ids)s::text[])
