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
DROP FUNCTION IF EXISTS pggit.list_branches();
DROP FUNCTION IF EXISTS pggit.log(text, integer);
DROP FUNCTION IF EXISTS pggit.blame(text, text);
DROP FUNCTION IF EXISTS pggit.object_history(text, text);
DROP FUNCTION IF EXISTS pggit.commit_info(text[]);
DROP FUNCTION IF EXISTS pggit.audit(integer, integer, bigint);
DROP FUNCTION IF EXISTS pggit.audit_since(bigint, integer);
-- Forced operations: merges record "force" in their audit row as switch, reset and revert do,
-- and every forced migration records the objects it dropped with their data ("data_loss"),
-- kept in pggit.tx_state until the audit row takes them.
ALTER TABLE pggit.tx_state DROP CONSTRAINT tx_state_key_is_known;
ALTER TABLE pggit.tx_state ADD CONSTRAINT tx_state_key_is_known
    CHECK (key IN ('dropped', 'absorb', 'absorb_touched', 'absorb_dropped', 'absorb_acl', 'accepted_loss'));
-- Data branches (50_data.sql): a branch made with with_data => true carries the rows of the
-- tracked tables, shown through views over overlays in schemas pggit_data and
-- pggit_data_<schema> (which are never tracked).
DROP FUNCTION IF EXISTS pggit.create_branch(text, text);
CREATE TABLE pggit.data_branches (
    branch      text PRIMARY KEY,
    id          integer NOT NULL UNIQUE,
    fork_commit text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    skipped     text[] NOT NULL DEFAULT '{}'
);
CREATE TABLE pggit.data_overlays (
    relid       oid PRIMARY KEY,
    identity    text NOT NULL,
    view_schema text NOT NULL,
    view_name   text NOT NULL,
    key_columns text[] NOT NULL,
    columns     text[] NOT NULL
);
CREATE TABLE pggit.data_tables (
    id    integer NOT NULL REFERENCES pggit.data_branches (id) ON DELETE CASCADE,
    relid oid NOT NULL REFERENCES pggit.data_overlays,
    PRIMARY KEY (id, relid)
);
CREATE INDEX data_tables_relid ON pggit.data_tables (relid);
-- Hints name the parameters as callers write them (p_force => true). No table change.
-- Drift: pggit.commit_drift(message) records it as a commit on HEAD, pggit.discard_drift(force)
-- migrates the live database back to HEAD. No table change.
