-- pgGit 0.5.0 -> 0.6.0. The installer re-creates the functions from the sources after this
-- script; table, index, type and trigger changes of 0.6.0 are below.
-- Capture writes a statement's commit at the next flush: the queue keeps its changes.
ALTER TABLE pggit.capture_queue ADD COLUMN changes pggit.change[], ADD COLUMN capture_ms double precision;
CREATE INDEX capture_queue_undescribed ON pggit.capture_queue (seq) WHERE changes IS NULL;
