-- swarmstore schema 7: CHECK constraints without IN lists.
-- SQLite evaluates `col IN ('a', 'b', 'c')` (three or more constants) by building a temporary
-- B-tree of the constants each time the statement runs, so every write that stores the column paid
-- for one: ~2 µs per row written (measured: an UPDATE of a checked column 3.1-3.4 µs a row with
-- the IN list, 1.2 with the same test written as ORs, 1.1 with none). Every memory put, claim,
-- completion and session change stored one. The same tests, as chains of ORs, cost nothing
-- measurable. SQLite cannot change a CHECK in place: each table is rebuilt with its indexes
-- (same columns, same order, same rows).
-- The rebuild of tasks also makes idempotency keys unique through a partial index: the column's
-- UNIQUE constraint indexed every task, NULL keys too, so every submit wrote a page of it.

CREATE TABLE sessions_v7 (
    id            TEXT PRIMARY KEY,
    app           TEXT NOT NULL,
    user          TEXT NOT NULL,
    project       TEXT,
    status        TEXT NOT NULL CHECK (status = 'created' OR status = 'active' OR status = 'paused' OR status = 'terminated' OR status = 'archived'),
    state         TEXT NOT NULL DEFAULT '{}',
    temp          TEXT NOT NULL DEFAULT '{}',
    metadata      TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    terminated_at INTEGER,
    archived_at   INTEGER
) WITHOUT ROWID;
INSERT INTO sessions_v7 (id, app, user, project, status, state, temp, metadata, created_at, updated_at, terminated_at, archived_at)
SELECT id, app, user, project, status, state, temp, metadata, created_at, updated_at, terminated_at, archived_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v7 RENAME TO sessions;
CREATE INDEX sessions_app_user ON sessions (app, user, id);
CREATE INDEX sessions_user ON sessions (user, id);
CREATE INDEX sessions_project ON sessions (project, id) WHERE project IS NOT NULL;
CREATE INDEX sessions_status ON sessions (status, id);

CREATE TABLE memories_v7 (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    version    INTEGER NOT NULL,
    type       TEXT NOT NULL CHECK (type = 'semantic' OR type = 'episodic' OR type = 'procedural'),
    value      TEXT NOT NULL,
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_by TEXT,
    updated_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER,
    deleted_at INTEGER, head INTEGER, prev_head INTEGER,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
INSERT INTO memories_v7 (namespace, key, version, type, value, metadata, created_by, updated_by, created_at, updated_at, expires_at, deleted_at, head, prev_head)
SELECT namespace, key, version, type, value, metadata, created_by, updated_by, created_at, updated_at, expires_at, deleted_at, head, prev_head FROM memories;
DROP TABLE memories;
ALTER TABLE memories_v7 RENAME TO memories;
CREATE INDEX memories_expiring ON memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_deleted ON memories (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE tasks_v7 (
    id              TEXT PRIMARY KEY,            -- time-ordered: id order is submit order
    summary         TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT 'null',
    queue           TEXT NOT NULL,
    agent_type      TEXT,
    status          TEXT NOT NULL
                    CHECK (status = 'blocked' OR status = 'ready' OR status = 'running' OR status = 'completed' OR status = 'failed' OR status = 'cancelled'),
    priority        INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 10),
    source          TEXT NOT NULL,
    -- Claim order: the time by which the task should be claimed (see tasks.py, "Priority").
    -- rank = min(ready_at + patience, deadline_cap); smaller claims first, then id.
    rank            INTEGER NOT NULL,
    patience        INTEGER NOT NULL,            -- from priority, source and how many tasks it unblocks
    deadline_cap    INTEGER,                     -- latest claim time that still meets the deadline
    ready_at        INTEGER,                     -- when it last became claimable (aging counts from here)
    not_before      INTEGER NOT NULL DEFAULT 0,  -- not claimable before (not_before, retry backoff)
    deadline        INTEGER,
    estimated_us    INTEGER,
    attempt         INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    timeout_us      INTEGER NOT NULL,
    lease_us        INTEGER,
    lease_token     TEXT,
    lease_expires_at INTEGER,
    worker_id       TEXT,
    result          TEXT,
    error           TEXT,
    parent_id       TEXT,
    session_id      TEXT,
    idempotency_key TEXT,                        -- unique where set: tasks_idempotency
    on_dependency_failure TEXT NOT NULL DEFAULT 'cancel'
                    CHECK (on_dependency_failure = 'cancel' OR on_dependency_failure = 'fail' OR on_dependency_failure = 'run'),
    deps            TEXT NOT NULL DEFAULT '[]',  -- prerequisite ids (JSON), as submitted
    waiting         INTEGER NOT NULL DEFAULT 0,  -- prerequisites not yet completed
    dependants      INTEGER NOT NULL DEFAULT 0,
    depth           INTEGER NOT NULL DEFAULT 0,  -- longest prerequisite chain below this task
    metadata        TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    audit_head      INTEGER                      -- the task's latest audit row (see audit_insert_task)
) WITHOUT ROWID;
INSERT INTO tasks_v7 (id, summary, payload, queue, agent_type, status, priority, source, rank, patience, deadline_cap, ready_at, not_before, deadline, estimated_us, attempt, max_attempts, timeout_us, lease_us, lease_token, lease_expires_at, worker_id, result, error, parent_id, session_id, idempotency_key, on_dependency_failure, deps, waiting, dependants, depth, metadata, created_at, updated_at, started_at, finished_at, audit_head)
SELECT id, summary, payload, queue, agent_type, status, priority, source, rank, patience, deadline_cap, ready_at, not_before, deadline, estimated_us, attempt, max_attempts, timeout_us, lease_us, lease_token, lease_expires_at, worker_id, result, error, parent_id, session_id, idempotency_key, on_dependency_failure, deps, waiting, dependants, depth, metadata, created_at, updated_at, started_at, finished_at, audit_head FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_v7 RENAME TO tasks;
CREATE INDEX tasks_ready ON tasks (queue, rank, id) WHERE status = 'ready';
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_status ON tasks (status, id) WHERE status NOT IN ('ready', 'running');
CREATE INDEX tasks_parent ON tasks (parent_id, id) WHERE parent_id IS NOT NULL;
CREATE INDEX tasks_session ON tasks (session_id, id) WHERE session_id IS NOT NULL;
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX tasks_idempotency ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE agents_v7 (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    agent_type    TEXT NOT NULL,
    model         TEXT,
    session_id    TEXT,
    status        TEXT NOT NULL CHECK (status = 'idle' OR status = 'busy' OR status = 'stopping' OR status = 'stopped'),
    current_task  TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}',
    registered_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    stopped_at    INTEGER
) WITHOUT ROWID;
INSERT INTO agents_v7 (id, name, agent_type, model, session_id, status, current_task, metadata, registered_at, last_seen_at, stopped_at)
SELECT id, name, agent_type, model, session_id, status, current_task, metadata, registered_at, last_seen_at, stopped_at FROM agents;
DROP TABLE agents;
ALTER TABLE agents_v7 RENAME TO agents;
CREATE INDEX agents_seen ON agents (last_seen_at);
