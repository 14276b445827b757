-- pgGit 0.5.0 -> 0.6.0. The installer re-creates the functions from the sources after this
-- script; table, index, type and trigger changes of 0.6.0 are below.
-- Capture writes a statement's commit at the next flush: the queue keeps its changes.
ALTER TABLE pggit.capture_queue ADD COLUMN changes pggit.change[], ADD COLUMN capture_ms double precision;
CREATE INDEX capture_queue_undescribed ON pggit.capture_queue (seq) WHERE changes IS NULL;

-- Privileges (sql/src/10_privileges.sql): the engine's own migrations note that they ran GRANT,
-- REVOKE or ALTER DEFAULT PRIVILEGES, for _absorb_finish.
ALTER TABLE pggit.tx_state DROP CONSTRAINT tx_state_key_is_known;
ALTER TABLE pggit.tx_state ADD CONSTRAINT tx_state_key_is_known
    CHECK (key IN ('dropped', 'absorb', 'absorb_touched', 'absorb_dropped', 'absorb_acl'));
