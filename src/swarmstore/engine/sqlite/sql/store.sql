-- Named statements of the SQLite engine: store. A statement may embed another as {{name}} (any file).

-- name: count_rows
SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM audit WHERE action = 'session.event'),
       (SELECT count(*) FROM memories WHERE deleted_at IS NULL), (SELECT count(*) FROM memories),
       (SELECT count(*) FROM audit WHERE entity = 'memory' AND snapshot IS NOT NULL), (SELECT count(*) FROM audit),
       (SELECT count(*) FROM tasks), (SELECT count(*) FROM agents)

-- ---------------------------------------------------------------------------------------------
-- tasks. rank = min(ready_at + patience, deadline_cap): the time by which a task should be claimed.

