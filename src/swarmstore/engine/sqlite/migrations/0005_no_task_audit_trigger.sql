-- swarmstore schema 5: every task change links its own audit row into the task's chain (the
-- submit gives its row's id to the new task; other changes read the task's head into the row and
-- point the head at it). The trigger of schemas 3-4 on the audit table ran for every audit row of
-- every kind, memory puts and event appends included, to find the few of tasks: measured 12.8% of
-- the instructions of a put_many entry.
DROP TRIGGER task_audit_link;
