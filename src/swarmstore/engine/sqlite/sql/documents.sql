-- Named statements of the SQLite engine: documents and their chunks.

-- name: document_cols
id, namespace, title, type, metadata, sha256, text, chunks, status, error, origin, created_by, updated_by,
created_at, updated_at

-- name: document_get
SELECT {{document_cols}} FROM documents WHERE id = ?1

-- name: document_list
SELECT {{document_cols}} FROM documents
WHERE id > ?2 AND id >= ?1 AND id < ?1 || char(1114111) AND (?3 IS NULL OR type = ?3)
ORDER BY id LIMIT ?4

-- name: document_chunks
SELECT document, seq, heading, text, start, "end" FROM document_chunks WHERE document = ?1 ORDER BY seq

-- name: document_chunk
SELECT document, seq, heading, text, start, "end" FROM document_chunks WHERE document = ?1 AND seq = ?2

-- name: document_hashes
SELECT id, sha256 FROM documents WHERE origin = ?1

-- name: document_insert
INSERT INTO documents (id, namespace, title, type, metadata, sha256, text, chunks, status, error, origin,
                       created_by, updated_by, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?13)
ON CONFLICT (id) DO UPDATE SET
    namespace = ?2, title = ?3, type = ?4, metadata = ?5, sha256 = ?6, text = ?7, chunks = ?8, status = ?9,
    error = ?10, origin = ?11, updated_by = ?12, updated_at = ?13

-- name: document_chunk_insert
INSERT INTO document_chunks (document, seq, heading, text, start, "end") VALUES (?1, ?2, ?3, ?4, ?5, ?6)

-- name: document_chunks_delete
DELETE FROM document_chunks WHERE document = ?1

-- name: document_delete
DELETE FROM documents WHERE id = ?1 RETURNING namespace, chunks

-- name: document_status
UPDATE documents SET
    status = CASE
        WHEN NOT EXISTS (SELECT 1 FROM search_items i WHERE i.kind = 'chunk' AND i.namespace = documents.namespace
                         AND i.ref = documents.id AND i.removed = 0 AND i.vector IS NULL) THEN 'indexed'
        WHEN ?2 IS NOT NULL THEN 'failed'
        ELSE 'pending' END,
    error = CASE
        WHEN NOT EXISTS (SELECT 1 FROM search_items i WHERE i.kind = 'chunk' AND i.namespace = documents.namespace
                         AND i.ref = documents.id AND i.removed = 0 AND i.vector IS NULL) THEN NULL
        ELSE ?2 END
WHERE id = ?1
