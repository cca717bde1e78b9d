-- swarmstore schema 1: sessions, events, scoped state, memory (current rows), audit (+ memory history).
-- Times are integer microseconds since the epoch (UTC); JSON is stored as TEXT.

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    app           TEXT NOT NULL,
    user          TEXT NOT NULL,
    project       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('created', 'active', 'paused', 'terminated', 'archived')),
    state         TEXT NOT NULL DEFAULT '{}',
    temp          TEXT NOT NULL DEFAULT '{}',
    metadata      TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    terminated_at INTEGER,
    archived_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX sessions_app_user ON sessions (app, user, id);
CREATE INDEX sessions_user ON sessions (user, id);
CREATE INDEX sessions_project ON sessions (project, id) WHERE project IS NOT NULL;
CREATE INDEX sessions_status ON sessions (status, id);

CREATE TABLE events (
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    content     TEXT NOT NULL,
    state_delta TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE user_state (
    app   TEXT NOT NULL,
    user  TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app, user)
) WITHOUT ROWID;

CREATE TABLE app_state (
    app   TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Current version of every key (what get/list read), deleted ones flagged, in key order.
CREATE TABLE memories (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    version    INTEGER NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('semantic', 'episodic', 'procedural')),
    value      TEXT NOT NULL,
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_by TEXT,
    updated_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER,
    deleted_at INTEGER,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX memories_expiring ON memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_deleted ON memories (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    namespace TEXT,
    detail    TEXT NOT NULL DEFAULT '{}',
    version   INTEGER,  -- memory.put: the version written
    snapshot  TEXT      -- memory.put: that version's content; NULL once purged
);
-- The audit row of a memory put is also that version's history entry: one row, not two, per write
-- (a separate history table cost ~30% of write throughput, measured). Retention must keep rows
-- whose snapshot is not NULL.

-- The audit row of an event append is written by a trigger, in the same statement: an append is
-- one statement fewer (measured +5% appends/s). Memory puts keep theirs in Python: a per-row
-- trigger made put_many 8% slower than one executemany of the audit rows.
CREATE TRIGGER events_audit AFTER INSERT ON events
BEGIN
    INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail)
    VALUES (NEW.created_at, NEW.actor, 'session.event', 'session', NEW.session_id, NULL,
            json_object('seq', NEW.seq, 'type', NEW.type));
END;
-- One secondary index only: each index costs a page write per audited commit (measured: the
-- namespace and actor indexes cut put_many from ~115k to ~74k entries/s). Filters on namespace,
-- actor and action scan newest-first from the end of the log.
CREATE INDEX audit_entity ON audit (entity, entity_id);
