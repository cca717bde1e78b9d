-- swarmstore schema 2: fewer pages written per write.
-- * Memory history moves into the audit log: the audit row of each put carries the version and a
--   snapshot of it, so a put writes one history row instead of two (a separate history table cost
--   ~30% of write throughput, measured). Retention must keep audit rows whose snapshot is not NULL.
-- * An event's sequence number comes from the end of the session's key range in events, so an
--   append no longer rewrites the session row to bump a counter.
-- * The audit row of an event append is written by a trigger, in the same statement (measured +5%
--   appends/s). Memory puts keep theirs in Python: a per-row trigger made put_many 8% slower than
--   one executemany of the audit rows.
-- Nothing is lost: every version in memory_versions becomes the snapshot of its put's audit row.

ALTER TABLE audit ADD COLUMN version INTEGER;   -- memory.put: the version written
ALTER TABLE audit ADD COLUMN snapshot TEXT;     -- memory.put: that version's content; NULL once purged

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

DROP TRIGGER memories_version_insert;
DROP TRIGGER memories_version_update;
DROP TABLE memory_versions;

ALTER TABLE sessions DROP COLUMN next_seq;

CREATE TRIGGER events_audit AFTER INSERT ON events
BEGIN
    INSERT INTO audit (at, actor, action, entity, entity_id, namespace, detail)
    VALUES (NEW.created_at, NEW.actor, 'session.event', 'session', NEW.session_id, NULL,
            json_object('seq', NEW.seq, 'type', NEW.type));
END;
