-- swarmstore schema 2: fewer pages written per write.
-- * Memory history moves into the audit log: the audit row of each put carries the version and a
--   snapshot of it, so a put writes one history row instead of two (a separate history table cost
--   ~30% of write throughput, measured). Retention must keep audit rows whose snapshot is not NULL.
-- * An event's sequence number comes from the end of the session's key range in events, so an
--   append no longer rewrites the session row to bump a counter.
-- * The audit row of an event append is written by a trigger, in the same statement (measured +5%
--   appends/s). Memory puts keep theirs in Python: a per-row trigger made put_many 8% slower than
--   one executemany of the audit rows.
-- * The audit index (entity, entity_id) no longer holds memory rows and event appends, the two
--   busiest kinds: at 100k keys that index cost a random page write per put, ~45% of grouped write
--   throughput (measured). Each memory key's audit rows form a chain instead (memories.head -> the
--   latest row, audit.prev -> the one before), and each event names its audit row (events.audit_id).
--   Both rows are rewritten by the write anyway, so the links cost no extra page. A purge's own audit
--   row stays in the index (the key's row is gone), so a purged key's trail can still be found.
-- Nothing is lost: every version in memory_versions becomes the snapshot of its put's audit row,
-- and every existing audit row stays reachable by its entity.

ALTER TABLE audit ADD COLUMN version INTEGER;   -- memory.put: the version written
ALTER TABLE audit ADD COLUMN snapshot TEXT;     -- memory.put: that version's content; NULL once purged
ALTER TABLE audit ADD COLUMN prev INTEGER;      -- memory: the key's audit row before this one
ALTER TABLE memories ADD COLUMN head INTEGER;   -- the key's latest audit row
ALTER TABLE memories ADD COLUMN prev_head INTEGER;  -- the one before it (what a write links to)
ALTER TABLE events ADD COLUMN audit_id INTEGER; -- the event's audit row

UPDATE audit
SET version = json_extract(detail, '$.version'),
    snapshot = (
        SELECT json_object('type', v.type, 'expires_at', v.expires_at, 'metadata', json(v.metadata),
                           'value', json(v.value))
        FROM memory_versions v
        WHERE v.namespace = audit.namespace
          AND v.namespace || '/' || v.key = audit.entity_id
          AND v.version = json_extract(audit.detail, '$.version')
    )
WHERE entity = 'memory' AND action = 'memory.put';

-- A version with no put audit row (not written by any swarmstore release, but kept all the same).
INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail, version, snapshot)
SELECT v.created_at, v.actor, 'memory.put', 'memory', v.namespace || '/' || v.key, v.namespace,
       json_object('version', v.version, 'migrated', json('true')), v.version,
       json_object('type', v.type, 'expires_at', v.expires_at, 'metadata', json(v.metadata),
                   'value', json(v.value))
FROM memory_versions v
WHERE NOT EXISTS (
    SELECT 1 FROM audit a
    WHERE a.entity = 'memory' AND a.entity_id = v.namespace || '/' || v.key AND a.version = v.version
)
ORDER BY v.namespace, v.key, v.version;

UPDATE audit
SET prev = (SELECT max(b.id) FROM audit b
            WHERE b.entity = 'memory' AND b.entity_id = audit.entity_id AND b.id < audit.id)
WHERE entity = 'memory';
UPDATE memories
SET head = (SELECT max(a.id) FROM audit a WHERE a.entity = 'memory' AND a.entity_id = memories.namespace || '/' || memories.key);
UPDATE memories
SET prev_head = (SELECT a.prev FROM audit a WHERE a.id = memories.head);
UPDATE events
SET audit_id = (SELECT max(a.id) FROM audit a
                WHERE a.entity = 'session' AND a.entity_id = events.session_id AND a.action = 'session.event'
                  AND json_extract(a.detail, '$.seq') = events.seq);

DROP INDEX audit_entity;
-- (queries that use it repeat this WHERE clause word for word: SQLite picks a partial index only
-- when the query's own WHERE contains its terms; see queries.sql, audit_indexed)
CREATE INDEX audit_entity ON audit (entity, entity_id)
WHERE (entity <> 'memory' AND action <> 'session.event') OR action = 'memory.purge';

DROP TRIGGER memories_version_insert;
DROP TRIGGER memories_version_update;
DROP TABLE memory_versions;

ALTER TABLE sessions DROP COLUMN next_seq;

-- (event_insert gives the event the next audit id; the trigger writes that row)
CREATE TRIGGER events_audit AFTER INSERT ON events
BEGIN
    INSERT INTO audit (id, at, actor, action, entity, entity_id, namespace, detail)
    VALUES (NEW.audit_id, NEW.created_at, NEW.actor, 'session.event', 'session', NEW.session_id, NULL,
            json_object('seq', NEW.seq, 'type', NEW.type));
END;
