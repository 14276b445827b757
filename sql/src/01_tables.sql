-- pgGit engine: storage. Everything lives in schema pggit, owned by the installing role.
CREATE SCHEMA pggit;
REVOKE ALL ON SCHEMA pggit FROM PUBLIC;
COMMENT ON SCHEMA pggit IS 'pgGit: version control for this database''s schema';

-- The key of the next row this transaction writes into commits (seq), chains (chain_id),
-- capture_queue (seq) or audit_log (id), their column default. Not a sequence: nextval in the
-- user's session would change what lastval() answers after DDL. A key is the transaction's id
-- times 2^20 plus the row's number among this transaction's rows of the table: unique without a
-- lock (no other transaction writes in that range), increasing within a transaction, and between
-- transactions in the order they got their ids (not the order they committed).
CREATE FUNCTION pggit._xact_key(p_table text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_base bigint := pg_current_xact_id()::text::bigint * 1048576;
    v_last bigint;
BEGIN
    IF p_table = 'commits' THEN
        SELECT max(c.seq) INTO v_last FROM pggit.commits c WHERE c.seq >= v_base AND c.seq < v_base + 1048576;
    ELSIF p_table = 'chains' THEN
        SELECT max(c.chain_id) INTO v_last FROM pggit.chains c WHERE c.chain_id >= v_base AND c.chain_id < v_base + 1048576;
    ELSIF p_table = 'capture_queue' THEN
        SELECT max(q.seq) INTO v_last FROM pggit.capture_queue q WHERE q.seq >= v_base AND q.seq < v_base + 1048576;
    ELSIF p_table = 'audit_log' THEN
        SELECT max(a.id) INTO v_last FROM pggit.audit_log a WHERE a.id >= v_base AND a.id < v_base + 1048576;
    ELSE
        RAISE EXCEPTION 'no transaction keys for table %', quote_literal(p_table) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_last IS NULL THEN
        RETURN v_base;
    ELSIF v_last = v_base + 1048575 THEN
        RAISE EXCEPTION 'more than 1048576 rows of pggit.% in one transaction', p_table USING ERRCODE = 'program_limit_exceeded';
    END IF;
    RETURN v_last + 1;
END $$;

-- Key/value facts about the installation (version, server version at install).
CREATE TABLE pggit.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- Schemas that are never tracked besides pggit, system and temporary schemas.
CREATE TABLE pggit.untracked_schemas (
    schema_name text PRIMARY KEY
);

-- Object definitions, stored once, addressed by the sha256 of their canonical DDL text and detail.
CREATE TABLE pggit.blobs (
    hash       text PRIMARY KEY,
    kind       text NOT NULL,
    definition text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT blobs_hash_is_sha256 CHECK (hash ~ '^[0-9a-f]{64}$')
);
-- descriptions of renamed objects by the identity they were first recorded under (lineage)
CREATE INDEX blobs_lineage_origin ON pggit.blobs ((detail->'lineage'->>'origin')) WHERE detail ? 'lineage';
-- (a wide table's description is large, and every statement on the table writes one: compressed
-- with lz4 where the server has it, several times faster to write than pglz, PostgreSQL's default)
DO $$
BEGIN
    ALTER TABLE pggit.blobs ALTER COLUMN definition SET COMPRESSION lz4, ALTER COLUMN detail SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;  -- (a server built without lz4 keeps pglz)
END $$;

-- Commits: a content-hashed node of the history DAG.
CREATE TABLE pggit.commits (
    commit_id      text PRIMARY KEY,
    parent_ids     text[] NOT NULL DEFAULT '{}',
    author         text NOT NULL,
    message        text NOT NULL,
    committed_at   timestamptz NOT NULL,
    seq            bigint NOT NULL UNIQUE DEFAULT pggit._xact_key('commits'),
    generation     integer NOT NULL,          -- 1 + max(generation of parents)
    server_version integer NOT NULL,          -- server_version_num / 10000 when committed
    snapshot_id    text NOT NULL,             -- commit holding the full tree this one is based on
    chain_changes  integer NOT NULL,          -- change rows between snapshot_id and this commit
    chain_commits  integer NOT NULL,          -- commits between snapshot_id and this commit
    tree_size      integer NOT NULL,
    committer      text,                      -- the database role, when the author is a person it acted for
    CONSTRAINT commits_id_is_sha256 CHECK (commit_id ~ '^[0-9a-f]{64}$'),
    CONSTRAINT commits_at_most_two_parents CHECK (cardinality(parent_ids) <= 2)
);

-- The object changes of a commit against its first parent.
CREATE TABLE pggit.changes (
    commit_id text NOT NULL REFERENCES pggit.commits,
    identity  text NOT NULL,
    kind      text NOT NULL,
    old_hash  text REFERENCES pggit.blobs,
    new_hash  text REFERENCES pggit.blobs,
    PRIMARY KEY (commit_id, identity),
    CONSTRAINT changes_changes_something CHECK (old_hash IS DISTINCT FROM new_hash)
);
CREATE INDEX changes_identity_idx ON pggit.changes (identity);

-- Ancestry index, kept by trigger commits_index: every commit sits at a position (1, 2, ...) of a
-- chain, a run of first parents; a chain's first commit forks from position fork_pos of
-- fork_chain (or is a root). The ancestors of a commit on one chain are the positions 1..n up to
-- the highest one it reaches: its own position, the fork's reach, and the chain_reach rows of
-- its chain at or below its position (what merges brought in beyond the first parent's reach).
-- Generations strictly grow along a chain, so a chain_reach row also carries the generation of
-- its merge commit and of the position it reaches: reads bounded by generation (merge base)
-- scan only the rows of recent merges.
CREATE TABLE pggit.chains (
    chain_id   bigint PRIMARY KEY DEFAULT pggit._xact_key('chains'),
    length     integer NOT NULL,
    fork_chain bigint REFERENCES pggit.chains,
    fork_pos   integer,
    fork_generation integer  -- of the commit at fork_pos of fork_chain
);
CREATE TABLE pggit.commit_chains (
    commit_id text PRIMARY KEY REFERENCES pggit.commits,
    chain_id  bigint NOT NULL REFERENCES pggit.chains,
    chain_pos integer NOT NULL,
    CONSTRAINT commit_chains_one_commit_per_position UNIQUE (chain_id, chain_pos)
);
CREATE TABLE pggit.chain_reach (
    chain_id     bigint NOT NULL REFERENCES pggit.chains,
    chain_pos    integer NOT NULL,
    target_chain bigint NOT NULL REFERENCES pggit.chains,
    target_pos   integer NOT NULL,
    generation        integer NOT NULL,  -- of the merge commit at chain_pos
    target_generation integer NOT NULL,  -- of the commit at target_pos of target_chain
    PRIMARY KEY (chain_id, target_chain, chain_pos)
);
CREATE INDEX chain_reach_by_generation ON pggit.chain_reach (chain_id, generation);

-- Full trees, kept for some commits so that any tree is a snapshot plus a bounded chain of changes.
-- (No foreign keys: rows are copied in bulk from trees whose entries were checked on the way in.)
CREATE TABLE pggit.snapshots (
    commit_id text NOT NULL,
    identity  text NOT NULL,
    kind      text NOT NULL,
    hash      text NOT NULL,
    PRIMARY KEY (commit_id, identity)
);

-- Branches: names pointing at head commits.
CREATE TABLE pggit.branches (
    name       text PRIMARY KEY,
    head       text NOT NULL REFERENCES pggit.commits,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by text NOT NULL DEFAULT session_user,
    created_by_role text,                     -- the database role, when created_by is a person it acted for
    CONSTRAINT branches_name_is_valid CHECK (
        name <> '' AND name <> 'HEAD' AND length(name) <= 200
        AND name !~ '[[:cntrl:]~^:]' AND name = btrim(name) AND name NOT LIKE '-%')
);

-- HEAD: the branch the live schema reflects.
CREATE TABLE pggit.head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    branch    text NOT NULL REFERENCES pggit.branches ON UPDATE CASCADE
);

-- The live objects as of HEAD's head commit, with their catalog addresses.
CREATE TABLE pggit.live_objects (
    identity text PRIMARY KEY,
    kind     text NOT NULL,
    hash     text NOT NULL,
    classid  oid NOT NULL,
    objid    oid NOT NULL,
    UNIQUE (classid, objid)
);

-- Statements grouped into one commit by pggit.begin_commit(), finished at transaction commit.
CREATE TABLE pggit.pending_groups (
    txid     bigint PRIMARY KEY,
    branch   text NOT NULL,
    message  text NOT NULL,
    author   text NOT NULL,
    person   text
);
CREATE TABLE pggit.pending_changes (
    txid     bigint NOT NULL REFERENCES pggit.pending_groups ON DELETE CASCADE,
    identity text NOT NULL,
    kind     text NOT NULL,
    old_hash text,
    new_hash text,
    PRIMARY KEY (txid, identity)
);

-- An object change inside a commit (and in a captured statement waiting for its commit).
CREATE TYPE pggit.change AS (
    identity text,
    kind     text,
    old_hash text,
    new_hash text
);

-- Statements captured but not yet recorded as commits, written by the ddl_command_end trigger in
-- the statement's own transaction (so a rolled-back statement leaves nothing). A statement that
-- only creates new objects (CREATE TABLE, CREATE INDEX, ...) is queued undescribed (changes
-- NULL): its objects are described when pggit.flush() runs, before anything reads history or
-- changes an existing object (the ddl_command_start trigger). Any other statement is described
-- at once, and the live map and blobs take its changes then; only its commit (and audit row) is
-- written by the next flush (changes: what it changed; capture_ms: what describing it took).
-- pggit.flush() turns rows into commits in order. A work queue: rows are deleted once recorded.
CREATE TABLE pggit.capture_queue (
    seq         bigint PRIMARY KEY DEFAULT pggit._xact_key('capture_queue'),  -- flushed in (captured_at, seq) order
    author      text NOT NULL,
    captured_at timestamptz NOT NULL,
    message     text NOT NULL,
    classids    oid[] NOT NULL,
    objids      oid[] NOT NULL,
    changes     pggit.change[],
    capture_ms  double precision,
    person      text                -- pggit.author of the capturing transaction (pggit._person())
);
-- (what the ddl_command_start trigger looks for before every statement: undescribed rows)
CREATE INDEX capture_queue_undescribed ON pggit.capture_queue (seq) WHERE changes IS NULL;

-- Per-transaction capture state: what the running statement dropped (sql_drop -> ddl_command_end)
-- and the engine's own absorb mode (its migrations' touched and dropped objects). It is kept here,
-- written only by the engine's SECURITY DEFINER functions, never in a setting a caller can change:
-- no role can make the engine record a drop that did not happen or skip capture. Rows belong to
-- one transaction (its xid8) and are deleted when read; a rolled-back transaction leaves none.
CREATE TABLE pggit.tx_state (
    xid   xid8 NOT NULL,
    key   text NOT NULL,
    value text NOT NULL DEFAULT '',
    PRIMARY KEY (xid, key),
    -- (absorb_acl: the engine's own migration ran GRANT / REVOKE; since 0.6.0. accepted_loss: the
    -- tables and columns a forced migration dropped with their data, for its audit row; since 0.9.0)
    CONSTRAINT tx_state_key_is_known CHECK (key IN ('dropped', 'absorb', 'absorb_touched', 'absorb_dropped', 'absorb_acl',
                                                    'accepted_loss'))
);

-- Append-only audit trail of every engine operation.
CREATE TABLE pggit.audit_log (
    id          bigint PRIMARY KEY DEFAULT pggit._xact_key('audit_log'),
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    role_name   text NOT NULL DEFAULT session_user,
    operation   text NOT NULL,
    args        jsonb NOT NULL DEFAULT '{}',
    outcome     text NOT NULL,
    detail      text,
    duration_ms double precision,
    person      text,                -- the person the role acted for (pggit.author), if any
    CONSTRAINT audit_outcome_is_known CHECK (outcome IN ('ok', 'error', 'refused'))
);

-- History is append-only: rows are never updated or deleted.
CREATE FUNCTION pggit._refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'pggit.% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'PGG20', HINT = 'history and audit records are never changed';
END $$;

CREATE TRIGGER blobs_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON pggit.blobs
    FOR EACH STATEMENT EXECUTE FUNCTION pggit._refuse_change();
CREATE TRIGGER commits_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON pggit.commits
    FOR EACH STATEMENT EXECUTE FUNCTION pggit._refuse_change();
CREATE TRIGGER changes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON pggit.changes
    FOR EACH STATEMENT EXECUTE FUNCTION pggit._refuse_change();
CREATE TRIGGER snapshots_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON pggit.snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION pggit._refuse_change();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON pggit.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION pggit._refuse_change();
