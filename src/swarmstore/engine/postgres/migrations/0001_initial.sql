-- swarmstore on PostgreSQL, schema 1: the SQLite engine's schema 7 (its migrations 0001-0007 applied),
-- translated. Same tables, columns and meanings:
-- * times and durations are bigint microseconds since the epoch (UTC), as on SQLite;
-- * JSON columns are jsonb (the engine reads them back as JSON text, like SQLite's TEXT columns);
-- * audit ids come from an identity column (the engine's write_audit takes them with RETURNING);
-- * sessions.user is a reserved word here: write it "user" (quoted) in statements.
-- The CHECK lists are IN lists again (SQLite's schema 7 rewrote them as ORs for SQLite's sake only).
-- The engine creates schema_version and records this file in it (see migrate.py).

CREATE TABLE sessions (
    id            text PRIMARY KEY,
    app           text NOT NULL,
    "user"        text NOT NULL,
    project       text,
    status        text NOT NULL CHECK (status IN ('created', 'active', 'paused', 'terminated', 'archived')),
    state         jsonb NOT NULL DEFAULT '{}',
    temp          jsonb NOT NULL DEFAULT '{}',
    metadata      jsonb NOT NULL DEFAULT '{}',
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL,
    terminated_at bigint,
    archived_at   bigint
);
CREATE INDEX sessions_app_user ON sessions (app, "user", id);
CREATE INDEX sessions_user ON sessions ("user", id);
CREATE INDEX sessions_project ON sessions (project, id) WHERE project IS NOT NULL;
CREATE INDEX sessions_status ON sessions (status, id);

CREATE TABLE user_state (
    app        text NOT NULL,
    "user"     text NOT NULL,
    state      jsonb NOT NULL DEFAULT '{}',
    updated_at bigint NOT NULL,
    PRIMARY KEY (app, "user")
);

CREATE TABLE app_state (
    app        text PRIMARY KEY,
    state      jsonb NOT NULL DEFAULT '{}',
    updated_at bigint NOT NULL
);

-- Current version of every key (what get/list read), deleted ones flagged. Older versions live in
-- the audit log (the snapshot of each put's row), chained from head through audit.prev.
CREATE TABLE memories (
    namespace  text NOT NULL,
    key        text NOT NULL,
    version    bigint NOT NULL,
    type       text NOT NULL CHECK (type IN ('semantic', 'episodic', 'procedural')),
    value      jsonb NOT NULL,
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_by text,
    updated_by text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    expires_at bigint,
    deleted_at bigint,
    head       bigint,                -- the key's latest audit row
    prev_head  bigint,                -- the one before it
    PRIMARY KEY (namespace, key)
);
CREATE INDEX memories_expiring ON memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_deleted ON memories (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        bigint NOT NULL,
    actor     text,
    action    text NOT NULL,
    entity    text NOT NULL,
    entity_id text NOT NULL,
    namespace text,
    detail    jsonb NOT NULL DEFAULT '{}',
    version   bigint,                 -- memory.put: the version written; session.event: its sequence number
    snapshot  jsonb,                  -- memory.put: that version's content; session.event: the event's content
    prev      bigint                  -- memory and task chains: the entity's audit row before this one
);
CREATE INDEX audit_entity ON audit (entity, entity_id)
WHERE (entity NOT IN ('memory', 'task') AND action <> 'session.event') OR action IN ('memory.purge', 'task.prune');
-- A session's events are its 'session.event' audit rows: numbered gap-free per session.
CREATE UNIQUE INDEX audit_events ON audit (entity_id, version) WHERE action = 'session.event';

CREATE TABLE tasks (
    id              text PRIMARY KEY,            -- time-ordered: id order is submit order
    summary         text NOT NULL,
    payload         jsonb NOT NULL DEFAULT 'null',
    queue           text NOT NULL,
    agent_type      text,
    status          text NOT NULL
                    CHECK (status IN ('blocked', 'ready', 'running', 'completed', 'failed', 'cancelled')),
    priority        integer NOT NULL CHECK (priority BETWEEN 0 AND 10),
    source          text NOT NULL,
    -- Claim order: rank = min(ready_at + patience, deadline_cap); smaller claims first, then id.
    rank            bigint NOT NULL,
    patience        bigint NOT NULL,
    deadline_cap    bigint,
    ready_at        bigint,
    not_before      bigint NOT NULL DEFAULT 0,
    deadline        bigint,
    estimated_us    bigint,
    attempt         integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL,
    timeout_us      bigint NOT NULL,
    lease_us        bigint,
    lease_token     text,
    lease_expires_at bigint,
    worker_id       text,
    result          jsonb,
    error           text,
    parent_id       text,
    session_id      text,
    idempotency_key text,                        -- unique where set: tasks_idempotency
    on_dependency_failure text NOT NULL DEFAULT 'cancel'
                    CHECK (on_dependency_failure IN ('cancel', 'fail', 'run')),
    deps            jsonb NOT NULL DEFAULT '[]', -- prerequisite ids, as submitted
    waiting         integer NOT NULL DEFAULT 0,  -- prerequisites not yet completed
    dependants      integer NOT NULL DEFAULT 0,
    depth           integer NOT NULL DEFAULT 0,  -- longest prerequisite chain below this task
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    started_at      bigint,
    finished_at     bigint,
    audit_head      bigint                       -- the task's latest audit row
);
CREATE INDEX tasks_ready ON tasks (queue, rank, id) WHERE status = 'ready';
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_status ON tasks (status, id) WHERE status NOT IN ('ready', 'running');
CREATE INDEX tasks_parent ON tasks (parent_id, id) WHERE parent_id IS NOT NULL;
CREATE INDEX tasks_session ON tasks (session_id, id) WHERE session_id IS NOT NULL;
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX tasks_idempotency ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Dependency edges: task_id waits for depends_on.
CREATE TABLE task_deps (
    task_id    text NOT NULL,
    depends_on text NOT NULL,
    PRIMARY KEY (task_id, depends_on)
);
CREATE INDEX task_deps_dependants ON task_deps (depends_on, task_id);

CREATE TABLE agents (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    agent_type    text NOT NULL,
    model         text,
    session_id    text,
    status        text NOT NULL CHECK (status IN ('idle', 'busy', 'stopping', 'stopped')),
    current_task  text,
    metadata      jsonb NOT NULL DEFAULT '{}',
    registered_at bigint NOT NULL,
    last_seen_at  bigint NOT NULL,
    stopped_at    bigint
);
CREATE INDEX agents_seen ON agents (last_seen_at);
