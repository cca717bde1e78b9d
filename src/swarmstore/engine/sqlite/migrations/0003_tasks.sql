-- swarmstore schema 3: the task queue (a DAG of tasks with leases) and the agents that work on it.
-- Times are integer microseconds since the epoch; durations are integer microseconds.

CREATE TABLE tasks (
    id              TEXT PRIMARY KEY,            -- time-ordered: id order is submit order
    summary         TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT 'null',
    queue           TEXT NOT NULL,
    agent_type      TEXT,
    status          TEXT NOT NULL
                    CHECK (status IN ('blocked', 'ready', 'running', 'completed', 'failed', 'cancelled')),
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
    idempotency_key TEXT UNIQUE,
    on_dependency_failure TEXT NOT NULL DEFAULT 'cancel'
                    CHECK (on_dependency_failure IN ('cancel', 'fail', 'run')),
    deps            TEXT NOT NULL DEFAULT '[]',  -- prerequisite ids (JSON), as submitted
    waiting         INTEGER NOT NULL DEFAULT 0,  -- prerequisites not yet completed
    dependants      INTEGER NOT NULL DEFAULT 0,
    depth           INTEGER NOT NULL DEFAULT 0,  -- longest prerequisite chain below this task
    metadata        TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    audit_head      INTEGER                      -- the task's latest audit row (see task_audit_link)
) WITHOUT ROWID;
-- The claim reads this index in order and stops at the first eligible rows.
CREATE INDEX tasks_ready ON tasks (queue, rank, id) WHERE status = 'ready';
-- Expired leases are found here (rescued on claim and by workers).
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running';
-- Listing by status, newest first. Ready and running tasks are left out: claims would otherwise pay
-- two more page writes each (ready and running tasks are listed through the two indexes above).
CREATE INDEX tasks_status ON tasks (status, id) WHERE status NOT IN ('ready', 'running');
CREATE INDEX tasks_parent ON tasks (parent_id, id) WHERE parent_id IS NOT NULL;
CREATE INDEX tasks_session ON tasks (session_id, id) WHERE session_id IS NOT NULL;
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;

-- Dependency edges: task_id waits for depends_on.
CREATE TABLE task_deps (
    task_id    TEXT NOT NULL,
    depends_on TEXT NOT NULL,
    PRIMARY KEY (task_id, depends_on)
) WITHOUT ROWID;
CREATE INDEX task_deps_dependants ON task_deps (depends_on, task_id);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    agent_type    TEXT NOT NULL,
    model         TEXT,
    session_id    TEXT,
    status        TEXT NOT NULL CHECK (status IN ('idle', 'busy', 'stopping', 'stopped')),
    current_task  TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}',
    registered_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    stopped_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX agents_seen ON agents (last_seen_at);

-- A task's audit rows chain like a memory key's: tasks.audit_head is the latest, audit.prev the one
-- before. Every audited task change rewrites the task's row anyway, so the link costs no page and
-- the audit index is spared a random page per claim, heartbeat and completion. (A prune writes its
-- audit row before deleting the task: that row stays in the index and links to the chain.)
CREATE TRIGGER task_audit_link AFTER INSERT ON audit WHEN NEW.entity = 'task'
BEGIN
    UPDATE audit SET prev = (SELECT audit_head FROM tasks WHERE id = NEW.entity_id) WHERE id = NEW.id;
    UPDATE tasks SET audit_head = NEW.id WHERE id = NEW.entity_id;
END;

DROP INDEX audit_entity;
CREATE INDEX audit_entity ON audit (entity, entity_id)
WHERE (entity NOT IN ('memory', 'task') AND action <> 'session.event') OR action IN ('memory.purge', 'task.prune');
