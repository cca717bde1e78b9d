-- swarmstore schema 4: the hot task changes (claim, heartbeat, completion) link their audit rows
-- themselves, in their own statements: the audit row is written with its prev (the task's
-- audit_head, read in the INSERT) and the task's UPDATE sets audit_head to it. The trigger of
-- schema 3 did it with two more UPDATEs per audit row (re-seeking and rewriting the audit row and
-- the task row): ~11 µs of a claim's ~100 µs of SQL, measured. It stays for every other task
-- audit row, which arrives with prev NULL.
DROP TRIGGER task_audit_link;
CREATE TRIGGER task_audit_link AFTER INSERT ON audit WHEN NEW.entity = 'task' AND NEW.prev IS NULL
BEGIN
    UPDATE audit SET prev = (SELECT audit_head FROM tasks WHERE id = NEW.entity_id) WHERE id = NEW.id;
    UPDATE tasks SET audit_head = NEW.id WHERE id = NEW.entity_id;
END;
