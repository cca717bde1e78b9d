-- swarmstore schema 8: documents, and the search index over memories and document chunks.
--
-- search_items: one row per memory key (kind 'memory': namespace, ref = key, seq 0) and per
-- document chunk (kind 'chunk': the document's namespace, ref = document id, seq = chunk number).
-- Its id is the rowid of the item's row in search_fts (keyword) and its vector (semantic) is the
-- float32 embedding of the same text. text_hash NULL: the item's text is not indexed yet; stale:
-- its entity changed since (a memory put: its text is read again, and re-indexed if it differs);
-- vector NULL: the embedding is pending. A memory put writes nothing here: the next search reads
-- the puts since search_meta's 'audit_seen' from the audit log (a keyword row written in the
-- put's transaction cost FTS5 ~7 pages, 4-6x the put itself). Liveness
-- (a memory deleted or expired) is read from the entity itself at search time, so a delete or
-- restore writes nothing here. removed = 1: the entity is gone (purged, a document's chunk
-- replaced); the row stays so that in-process vector caches learn of it through gen, the
-- generation of the row's last change (max(gen) + 1: writers hold the write lock).
CREATE TABLE search_items (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind = 'memory' OR kind = 'chunk'),
    namespace TEXT NOT NULL,
    ref       TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    type      TEXT,
    text_hash BLOB,
    vector    BLOB,
    stale     INTEGER NOT NULL DEFAULT 0,
    removed   INTEGER NOT NULL DEFAULT 0,
    gen       INTEGER NOT NULL,
    UNIQUE (kind, namespace, ref, seq)
);
CREATE INDEX search_items_gen ON search_items (gen);
-- What indexing passes look for: texts to read (again), then vectors to embed.
CREATE INDEX search_items_texts ON search_items (id) WHERE (stale = 1 OR text_hash IS NULL) AND removed = 0;
CREATE INDEX search_items_vectors ON search_items (id) WHERE vector IS NULL AND removed = 0;

-- Keyword index: BM25 over the items' text. (Not contentless: a contentless table that deletes
-- needs SQLite 3.43, and older sqlite3 tools, Debian 12's 3.40 among them, could not read the file.)
CREATE VIRTUAL TABLE search_fts USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2');

-- The embedder the vectors were made with ('embedder', 'dim'); 'audit_seen', the last audit row
-- whose memory changes the items follow.
CREATE TABLE search_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO search_items (kind, namespace, ref, seq, type, gen)
SELECT 'memory', namespace, key, 0, type, 1 FROM memories;
INSERT INTO search_meta (key, value) SELECT 'audit_seen', coalesce(max(id), 0) FROM audit;

-- Documents: a text under an id (a path relative to the folder it was synced from, or any id),
-- its sha256, and its chunks. status: 'indexed' once every chunk has its vector, 'pending' until
-- then, 'failed' (error says why) when embedding failed: retried by the next indexing pass.
CREATE TABLE documents (
    id         TEXT PRIMARY KEY,
    namespace  TEXT NOT NULL DEFAULT '',
    title      TEXT,
    type       TEXT,
    metadata   TEXT NOT NULL DEFAULT '{}',
    sha256     TEXT NOT NULL,
    text       TEXT NOT NULL,
    chunks     INTEGER NOT NULL,
    status     TEXT NOT NULL CHECK (status = 'pending' OR status = 'indexed' OR status = 'failed'),
    error      TEXT,
    origin     TEXT,
    created_by TEXT,
    updated_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX documents_origin ON documents (origin, id) WHERE origin IS NOT NULL;

CREATE TABLE document_chunks (
    document TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    heading  TEXT NOT NULL,
    text     TEXT NOT NULL,
    start    INTEGER NOT NULL,
    "end"    INTEGER NOT NULL,
    PRIMARY KEY (document, seq)
) WITHOUT ROWID;
