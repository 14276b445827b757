-- pgGit 0.8.0 -> 0.9.0. The installer re-creates the functions from the sources after this
-- script; table, index, type and trigger changes of 0.9.0 are below.
-- Author and committer: a client names the person it acts for with the setting pggit.author
-- (pggit._person()); a commit records that person as its author and the role as its committer,
-- a branch its creator and the role, the audit log the person beside the role. Rows made
-- before 0.9.0 keep NULL (the role is their author).
ALTER TABLE pggit.commits ADD COLUMN committer text;
ALTER TABLE pggit.branches ADD COLUMN created_by_role text;
ALTER TABLE pggit.pending_groups ADD COLUMN person text;
ALTER TABLE pggit.capture_queue ADD COLUMN person text;
ALTER TABLE pggit.audit_log ADD COLUMN person text;
-- reads that return the new columns (a changed RETURNS TABLE cannot be replaced)
DROP FUNCTION pggit.list_branches();
DROP FUNCTION pggit.log(text, integer);
DROP FUNCTION pggit.blame(text, text);
DROP FUNCTION pggit.object_history(text, text);
DROP FUNCTION pggit.commit_info(text[]);
DROP FUNCTION pggit.audit(integer, integer, bigint);
DROP FUNCTION pggit.audit_since(bigint, integer);
-- Forced operations: merges record "force" in their audit row as switch, reset and revert do,
-- and every forced migration records the objects it dropped with their data ("data_loss"),
-- kept in pggit.tx_state until the audit row takes them.
ALTER TABLE pggit.tx_state DROP CONSTRAINT tx_state_key_is_known;
ALTER TABLE pggit.tx_state ADD CONSTRAINT tx_state_key_is_known
    CHECK (key IN ('dropped', 'absorb', 'absorb_touched', 'absorb_dropped', 'absorb_acl', 'accepted_loss'));
