-- swarmstore on PostgreSQL, schema 3: documents, and the search index over memories and document
-- chunks (the SQLite engine's schema 8, translated).
--
-- pgvector: an extension is installed once per database, and a database may hold many stores (one
-- per schema): it goes into public (which every connection's search_path names after the store's
-- schema, see adapt.py), unless the database has it already, wherever that is. The advisory lock
-- makes stores of two schemas migrating at once install it once (the second finds it done).
SELECT pg_advisory_xact_lock(hashtext('swarmstore.extension:vector'));
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
            RAISE EXCEPTION 'swarmstore needs the pgvector extension on this PostgreSQL server (package postgresql-NN-pgvector, or build it from https://github.com/pgvector/pgvector)';
        END IF;
        CREATE EXTENSION vector SCHEMA public;
    END IF;
END
$$;

-- search_items: one row per memory key (kind 'memory': namespace, ref = key, seq 0) and per
-- document chunk (kind 'chunk': the document's namespace, ref = document id, seq = chunk number).
-- tsv: the keyword index of the item's text (to_tsvector('english', ...), GIN below); vector: the
-- embedding of the same text (pgvector, any dimension: the embedder's, recorded in search_meta).
-- text_hash NULL: the item's text is not indexed yet (rows this migration adds for existing
-- memories; tsv NULL too); vector NULL: the embedding is pending. Liveness (a memory deleted or
-- expired) is read from the entity itself at search time, so a delete or restore writes nothing
-- here. Unlike SQLite's, a row whose entity is gone (purged, a chunk replaced) is deleted: no
-- in-process cache follows this table.
CREATE TABLE search_items (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('memory', 'chunk')),
    namespace text COLLATE "C" NOT NULL,
    ref       text COLLATE "C" NOT NULL,
    seq       integer NOT NULL,
    type      text,
    text_hash bytea,
    tsv       tsvector,
    vector    vector,
    UNIQUE (kind, namespace, ref, seq)
);
CREATE INDEX search_items_tsv ON search_items USING gin (tsv);
CREATE INDEX search_items_pending ON search_items (id) WHERE vector IS NULL;

-- The embedder the vectors were made with ('embedder', 'dim').
CREATE TABLE search_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

INSERT INTO search_items (kind, namespace, ref, seq, type)
SELECT 'memory', namespace, key, 0, type FROM memories ORDER BY namespace, key;

-- Documents: a text under an id (a path relative to the folder it was synced from, or any id),
-- its sha256, and its chunks. status: 'indexed' once every chunk has its vector, 'pending' until
-- then, 'failed' (error says why) when embedding failed: retried by the next indexing pass.
-- Ids in byte order (listings page by id as on SQLite); metadata is json, the text as written
-- (see migration 0002).
CREATE TABLE documents (
    id         text COLLATE "C" PRIMARY KEY,
    namespace  text COLLATE "C" NOT NULL DEFAULT '',
    title      text,
    type       text,
    metadata   json NOT NULL DEFAULT '{}',
    sha256     text NOT NULL,
    text       text NOT NULL,
    chunks     integer NOT NULL,
    status     text NOT NULL CHECK (status IN ('pending', 'indexed', 'failed')),
    error      text,
    origin     text,
    created_by text,
    updated_by text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX documents_origin ON documents (origin, id) WHERE origin IS NOT NULL;

CREATE TABLE document_chunks (
    document text COLLATE "C" NOT NULL,
    seq      integer NOT NULL,
    heading  text NOT NULL,
    text     text NOT NULL,
    start    integer NOT NULL,
    "end"    integer NOT NULL,
    PRIMARY KEY (document, seq)
);
