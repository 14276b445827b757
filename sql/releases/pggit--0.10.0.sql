-- pgGit 0.10.0 install script, built from sql/src

-- ---- 01_tables.sql ----
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

-- ---- 10_catalog.sql ----
-- pgGit engine: reading schema objects from the catalogs as canonical definitions.
--
-- Search path rule: entry points (the public API, event trigger and trigger functions) run with
-- SET search_path = pg_catalog, pg_temp. Internal helpers (names starting with _) carry no SET
-- clause, so that the small SQL ones inline and none pays a search_path switch per call; they
-- run only under an entry point's search path, where every catalog text they read (format_type,
-- pg_get_*def) is schema-qualified the same way.

-- One described object: its catalog address, identity and canonical definition.
CREATE TYPE pggit.objdesc AS (
    classid    oid,
    objid      oid,
    kind       text,
    identity   text,
    definition text,
    detail     jsonb
);

-- The engine's schemas of data branches (50_data.sql): pggit_data and pggit_data_<schema>.
CREATE FUNCTION pggit._data_schema(p_nspname text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_nspname ~ '^pggit_data(_|$)'
$$;

-- Is this schema tracked? Never pggit, system, toast or temporary schemas, nor the schemas of
-- data branches.
CREATE FUNCTION pggit._tracked_schema(p_nspname text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT p_nspname IS NOT NULL
       AND p_nspname NOT IN ('pggit', 'information_schema')
       AND p_nspname !~ '^pg_'
       AND NOT pggit._data_schema(p_nspname)
       AND NOT EXISTS (SELECT 1 FROM pggit.untracked_schemas u WHERE u.schema_name = p_nspname)
    );
END $$;

-- Helpers that query tables are PL/pgSQL, whose plans are cached per session; SQL-language
-- helpers are single expressions that the planner inlines.

-- sha256 of a text, as hex.
CREATE FUNCTION pggit._sha256(p_text text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(p_text, 'UTF8')), 'hex')
$$;

-- Qualified, quoted name of an object in a namespace.
CREATE FUNCTION pggit._qname(p_nsp oid, p_name name) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT p_nsp::regnamespace::text || '.' || quote_ident(p_name)
$$;

-- A definition in the form PostgreSQL prints after it is run again. The server does not print
-- every expression as a fixpoint: `v IN ('a', 'b')` on a varchar column prints as
-- `((ARRAY['a'::character varying, ...])::text[])`, which, run again, prints as
-- `(ARRAY[('a'::character varying)::text, ...])`. Definitions are compared in the second form.
CREATE FUNCTION pggit._canon(p_text text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := p_text;
    m text[];
    n int := 0;
BEGIN
    IF v IS NULL OR strpos(v, '])::') = 0 THEN
        RETURN v;
    END IF;
    LOOP
        m := regexp_match(v, $re$\(\(ARRAY\[((?:'(?:[^']|'')*'::[a-z][a-z0-9_ ]*(?:\([0-9, ]+\))?(?:, )?)+)\]\)::([a-z][a-z0-9_ ]*)\[\]\)$re$);
        EXIT WHEN m IS NULL OR n >= 1000;
        n := n + 1;
        v := replace(v, '((ARRAY[' || m[1] || '])::' || m[2] || '[])',
                     '(ARRAY[' || regexp_replace(m[1], $re$('(?:[^']|'')*'::[a-z][a-z0-9_ ]*(?:\([0-9, ]+\))?)$re$, '(\1)::' || m[2], 'g') || '])');
    END LOOP;
    RETURN v;
END $$;

-- Map any catalog object to the tracked object it belongs to (a column to its table, a
-- constraint index to its table, an identity sequence to its table...). NULLs when untracked.
CREATE FUNCTION pggit._root(p_classid oid, p_objid oid, OUT classid oid, OUT objid oid)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_kind "char";
    v_nsp  oid;
    v_oid  oid;
    v_part boolean;
    v_type oid;
    v_len  int2;
BEGIN
    IF p_classid = 'pg_default_acl'::regclass THEN
        -- (default privileges: 10_privileges.sql)
        SELECT d.classid, d.objid INTO classid, objid FROM pggit._default_acl_roots() d WHERE d.objid = p_objid;
        RETURN;
    END IF;
    -- an object that belongs to an extension stands for its extension
    IF p_classid <> 'pg_extension'::regclass THEN
        SELECT d.refobjid INTO v_oid FROM pg_depend d
         WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e' LIMIT 1;
        IF FOUND THEN
            IF pggit._tracked_oid('pg_extension'::regclass, v_oid) THEN
                classid := 'pg_extension'::regclass; objid := v_oid;
            END IF;
            RETURN;
        END IF;
    END IF;
    IF p_classid = 'pg_class'::regclass THEN
        SELECT c.relkind, c.relnamespace, c.relispartition, c.reltype INTO v_kind, v_nsp, v_part, v_type
          FROM pg_class c WHERE c.oid = p_objid;
        IF NOT FOUND THEN RETURN; END IF;
        IF v_kind IN ('r', 'p', 'v', 'm', 'f') THEN
            classid := p_classid; objid := p_objid;
        ELSIF v_kind IN ('i', 'I') THEN
            SELECT con.conrelid INTO v_oid FROM pg_constraint con
             WHERE con.conrelid = (SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = p_objid)  -- (pg_constraint has no index on conindid)
               AND con.conindid = p_objid AND con.contype IN ('p', 'u', 'x') AND con.conrelid <> 0
             LIMIT 1;
            IF FOUND THEN
                classid := p_classid; objid := v_oid;
            ELSIF v_part THEN
                -- an index attached to a partitioned index belongs to it (made by it, or listed in
                -- its definition while it is not valid: see _attached_indexes_sql)
                SELECT i.inhparent INTO v_oid FROM pg_inherits i WHERE i.inhrelid = p_objid LIMIT 1;
                IF FOUND THEN
                    SELECT r.classid, r.objid INTO classid, objid FROM pggit._root(p_classid, v_oid) r;
                END IF;
                RETURN;
            ELSE
                classid := p_classid; objid := p_objid;
            END IF;
        ELSIF v_kind = 'S' THEN
            SELECT d.refobjid INTO v_oid FROM pg_depend d
             WHERE d.classid = 'pg_class'::regclass AND d.objid = p_objid AND d.deptype = 'i' LIMIT 1;
            classid := p_classid; objid := coalesce(v_oid, p_objid);
        ELSIF v_kind = 'c' THEN
            classid := 'pg_type'::regclass; objid := v_type;
        ELSE
            RETURN;
        END IF;
    ELSIF p_classid = 'pg_attrdef'::regclass THEN
        SELECT 'pg_class'::regclass, a.adrelid INTO classid, objid FROM pg_attrdef a WHERE a.oid = p_objid;
    ELSIF p_classid = 'pg_constraint'::regclass THEN
        SELECT CASE WHEN c.conrelid <> 0 THEN 'pg_class'::regclass ELSE 'pg_type'::regclass END,
               CASE WHEN c.conrelid <> 0 THEN c.conrelid ELSE c.contypid END
          INTO classid, objid FROM pg_constraint c WHERE c.oid = p_objid;
        IF objid = 0 THEN classid := NULL; objid := NULL; RETURN; END IF;
        IF classid = 'pg_class'::regclass THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root(classid, objid) r;
            RETURN;
        END IF;
    ELSIF p_classid = 'pg_type'::regclass THEN
        SELECT t.typtype, t.typrelid, t.typelem, t.typlen INTO v_kind, v_oid, v_type, v_len
          FROM pg_type t WHERE t.oid = p_objid;
        IF NOT FOUND THEN RETURN; END IF;
        IF v_kind = 'c' THEN
            IF (SELECT c.relkind FROM pg_class c WHERE c.oid = v_oid) = 'c' THEN
                classid := p_classid; objid := p_objid;
            ELSE
                SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_class'::regclass, v_oid) r;
                RETURN;
            END IF;
        ELSIF v_kind IN ('e', 'd', 'r') THEN
            classid := p_classid; objid := p_objid;
        ELSIF v_kind = 'm' THEN
            SELECT 'pg_type'::regclass, rg.rngtypid INTO classid, objid FROM pg_range rg WHERE rg.rngmultitypid = p_objid;
        ELSIF v_kind = 'b' AND v_type <> 0 AND v_len = -1
              AND EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = v_type AND e.typarray = p_objid) THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_type'::regclass, v_type) r;
            RETURN;
        ELSIF v_kind = 'b' AND p_objid >= 16384 THEN
            -- a base type made with its own I/O functions (CREATE TYPE name (INPUT = ...))
            classid := p_classid; objid := p_objid;
        ELSE
            RETURN;
        END IF;
    ELSIF p_classid = 'pg_proc'::regclass THEN
        -- the constructors CREATE TYPE ... AS RANGE makes belong to the range type
        SELECT d.refobjid INTO v_oid FROM pg_depend d
         WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'i'
           AND d.refclassid = 'pg_type'::regclass LIMIT 1;
        IF FOUND THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_type'::regclass, v_oid) r;
            RETURN;
        END IF;
        -- the input, output, receive and send functions of a base type belong to it (made between
        -- its shell and its full definition; their signatures name it)
        SELECT t.oid INTO v_oid FROM pg_proc p JOIN pg_type t ON t.oid IN (p.prorettype, p.proargtypes[0])
         WHERE p.oid = p_objid AND t.typtype = 'b' AND p_objid IN (t.typinput, t.typoutput, t.typreceive, t.typsend) LIMIT 1;
        IF FOUND THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_type'::regclass, v_oid) r;
            RETURN;
        END IF;
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_trigger'::regclass THEN
        SELECT t.tgparentid INTO v_oid FROM pg_trigger t WHERE t.oid = p_objid AND (NOT t.tgisinternal OR t.tgparentid <> 0);
        IF v_oid <> 0 THEN
            -- a partition's clone of its parent's trigger belongs to that trigger (which shows
            -- the clones' ENABLE / DISABLE states that differ)
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root(p_classid, v_oid) r;
            RETURN;
        ELSIF v_oid = 0 THEN
            classid := p_classid; objid := p_objid;
        END IF;
    ELSIF p_classid = 'pg_policy'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_rewrite'::regclass THEN
        -- a view's _RETURN rule is the view; any other rule is an object of its own
        IF EXISTS (SELECT 1 FROM pg_rewrite rw WHERE rw.oid = p_objid AND rw.rulename <> '_RETURN') THEN
            classid := p_classid; objid := p_objid;
        ELSE
            SELECT r.classid, r.objid INTO classid, objid
              FROM pg_rewrite rw, pggit._root('pg_class'::regclass, rw.ev_class) r
             WHERE rw.oid = p_objid AND rw.rulename = '_RETURN';
            RETURN;
        END IF;
    ELSIF p_classid = 'pg_namespace'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_extension'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_collation'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_statistic_ext'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_event_trigger'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_cast'::regclass THEN
        -- (the cast CREATE TYPE ... AS RANGE makes to the multirange belongs to the range type)
        SELECT d.refobjid INTO v_oid FROM pg_depend d
         WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'i'
           AND d.refclassid = 'pg_type'::regclass LIMIT 1;
        IF FOUND THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_type'::regclass, v_oid) r;
            RETURN;
        END IF;
        classid := p_classid; objid := p_objid;
    ELSIF p_classid IN ('pg_ts_dict'::regclass, 'pg_ts_config'::regclass) THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_ts_config_map'::regclass THEN
        RETURN;  -- (mappings are not addressed on their own)
    ELSIF p_classid = 'pg_operator'::regclass THEN
        -- (a shell operator, made by naming it as another's COMMUTATOR or NEGATOR before it
        -- exists, is not an object until CREATE OPERATOR defines it)
        IF EXISTS (SELECT 1 FROM pg_operator o WHERE o.oid = p_objid AND o.oprcode <> 0) THEN
            classid := p_classid; objid := p_objid;
        END IF;
    ELSIF p_classid IN ('pg_opclass'::regclass, 'pg_opfamily'::regclass, 'pg_am'::regclass, 'pg_transform'::regclass,
                        'pg_ts_parser'::regclass, 'pg_ts_template'::regclass, 'pg_foreign_data_wrapper'::regclass,
                        'pg_foreign_server'::regclass, 'pg_user_mapping'::regclass, 'pg_subscription'::regclass) THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid IN ('pg_amop'::regclass, 'pg_amproc'::regclass) THEN
        -- an operator or function of an operator family belongs to the operator class that made it,
        -- or (ALTER OPERATOR FAMILY ... ADD) to the family
        SELECT d.refclassid, d.refobjid INTO v_type, v_oid FROM pg_depend d
         WHERE d.classid = p_classid AND d.objid = p_objid AND d.refclassid IN ('pg_opclass'::regclass, 'pg_opfamily'::regclass)
         ORDER BY d.refclassid = 'pg_opclass'::regclass DESC LIMIT 1;
        IF FOUND THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root(v_type, v_oid) r;
        END IF;
        RETURN;
    ELSIF p_classid = 'pg_publication'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_publication_rel'::regclass THEN
        -- a table of a publication is part of the publication
        SELECT 'pg_publication'::regclass, pr.prpubid INTO classid, objid FROM pg_publication_rel pr WHERE pr.oid = p_objid;
    ELSIF p_classid = to_regclass('pg_catalog.pg_publication_namespace') THEN
        -- (PostgreSQL 15 and later: TABLES IN SCHEMA)
        EXECUTE 'SELECT pn.pnpubid FROM pg_catalog.pg_publication_namespace pn WHERE pn.oid = $1' INTO v_oid USING p_objid;
        IF v_oid IS NOT NULL THEN
            classid := 'pg_publication'::regclass; objid := v_oid;
        END IF;
    ELSE
        RETURN;
    END IF;
    IF objid IS NOT NULL AND NOT pggit._tracked_oid(classid, objid) THEN
        classid := NULL; objid := NULL;
    END IF;
END $$;

-- Does this object depend on a temporary object, directly or through objects that do (a domain
-- over a temporary table's row type, a function taking one)? PostgreSQL drops it with the
-- temporary object when the session ends, and no event trigger sees that drop: not state.
CREATE FUNCTION pggit._on_temp(p_classid oid, p_objid oid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    WITH RECURSIVE dep(classid, objid, depth) AS (
            SELECT p_classid, p_objid, 0
            UNION
            SELECT d.refclassid, d.refobjid, dep.depth + 1
              FROM dep JOIN pg_depend d ON d.classid = dep.classid AND d.objid = dep.objid
             WHERE d.deptype = 'n' AND d.refobjid >= 16384 AND dep.depth < 16
        )
        SELECT EXISTS (
            SELECT 1 FROM dep JOIN pg_namespace n ON n.oid = CASE dep.classid
                       WHEN 'pg_class'::regclass THEN (SELECT c.relnamespace FROM pg_class c WHERE c.oid = dep.objid)
                       WHEN 'pg_type'::regclass THEN (SELECT t.typnamespace FROM pg_type t WHERE t.oid = dep.objid)
                       WHEN 'pg_proc'::regclass THEN (SELECT p.pronamespace FROM pg_proc p WHERE p.oid = dep.objid)
                       END
             WHERE dep.depth > 0 AND n.nspname LIKE 'pg\_temp\_%'));
END $$;

-- Is this (root) object in a tracked schema, not a member of an extension, and not dependent on
-- a temporary object?
CREATE FUNCTION pggit._tracked_oid(p_classid oid, p_objid oid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_nsp  oid;
    v_kind "char";
BEGIN
    -- (one small key lookup per kind, in an IF chain: a single CASE over every catalog made the
    -- executor start a sub-plan for each kind at every call, and this runs several times for
    -- every captured statement)
    IF p_classid = 'pg_class'::regclass THEN
        SELECT c.relnamespace, c.relkind INTO v_nsp, v_kind FROM pg_class c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_type'::regclass THEN
        SELECT t.typnamespace INTO v_nsp FROM pg_type t WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_proc'::regclass THEN
        SELECT p.pronamespace INTO v_nsp FROM pg_proc p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_trigger'::regclass THEN
        -- (a data branch's triggers on a checked-out table run functions of schema pggit_data:
        -- they are the engine's, not the table's)
        SELECT CASE WHEN p.pronamespace = c.relnamespace THEN c.relnamespace
                    WHEN (SELECT n.nspname FROM pg_namespace n WHERE n.oid = p.pronamespace) = 'pggit_data' THEN p.pronamespace
                    ELSE c.relnamespace END
          INTO v_nsp FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_policy'::regclass THEN
        SELECT c.relnamespace INTO v_nsp FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_namespace'::regclass THEN
        v_nsp := p_objid;
    ELSIF p_classid = 'pg_extension'::regclass THEN
        SELECT e.extnamespace INTO v_nsp FROM pg_extension e WHERE e.oid = p_objid;
    ELSIF p_classid = 'pg_collation'::regclass THEN
        SELECT co.collnamespace INTO v_nsp FROM pg_collation co WHERE co.oid = p_objid AND co.oid >= 16384;
    ELSIF p_classid = 'pg_statistic_ext'::regclass THEN
        SELECT s.stxnamespace INTO v_nsp FROM pg_statistic_ext s WHERE s.oid = p_objid;
    ELSIF p_classid = 'pg_rewrite'::regclass THEN
        SELECT c.relnamespace INTO v_nsp FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = p_objid;
    ELSIF p_classid = 'pg_event_trigger'::regclass THEN
        -- (an event trigger is in no schema: it is tracked when the function it runs is, which
        -- leaves out the engine's own, whose functions are in pggit)
        SELECT p.pronamespace INTO v_nsp FROM pg_event_trigger e JOIN pg_proc p ON p.oid = e.evtfoid
         WHERE e.oid = p_objid AND e.oid >= 16384;
    ELSIF p_classid = 'pg_operator'::regclass THEN
        SELECT o.oprnamespace INTO v_nsp FROM pg_operator o WHERE o.oid = p_objid;
    ELSIF p_classid = 'pg_ts_dict'::regclass THEN
        SELECT d.dictnamespace INTO v_nsp FROM pg_ts_dict d WHERE d.oid = p_objid AND d.oid >= 16384;
    ELSIF p_classid = 'pg_ts_config'::regclass THEN
        SELECT t.cfgnamespace INTO v_nsp FROM pg_ts_config t WHERE t.oid = p_objid AND t.oid >= 16384;
    ELSIF p_classid = 'pg_ts_parser'::regclass THEN
        SELECT t.prsnamespace INTO v_nsp FROM pg_ts_parser t WHERE t.oid = p_objid AND t.oid >= 16384;
    ELSIF p_classid = 'pg_ts_template'::regclass THEN
        SELECT t.tmplnamespace INTO v_nsp FROM pg_ts_template t WHERE t.oid = p_objid AND t.oid >= 16384;
    ELSIF p_classid = 'pg_opclass'::regclass THEN
        SELECT o.opcnamespace INTO v_nsp FROM pg_opclass o WHERE o.oid = p_objid AND o.oid >= 16384;
    ELSIF p_classid = 'pg_opfamily'::regclass THEN
        SELECT o.opfnamespace INTO v_nsp FROM pg_opfamily o WHERE o.oid = p_objid AND o.oid >= 16384;
    ELSIF p_classid = 'pg_transform'::regclass THEN
        -- (a transform is in no schema: tracked when its type, or else its functions, are in a
        -- tracked schema)
        SELECT x.nsp INTO v_nsp FROM pg_transform tr
         CROSS JOIN LATERAL (SELECT 1, t.typnamespace FROM pg_type t WHERE t.oid = tr.trftype
                             UNION ALL SELECT 2, p.pronamespace FROM pg_proc p WHERE p.oid IN (tr.trffromsql, tr.trftosql)) x(k, nsp)
          JOIN pg_namespace n ON n.oid = x.nsp
         WHERE tr.oid = p_objid AND tr.oid >= 16384 AND n.nspname <> 'pg_catalog'
         ORDER BY x.k, n.nspname LIMIT 1;
        IF v_nsp IS NULL THEN
            -- a transform between built-in types and functions made by a user
            RETURN p_objid >= 16384
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
        END IF;
    ELSIF p_classid IN ('pg_am'::regclass, 'pg_foreign_data_wrapper'::regclass, 'pg_foreign_server'::regclass) THEN
        -- (in no schema: every one made by a user, not by an extension, is tracked)
        RETURN p_objid >= 16384
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
    ELSIF p_classid = 'pg_user_mapping'::regclass THEN
        -- (a user mapping goes with its server)
        RETURN coalesce((SELECT pggit._tracked_oid('pg_foreign_server'::regclass, um.umserver) FROM pg_user_mapping um WHERE um.oid = p_objid), false);
    ELSIF p_classid = 'pg_subscription'::regclass THEN
        -- (subscriptions are in no schema and shared by the cluster's catalog: those of this database)
        RETURN EXISTS (SELECT 1 FROM pg_subscription s JOIN pg_database db ON db.oid = s.subdbid
                        WHERE s.oid = p_objid AND db.datname = current_database());
    ELSIF p_classid = 'pg_publication'::regclass THEN
        -- (a publication is in no schema: every one made by a user is tracked)
        RETURN EXISTS (SELECT 1 FROM pg_publication p WHERE p.oid = p_objid AND p.oid >= 16384)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
    ELSIF p_classid = 'pg_cast'::regclass THEN
        -- (a cast is in no schema either: one made by a user is tracked when those of its source
        -- type, target type and function that are not built in are in tracked schemas; the
        -- schema of one not tracked comes first)
        SELECT x.nsp INTO v_nsp FROM pg_cast c
         CROSS JOIN LATERAL (SELECT t.typnamespace FROM pg_type t WHERE t.oid = c.castsource
                             UNION ALL SELECT t.typnamespace FROM pg_type t WHERE t.oid = c.casttarget
                             UNION ALL SELECT p.pronamespace FROM pg_proc p WHERE p.oid = c.castfunc) x(nsp)
          JOIN pg_namespace n ON n.oid = x.nsp
         WHERE c.oid = p_objid AND c.oid >= 16384 AND n.nspname <> 'pg_catalog'
         ORDER BY pggit._tracked_schema(n.nspname), n.nspname LIMIT 1;
        IF v_nsp IS NULL THEN
            -- a cast made by a user between built-in types (its own oid)
            RETURN EXISTS (SELECT 1 FROM pg_cast c WHERE c.oid = p_objid AND c.oid >= 16384)
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
        END IF;
    END IF;
    IF v_nsp IS NULL OR NOT coalesce((
           SELECT n.nspname NOT IN ('pggit', 'information_schema') AND left(n.nspname, 3) <> 'pg_'
                  AND NOT pggit._data_schema(n.nspname)
                  AND NOT EXISTS (SELECT 1 FROM pggit.untracked_schemas u WHERE u.schema_name = n.nspname)
             FROM pg_namespace n WHERE n.oid = v_nsp), false) THEN
        RETURN false;
    END IF;
    IF p_classid <> 'pg_extension'::regclass
       AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e') THEN
        RETURN false;
    END IF;
    -- (only types, composite types and functions can depend on a temporary object and stay
    -- permanent: a view over a temporary table becomes temporary itself, and a table or index
    -- is never checked, so the common statements pay nothing for this)
    IF p_classid IN ('pg_type'::regclass, 'pg_proc'::regclass) OR v_kind = 'c' THEN
        RETURN NOT pggit._on_temp(p_classid, p_objid);
    END IF;
    RETURN true;
END $$;

-- Identities of the tracked objects that the given catalog objects depend on.
CREATE FUNCTION pggit._deps(p_classids oid[], p_objids oid[], p_self text, p_deptypes "char"[]) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- one query: the addresses' dependencies (an equality lookup per address, kept from being
    -- flattened into a join that could scan pg_depend whole), each distinct one rooted once
    RETURN array(
        SELECT DISTINCT x.identity
          FROM (SELECT DISTINCT d.refclassid, d.refobjid
                  FROM unnest(p_classids, p_objids) u(classid, objid)
                 CROSS JOIN LATERAL (SELECT d.refclassid, d.refobjid FROM pg_depend d
                                      WHERE d.classid = u.classid AND d.objid = u.objid
                                        AND d.deptype = ANY (p_deptypes) AND d.refobjid >= 16384
                                        AND d.refobjid <> ALL (p_objids)  -- a table's own constraints and defaults point back at it
                                     OFFSET 0) d) dep
         CROSS JOIN LATERAL pggit._root(dep.refclassid, dep.refobjid) r
         CROSS JOIN LATERAL pggit._ident(r.classid, r.objid) x
         WHERE r.objid IS NOT NULL AND x.identity IS NOT NULL AND x.identity <> p_self
         ORDER BY 1);
END $$;

-- Schema-qualified name of an operator (operator names are not quoted: schema.===).
CREATE FUNCTION pggit._operator_name(p_oid oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT o.oprnamespace::regnamespace::text || '.' || o.oprname FROM pg_operator o WHERE o.oid = p_oid
$$;

-- Kind and identity of a root object (cheap: no definition).
CREATE FUNCTION pggit._ident(p_classid oid, p_objid oid, OUT kind text, OUT identity text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_classid = 'pg_class'::regclass THEN
        SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                              WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'index' END,
               pggit._qname(c.relnamespace, c.relname)
          INTO kind, identity FROM pg_class c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_type'::regclass THEN
        SELECT CASE WHEN t.typtype = 'd' THEN 'domain' ELSE 'type' END, pggit._qname(t.typnamespace, t.typname)
          INTO kind, identity FROM pg_type t WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_proc'::regclass THEN
        SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
               pggit._qname(p.pronamespace, p.proname) || '(' || oidvectortypes(p.proargtypes) || ')'
          INTO kind, identity FROM pg_proc p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_trigger'::regclass THEN
        SELECT 'trigger', quote_ident(t.tgname) || ' on ' || pggit._qname(c.relnamespace, c.relname)
          INTO kind, identity FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_policy'::regclass THEN
        SELECT 'policy', quote_ident(p.polname) || ' on ' || pggit._qname(c.relnamespace, c.relname)
          INTO kind, identity FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_namespace'::regclass THEN
        SELECT 'schema', quote_ident(n.nspname) INTO kind, identity FROM pg_namespace n WHERE n.oid = p_objid;
    ELSIF p_classid = 'pg_extension'::regclass THEN
        SELECT 'extension', quote_ident(e.extname) INTO kind, identity FROM pg_extension e WHERE e.oid = p_objid;
    ELSIF p_classid = 'pg_collation'::regclass THEN
        SELECT 'collation', pggit._qname(c.collnamespace, c.collname) INTO kind, identity FROM pg_collation c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_statistic_ext'::regclass THEN
        SELECT 'statistics', pggit._qname(s.stxnamespace, s.stxname) INTO kind, identity FROM pg_statistic_ext s WHERE s.oid = p_objid;
    ELSIF p_classid = 'pg_publication'::regclass THEN
        SELECT 'publication', quote_ident(p.pubname) INTO kind, identity FROM pg_publication p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_ts_dict'::regclass THEN
        SELECT 'text search dictionary', pggit._qname(d.dictnamespace, d.dictname) INTO kind, identity FROM pg_ts_dict d WHERE d.oid = p_objid;
    ELSIF p_classid = 'pg_ts_config'::regclass THEN
        SELECT 'text search configuration', pggit._qname(c.cfgnamespace, c.cfgname) INTO kind, identity FROM pg_ts_config c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_operator'::regclass THEN
        SELECT 'operator', pggit._operator_name(o.oid) || '(' || CASE WHEN o.oprleft = 0 THEN 'NONE' ELSE format_type(o.oprleft, NULL) END
                           || ', ' || format_type(o.oprright, NULL) || ')'
          INTO kind, identity FROM pg_operator o WHERE o.oid = p_objid;
    ELSIF p_classid = 'pg_cast'::regclass THEN
        SELECT 'cast', '(' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) || ')'
          INTO kind, identity FROM pg_cast c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_event_trigger'::regclass THEN
        SELECT 'event trigger', quote_ident(e.evtname) INTO kind, identity FROM pg_event_trigger e WHERE e.oid = p_objid;
    ELSIF p_classid = 'pg_opclass'::regclass THEN
        SELECT 'operator class', pggit._qname(c.opcnamespace, c.opcname) || ' using ' || quote_ident(a.amname)
          INTO kind, identity FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_opfamily'::regclass THEN
        SELECT 'operator family', pggit._qname(f.opfnamespace, f.opfname) || ' using ' || quote_ident(a.amname)
          INTO kind, identity FROM pg_opfamily f JOIN pg_am a ON a.oid = f.opfmethod WHERE f.oid = p_objid;
    ELSIF p_classid = 'pg_am'::regclass THEN
        SELECT 'access method', quote_ident(a.amname) INTO kind, identity FROM pg_am a WHERE a.oid = p_objid;
    ELSIF p_classid = 'pg_transform'::regclass THEN
        SELECT 'transform', 'for ' || format_type(t.trftype, NULL) || ' language ' || quote_ident(l.lanname)
          INTO kind, identity FROM pg_transform t JOIN pg_language l ON l.oid = t.trflang WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_ts_parser'::regclass THEN
        SELECT 'text search parser', pggit._qname(p.prsnamespace, p.prsname) INTO kind, identity FROM pg_ts_parser p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_ts_template'::regclass THEN
        SELECT 'text search template', pggit._qname(t.tmplnamespace, t.tmplname) INTO kind, identity FROM pg_ts_template t WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_foreign_data_wrapper'::regclass THEN
        SELECT 'foreign data wrapper', quote_ident(w.fdwname) INTO kind, identity FROM pg_foreign_data_wrapper w WHERE w.oid = p_objid;
    ELSIF p_classid = 'pg_foreign_server'::regclass THEN
        SELECT 'server', quote_ident(s.srvname) INTO kind, identity FROM pg_foreign_server s WHERE s.oid = p_objid;
    ELSIF p_classid = 'pg_user_mapping'::regclass THEN
        SELECT 'user mapping', 'for ' || CASE WHEN um.umuser = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END || ' server ' || quote_ident(s.srvname)
          INTO kind, identity
          FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver LEFT JOIN pg_roles r ON r.oid = um.umuser
         WHERE um.oid = p_objid;
    ELSIF p_classid = 'pg_subscription'::regclass THEN
        SELECT 'subscription', quote_ident(s.subname) INTO kind, identity FROM pg_subscription s WHERE s.oid = p_objid;
    ELSIF p_classid = 'pg_rewrite'::regclass THEN
        SELECT 'rule', quote_ident(r.rulename) || ' on ' || pggit._qname(c.relnamespace, c.relname)
          INTO kind, identity FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = p_objid AND r.rulename <> '_RETURN';
    END IF;
    IF identity IS NOT NULL THEN
        identity := kind || ' ' || identity;
    END IF;
END $$;

-- COMMENT ON statement for an object, or '' when it has none.
CREATE FUNCTION pggit._comment_sql(p_target text, p_comment text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_comment IS NULL THEN '' ELSE E'\nCOMMENT ON ' || p_target || ' IS ' || quote_literal(p_comment) || ';' END
$$;

-- Render one column definition from its jsonb description.
CREATE FUNCTION pggit._column_sql(p_col jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT quote_ident(p_col->>'name') || ' ' || (p_col->>'type')
        || coalesce(' COLLATE ' || (p_col->>'collation'), '')
        || CASE WHEN p_col->>'generated' IS NOT NULL
                THEN ' GENERATED ALWAYS AS (' || (p_col->>'generated') || ')'
                     || CASE WHEN p_col->>'generated_kind' = 'v' THEN ' VIRTUAL' ELSE ' STORED' END
                ELSE '' END
        || coalesce(' DEFAULT ' || (p_col->>'default'), '')
        || CASE WHEN p_col->>'identity' IS NOT NULL
                THEN ' GENERATED ' || CASE WHEN p_col->>'identity' = 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END
                     || ' AS IDENTITY (' || (p_col->>'identity_options') || ')'
                ELSE '' END
        || CASE WHEN (p_col->>'notnull')::boolean
                THEN coalesce(' CONSTRAINT ' || quote_ident(p_col->>'notnull_name'), '') || ' NOT NULL'
                ELSE '' END
$$;

-- Sequence parameters as written after CREATE/ALTER SEQUENCE.
CREATE FUNCTION pggit._sequence_options(p_seq oid, p_with_type boolean) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT CASE WHEN p_with_type THEN 'AS ' || format_type(s.seqtypid, NULL) || ' ' ELSE '' END
        || 'START WITH ' || s.seqstart || ' INCREMENT BY ' || s.seqincrement
        || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' CACHE ' || s.seqcache
        || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END
      FROM pg_sequence s WHERE s.seqrelid = p_seq
    );
END $$;

-- ---- 10_owners.sql ----
-- pgGit engine: owners as part of an object's state.
--
-- An object's owner is described relative to the database's owner (pg_database.datdba): an
-- object the database's owner owns (the common case) is described as before; any other owner is
-- recorded in detail.owner (the role's name as the catalog has it) and the definition gets
-- 'ALTER <object> OWNER TO <role>;' (the role through quote_ident) after what creates the object
-- and before its privileges (10_privileges.sql), which are relative to the owner. Sequences owned
-- by a table follow their table (PostgreSQL moves them with it) and record no owner of their own.
-- Repositories turn this off with pggit.configure_owners(false).
-- (The helpers run in every description: like those of 10_privileges.sql they are called only
-- from functions that set search_path, and the SQL ones carry no SET so that they can be inlined.)

-- Are owners part of descriptions here? (meta key 'owners', 'on' unless set to 'off')
CREATE FUNCTION pggit._owners_on() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (PL/pgSQL, not SQL: called once per description, and an SQL function with a sub-select is
    -- planned again at every call)
    RETURN NOT EXISTS (SELECT 1 FROM pggit.meta m WHERE m.key = 'owners' AND m.value = 'off');
END $$;

-- Does a kind of object have an owner the engine records?
CREATE FUNCTION pggit._owner_kind(p_kind text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_kind IN ('table', 'view', 'materialized view', 'sequence', 'foreign table', 'type', 'domain', 'function',
                      'procedure', 'aggregate', 'schema', 'collation', 'conversion', 'operator', 'operator class',
                      'operator family', 'text search dictionary', 'text search configuration', 'foreign data wrapper',
                      'server', 'publication', 'subscription', 'event trigger', 'statistics', 'language')
$$;

-- The live owner of an object, as a role oid; NULL for objects without an owner of their own.
CREATE FUNCTION pggit._owner_oid(p_classid oid, p_objid oid) RETURNS oid
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner oid;
BEGIN
    CASE p_classid
        WHEN 'pg_class'::regclass THEN
            SELECT c.relowner INTO v_owner FROM pg_class c
             WHERE c.oid = p_objid
               -- (a sequence owned by a table follows it)
               AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
                                                     WHERE d.classid = 'pg_class'::regclass AND d.objid = p_objid
                                                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')));
        WHEN 'pg_proc'::regclass THEN SELECT p.proowner INTO v_owner FROM pg_proc p WHERE p.oid = p_objid;
        WHEN 'pg_type'::regclass THEN SELECT t.typowner INTO v_owner FROM pg_type t WHERE t.oid = p_objid;
        WHEN 'pg_namespace'::regclass THEN SELECT n.nspowner INTO v_owner FROM pg_namespace n WHERE n.oid = p_objid;
        WHEN 'pg_collation'::regclass THEN SELECT c.collowner INTO v_owner FROM pg_collation c WHERE c.oid = p_objid;
        WHEN 'pg_conversion'::regclass THEN SELECT c.conowner INTO v_owner FROM pg_conversion c WHERE c.oid = p_objid;
        WHEN 'pg_operator'::regclass THEN SELECT o.oprowner INTO v_owner FROM pg_operator o WHERE o.oid = p_objid;
        WHEN 'pg_opclass'::regclass THEN SELECT o.opcowner INTO v_owner FROM pg_opclass o WHERE o.oid = p_objid;
        WHEN 'pg_opfamily'::regclass THEN SELECT o.opfowner INTO v_owner FROM pg_opfamily o WHERE o.oid = p_objid;
        WHEN 'pg_ts_dict'::regclass THEN SELECT d.dictowner INTO v_owner FROM pg_ts_dict d WHERE d.oid = p_objid;
        WHEN 'pg_ts_config'::regclass THEN SELECT c.cfgowner INTO v_owner FROM pg_ts_config c WHERE c.oid = p_objid;
        WHEN 'pg_foreign_data_wrapper'::regclass THEN SELECT w.fdwowner INTO v_owner FROM pg_foreign_data_wrapper w WHERE w.oid = p_objid;
        WHEN 'pg_foreign_server'::regclass THEN SELECT s.srvowner INTO v_owner FROM pg_foreign_server s WHERE s.oid = p_objid;
        WHEN 'pg_publication'::regclass THEN SELECT p.pubowner INTO v_owner FROM pg_publication p WHERE p.oid = p_objid;
        WHEN 'pg_subscription'::regclass THEN SELECT s.subowner INTO v_owner FROM pg_subscription s WHERE s.oid = p_objid;
        WHEN 'pg_event_trigger'::regclass THEN SELECT e.evtowner INTO v_owner FROM pg_event_trigger e WHERE e.oid = p_objid;
        WHEN 'pg_statistic_ext'::regclass THEN SELECT s.stxowner INTO v_owner FROM pg_statistic_ext s WHERE s.oid = p_objid;
        WHEN 'pg_language'::regclass THEN SELECT l.lanowner INTO v_owner FROM pg_language l WHERE l.oid = p_objid;
        ELSE v_owner := NULL;
    END CASE;
    RETURN v_owner;
END $$;

-- The owner an object records in detail.owner: its owner's name unless that is the database's
-- owner, or pg_database_owner (the role that stands for it: schema public's owner since
-- PostgreSQL 15), or owners are off, or the kind has no owner: then NULL.
CREATE FUNCTION pggit._owner(p_classid oid, p_objid oid, p_kind text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner oid;
BEGIN
    -- (PL/pgSQL with kept plans: runs in every description)
    IF NOT pggit._owner_kind(p_kind) OR NOT pggit._owners_on() THEN
        RETURN NULL;
    END IF;
    v_owner := pggit._owner_oid(p_classid, p_objid);
    IF v_owner IS NULL OR v_owner = 'pg_database_owner'::regrole
       OR v_owner = (SELECT d.datdba FROM pg_database d WHERE d.datname = current_database()) THEN
        RETURN NULL;
    END IF;
    RETURN pg_get_userbyid(v_owner);
END $$;

-- What ALTER ... OWNER TO names an object by ('TABLE public.t', 'FUNCTION public.f(integer)'):
-- a table by its qualified name, any other kind as COMMENT ON names it (detail.comment_on).
CREATE FUNCTION pggit._owner_on(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_kind = 'table' THEN 'TABLE ' || (p_detail->>'qname') ELSE p_detail->>'comment_on' END
$$;

-- One ALTER ... OWNER TO statement (no leading newline); NULL when the object cannot be named.
CREATE FUNCTION pggit._owner_stmt(p_kind text, p_detail jsonb, p_owner text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('ALTER %s OWNER TO %I;', pggit._owner_on(p_kind, p_detail), p_owner)
     WHERE p_owner IS NOT NULL AND pggit._owner_on(p_kind, p_detail) IS NOT NULL
$$;

-- The statement that gives an object back to the database's owner (an object whose state
-- records no owner), named where it runs (a DO block: the database's owner differs between
-- databases).
CREATE FUNCTION pggit._owner_reset_stmt(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'DO ' || quote_literal('BEGIN EXECUTE ' || quote_literal('ALTER ' || pggit._owner_on(p_kind, p_detail) || ' OWNER TO ')
                                  || ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid((SELECT d.datdba FROM pg_catalog.pg_database d'
                                  || ' WHERE d.datname = pg_catalog.current_database()))); END') || ';'
     WHERE pggit._owner_on(p_kind, p_detail) IS NOT NULL
$$;

-- The owner part of a definition: '' when no owner is recorded.
CREATE FUNCTION pggit._owner_sql(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(E'\n' || pggit._owner_stmt(p_kind, p_detail, p_detail->>'owner'), '')
$$;

-- The objects of the live map whose live owner differs from the one HEAD recorded (for REASSIGN
-- OWNED, which would report no object addresses; PostgreSQL 14-18 fire no event trigger for it).
-- One catalog probe per object of a kind with owners.
CREATE FUNCTION pggit._owner_changed(OUT classids oid[], OUT objids oid[])
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(l.classid), '{}'), coalesce(array_agg(l.objid), '{}')
      FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
     WHERE pggit._owner_kind(l.kind)
       AND pggit._owner(l.classid, l.objid, l.kind) IS DISTINCT FROM b.detail->>'owner'
$$;

-- Turn owners in descriptions on or off for this repository (meta key 'owners'); the objects
-- whose description changes take the new form in one commit on HEAD (what had drifted before
-- stays drift). Returns how many objects changed.
CREATE FUNCTION pggit.configure_owners(p_on boolean) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_skip    text[];
    v_descs   pggit.objdesc[];
    v_changes pggit.change[];
BEGIN
    IF p_on IS NULL THEN
        RAISE EXCEPTION 'configure_owners needs true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM pggit.flush();
    IF pggit._owners_on() = p_on THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(d.identity), '{}') INTO v_skip FROM pggit.drift() d;
    INSERT INTO pggit.meta AS m (key, value) VALUES ('owners', CASE WHEN p_on THEN 'on' ELSE 'off' END)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    SELECT array_agg(s.d) INTO v_descs
      FROM (SELECT pggit._describe(r.classid, r.objid) AS d FROM pggit._all_roots() r) s
      LEFT JOIN pggit.live_objects l ON l.identity = (s.d).identity
     WHERE (s.d).identity IS NOT NULL AND NOT (s.d).identity = ANY (v_skip)
       AND l.hash IS DISTINCT FROM pggit._sha256((s.d).definition || E'\n' || (s.d).detail::text);
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), '{}', '{}', '{}', '{}');
    IF v_changes IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pggit._commit_live(v_changes, CASE WHEN p_on THEN 'Owners tracked: objects described with their owners'
                                               ELSE 'Owners not tracked: objects described without their owners' END, v_started);
    RETURN cardinality(v_changes);
END $$;

-- ---- 10_privileges.sql ----
-- pgGit engine: privileges (GRANT / REVOKE) as part of an object's state.
--
-- An object's ACL is described relative to what its owner gets by default (acldefault): a
-- grantee whose privileges differ from the default is recorded in detail.acl as
-- {grantee: [privilege, ...]}, privileges sorted, 'SELECT*' for one held WITH GRANT OPTION and
-- 'UPDATE("col")' for a column privilege. Grantees are 'PUBLIC', 'OWNER' (whoever owns the object)
-- or the role's quoted name (quote_ident, so a role named "PUBLIC" stays apart). The definition
-- text ends with the GRANT and REVOKE statements that turn the default into that ACL. Grantors
-- are not state. Repositories turn this off with pggit.configure_privileges(false).

-- Are privileges part of descriptions here? (meta key 'privileges', 'on' unless set to 'off')
CREATE FUNCTION pggit._privileges_on() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (PL/pgSQL: an SQL function with a sub-select is planned again at every call)
    RETURN NOT EXISTS (SELECT 1 FROM pggit.meta m WHERE m.key = 'privileges' AND m.value = 'off');
END $$;

-- The acldefault object type of a kind with privileges; NULL for kinds without.
CREATE FUNCTION pggit._acl_objtype(p_kind text) RETURNS "char"
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'table' THEN 'r' WHEN 'view' THEN 'r' WHEN 'materialized view' THEN 'r'
                       WHEN 'sequence' THEN 's' WHEN 'function' THEN 'f' WHEN 'procedure' THEN 'f'
                       WHEN 'aggregate' THEN 'f' WHEN 'type' THEN 'T' WHEN 'domain' THEN 'T'
                       WHEN 'schema' THEN 'n' WHEN 'default privileges' THEN 'D' END::"char"
$$;

-- The parts of a default privileges identity: role and schema (quoted; schema NULL for all
-- schemas) and what it is on ('tables', ...).
CREATE FUNCTION pggit._default_acl_parts(p_identity text, OUT role text, OUT schema text, OUT objs text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT m[1], m[2], m[3]
      FROM regexp_match(p_identity, '^default privileges for role ("(?:[^"]|"")*"|[^ "]+)(?: in schema ("(?:[^"]|"")*"|[^ "]+))? on ([a-z]+)$') m
$$;

-- The acldefault object type of a default privileges entry, from its identity.
CREATE FUNCTION pggit._default_acl_objtype(p_identity text) RETURNS "char"
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE substring(p_identity FROM ' on ([a-z]+)$')
                WHEN 'tables' THEN 'r' WHEN 'sequences' THEN 's' WHEN 'functions' THEN 'f'
                WHEN 'types' THEN 'T' WHEN 'schemas' THEN 'n' END::"char"
$$;

-- What GRANT names the object by: 'TABLE public.t', 'FUNCTION public.f(integer)', ...
CREATE FUNCTION pggit._acl_on(p_kind text, p_identity text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_kind = 'default privileges' THEN p_identity
                ELSE CASE WHEN p_kind IN ('table', 'view', 'materialized view') THEN 'TABLE'
                          WHEN p_kind = 'aggregate' THEN 'FUNCTION'
                          ELSE upper(p_kind) END || ' ' || substr(p_identity, length(p_kind) + 2) END
$$;

-- The privileges a grantee ('OWNER', 'PUBLIC' or a role) holds by default on an object of a kind.
CREATE FUNCTION pggit._acl_default(p_kind text, p_identity text, p_grantee text) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (PL/pgSQL with a kept plan: an SQL function this complex is planned again at every
    -- call, and a description with privileges calls it per grantee)
    RETURN (
        SELECT coalesce(array_agg(d.p ORDER BY d.p COLLATE "C"), '{}')
          FROM (SELECT x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS p
                  FROM aclexplode(acldefault(CASE WHEN p_kind = 'default privileges' THEN pggit._default_acl_objtype(p_identity)
                                                  ELSE pggit._acl_objtype(p_kind) END, 10)) x
                 WHERE x.grantee = CASE p_grantee WHEN 'OWNER' THEN 10 WHEN 'PUBLIC' THEN 0 END
                   -- (default privileges for one schema only add to those for all schemas)
                   AND NOT (p_kind = 'default privileges' AND (pggit._default_acl_parts(p_identity)).schema IS NOT NULL)
                -- (the public schema as PostgreSQL makes it: USAGE for everyone, and CREATE before 15)
                UNION SELECT 'USAGE' WHERE p_identity = 'schema public' AND p_grantee = 'PUBLIC'
                UNION SELECT 'CREATE' WHERE p_identity = 'schema public' AND p_grantee = 'PUBLIC'
                                        AND current_setting('server_version_num')::int < 150000) d);
END $$;

-- The live ACL of an object as recorded in detail.acl; NULL when it is the owner's default (or
-- privileges are off, or the kind has none).
CREATE FUNCTION pggit._acl(p_classid oid, p_objid oid, p_kind text, p_identity text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_acl   aclitem[];
    v_owner oid;
    v_cols  boolean := false;
    v_out   jsonb;
BEGIN
    IF pggit._acl_objtype(p_kind) IS NULL OR NOT pggit._privileges_on() THEN
        RETURN NULL;
    END IF;
    IF p_classid = 'pg_class'::regclass THEN
        SELECT c.relacl, c.relowner, c.relkind IN ('r', 'p', 'v', 'm', 'f') INTO v_acl, v_owner, v_cols
          FROM pg_class c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_proc'::regclass THEN
        SELECT p.proacl, p.proowner INTO v_acl, v_owner FROM pg_proc p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_type'::regclass THEN
        SELECT t.typacl, t.typowner INTO v_acl, v_owner FROM pg_type t WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_namespace'::regclass THEN
        SELECT n.nspacl, n.nspowner INTO v_acl, v_owner FROM pg_namespace n WHERE n.oid = p_objid;
    ELSE
        RETURN NULL;
    END IF;
    IF v_owner IS NULL THEN
        RETURN NULL;
    END IF;
    -- (the common case, nothing ever granted or revoked: no ACL at all, costs one more probe)
    IF v_acl IS NULL AND p_identity <> 'schema public'
       AND NOT (v_cols AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p_objid AND a.attnum > 0 AND a.attacl IS NOT NULL)) THEN
        RETURN NULL;
    END IF;
    WITH items AS (
        SELECT x.grantee, x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS priv
          FROM aclexplode(coalesce(v_acl, acldefault(pggit._acl_objtype(p_kind), v_owner))) x
        UNION
        SELECT x.grantee, x.privilege_type || '(' || quote_ident(a.attname) || ')' || CASE WHEN x.is_grantable THEN '*' ELSE '' END
          FROM pg_attribute a CROSS JOIN LATERAL aclexplode(a.attacl) x
         WHERE v_cols AND a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
    ),
    per AS (
        SELECT CASE WHEN i.grantee = 0 THEN 'PUBLIC' WHEN i.grantee = v_owner THEN 'OWNER'
                    ELSE quote_ident(pg_get_userbyid(i.grantee)) END AS g,
               -- (a privilege held both with and without grant option, from two grantors: with)
               array_agg(i.priv ORDER BY i.priv COLLATE "C")
                   FILTER (WHERE NOT EXISTS (SELECT 1 FROM items j WHERE j.grantee = i.grantee AND j.priv = i.priv || '*')) AS privs
          FROM items i GROUP BY 1
    ),
    g AS (
        SELECT d.g FROM (VALUES ('OWNER'), ('PUBLIC')) d(g) UNION SELECT per.g FROM per
    )
    SELECT jsonb_object_agg(g.g, to_jsonb(coalesce(per.privs, '{}')))
      INTO v_out
      FROM g LEFT JOIN per ON per.g = g.g
     WHERE coalesce(per.privs, '{}') IS DISTINCT FROM pggit._acl_default(p_kind, p_identity, g.g);
    RETURN v_out;
END $$;

-- A privilege list as SQL: 'SELECT, UPDATE ("a b", c)' (grant options left out; the column
-- privileges of one kind together).
CREATE FUNCTION pggit._acl_privs_sql(p_privs text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- (PL/pgSQL with a kept plan: an SQL function this complex is planned again at every
    -- call, and a description with privileges calls it per grantee)
    RETURN (
        SELECT string_agg(CASE WHEN g.cols IS NULL THEN g.t ELSE g.t || ' (' || g.cols || ')' END, ', ' ORDER BY g.o)
          FROM (SELECT coalesce(m[1], rtrim(u.p, '*')) AS t, string_agg(m[2], ', ' ORDER BY u.o) AS cols, min(u.o) AS o
                  FROM unnest(p_privs) WITH ORDINALITY u(p, o)
                  LEFT JOIN LATERAL regexp_match(rtrim(u.p, '*'), '^([A-Z ]+)\((.*)\)$') m ON true
                 GROUP BY 1, m[1] IS NULL) g);
END $$;

-- One GRANT or REVOKE of privileges on an object to/from a grantee. The owner is named by what the
-- catalog says when the statement runs (a DO block): the owner differs between databases.
CREATE FUNCTION pggit._acl_stmt(p_verb text, p_privs text[], p_on text, p_grantee text, p_grant_option boolean) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_head text := p_verb || ' ' || pggit._acl_privs_sql(p_privs) || ' ON ' || p_on
                   || CASE WHEN p_verb = 'GRANT' THEN ' TO ' ELSE ' FROM ' END;
    v_tail text := CASE WHEN p_grant_option THEN ' WITH GRANT OPTION' ELSE '' END || ';';
    v_kw   text := split_part(p_on, ' ', 1);
    v_name text := substr(p_on, length(v_kw) + 2);
BEGIN
    IF cardinality(p_privs) IS NULL OR cardinality(p_privs) = 0 THEN
        RETURN '';
    END IF;
    -- (grantees and privileges come from stored descriptions: only the forms the engine writes)
    IF p_grantee IS NULL OR p_grantee !~ '^(OWNER|PUBLIC|"([^"]|"")+"|[a-z_][a-z0-9_$]*)$' THEN
        RAISE EXCEPTION 'not a grantee pgGit writes: %', coalesce(quote_literal(p_grantee), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_privs) p
                WHERE p IS NULL OR p !~ '^[A-Z]+( [A-Z]+)*(\(("([^"]|"")+"|[a-z_][a-z0-9_$]*)\))?\*?$') THEN
        RAISE EXCEPTION 'not a privilege pgGit writes: %', (SELECT string_agg(coalesce(quote_literal(p), 'NULL'), ', ') FROM unnest(p_privs) p)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_on LIKE 'default privileges for role %' THEN
        SELECT 'ALTER DEFAULT PRIVILEGES FOR ROLE ' || x.role || coalesce(' IN SCHEMA ' || x.schema, '') || ' ' || p_verb || ' '
               || pggit._acl_privs_sql(p_privs) || ' ON ' || upper(x.objs)
               || CASE WHEN p_verb = 'GRANT' THEN ' TO ' ELSE ' FROM ' END
               || CASE WHEN p_grantee = 'OWNER' THEN x.role ELSE p_grantee END || v_tail
          INTO v_head FROM pggit._default_acl_parts(p_on) x;
        RETURN v_head;
    END IF;
    IF p_grantee <> 'OWNER' THEN
        RETURN v_head || p_grantee || v_tail;
    END IF;
    RETURN 'DO ' || quote_literal('BEGIN EXECUTE ' || quote_literal(v_head) || ' || quote_ident(('
           || CASE WHEN v_kw IN ('TABLE', 'SEQUENCE') THEN 'SELECT pg_get_userbyid(relowner) FROM pg_catalog.pg_class WHERE oid = '
                                                           || quote_literal(v_name) || '::pg_catalog.regclass'
                   WHEN v_kw IN ('FUNCTION', 'PROCEDURE') THEN 'SELECT pg_get_userbyid(proowner) FROM pg_catalog.pg_proc WHERE oid = '
                                                               || quote_literal(v_name) || '::pg_catalog.regprocedure'
                   WHEN v_kw IN ('TYPE', 'DOMAIN') THEN 'SELECT pg_get_userbyid(typowner) FROM pg_catalog.pg_type WHERE oid = '
                                                        || quote_literal(v_name) || '::pg_catalog.regtype'
                   ELSE 'SELECT pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE oid = '
                        || quote_literal(v_name) || '::pg_catalog.regnamespace' END
           || ')) || ' || quote_literal(v_tail) || '; END') || ';';
END $$;

-- A migration's default privileges statement, run only where the running role may change the
-- default privileges of the entry's role (a superuser always; the shadow database's role only its
-- own): elsewhere a notice says it was skipped.
CREATE FUNCTION pggit._default_acl_guard(p_identity text, p_stmt text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'DO ' || quote_literal(
               'BEGIN IF pg_catalog.pg_has_role(pg_catalog.to_regrole(' || quote_literal(x.role) || '), ''USAGE'') THEN EXECUTE '
               || quote_literal(p_stmt) || '; ELSE RAISE NOTICE ''%'', '
               || quote_literal('pgGit: skipped (the running role may not change the default privileges of ' || x.role || '): ' || p_stmt)
               || '; END IF; END') || ';'
      FROM pggit._default_acl_parts(p_identity) x
$$;

-- The statements that turn privileges p_from into p_to on one object (NULL = the owner's
-- default): per grantee, in name order, the REVOKEs then the GRANTs.
CREATE FUNCTION pggit._acl_diff_sql(p_kind text, p_identity text, p_from jsonb, p_to jsonb) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (PL/pgSQL with a kept plan: an SQL function this complex is planned again at every
    -- call, and a description with privileges calls it per grantee)
    RETURN (
        SELECT coalesce(array_agg(s.stmt ORDER BY s.g COLLATE "C", s.ord) FILTER (WHERE s.stmt <> ''), '{}')
          FROM (
            SELECT k.g, d.def,
                   CASE WHEN nullif(p_from, 'null') ? k.g THEN array(SELECT jsonb_array_elements_text(p_from->k.g)) ELSE d.def END AS o,
                   CASE WHEN nullif(p_to, 'null') ? k.g THEN array(SELECT jsonb_array_elements_text(p_to->k.g)) ELSE d.def END AS n
              FROM (SELECT jsonb_object_keys(coalesce(nullif(p_from, 'null'), '{}')) AS g
                    UNION SELECT jsonb_object_keys(coalesce(nullif(p_to, 'null'), '{}'))) k
             CROSS JOIN LATERAL (SELECT pggit._acl_default(p_kind, p_identity, k.g) AS def) d
          ) x
         CROSS JOIN LATERAL (
            -- (a privilege kept but with its grant option changed is revoked and granted again)
            SELECT 1 AS ord, pggit._acl_stmt('REVOKE', array(SELECT p FROM unnest(x.o) p WHERE NOT p = ANY (x.n) ORDER BY p COLLATE "C"),
                                             pggit._acl_on(p_kind, p_identity), x.g, false) AS stmt, x.g
            UNION ALL
            SELECT 2, pggit._acl_stmt('GRANT', array(SELECT p FROM unnest(x.n) p WHERE NOT p = ANY (x.o) AND p NOT LIKE '%*' ORDER BY p COLLATE "C"),
                                      pggit._acl_on(p_kind, p_identity), x.g, false), x.g
            UNION ALL
            SELECT 3, pggit._acl_stmt('GRANT', array(SELECT p FROM unnest(x.n) p WHERE NOT p = ANY (x.o) AND p LIKE '%*' ORDER BY p COLLATE "C"),
                                      pggit._acl_on(p_kind, p_identity), x.g, true), x.g
         ) s);
END $$;

-- For an object a migration creates while default privileges may be in effect: the statements
-- that take from each grantee those default privileges name what PostgreSQL gave it beyond the
-- owner's default (or took from the owner), so that the object starts from the owner's default.
CREATE FUNCTION pggit._acl_reset_sql(p_kind text, p_identity text, p_grantees text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    -- (everything taken from the others, then each one's default given: PUBLIC's EXECUTE on a
    -- routine, the owner's rights)
    SELECT pggit._acl_diff_sql(p_kind, p_identity,
                               (SELECT jsonb_object_agg(g, to_jsonb(pggit._acl_default(p_kind, p_identity, 'OWNER')))
                                  FROM unnest(p_grantees) g WHERE g <> 'OWNER'),
                               (SELECT jsonb_object_agg(g, '[]'::jsonb) FROM unnest(p_grantees) g WHERE g <> 'OWNER'))
           || pggit._acl_diff_sql(p_kind, p_identity, (SELECT jsonb_object_agg(g, '[]'::jsonb) FROM unnest(p_grantees) g), NULL)
$$;

-- The privilege part of a definition: '' for the owner's default.
CREATE FUNCTION pggit._acl_sql(p_kind text, p_identity text, p_acl jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_acl IS NULL OR p_acl = 'null' THEN ''
                ELSE coalesce((SELECT string_agg(E'\n' || s, '') FROM unnest(pggit._acl_diff_sql(p_kind, p_identity, NULL, p_acl)) s), '') END
$$;

-- A definition without its privilege part and its owner (what creates the object): the owner
-- line (10_owners.sql) comes before the privileges.
CREATE FUNCTION pggit._acl_strip(p_kind text, p_identity text, p_definition text, p_detail jsonb) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_acl text;
BEGIN
    IF p_kind = 'default privileges' THEN
        RETURN '';  -- (nothing but privileges)
    END IF;
    IF (p_detail->'acl' IS NULL AND p_detail->'owner' IS NULL) OR p_definition IS NULL THEN
        RETURN p_definition;
    END IF;
    IF p_detail->'acl' IS NOT NULL THEN
        v_acl := pggit._acl_sql(p_kind, p_identity, p_detail->'acl');
        IF v_acl <> '' AND right(p_definition, length(v_acl)) = v_acl THEN
            p_definition := left(p_definition, length(p_definition) - length(v_acl));
        END IF;
    END IF;
    IF p_detail->'owner' IS NOT NULL THEN
        v_acl := pggit._owner_sql(p_kind, p_detail);
        IF v_acl <> '' AND right(p_definition, length(v_acl)) = v_acl THEN
            p_definition := left(p_definition, length(p_definition) - length(v_acl));
        END IF;
    END IF;
    RETURN p_definition;
END $$;

-- A description with its object's owner and privileges: detail.owner (10_owners.sql) and
-- detail.acl, and the ALTER ... OWNER TO and GRANT/REVOKE statements at the end of the definition
-- (any owner and privileges it held replaced by the live ones).
CREATE FUNCTION pggit._with_acl(p_desc pggit.objdesc) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_acl   jsonb;
    v_owner text;
BEGIN
    IF p_desc IS NULL OR p_desc.identity IS NULL
       OR (pggit._acl_objtype(p_desc.kind) IS NULL AND NOT pggit._owner_kind(p_desc.kind)) THEN
        RETURN p_desc;
    END IF;
    p_desc.definition := pggit._acl_strip(p_desc.kind, p_desc.identity, p_desc.definition, p_desc.detail);
    p_desc.detail := p_desc.detail - 'acl' - 'owner';
    v_owner := pggit._owner(p_desc.classid, p_desc.objid, p_desc.kind);
    IF v_owner IS NOT NULL THEN
        p_desc.detail := p_desc.detail || jsonb_build_object('owner', v_owner);
        p_desc.definition := p_desc.definition || pggit._owner_sql(p_desc.kind, p_desc.detail);
    END IF;
    v_acl := pggit._acl(p_desc.classid, p_desc.objid, p_desc.kind, p_desc.identity);
    IF v_acl IS NOT NULL THEN
        p_desc.definition := p_desc.definition || pggit._acl_sql(p_desc.kind, p_desc.identity, v_acl);
        p_desc.detail := p_desc.detail || jsonb_build_object('acl', v_acl);
    END IF;
    RETURN p_desc;
END $$;

-- The objects HEAD holds whose live privileges differ from what HEAD recorded, and the default
-- privileges entries (every one: few) and the live map's that are gone. GRANT and REVOKE report no
-- object addresses, but the catalog rows they write carry this transaction's id or one of its
-- subtransactions' (which come after it): age(xmin) <= 0. So one pass over each catalog with
-- privileges finds the candidates (rows of transactions that started later and committed are
-- found too, and compared like the rest), and only those are compared with the live map: the
-- cost does not grow with the objects HEAD holds. Drift of privileges made earlier, behind the
-- engine's back, stays drift (pggit.drift()) and is not recorded with this statement.
CREATE FUNCTION pggit._acl_changed(OUT classids oid[], OUT objids oid[], OUT gone_classids oid[], OUT gone_objids oid[])
LANGUAGE plpgsql STABLE SET enable_seqscan = on AS $$
BEGIN
    SELECT array_agg(l.classid), array_agg(l.objid) INTO classids, objids
      FROM (SELECT 'pg_class'::regclass::oid AS classid, c.oid AS objid FROM pg_class c WHERE age(c.xmin) <= 0
            UNION SELECT 'pg_class'::regclass::oid, a.attrelid FROM pg_attribute a WHERE age(a.xmin) <= 0  -- (column privileges)
            UNION SELECT 'pg_proc'::regclass::oid, p.oid FROM pg_proc p WHERE age(p.xmin) <= 0
            UNION SELECT 'pg_type'::regclass::oid, t.oid FROM pg_type t WHERE age(t.xmin) <= 0
            UNION SELECT 'pg_namespace'::regclass::oid, n.oid FROM pg_namespace n WHERE age(n.xmin) <= 0) w
      JOIN pggit.live_objects l ON l.classid = w.classid AND l.objid = w.objid
      JOIN pggit.blobs b ON b.hash = l.hash
     WHERE pggit._acl_objtype(l.kind) IS NOT NULL
       AND pggit._acl(l.classid, l.objid, l.kind, l.identity) IS DISTINCT FROM b.detail->'acl';
    SELECT coalesce(classids, '{}') || coalesce(array_agg(d.classid), '{}'), coalesce(objids, '{}') || coalesce(array_agg(d.objid), '{}')
      INTO classids, objids FROM pggit._default_acl_roots() d;
    SELECT array_agg(l.classid), array_agg(l.objid) INTO gone_classids, gone_objids
      FROM pggit.live_objects l
     WHERE l.kind = 'default privileges'
       AND NOT EXISTS (SELECT 1 FROM pggit._default_acl_roots() d WHERE d.objid = l.objid);
END $$;

-- An object of the live map whose privileges (or owner) changed and nothing else: its recorded
-- description with the live owner and privileges in place of the recorded ones (_with_acl), which
-- costs far less than describing it again. Described in full when the live map does not hold it
-- (a new default privileges entry), its identity changed, or the recorded definition does not end
-- with the privileges and owner its detail records.
CREATE FUNCTION pggit._describe_acl_change(p_classid oid, p_objid oid) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_d pggit.objdesc;
BEGIN
    SELECT l.classid, l.objid, l.kind, l.identity, b.definition, b.detail
      INTO v_d.classid, v_d.objid, v_d.kind, v_d.identity, v_d.definition, v_d.detail
      FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
     WHERE l.classid = p_classid AND l.objid = p_objid;
    IF NOT FOUND OR v_d.kind = 'default privileges'
       OR (SELECT i.identity FROM pggit._ident(p_classid, p_objid) i) IS DISTINCT FROM v_d.identity
       OR ((v_d.detail ? 'acl' OR v_d.detail ? 'owner')
           AND pggit._acl_strip(v_d.kind, v_d.identity, v_d.definition, v_d.detail) = v_d.definition) THEN
        RETURN pggit._describe(p_classid, p_objid);
    END IF;
    RETURN pggit._with_acl(v_d);
END $$;

-- GRANT / REVOKE and ALTER DEFAULT PRIVILEGES (ddl_command_end reports no object addresses for
-- them): what _acl_changed finds takes its live privileges (_describe_acl_change) and is committed
-- as one commit. In absorb mode
-- (the engine's own migrations, which can run many GRANTs) only a flag: _absorb_finish looks once.
-- p_owners (REASSIGN OWNED): the objects whose owner changed too (10_owners.sql).
CREATE FUNCTION pggit._capture_acl(p_mode text, p_owners boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_found   record;
    v_descs   pggit.objdesc[];
    v_changes pggit.change[];
BEGIN
    IF p_mode = 'absorb' THEN
        INSERT INTO pggit.tx_state (xid, key, value) VALUES (pg_current_xact_id(), 'absorb_acl', 'y')
        ON CONFLICT (xid, key) DO NOTHING;
        RETURN;
    END IF;
    v_found := pggit._acl_changed();
    IF p_owners THEN
        SELECT v_found.classids || o.classids, v_found.objids || o.objids INTO v_found.classids, v_found.objids
          FROM pggit._owner_changed() o;
    END IF;
    IF cardinality(v_found.classids) = 0 AND v_found.gone_classids IS NULL THEN
        RETURN;
    END IF;
    SELECT array_agg(d.x) INTO v_descs
      FROM (SELECT DISTINCT ON (u.c, u.o) CASE WHEN p_owners THEN pggit._describe(u.c, u.o) ELSE pggit._describe_acl_change(u.c, u.o) END AS x
              FROM unnest(v_found.classids, v_found.objids) u(c, o)) d
     WHERE (d.x).identity IS NOT NULL;
    -- (only gone default privileges are passed as dropped: an object that no longer describes is
    -- not dropped by a GRANT)
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), '{}', '{}', coalesce(v_found.gone_classids, '{}'),
                                       coalesce(v_found.gone_objids, '{}'));
    IF v_changes IS NULL THEN
        RETURN;
    END IF;
    PERFORM pggit._commit_live(v_changes, coalesce(current_query(), ''), v_started, true);  -- (written by the next reader, after what was captured before)
END $$;

-- Three-way merge of an object whose privileges changed on both sides (or on one side while the
-- rest of it changed on the other): the rest must have changed on at most one side (or the same
-- way on both); privileges merge grantee by grantee and privilege by privilege: the result holds
-- what the base held and neither side revoked, and what either side granted. The result's hash
-- (stored as a blob), or NULL when the rest changed on both sides. The owner (10_owners.sql)
-- merges as one attribute: changed on one side (or the same way on both), or it is a conflict.
CREATE FUNCTION pggit._merge_acl(p_identity text, p_base text, p_source text, p_target text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    b      pggit.blobs;
    s      pggit.blobs;
    t      pggit.blobs;
    v_rest pggit.blobs;
    v_acl  jsonb := '{}';
    v_g    text;
    v_def  text;
    v_hash text;
    v_owner text;
BEGIN
    SELECT * INTO b FROM pggit.blobs x WHERE x.hash = p_base;
    SELECT * INTO s FROM pggit.blobs x WHERE x.hash = p_source;
    SELECT * INTO t FROM pggit.blobs x WHERE x.hash = p_target;
    IF b.hash IS NULL OR s.hash IS NULL OR t.hash IS NULL OR s.kind <> b.kind OR t.kind <> b.kind
       OR (pggit._acl_objtype(b.kind) IS NULL AND NOT pggit._owner_kind(b.kind)) THEN
        RETURN NULL;
    END IF;
    IF s.detail->'owner' IS NOT DISTINCT FROM b.detail->'owner' OR s.detail->'owner' IS NOT DISTINCT FROM t.detail->'owner' THEN
        v_owner := t.detail->>'owner';
    ELSIF t.detail->'owner' IS NOT DISTINCT FROM b.detail->'owner' THEN
        v_owner := s.detail->>'owner';
    ELSE
        RETURN NULL;  -- (the owner changed two ways)
    END IF;
    b.definition := pggit._acl_strip(b.kind, p_identity, b.definition, b.detail); b.detail := b.detail - 'acl' - 'owner';
    s.definition := pggit._acl_strip(s.kind, p_identity, s.definition, s.detail); s.detail := s.detail - 'acl' - 'owner';
    t.definition := pggit._acl_strip(t.kind, p_identity, t.definition, t.detail); t.detail := t.detail - 'acl' - 'owner';
    IF (s.definition, s.detail) = (b.definition, b.detail) OR (s.definition, s.detail) = (t.definition, t.detail) THEN
        v_rest := t;
    ELSIF (t.definition, t.detail) = (b.definition, b.detail) THEN
        v_rest := s;
    ELSE
        RETURN NULL;
    END IF;
    -- (detail.acl of the three, read again from the stored blobs)
    FOR v_g IN SELECT k FROM pggit.blobs x, jsonb_object_keys(coalesce(x.detail->'acl', '{}')) k
                WHERE x.hash IN (p_base, p_source, p_target) GROUP BY k LOOP
        DECLARE
            v_dflt text[] := pggit._acl_default(b.kind, p_identity, v_g);
            bv text[] := coalesce((SELECT array(SELECT jsonb_array_elements_text(x.detail->'acl'->v_g)) FROM pggit.blobs x
                                    WHERE x.hash = p_base AND x.detail->'acl' ? v_g), v_dflt);
            sv text[] := coalesce((SELECT array(SELECT jsonb_array_elements_text(x.detail->'acl'->v_g)) FROM pggit.blobs x
                                    WHERE x.hash = p_source AND x.detail->'acl' ? v_g), v_dflt);
            tv text[] := coalesce((SELECT array(SELECT jsonb_array_elements_text(x.detail->'acl'->v_g)) FROM pggit.blobs x
                                    WHERE x.hash = p_target AND x.detail->'acl' ? v_g), v_dflt);
            rv text[];
        BEGIN
            -- privilege by privilege: what the base had and neither side revoked, and what either granted
            rv := array(SELECT p FROM (SELECT p FROM unnest(bv) p WHERE p = ANY (sv) AND p = ANY (tv)
                                       UNION SELECT p FROM unnest(sv) p WHERE NOT p = ANY (bv)
                                       UNION SELECT p FROM unnest(tv) p WHERE NOT p = ANY (bv)) x
                         ORDER BY p COLLATE "C");
            IF rv IS DISTINCT FROM v_dflt THEN
                v_acl := v_acl || jsonb_build_object(v_g, to_jsonb(rv));
            END IF;
        END;
    END LOOP;
    IF v_acl = '{}' THEN
        v_acl := NULL;
    END IF;
    IF v_owner IS NOT NULL THEN
        v_rest.detail := v_rest.detail || jsonb_build_object('owner', v_owner);
    END IF;
    v_def := v_rest.definition || pggit._owner_sql(b.kind, v_rest.detail) || pggit._acl_sql(b.kind, p_identity, v_acl);
    IF b.kind = 'default privileges' THEN
        v_def := substr(v_def, 2);  -- (as _describe_default_acl writes it: no leading newline)
        v_acl := coalesce(v_acl, '{}');
    END IF;
    v_rest.detail := v_rest.detail || CASE WHEN v_acl IS NULL THEN '{}' ELSE jsonb_build_object('acl', v_acl) END;
    v_hash := pggit._sha256(v_def || E'\n' || v_rest.detail::text);
    INSERT INTO pggit.blobs AS bl (hash, kind, definition, detail) VALUES (v_hash, b.kind, v_def, v_rest.detail)
    ON CONFLICT ON CONSTRAINT blobs_pkey DO NOTHING;
    RETURN v_hash;
END $$;

-- Turn privileges in descriptions on or off for this repository (meta key 'privileges'); the
-- objects whose description changes take the new form in one commit on HEAD (default privileges
-- leave HEAD when turned off; what had drifted before stays drift). Returns how many objects
-- changed.
CREATE FUNCTION pggit.configure_privileges(p_on boolean) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_skip    text[];
    v_descs   pggit.objdesc[];
    v_gone_c  oid[];
    v_gone_o  oid[];
    v_changes pggit.change[];
BEGIN
    IF p_on IS NULL THEN
        RAISE EXCEPTION 'configure_privileges needs true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM pggit.flush();
    IF pggit._privileges_on() = p_on THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(d.identity), '{}') INTO v_skip FROM pggit.drift() d;
    INSERT INTO pggit.meta AS m (key, value) VALUES ('privileges', CASE WHEN p_on THEN 'on' ELSE 'off' END)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    SELECT array_agg(s.d) INTO v_descs
      FROM (SELECT pggit._describe(r.classid, r.objid) AS d FROM pggit._all_roots() r) s
      LEFT JOIN pggit.live_objects l ON l.identity = (s.d).identity
     WHERE (s.d).identity IS NOT NULL AND NOT (s.d).identity = ANY (v_skip)
       AND l.hash IS DISTINCT FROM pggit._sha256((s.d).definition || E'\n' || (s.d).detail::text);
    SELECT array_agg(l.classid), array_agg(l.objid) INTO v_gone_c, v_gone_o
      FROM pggit.live_objects l
     WHERE NOT p_on AND l.kind = 'default privileges' AND NOT l.identity = ANY (v_skip);
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), '{}', '{}', coalesce(v_gone_c, '{}'), coalesce(v_gone_o, '{}'));
    IF v_changes IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pggit._commit_live(v_changes, CASE WHEN p_on THEN 'Privileges tracked: objects described with their GRANTs'
                                               ELSE 'Privileges not tracked: objects described without their GRANTs' END, v_started);
    RETURN cardinality(v_changes);
END $$;

-- Default privileges (ALTER DEFAULT PRIVILEGES, pg_default_acl) are objects of their own, kind
-- 'default privileges', identity 'default privileges for role r [in schema s] on tables' (on
-- sequences, functions, types, schemas); 'OWNER' is role r. An entry for all schemas is
-- described relative to PostgreSQL's built-in defaults (acldefault), one for a schema relative to
-- nothing (it can only add). Their definition is only the ALTER DEFAULT PRIVILEGES statements.

-- The default privileges entries in tracked schemas (or for all schemas), as catalog addresses.
CREATE FUNCTION pggit._default_acl_roots() RETURNS TABLE (classid oid, objid oid)
LANGUAGE sql STABLE AS $$
    SELECT 'pg_default_acl'::regclass::oid, d.oid
      FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
     WHERE pggit._privileges_on() AND d.defaclobjtype IN ('r', 'S', 'f', 'T', 'n')
       AND (d.defaclnamespace = 0 OR pggit._tracked_schema(n.nspname))
$$;

-- Describe one default privileges entry; NULL when it does not exist, is not tracked or
-- privileges are off.
CREATE FUNCTION pggit._describe_default_acl(p_objid oid) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_ident text;
    v_role  oid;
    v_nsp   text;
    v_acl   jsonb;
BEGIN
    SELECT 'default privileges for role ' || quote_ident(pg_get_userbyid(d.defaclrole))
           || coalesce(' in schema ' || quote_ident(n.nspname), '') || ' on '
           || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                   WHEN 'T' THEN 'types' ELSE 'schemas' END,
           d.defaclrole, n.nspname
      INTO v_ident, v_role, v_nsp
      FROM pggit._default_acl_roots() r JOIN pg_default_acl d ON d.oid = r.objid
      LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
     WHERE r.objid = p_objid;
    IF v_ident IS NULL THEN
        RETURN NULL;
    END IF;
    WITH per AS (
        SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' WHEN x.grantee = v_role THEN 'OWNER'
                    ELSE quote_ident(pg_get_userbyid(x.grantee)) END AS g,
               array_agg(DISTINCT x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END)
                   FILTER (WHERE x.is_grantable OR NOT EXISTS (SELECT 1 FROM pg_default_acl d2 CROSS JOIN LATERAL aclexplode(d2.defaclacl) y
                                                               WHERE d2.oid = p_objid AND y.grantee = x.grantee
                                                                 AND y.privilege_type = x.privilege_type AND y.is_grantable)) AS privs
          FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) x
         WHERE d.oid = p_objid GROUP BY 1
    ),
    g AS (SELECT d.g FROM (VALUES ('OWNER'), ('PUBLIC')) d(g) UNION SELECT per.g FROM per)
    SELECT jsonb_object_agg(g.g, to_jsonb(coalesce((SELECT array_agg(p ORDER BY p COLLATE "C") FROM unnest(per.privs) p), '{}')))
      INTO v_acl
      FROM g LEFT JOIN per ON per.g = g.g
     WHERE coalesce((SELECT array_agg(p ORDER BY p COLLATE "C") FROM unnest(per.privs) p), '{}')
           IS DISTINCT FROM pggit._acl_default('default privileges', v_ident, g.g);
    RETURN ROW('pg_default_acl'::regclass, p_objid, 'default privileges', v_ident,
               substr(pggit._acl_sql('default privileges', v_ident, coalesce(v_acl, '{}')), 2),
               jsonb_strip_nulls(jsonb_build_object('acl', coalesce(v_acl, '{}'),
                                                    'deps', CASE WHEN v_nsp IS NOT NULL THEN jsonb_build_array('schema ' || quote_ident(v_nsp)) END))
              )::pggit.objdesc;
END $$;

-- ---- 11_describe.sql ----
-- pgGit engine: canonical definition of one tracked object, read from the catalogs.

-- Defaults and NOT NULL of a typed table's columns (CREATE TABLE ... OF type makes them
-- without). p_late: the defaults that call user functions (set once those exist) only.
CREATE FUNCTION pggit._typed_column_sql(p_detail jsonb, p_late boolean) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(x.stmt ORDER BY c.n, x.k), '{}')
      FROM jsonb_array_elements(p_detail->'columns') WITH ORDINALITY c(col, n)
     CROSS JOIN LATERAL (
           SELECT 1 AS k, 'ALTER TABLE ONLY ' || (p_detail->>'qname') || ' ALTER COLUMN ' || quote_ident(c.col->>'name')
                          || ' SET NOT NULL;' AS stmt
            WHERE (c.col->>'notnull')::boolean AND NOT p_late
           UNION ALL
           SELECT 2, 'ALTER TABLE ONLY ' || (p_detail->>'qname') || ' ALTER COLUMN ' || quote_ident(c.col->>'name')
                     || ' SET DEFAULT ' || (c.col->>'default') || ';'
            WHERE c.col ? 'default' AND (c.col ? 'late_default') = p_late) x
$$;

-- The indexes attached to a partitioned index that is not valid, made and attached: each one
-- made for its own partitions too, or, not valid itself, made ON ONLY with its own attached.
CREATE FUNCTION pggit._attached_indexes_sql(p_index oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(
               E'\n' || CASE WHEN c.relkind = 'I' AND NOT x.indisvalid
                             THEN pg_get_indexdef(c.oid) || ';' || pggit._attached_indexes_sql(c.oid)
                             ELSE regexp_replace(pg_get_indexdef(c.oid), ' ON ONLY ', ' ON ') || ';' END
               || E'\nALTER INDEX ' || pggit._qname(pc.relnamespace, pc.relname) || ' ATTACH PARTITION '
               || pggit._qname(c.relnamespace, c.relname) || ';',
               '' ORDER BY c.relnamespace::regnamespace::text, c.relname), '')
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_index x ON x.indexrelid = c.oid
      JOIN pg_class pc ON pc.oid = i.inhparent
     WHERE i.inhparent = p_index
$$;

-- ATTACH PARTITION of a table made on its own and attached (detail "attached"), or NULL.
CREATE FUNCTION pggit._attach_sql(p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'ALTER TABLE ' || (p_detail->>'partition_of') || ' ATTACH PARTITION ' || (p_detail->>'qname') || ' '
           || (p_detail->>'bound') || ';'
     WHERE p_detail ? 'partition_of' AND (p_detail->>'attached')::boolean
$$;

-- The word SET STORAGE takes for an attstorage/typstorage letter.
CREATE FUNCTION pggit._storage_word(p_storage "char") RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_storage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END
$$;

-- SET STORAGE / SET COMPRESSION statements for a table's columns that have them (ONLY: a
-- parent's setting does not reach its children).
CREATE FUNCTION pggit._column_storage_sql(p_detail jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(x.stmt ORDER BY c.n, x.k), '{}')
      FROM jsonb_array_elements(p_detail->'columns') WITH ORDINALITY c(col, n)
     CROSS JOIN LATERAL (
           SELECT 1 AS k, 'ALTER TABLE ONLY ' || (p_detail->>'qname') || ' ALTER COLUMN ' || quote_ident(c.col->>'name')
                          || ' SET STORAGE ' || (c.col->>'storage') || ';' AS stmt
            WHERE c.col ? 'storage'
           UNION ALL
           SELECT 2, 'ALTER TABLE ONLY ' || (p_detail->>'qname') || ' ALTER COLUMN ' || quote_ident(c.col->>'name')
                     || ' SET COMPRESSION ' || (c.col->>'compression') || ';'
            WHERE c.col ? 'compression') x
$$;

-- Is an option of a foreign data wrapper, server or user mapping (or a connection string's
-- keyword) a secret? Those are not stored: password, passwd, secret, token and the like.
CREATE FUNCTION pggit._secret_option(p_name text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(p_name) ~ '(password|passwd|passphrase|secret|token|credential|api_?key|private_?key)'
$$;

-- ' OPTIONS (name 'value', ...)' of a generic options array (name=value items), without the
-- secrets, or ''.
CREATE FUNCTION pggit._options_sql(p_options text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(' OPTIONS (' || string_agg(quote_ident(split_part(o, '=', 1)) || ' '
                                              || quote_literal(substr(o, strpos(o, '=') + 1)), ', ' ORDER BY i) || ')', '')
      FROM unnest(p_options) WITH ORDINALITY u(o, i)
     WHERE NOT pggit._secret_option(split_part(o, '=', 1))
$$;

-- A subscription's connection string without its secrets (password=... in key/value form, the
-- password of a URI and its password parameter).
CREATE FUNCTION pggit._conninfo_without_secrets(p_conninfo text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_conninfo ~* '^postgres(ql)?://'
                THEN regexp_replace(regexp_replace(p_conninfo, '^(postgres(ql)?://[^:@/?]*):[^@/?]*@', '\1@', 'i'),
                                    '([?&])[a-z_]*(password|passwd|secret|token)[a-z_]*=[^&]*&?', '\1', 'gi')
                ELSE btrim(regexp_replace(p_conninfo,
                                          '(^|\s)[a-z_]*(password|passwd|secret|token)[a-z_]*\s*=\s*(''([^''\\]|\\.)*''|\S+)', '', 'gi')) END
$$;

-- A foreign table's definition: columns (type, column options, collation, default, NOT NULL),
-- checks, server and options; inherited or partition of another table.
CREATE FUNCTION pggit._foreign_table_sql(p_objid oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'CREATE FOREIGN TABLE ' || pggit._qname(c.relnamespace, c.relname)
           || CASE WHEN c.relispartition THEN
                  ' PARTITION OF ' || (SELECT pggit._qname(pc.relnamespace, pc.relname) FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                                        WHERE i.inhrelid = c.oid)
                  || ' ' || pg_get_expr(c.relpartbound, c.oid)
              ELSE
                  ' (' || coalesce(E'\n    ' || (
                      SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                                        || pggit._options_sql(a.attfdwoptions)
                                        || CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                                               ' COLLATE ' || (SELECT pggit._qname(co.collnamespace, co.collname) FROM pg_collation co WHERE co.oid = a.attcollation)
                                               ELSE '' END
                                        || coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                                        || CASE WHEN a.attnotnull THEN coalesce(' CONSTRAINT ' || quote_ident(nn.conname), '') || ' NOT NULL' ELSE '' END,
                                        E',\n    ' ORDER BY a.attnum)
                        FROM pg_attribute a
                        JOIN pg_type t ON t.oid = a.atttypid
                        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                        LEFT JOIN pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey = ARRAY[a.attnum]
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attislocal), '')
                  || coalesce((SELECT string_agg(E',\n    CONSTRAINT ' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid), '' ORDER BY con.conname)
                                 FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'c' AND con.conislocal), '')
                  || E'\n)'
                  || coalesce(' INHERITS (' || (SELECT string_agg(pggit._qname(pc.relnamespace, pc.relname), ', ' ORDER BY i.inhseqno)
                                                 FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent WHERE i.inhrelid = c.oid) || ')', '')
              END
           || ' SERVER ' || quote_ident(s.srvname) || pggit._options_sql(ft.ftoptions) || ';'
           -- (a partition's columns are its parent's: their options and defaults come after)
           || CASE WHEN c.relispartition THEN coalesce((
                  SELECT string_agg(E'\nALTER FOREIGN TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ALTER COLUMN ' || quote_ident(a.attname)
                                    || ' OPTIONS (' || substr(pggit._options_sql(a.attfdwoptions), 11), '' ORDER BY a.attnum)
                    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND pggit._options_sql(a.attfdwoptions) <> ''), '')
              ELSE '' END
           || coalesce((SELECT string_agg(pggit._comment_sql('COLUMN ' || pggit._qname(c.relnamespace, c.relname) || '.' || quote_ident(a.attname),
                                                             col_description(a.attrelid, a.attnum)), '' ORDER BY a.attnum)
                          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
      FROM pg_class c
      JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
      JOIN pg_foreign_server s ON s.oid = ft.ftserver
     WHERE c.oid = p_objid
$$;

-- A base type's definition: its shell, its input, output, receive and send functions (which
-- belong to it), then the type with every option pg_dump writes.
CREATE FUNCTION pggit._base_type_sql(p_objid oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'CREATE TYPE ' || pggit._qname(t.typnamespace, t.typname) || ';'
           || coalesce((SELECT string_agg(E'\n' || rtrim(pg_get_functiondef(f.f), E'\n ') || ';'
                                          || pggit._comment_sql('FUNCTION ' || f.f::regprocedure::text, obj_description(f.f, 'pg_proc')),
                                          '' ORDER BY f.i)
                          FROM unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::oid[]) WITH ORDINALITY f(f, i)
                          JOIN pg_proc p ON p.oid = f.f
                         WHERE f.f <> 0 AND p.oid >= 16384 AND t.oid IN (p.prorettype, p.proargtypes[0])
                           AND f.i = (SELECT min(g.i) FROM unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::oid[]) WITH ORDINALITY g(f, i)
                                       WHERE g.f = f.f)), '')
           || E'\nCREATE TYPE ' || pggit._qname(t.typnamespace, t.typname) || ' ('
           || 'INTERNALLENGTH = ' || CASE WHEN t.typlen = -1 THEN 'variable' ELSE t.typlen::text END
           || ', INPUT = ' || t.typinput::regproc::text || ', OUTPUT = ' || t.typoutput::regproc::text
           || CASE WHEN t.typreceive <> 0 THEN ', RECEIVE = ' || t.typreceive::regproc::text ELSE '' END
           || CASE WHEN t.typsend <> 0 THEN ', SEND = ' || t.typsend::regproc::text ELSE '' END
           || CASE WHEN t.typmodin <> 0 THEN ', TYPMOD_IN = ' || t.typmodin::regproc::text ELSE '' END
           || CASE WHEN t.typmodout <> 0 THEN ', TYPMOD_OUT = ' || t.typmodout::regproc::text ELSE '' END
           || CASE WHEN t.typanalyze <> 0 THEN ', ANALYZE = ' || t.typanalyze::regproc::text ELSE '' END
           || CASE WHEN coalesce((j->>'typsubscript')::regproc::oid, 0) <> 0 THEN ', SUBSCRIPT = ' || (j->>'typsubscript')::regproc::text ELSE '' END
           || CASE WHEN t.typbyval THEN ', PASSEDBYVALUE' ELSE '' END
           || ', ALIGNMENT = ' || CASE t.typalign WHEN 'c' THEN 'char' WHEN 's' THEN 'int2' WHEN 'i' THEN 'int4' ELSE 'double' END
           || ', STORAGE = ' || lower(pggit._storage_word(t.typstorage))
           || CASE WHEN t.typcategory <> 'U' THEN ', CATEGORY = ' || quote_literal(t.typcategory::text) ELSE '' END
           || CASE WHEN t.typispreferred THEN ', PREFERRED = true' ELSE '' END
           || coalesce(', DEFAULT = ' || quote_literal(t.typdefault), '')
           || CASE WHEN t.typelem <> 0 THEN ', ELEMENT = ' || format_type(t.typelem, NULL) ELSE '' END
           || CASE WHEN t.typdelim <> ',' THEN ', DELIMITER = ' || quote_literal(t.typdelim::text) ELSE '' END
           || CASE WHEN t.typcollation <> 0 THEN ', COLLATABLE = true' ELSE '' END
           || ');'
      FROM pg_type t, to_jsonb(t) j WHERE t.oid = p_objid
$$;

-- The members of an operator class or family (p_class: those its operator class made, else
-- those added to the family on their own) as CREATE OPERATOR CLASS / ALTER OPERATOR FAMILY
-- items: operators by strategy, then functions by number.
CREATE FUNCTION pggit._opfamily_items(p_classid oid, p_objid oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT string_agg(x.item, ', ' ORDER BY x.k, x.n, x.l, x.r)
      FROM (
        SELECT 1 AS k, ao.amopstrategy::int AS n, format_type(ao.amoplefttype, NULL) AS l, format_type(ao.amoprighttype, NULL) AS r,
               'OPERATOR ' || ao.amopstrategy || ' ' || pggit._operator_name(ao.amopopr)
               || '(' || format_type(ao.amoplefttype, NULL) || ', ' || format_type(ao.amoprighttype, NULL) || ')'
               || CASE WHEN ao.amoppurpose = 'o' THEN ' FOR ORDER BY ' || (SELECT pggit._qname(f.opfnamespace, f.opfname) FROM pg_opfamily f WHERE f.oid = ao.amopsortfamily)
                       ELSE '' END AS item
          FROM pg_amop ao JOIN pg_depend d ON d.classid = 'pg_amop'::regclass AND d.objid = ao.oid
                                          AND d.refclassid = p_classid AND d.refobjid = p_objid AND d.deptype IN ('a', 'i')
        UNION ALL
        SELECT 2, ap.amprocnum::int, format_type(ap.amproclefttype, NULL), format_type(ap.amprocrighttype, NULL),
               'FUNCTION ' || ap.amprocnum || ' (' || format_type(ap.amproclefttype, NULL) || ', ' || format_type(ap.amprocrighttype, NULL) || ') '
               || ap.amproc::regprocedure::text
          FROM pg_amproc ap JOIN pg_depend d ON d.classid = 'pg_amproc'::regclass AND d.objid = ap.oid
                                            AND d.refclassid = p_classid AND d.refobjid = p_objid AND d.deptype IN ('a', 'i')
      ) x
$$;

-- A table's definition text and its CREATE TABLE statement (without late defaults, kept for
-- migrations), rendered from its detail alone: describing a table and merging two versions of
-- one (the union strategy) render the same way.
CREATE FUNCTION pggit._table_text(p_detail jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_q      text := p_detail->>'qname';
    v_create text;
    v_full   text;
    v_head   text;
    v_tail   text;
    v_inh    text := (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(p_detail->'inherits') x);
    v_opts   text := (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(p_detail->'options') x);
    v_unlogged text := CASE WHEN p_detail->>'persistence' = 'u' THEN 'UNLOGGED ' ELSE '' END;
    v_using  text := coalesce(' USING ' || (p_detail->>'access_method'), '');
BEGIN
    IF p_detail ? 'partition_of' AND (p_detail->>'attached')::boolean THEN
        -- a table made on its own and attached as a partition (its columns differ from what
        -- PARTITION OF would give it: order, defaults, NOT NULL): made
        -- again that way, with its own column order, defaults and NOT NULL, then attached
        v_head := 'CREATE ' || v_unlogged || 'TABLE ' || v_q || ' (';
        v_tail := E'\n)' || coalesce(' PARTITION BY ' || (p_detail->>'partition_key'), '')
               || v_using || coalesce(' WITH (' || v_opts || ')', '') || ';';
        SELECT string_agg(pggit._column_sql(c), E',\n    '),
               string_agg(pggit._column_sql(CASE WHEN c ? 'late_default' THEN c - 'default' ELSE c END), E',\n    ')
          INTO v_full, v_create
          FROM jsonb_array_elements(p_detail->'columns') c;
        v_full := v_head || coalesce(E'\n    ' || v_full, '') || v_tail
               || E'\n' || pggit._attach_sql(p_detail);
        v_create := v_head || coalesce(E'\n    ' || v_create, '') || v_tail;
    ELSIF p_detail ? 'of_type' AND NOT p_detail ? 'partition_of' THEN
        -- a typed table: its columns are the type's; their defaults and NOT NULL come after
        v_create := 'CREATE ' || v_unlogged || 'TABLE ' || v_q || ' OF ' || (p_detail->>'of_type')
                 || coalesce(' PARTITION BY ' || (p_detail->>'partition_key'), '')
                 || v_using || coalesce(' WITH (' || v_opts || ')', '') || ';';
        v_full := v_create || coalesce((SELECT string_agg(E'\n' || x, '') FROM unnest(pggit._typed_column_sql(p_detail, false)) x), '');
    ELSIF p_detail ? 'partition_of' THEN
        v_create := 'CREATE ' || v_unlogged || 'TABLE ' || v_q || ' PARTITION OF ' || (p_detail->>'partition_of')
                 || ' ' || (p_detail->>'bound')
                 || coalesce(' PARTITION BY ' || (p_detail->>'partition_key'), '')
                 || v_using || coalesce(' WITH (' || v_opts || ')', '') || ';';
        v_full := v_create;
    ELSE
        v_head := 'CREATE ' || v_unlogged || 'TABLE ' || v_q || ' (';
        v_tail := E'\n)' || coalesce(' INHERITS (' || v_inh || ')', '')
               || coalesce(' PARTITION BY ' || (p_detail->>'partition_key'), '')
               || v_using || coalesce(' WITH (' || v_opts || ')', '') || ';';
        SELECT string_agg(pggit._column_sql(c), E',\n    ') INTO v_full
          FROM jsonb_array_elements(p_detail->'columns') c WHERE (c->>'local')::boolean;
        v_create := v_full;
        IF jsonb_path_exists(p_detail->'columns', '$[*] ? (@.late_default == true)') THEN
            -- (the text that creates the table before functions exist leaves late defaults out)
            SELECT string_agg(pggit._column_sql(CASE WHEN c ? 'late_default' THEN c - 'default' ELSE c END), E',\n    ') INTO v_create
              FROM jsonb_array_elements(p_detail->'columns') c WHERE (c->>'local')::boolean;
        END IF;
        v_full := v_head || coalesce(E'\n    ' || v_full, '') || v_tail;
        v_create := v_head || coalesce(E'\n    ' || v_create, '') || v_tail;
    END IF;
    v_full := v_full
           || coalesce((SELECT string_agg(E'\nALTER TABLE ' || v_q || ' ADD CONSTRAINT ' || quote_ident(c->>'name') || ' ' || (c->>'def') || ';', '')
                          FROM jsonb_array_elements(p_detail->'constraints') c), '')
           || CASE WHEN (p_detail->>'rls')::boolean THEN E'\nALTER TABLE ' || v_q || ' ENABLE ROW LEVEL SECURITY;' ELSE '' END
           || CASE WHEN (p_detail->>'force_rls')::boolean THEN E'\nALTER TABLE ' || v_q || ' FORCE ROW LEVEL SECURITY;' ELSE '' END
           || coalesce((SELECT string_agg(E'\nALTER SEQUENCE ' || (o->>'sequence') || ' OWNED BY ' || v_q || '.' || quote_ident(o->>'column') || ';', '')
                          FROM jsonb_array_elements(p_detail->'owned') o), '')
           || CASE WHEN jsonb_path_exists(p_detail->'columns', '$[*] ? (exists(@.storage) || exists(@.compression))')
                   THEN coalesce((SELECT string_agg(E'\n' || x, '') FROM unnest(pggit._column_storage_sql(p_detail)) x), '')
                   ELSE '' END
           || pggit._comment_sql('TABLE ' || v_q, p_detail->>'comment')
           -- (last: _describe_column_comment replaces this tail of a recorded text)
           || pggit._column_comments_sql(p_detail)
           || pggit._constraint_comments_sql(p_detail);
    RETURN ARRAY[v_full, v_create];
END $$;

-- Describe a table (or partitioned table). (Per column, only what the column has is looked up:
-- a table of 1,000 columns without defaults costs no pg_depend lookup per column.)
CREATE FUNCTION pggit._describe_table(p_objid oid) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_rel    record;
    v_q      text;
    v_ident  text;
    v_cols   jsonb;
    v_cons   jsonb;
    v_owned  jsonb;
    v_parent text;
    v_inh    text[];
    v_sql    text[];
    v_deps   text[];
    v_fkdeps text[];
    v_detail jsonb;
    v_create text;
    v_full   text;
    v_latedeps text[];
    v_head   text;
    v_tail   text;
    v_has_nn boolean := current_setting('server_version_num')::int >= 180000;
    v_attached boolean;
BEGIN
    SELECT c.oid, c.relname, c.relnamespace, c.relkind, c.relpersistence, c.relispartition,
           c.relrowsecurity, c.relforcerowsecurity,
           CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END AS oftype,
           -- the table's storage parameters, then its TOAST table's (as toast.name=value)
           CASE WHEN c.reltoastrelid = 0 THEN c.reloptions
                ELSE (SELECT CASE WHEN tc.reloptions IS NULL THEN c.reloptions
                                  ELSE coalesce(c.reloptions, '{}') || array(SELECT 'toast.' || x FROM unnest(tc.reloptions) x) END
                        FROM pg_class tc WHERE tc.oid = c.reltoastrelid) END AS reloptions,
           pggit._qname(c.relnamespace, c.relname) AS q,
           -- (a table access method other than heap: CREATE TABLE ... USING)
           (SELECT quote_ident(am.amname) FROM pg_am am WHERE am.oid = c.relam AND am.amname <> 'heap') AS am,
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
           CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
           (SELECT d.description FROM pg_description d
             WHERE d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0) AS comment
      INTO v_rel FROM pg_class c WHERE c.oid = p_objid;
    IF NOT FOUND THEN RETURN NULL; END IF;
    v_q := v_rel.q;
    v_ident := 'table ' || v_q;

    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'name', a.attname,
               'type', format_type(a.atttypid, a.atttypmod),
               'collation', CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                   (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                      FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                     WHERE co.oid = a.attcollation) END,
               'notnull', a.attnotnull,
               'notnull_name', CASE WHEN v_has_nn AND a.attnotnull THEN
                   (SELECT nn.conname FROM pg_constraint nn
                     WHERE nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum
                       AND nn.conname <> left(v_rel.relname || '_' || a.attname || '_not_null', 63)) END,
               'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
               -- a default that calls a user function is set after functions exist (the function
               -- may read this very table: a dependency cycle that pg_dump breaks the same way)
               'late_default', CASE WHEN ad.oid IS NOT NULL AND a.attgenerated = '' AND EXISTS (
                   SELECT 1 FROM pg_depend dd WHERE dd.classid = 'pg_attrdef'::regclass AND dd.objid = ad.oid
                      AND dd.refclassid = 'pg_proc'::regclass AND dd.refobjid >= 16384) THEN true END,
               'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
               'generated_kind', nullif(a.attgenerated::text, ''),
               'identity', nullif(a.attidentity::text, ''),
               'identity_options', CASE WHEN a.attidentity <> '' THEN
                   (SELECT 'SEQUENCE NAME ' || pggit._qname(sc.relnamespace, sc.relname) || ' '
                           || pggit._sequence_options(sc.oid, false)
                      FROM pg_depend d JOIN pg_class sc ON sc.oid = d.objid
                     WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
                       AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass
                       AND d.deptype = 'i' AND sc.relkind = 'S') END,
               'comment', dsc.description,
               'local', a.attislocal,
               -- storage and compression other than the type's default (SET STORAGE / COMPRESSION)
               'storage', CASE WHEN a.attstorage <> t.typstorage THEN pggit._storage_word(a.attstorage) END,
               'storage_default', CASE WHEN a.attstorage <> t.typstorage THEN pggit._storage_word(t.typstorage) END,
               'compression', CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END)) ORDER BY a.attnum), '[]'::jsonb)
      INTO v_cols
      FROM pg_attribute a
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      LEFT JOIN pg_description dsc ON dsc.objoid = a.attrelid AND dsc.classoid = 'pg_class'::regclass AND dsc.objsubid = a.attnum
     WHERE a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped;

    SELECT (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                        'name', con.conname, 'type', con.contype::text, 'def', pg_get_constraintdef(con.oid),
                        'comment', (SELECT d.description FROM pg_description d
                                     WHERE d.objoid = con.oid AND d.classoid = 'pg_constraint'::regclass AND d.objsubid = 0)))
                        ORDER BY con.contype = 'f', con.conname), '[]'::jsonb)
              FROM pg_constraint con
             WHERE con.conrelid = p_objid AND con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conislocal),
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'sequence', pggit._qname(sc.relnamespace, sc.relname), 'column', a.attname)
                        ORDER BY sc.relname), '[]'::jsonb)
              FROM pg_depend d
              JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = p_objid AND d.deptype = 'a'),
           (SELECT array_agg(pggit._qname(pc.relnamespace, pc.relname) ORDER BY i.inhseqno)
              FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
             WHERE i.inhrelid = p_objid)
      INTO v_cons, v_owned, v_inh;

    IF v_rel.relispartition THEN
        v_parent := v_inh[1];
        v_inh := NULL;
        -- made on its own and attached: its columns are not what PARTITION OF gives (the
        -- parent's, in the parent's order, with their defaults and NOT NULL)
        -- (and, on PostgreSQL 18, the names of their NOT NULL constraints: PARTITION OF gives
        -- the parent's)
        SELECT bool_or(c.attname IS DISTINCT FROM p.attname OR c.def IS DISTINCT FROM p.def OR c.attnotnull IS DISTINCT FROM p.attnotnull
                       OR c.nn IS DISTINCT FROM p.nn)
          INTO v_attached
          FROM (SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def, row_number() OVER (ORDER BY a.attnum) AS n,
                       CASE WHEN v_has_nn AND a.attnotnull THEN
                           (SELECT nn.conname FROM pg_constraint nn WHERE nn.conrelid = a.attrelid AND nn.contype = 'n'
                               AND nn.conkey[1] = a.attnum) END AS nn
                  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped) c
          FULL JOIN (SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def, row_number() OVER (ORDER BY a.attnum) AS n,
                            CASE WHEN v_has_nn AND a.attnotnull THEN
                                (SELECT nn.conname FROM pg_constraint nn WHERE nn.conrelid = a.attrelid AND nn.contype = 'n'
                                    AND nn.conkey[1] = a.attnum) END AS nn
                       FROM pg_inherits i JOIN pg_attribute a ON a.attrelid = i.inhparent
                       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                      WHERE i.inhrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped) p ON p.n = c.n;
    END IF;
    -- dependencies: of the table, its defaults and non-FK constraints; of its foreign keys apart
    SELECT pggit._deps(array_agg(x.classid) FILTER (WHERE NOT x.fk), array_agg(x.objid) FILTER (WHERE NOT x.fk), v_ident, '{n,a}'),
           CASE WHEN bool_or(x.fk) THEN pggit._deps(array_agg(x.classid) FILTER (WHERE x.fk), array_agg(x.objid) FILTER (WHERE x.fk), v_ident, '{n}')
                ELSE '{}' END
      INTO v_deps, v_fkdeps
      FROM (SELECT 'pg_class'::regclass::oid AS classid, p_objid AS objid, false AS fk
            UNION ALL SELECT 'pg_attrdef'::regclass, ad.oid, false FROM pg_attrdef ad WHERE ad.adrelid = p_objid
                -- late defaults do not order the table after the functions they call
                AND NOT EXISTS (SELECT 1 FROM pg_depend dd WHERE dd.classid = 'pg_attrdef'::regclass AND dd.objid = ad.oid
                                   AND dd.refclassid = 'pg_proc'::regclass AND dd.refobjid >= 16384)
            UNION ALL SELECT 'pg_constraint'::regclass, con.oid, con.contype = 'f' FROM pg_constraint con WHERE con.conrelid = p_objid) x;
    IF jsonb_path_exists(v_cols, '$[*] ? (@.late_default == true)') THEN
        SELECT pggit._deps(array_agg('pg_attrdef'::regclass::oid), array_agg(ad.oid), v_ident, '{n}') INTO v_latedeps
          FROM pg_attrdef ad WHERE ad.adrelid = p_objid;
    END IF;
    IF jsonb_array_length(v_owned) > 0 THEN
        v_deps := array(SELECT DISTINCT x FROM unnest(v_deps || array(
                      SELECT 'sequence ' || (o->>'sequence') FROM jsonb_array_elements(v_owned) o)) x ORDER BY 1);
    END IF;

    v_detail := jsonb_strip_nulls(jsonb_build_object(
        'qname', v_q, 'columns', v_cols, 'constraints', v_cons, 'owned', v_owned,
        'partition_of', v_parent, 'bound', v_rel.bound, 'attached', CASE WHEN v_attached THEN true END,
        'of_type', v_rel.oftype,
        'partition_key', v_rel.partkey,
        'inherits', to_jsonb(v_inh), 'persistence', v_rel.relpersistence::text,
        'options', to_jsonb(v_rel.reloptions), 'rls', v_rel.relrowsecurity, 'force_rls', v_rel.relforcerowsecurity,
        'comment', v_rel.comment, 'deps', to_jsonb(v_deps), 'fk_deps', to_jsonb(v_fkdeps), 'late_deps', to_jsonb(v_latedeps),
        'access_method', v_rel.am));
    v_sql := pggit._table_text(v_detail);
    v_detail := v_detail || jsonb_build_object('create', v_sql[2]);
    RETURN ROW('pg_class'::regclass, p_objid, 'table', v_ident, v_sql[1], v_detail)::pggit.objdesc;
END $$;

-- The comment statements at the end of a table's definition (_table_text renders them last): its
-- columns' comments, in column order, then its constraints'. (What COMMENT ON COLUMN changes in
-- the text is only the first part.)
CREATE FUNCTION pggit._column_comments_sql(p_detail jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- (the commented columns picked by a path query: a 1,000-column table has few)
    RETURN coalesce((SELECT string_agg(pggit._comment_sql('COLUMN ' || (p_detail->>'qname') || '.' || quote_ident(e.c->>'name'), e.c->>'comment'), '' ORDER BY e.i)
                       FROM jsonb_path_query(p_detail->'columns', '$[*] ? (exists(@.comment))') WITH ORDINALITY e(c, i)), '');
END $$;

-- The comment statements of a table's constraints, last in its definition (see _table_text).
CREATE FUNCTION pggit._constraint_comments_sql(p_detail jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN coalesce((SELECT string_agg(pggit._comment_sql('CONSTRAINT ' || quote_ident(e.c->>'name') || ' ON ' || (p_detail->>'qname'), e.c->>'comment'), '' ORDER BY e.i)
                       FROM jsonb_array_elements(p_detail->'constraints') WITH ORDINALITY e(c, i) WHERE e.c ? 'comment'), '');
END $$;

-- A table after COMMENT ON COLUMN: the description the live map holds with that column's comment
-- replaced, rendered as _describe_table renders it (the same text, detail and hash), without
-- reading the other columns again: a comment on a 1,000-column table costs what changed. NULL
-- when the live map has no description of the table at this address (then describe it whole).
-- The definition is the recorded one with its columns' comment statements replaced (_table_text
-- puts them last, before the owner and privileges _with_acl appends: a column's comment shows
-- nowhere else), not rendered again from every column; where the recorded text does not end that
-- way, rendered. The owner and privileges are the live ones, as _with_acl gives them (kept as
-- recorded when they are the same: the jsonb detail of a wide table is costly to copy).
-- (Whatever was done to the table with capture off is not folded into this commit; it stays
-- drift, as it would on a table the statement did not touch.)
CREATE FUNCTION pggit._describe_column_comment(p_objid oid, p_attnum int2) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_ident   text;
    v_detail  jsonb;
    v_def     text;
    v_sfx     text;
    v_name    name;
    v_comment text;
    v_i       int;
    v_tail    text;
    v_cons    text;
BEGIN
    SELECT i.identity INTO v_ident FROM pggit._ident('pg_class'::regclass, p_objid) i WHERE i.kind = 'table';
    IF v_ident IS NULL THEN RETURN NULL; END IF;
    SELECT b.detail, b.definition INTO v_detail, v_def FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
     WHERE l.identity = v_ident AND l.classid = 'pg_class'::regclass AND l.objid = p_objid AND l.kind = 'table';
    IF NOT FOUND THEN RETURN NULL; END IF;
    SELECT a.attname, d.description INTO v_name, v_comment
      FROM pg_attribute a
      LEFT JOIN pg_description d ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
     WHERE a.attrelid = p_objid AND a.attnum = p_attnum AND NOT a.attisdropped;
    IF v_name IS NULL THEN RETURN NULL; END IF;
    SELECT e.i - 1 INTO v_i FROM jsonb_array_elements(v_detail->'columns') WITH ORDINALITY e(c, i)
     WHERE e.c->>'name' = v_name;
    IF v_i IS NULL THEN RETURN NULL; END IF;
    -- the recorded text ends with its comment statements, then the owner and privileges
    -- _with_acl appended: those of the columns are replaced, the rest is kept
    v_sfx := pggit._owner_sql('table', v_detail)
          || (CASE WHEN v_detail->'acl' IS NULL THEN '' ELSE pggit._acl_sql('table', v_ident, v_detail->'acl') END);
    v_cons := pggit._constraint_comments_sql(v_detail);
    v_tail := pggit._column_comments_sql(v_detail) || v_cons;
    IF right(v_def, length(v_tail || v_sfx)) <> v_tail || v_sfx OR NOT v_detail ? 'qname' THEN
        v_def := NULL;  -- (not as _table_text and _with_acl end it: rendered again below)
    END IF;
    v_detail := jsonb_set(v_detail, ARRAY['columns', v_i::text],
                          CASE WHEN v_comment IS NULL THEN (v_detail->'columns'->v_i) - 'comment'
                               ELSE (v_detail->'columns'->v_i) || jsonb_build_object('comment', v_comment) END);
    IF v_def IS NOT NULL
       AND pggit._owner('pg_class'::regclass, p_objid, 'table') IS NOT DISTINCT FROM v_detail->>'owner'
       AND pggit._acl('pg_class'::regclass, p_objid, 'table', v_ident) IS NOT DISTINCT FROM v_detail->'acl' THEN
        -- (the live owner and privileges are the recorded ones: _with_acl would give the same
        -- suffix and detail back, at the cost of copying the detail three times)
        RETURN ROW('pg_class'::regclass, p_objid, 'table', v_ident,
                   left(v_def, length(v_def) - length(v_tail || v_sfx)) || pggit._column_comments_sql(v_detail) || v_cons || v_sfx,
                   v_detail)::pggit.objdesc;
    END IF;
    RETURN pggit._with_acl(ROW('pg_class'::regclass, p_objid, 'table', v_ident,
                               CASE WHEN v_def IS NULL THEN (pggit._table_text(v_detail))[1]
                                    ELSE left(v_def, length(v_def) - length(v_tail || v_sfx)) || pggit._column_comments_sql(v_detail) || v_cons END,
                               v_detail - 'acl' - 'owner')::pggit.objdesc);
END $$;

-- Describe any tracked root object; NULL when it does not exist.
CREATE FUNCTION pggit._describe(p_classid oid, p_objid oid) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_kind    text;
    v_ident   text;
    v_q       text;
    v_sql     text;
    v_target  text;
    v_comment text;
    v_deps    text[];
    v_detail  jsonb := '{}';
    v_r       record;
    v_num     int;
    v_num_text text;
BEGIN
    IF p_classid = 'pg_default_acl'::regclass THEN
        RETURN pggit._describe_default_acl(p_objid);  -- (10_privileges.sql)
    END IF;
    SELECT i.kind, i.identity INTO v_kind, v_ident FROM pggit._ident(p_classid, p_objid) i;
    IF v_ident IS NULL THEN RETURN NULL; END IF;
    IF v_kind = 'table' THEN
        RETURN pggit._with_acl(pggit._describe_table(p_objid));
    END IF;
    v_q := substr(v_ident, length(v_kind) + 2);

    IF v_kind = 'index' THEN
        -- an index of a partitioned table is made for its partitions too (ON ONLY dropped), unless
        -- it is not valid (made ON ONLY, some partitions without theirs): then made ON ONLY, with
        -- the partitions' indexes attached to it
        SELECT CASE WHEN c.relkind = 'I' AND NOT x.indisvalid
                    THEN pg_get_indexdef(c.oid) || ';' || pggit._attached_indexes_sql(c.oid)
                    ELSE regexp_replace(pg_get_indexdef(c.oid), ' ON ONLY ', ' ON ') || ';' END,
               obj_description(c.oid, 'pg_class')
          INTO v_sql, v_comment FROM pg_class c JOIN pg_index x ON x.indexrelid = c.oid WHERE c.oid = p_objid;
        v_target := 'INDEX ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind = 'sequence' THEN
        SELECT 'CREATE ' || CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END || 'SEQUENCE ' || v_q || ' '
               || pggit._sequence_options(c.oid, true) || ';',
               obj_description(c.oid, 'pg_class')
          INTO v_sql, v_comment FROM pg_class c WHERE c.oid = p_objid;
        v_detail := jsonb_build_object('options', pggit._sequence_options(p_objid, true));
        v_target := 'SEQUENCE ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind IN ('view', 'materialized view') THEN
        SELECT 'CREATE ' || upper(v_kind) || ' ' || v_q
               || coalesce(' WITH (' || array_to_string(c.reloptions, ', ') || ')', '')
               || E' AS\n' || rtrim(rtrim(pg_get_viewdef(c.oid), E'\n '), ';')
               || CASE WHEN v_kind = 'materialized view' THEN E'\n WITH DATA;' ELSE ';' END,
               obj_description(c.oid, 'pg_class')
          INTO v_sql, v_comment FROM pg_class c WHERE c.oid = p_objid;
        v_target := upper(v_kind) || ' ' || v_q;
        SELECT v_sql || coalesce(string_agg(pggit._comment_sql('COLUMN ' || v_q || '.' || quote_ident(a.attname),
                                            col_description(a.attrelid, a.attnum)), '' ORDER BY a.attnum), '')
          INTO v_sql FROM pg_attribute a WHERE a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped;
        v_deps := pggit._deps(
            ARRAY[p_classid] || array(SELECT 'pg_rewrite'::regclass::oid FROM pg_rewrite WHERE ev_class = p_objid),
            ARRAY[p_objid] || array(SELECT oid FROM pg_rewrite WHERE ev_class = p_objid),
            v_ident, '{n}');

    ELSIF v_kind IN ('function', 'procedure') THEN
        SELECT rtrim(pg_get_functiondef(p.oid), E'\n ') || ';', obj_description(p.oid, 'pg_proc')
          INTO v_sql, v_comment FROM pg_proc p WHERE p.oid = p_objid;
        v_detail := jsonb_build_object('result', (SELECT pg_get_function_result(p_objid)));
        v_target := upper(v_kind) || ' ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'aggregate' THEN
        -- every option pg_dump writes; (*) for an aggregate without arguments, and the argument
        -- list as PostgreSQL prints it (VARIADIC, ORDER BY of ordered-set aggregates)
        SELECT 'CREATE AGGREGATE ' || pggit._qname(p.pronamespace, p.proname)
               || '(' || CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_get_function_arguments(p.oid) END || ') ('
               || 'SFUNC = ' || a.aggtransfn::regproc::text
               || ', STYPE = ' || format_type(a.aggtranstype, NULL)
               || CASE WHEN a.aggtransspace <> 0 THEN ', SSPACE = ' || a.aggtransspace ELSE '' END
               || CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC = ' || a.aggfinalfn::regproc::text ELSE '' END
               || CASE WHEN a.aggfinalextra THEN ', FINALFUNC_EXTRA' ELSE '' END
               || CASE WHEN a.aggfinalmodify <> CASE WHEN a.aggkind = 'n' THEN 'r' ELSE 'w' END
                       THEN ', FINALFUNC_MODIFY = ' || CASE a.aggfinalmodify WHEN 'r' THEN 'READ_ONLY'
                                                         WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END
                       ELSE '' END
               || CASE WHEN a.aggcombinefn <> 0 THEN ', COMBINEFUNC = ' || a.aggcombinefn::regproc::text ELSE '' END
               || CASE WHEN a.aggserialfn <> 0 THEN ', SERIALFUNC = ' || a.aggserialfn::regproc::text ELSE '' END
               || CASE WHEN a.aggdeserialfn <> 0 THEN ', DESERIALFUNC = ' || a.aggdeserialfn::regproc::text ELSE '' END
               || CASE WHEN a.agginitval IS NOT NULL THEN ', INITCOND = ' || quote_literal(a.agginitval) ELSE '' END
               || CASE WHEN a.aggmtransfn <> 0 THEN ', MSFUNC = ' || a.aggmtransfn::regproc::text
                       || ', MINVFUNC = ' || a.aggminvtransfn::regproc::text
                       || ', MSTYPE = ' || format_type(a.aggmtranstype, NULL) ELSE '' END
               || CASE WHEN a.aggmtransspace <> 0 THEN ', MSSPACE = ' || a.aggmtransspace ELSE '' END
               || CASE WHEN a.aggmfinalfn <> 0 THEN ', MFINALFUNC = ' || a.aggmfinalfn::regproc::text ELSE '' END
               || CASE WHEN a.aggmfinalextra THEN ', MFINALFUNC_EXTRA' ELSE '' END
               || CASE WHEN a.aggmtransfn <> 0 AND a.aggmfinalmodify <> CASE WHEN a.aggkind = 'n' THEN 'r' ELSE 'w' END
                       THEN ', MFINALFUNC_MODIFY = ' || CASE a.aggmfinalmodify WHEN 'r' THEN 'READ_ONLY'
                                                          WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END
                       ELSE '' END
               || CASE WHEN a.aggminitval IS NOT NULL THEN ', MINITCOND = ' || quote_literal(a.aggminitval) ELSE '' END
               || CASE WHEN a.aggsortop <> 0 THEN ', SORTOP = ' || (SELECT 'OPERATOR(' || quote_ident(n.nspname) || '.' || o.oprname || ')'
                                                                    FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
                                                                   WHERE o.oid = a.aggsortop) ELSE '' END
               || CASE WHEN a.aggkind = 'h' THEN ', HYPOTHETICAL' ELSE '' END
               || CASE p.proparallel WHEN 's' THEN ', PARALLEL = SAFE' WHEN 'r' THEN ', PARALLEL = RESTRICTED' ELSE '' END
               || ');',
               obj_description(p.oid, 'pg_proc'),
               'AGGREGATE ' || pggit._qname(p.pronamespace, p.proname)
               || '(' || CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_get_function_identity_arguments(p.oid) END || ')'
          INTO v_sql, v_comment, v_target
          FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE a.aggfnoid = p_objid;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'trigger' THEN
        SELECT pg_get_triggerdef(t.oid) || ';'
               || CASE t.tgenabled WHEN 'D' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' DISABLE TRIGGER ' || quote_ident(t.tgname) || ';'
                                   WHEN 'R' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ENABLE REPLICA TRIGGER ' || quote_ident(t.tgname) || ';'
                                   WHEN 'A' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ENABLE ALWAYS TRIGGER ' || quote_ident(t.tgname) || ';'
                                   ELSE '' END
               || coalesce((
                   -- partitions whose clone of this trigger is enabled otherwise than its parent's
                   WITH RECURSIVE clone(oid, tgrelid, tgenabled, parent_enabled, depth) AS (
                       SELECT k.oid, k.tgrelid, k.tgenabled, t.tgenabled, 1 FROM pg_trigger k WHERE k.tgparentid = t.oid
                       UNION ALL
                       SELECT k.oid, k.tgrelid, k.tgenabled, clone.tgenabled, clone.depth + 1
                         FROM clone JOIN pg_trigger k ON k.tgparentid = clone.oid WHERE clone.depth < 32
                   )
                   SELECT string_agg(E'\nALTER TABLE ONLY ' || pggit._qname(pc.relnamespace, pc.relname)
                                     || CASE clone.tgenabled WHEN 'D' THEN ' DISABLE' WHEN 'R' THEN ' ENABLE REPLICA'
                                                             WHEN 'A' THEN ' ENABLE ALWAYS' ELSE ' ENABLE' END
                                     || ' TRIGGER ' || quote_ident(t.tgname) || ';', '' ORDER BY clone.depth, pc.relnamespace::regnamespace::text, pc.relname)
                     FROM clone JOIN pg_class pc ON pc.oid = clone.tgrelid
                    WHERE clone.tgenabled <> clone.parent_enabled), ''),
               obj_description(t.oid, 'pg_trigger'),
               'TRIGGER ' || quote_ident(t.tgname) || ' ON ' || pggit._qname(c.relnamespace, c.relname)
          INTO v_sql, v_comment, v_target
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.oid = p_objid;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind = 'policy' THEN
        SELECT 'CREATE POLICY ' || quote_ident(p.polname) || ' ON ' || pggit._qname(c.relnamespace, c.relname)
               || ' AS ' || CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END
               || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                            WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
               || ' TO ' || (SELECT string_agg(CASE WHEN r.rid = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.rid)) END, ', ' ORDER BY CASE WHEN r.rid = 0 THEN '' ELSE pg_get_userbyid(r.rid)::text END)
                               FROM unnest(p.polroles) r(rid))
               || coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
               || coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '') || ';',
               obj_description(p.oid, 'pg_policy'),
               'POLICY ' || quote_ident(p.polname) || ' ON ' || pggit._qname(c.relnamespace, c.relname)
          INTO v_sql, v_comment, v_target
          FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = p_objid;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind IN ('type', 'domain') THEN
        SELECT t.*, obj_description(t.oid, 'pg_type') AS comment INTO v_r FROM pg_type t WHERE t.oid = p_objid;
        v_comment := v_r.comment;
        v_target := upper(v_kind) || ' ' || v_q;
        IF v_r.typtype = 'e' THEN
            SELECT jsonb_build_object('enum', coalesce(jsonb_agg(e.enumlabel ORDER BY e.enumsortorder), '[]')),
                   'CREATE TYPE ' || v_q || ' AS ENUM (' || coalesce(string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder), '') || ');'
              INTO v_detail, v_sql FROM pg_enum e WHERE e.enumtypid = p_objid;
        ELSIF v_r.typtype = 'c' THEN
            SELECT 'CREATE TYPE ' || v_q || ' AS (' || coalesce(string_agg(
                       quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                       || CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                              ' COLLATE ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                                FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                               WHERE co.oid = a.attcollation) ELSE '' END,
                       ', ' ORDER BY a.attnum), '') || ');'
                   || coalesce(string_agg(pggit._comment_sql('COLUMN ' || v_q || '.' || quote_ident(a.attname),
                                          col_description(a.attrelid, a.attnum)), '' ORDER BY a.attnum), ''),
                   jsonb_build_object('attributes', coalesce(jsonb_agg(jsonb_build_object(
                       'name', a.attname,
                       'type', format_type(a.atttypid, a.atttypmod)
                               || CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                                      ' COLLATE ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                                        FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                                       WHERE co.oid = a.attcollation) ELSE '' END,
                       'comment', col_description(a.attrelid, a.attnum)) ORDER BY a.attnum), '[]'))
              INTO v_sql, v_detail
              FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = v_r.typrelid AND a.attnum > 0 AND NOT a.attisdropped;
        ELSIF v_r.typtype = 'd' THEN
            SELECT 'CREATE DOMAIN ' || v_q || ' AS ' || format_type(v_r.typbasetype, v_r.typtypmod)
                   || CASE WHEN v_r.typcollation <> bt.typcollation AND v_r.typcollation <> 0 THEN
                          ' COLLATE ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                            FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                           WHERE co.oid = v_r.typcollation) ELSE '' END
                   || coalesce(' DEFAULT ' || v_r.typdefault, '')
                   || CASE WHEN v_r.typnotnull THEN ' NOT NULL' ELSE '' END
                   || coalesce((SELECT string_agg(' CONSTRAINT ' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid), '' ORDER BY con.conname)
                                  FROM pg_constraint con WHERE con.contypid = p_objid AND con.contype = 'c'), '')
                   || ';',
                   jsonb_build_object('domain', jsonb_strip_nulls(jsonb_build_object(
                       'base', format_type(v_r.typbasetype, v_r.typtypmod) || ' ' || v_r.typcollation,
                       'default', v_r.typdefault, 'notnull', v_r.typnotnull,
                       'constraints', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', con.conname, 'def', pg_get_constraintdef(con.oid))
                                                                 ORDER BY con.conname), '[]')
                                         FROM pg_constraint con WHERE con.contypid = p_objid AND con.contype = 'c'))))
              INTO v_sql, v_detail FROM pg_type bt WHERE bt.oid = v_r.typbasetype;
        ELSIF v_r.typtype = 'r' THEN
            SELECT 'CREATE TYPE ' || v_q || ' AS RANGE (SUBTYPE = ' || format_type(rg.rngsubtype, NULL)
                   || CASE WHEN NOT oc.opcdefault THEN ', SUBTYPE_OPCLASS = ' || quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) ELSE '' END
                   || CASE WHEN rg.rngcollation <> 0 AND rg.rngcollation <> st.typcollation THEN
                          ', COLLATION = ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                                 FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                                WHERE co.oid = rg.rngcollation) ELSE '' END
                   || CASE WHEN rg.rngcanonical <> 0 THEN ', CANONICAL = ' || rg.rngcanonical::regproc::text ELSE '' END
                   || CASE WHEN rg.rngsubdiff <> 0 THEN ', SUBTYPE_DIFF = ' || rg.rngsubdiff::regproc::text ELSE '' END
                   || ', MULTIRANGE_TYPE_NAME = ' || pggit._qname(mt.typnamespace, mt.typname)
                   || ');'
              INTO v_sql
              FROM pg_range rg
              JOIN pg_type st ON st.oid = rg.rngsubtype
              JOIN pg_opclass oc ON oc.oid = rg.rngsubopc
              JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
              JOIN pg_type mt ON mt.oid = rg.rngmultitypid
             WHERE rg.rngtypid = p_objid;
        ELSIF v_r.typtype = 'b' THEN
            v_sql := pggit._base_type_sql(p_objid);
            v_detail := jsonb_build_object('base', true);
        ELSE
            RETURN NULL;
        END IF;
        v_deps := pggit._deps(
            ARRAY[p_classid] || CASE WHEN v_r.typrelid <> 0 THEN ARRAY['pg_class'::regclass::oid] ELSE '{}' END
                || array(SELECT 'pg_constraint'::regclass::oid FROM pg_constraint WHERE contypid = p_objid)
                -- (a base type's own I/O functions, which belong to it)
                || array(SELECT 'pg_proc'::regclass::oid FROM unnest(ARRAY[v_r.typinput, v_r.typoutput, v_r.typreceive, v_r.typsend]::oid[]) f
                          WHERE v_r.typtype = 'b' AND f <> 0),
            ARRAY[p_objid] || CASE WHEN v_r.typrelid <> 0 THEN ARRAY[v_r.typrelid] ELSE '{}' END
                || array(SELECT oid FROM pg_constraint WHERE contypid = p_objid)
                || array(SELECT f FROM unnest(ARRAY[v_r.typinput, v_r.typoutput, v_r.typreceive, v_r.typsend]::oid[]) f
                          WHERE v_r.typtype = 'b' AND f <> 0),
            v_ident, '{n}');

    ELSIF v_kind = 'schema' THEN
        -- (public exists in every new database: created only where it was dropped)
        v_sql := 'CREATE SCHEMA ' || CASE WHEN v_q = 'public' THEN 'IF NOT EXISTS ' ELSE '' END || v_q || ';';
        v_comment := obj_description(p_objid, 'pg_namespace');
        v_target := 'SCHEMA ' || v_q;
        v_deps := '{}';

    ELSIF v_kind = 'extension' THEN
        SELECT 'CREATE EXTENSION IF NOT EXISTS ' || v_q || ' WITH SCHEMA ' || quote_ident(n.nspname) || ';',
               obj_description(e.oid, 'pg_extension')
          INTO v_sql, v_comment
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.oid = p_objid;
        v_target := 'EXTENSION ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'collation' THEN
        -- (read through to_jsonb: the locale columns differ between server versions)
        SELECT 'CREATE COLLATION ' || v_q || ' (provider = '
               || CASE co.collprovider WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END
               || CASE WHEN NOT co.collisdeterministic THEN ', deterministic = false' ELSE '' END
               || CASE WHEN co.collprovider IN ('i', 'b')
                       THEN ', locale = ' || quote_literal(coalesce(j->>'colllocale', j->>'colliculocale', j->>'collcollate'))
                       WHEN j->>'collcollate' = j->>'collctype' THEN ', locale = ' || quote_literal(j->>'collcollate')
                       ELSE ', lc_collate = ' || quote_literal(j->>'collcollate') || ', lc_ctype = ' || quote_literal(j->>'collctype') END
               || coalesce(', rules = ' || quote_literal(j->>'collicurules'), '')
               || ');',
               obj_description(co.oid, 'pg_collation')
          INTO v_sql, v_comment
          FROM pg_collation co, to_jsonb(co) j WHERE co.oid = p_objid;
        v_target := 'COLLATION ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'statistics' THEN
        -- the statistics target other than the default (-1 before PostgreSQL 17, NULL since; read
        -- through to_jsonb: its type differs between server versions)
        SELECT pg_get_statisticsobjdef(s.oid) || ';', nullif((j->>'stxstattarget')::int, -1), obj_description(s.oid, 'pg_statistic_ext')
          INTO v_sql, v_num, v_comment
          FROM pg_statistic_ext s, to_jsonb(s) j WHERE s.oid = p_objid;
        v_detail := jsonb_strip_nulls(jsonb_build_object('create', v_sql, 'target', v_num));
        IF v_detail ? 'target' THEN
            v_sql := v_sql || E'\nALTER STATISTICS ' || v_q || ' SET STATISTICS ' || (v_detail->>'target') || ';';
        END IF;
        v_target := 'STATISTICS ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind = 'rule' THEN
        SELECT rtrim(pg_get_ruledef(r.oid), E'\n ;') || ';'
               || CASE r.ev_enabled WHEN 'D' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' DISABLE RULE ' || quote_ident(r.rulename) || ';'
                                    WHEN 'R' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ENABLE REPLICA RULE ' || quote_ident(r.rulename) || ';'
                                    WHEN 'A' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ENABLE ALWAYS RULE ' || quote_ident(r.rulename) || ';'
                                    ELSE '' END,
               obj_description(r.oid, 'pg_rewrite'),
               'RULE ' || quote_ident(r.rulename) || ' ON ' || pggit._qname(c.relnamespace, c.relname)
          INTO v_sql, v_comment, v_target
          FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = p_objid;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind = 'event trigger' THEN
        SELECT 'CREATE EVENT TRIGGER ' || v_q || ' ON ' || quote_ident(e.evtevent)
               || coalesce(' WHEN TAG IN (' || (SELECT string_agg(quote_literal(t), ', ' ORDER BY i) FROM unnest(e.evttags) WITH ORDINALITY u(t, i)) || ')', '')
               || ' EXECUTE FUNCTION ' || e.evtfoid::regproc::text || '();'
               || CASE e.evtenabled WHEN 'D' THEN E'\nALTER EVENT TRIGGER ' || v_q || ' DISABLE;'
                                    WHEN 'R' THEN E'\nALTER EVENT TRIGGER ' || v_q || ' ENABLE REPLICA;'
                                    WHEN 'A' THEN E'\nALTER EVENT TRIGGER ' || v_q || ' ENABLE ALWAYS;'
                                    ELSE '' END,
               obj_description(e.oid, 'pg_event_trigger')
          INTO v_sql, v_comment
          FROM pg_event_trigger e WHERE e.oid = p_objid;
        v_target := 'EVENT TRIGGER ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'cast' THEN
        SELECT 'CREATE CAST ' || v_q
               || CASE c.castmethod WHEN 'f' THEN ' WITH FUNCTION ' || c.castfunc::regprocedure::text
                                    WHEN 'i' THEN ' WITH INOUT' ELSE ' WITHOUT FUNCTION' END
               || CASE c.castcontext WHEN 'a' THEN ' AS ASSIGNMENT' WHEN 'i' THEN ' AS IMPLICIT' ELSE '' END || ';',
               obj_description(c.oid, 'pg_cast')
          INTO v_sql, v_comment
          FROM pg_cast c WHERE c.oid = p_objid;
        v_target := 'CAST ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'operator' THEN
        SELECT 'CREATE OPERATOR ' || pggit._operator_name(o.oid) || ' (FUNCTION = ' || o.oprcode::regproc::text
               || CASE WHEN o.oprleft <> 0 THEN ', LEFTARG = ' || format_type(o.oprleft, NULL) ELSE '' END
               || ', RIGHTARG = ' || format_type(o.oprright, NULL)
               || CASE WHEN o.oprcom <> 0 THEN ', COMMUTATOR = OPERATOR(' || pggit._operator_name(o.oprcom) || ')' ELSE '' END
               || CASE WHEN o.oprnegate <> 0 THEN ', NEGATOR = OPERATOR(' || pggit._operator_name(o.oprnegate) || ')' ELSE '' END
               || CASE WHEN o.oprrest <> 0 THEN ', RESTRICT = ' || o.oprrest::regproc::text ELSE '' END
               || CASE WHEN o.oprjoin <> 0 THEN ', JOIN = ' || o.oprjoin::regproc::text ELSE '' END
               || CASE WHEN o.oprcanhash THEN ', HASHES' ELSE '' END
               || CASE WHEN o.oprcanmerge THEN ', MERGES' ELSE '' END || ');',
               obj_description(o.oid, 'pg_operator')
          INTO v_sql, v_comment
          FROM pg_operator o WHERE o.oid = p_objid;
        v_target := 'OPERATOR ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'text search dictionary' THEN
        SELECT 'CREATE TEXT SEARCH DICTIONARY ' || v_q || ' (TEMPLATE = ' || pggit._qname(t.tmplnamespace, t.tmplname)
               || coalesce(', ' || d.dictinitoption, '') || ');',
               obj_description(d.oid, 'pg_ts_dict')
          INTO v_sql, v_comment
          FROM pg_ts_dict d JOIN pg_ts_template t ON t.oid = d.dicttemplate WHERE d.oid = p_objid;
        v_target := 'TEXT SEARCH DICTIONARY ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'text search configuration' THEN
        -- the parser, then the dictionaries of each token type in order
        SELECT 'CREATE TEXT SEARCH CONFIGURATION ' || v_q || ' (PARSER = ' || pggit._qname(p.prsnamespace, p.prsname) || ');'
               || coalesce((SELECT string_agg(E'\nALTER TEXT SEARCH CONFIGURATION ' || v_q || ' ADD MAPPING FOR ' || quote_ident(tt.alias)
                                              || ' WITH ' || m.dicts || ';', '' ORDER BY m.maptokentype)
                              FROM (SELECT mp.maptokentype, string_agg(pggit._qname(d.dictnamespace, d.dictname), ', ' ORDER BY mp.mapseqno) AS dicts
                                      FROM pg_ts_config_map mp JOIN pg_ts_dict d ON d.oid = mp.mapdict
                                     WHERE mp.mapcfg = c.oid GROUP BY mp.maptokentype) m
                              JOIN ts_token_type(c.cfgparser) tt ON tt.tokid = m.maptokentype), ''),
               obj_description(c.oid, 'pg_ts_config')
          INTO v_sql, v_comment
          FROM pg_ts_config c JOIN pg_ts_parser p ON p.oid = c.cfgparser WHERE c.oid = p_objid;
        v_target := 'TEXT SEARCH CONFIGURATION ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'publication' THEN
        -- its tables (with their columns and row filters) and schemas, in name order; what it
        -- publishes. (The columns of PostgreSQL 15 and later read through to_jsonb.)
        SELECT '{}'::oid[] AS f1, '{}'::oid[] AS f2, '{}'::text[] AS f3 INTO v_r;
        IF to_regclass('pg_catalog.pg_publication_namespace') IS NOT NULL THEN
            EXECUTE 'SELECT coalesce(array_agg(''pg_catalog.pg_publication_namespace''::regclass::oid), ''{}'') AS f1, coalesce(array_agg(pn.oid), ''{}'') AS f2,
                            coalesce(array_agg(''TABLES IN SCHEMA '' || quote_ident(n.nspname) ORDER BY n.nspname), ''{}'') AS f3
                       FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid
                      WHERE pn.pnpubid = $1'
               INTO v_r USING p_objid;
        END IF;
        SELECT 'CREATE PUBLICATION ' || v_q
               || CASE WHEN p.puballtables THEN ' FOR ALL TABLES'
                       ELSE coalesce(' FOR ' || nullif(array_to_string(
                                (SELECT array_agg('TABLE ONLY ' || pggit._qname(c.relnamespace, c.relname)
                                                  || coalesce(' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i)
                                                                         FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(j->'prattrs') = 'array' THEN j->'prattrs' ELSE '[]' END)
                                                                              WITH ORDINALITY k(n, i)
                                                                         JOIN pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.n::int2) || ')', '')
                                                  || coalesce(' WHERE (' || (SELECT pg_get_expr(pr2.prqual, pr2.prrelid)
                                                                              FROM pg_publication_rel pr2 WHERE pr2.oid = pr.oid AND j ? 'prqual') || ')', '')
                                                  ORDER BY c.relnamespace::regnamespace::text, c.relname)
                                   FROM pg_publication_rel pr, to_jsonb(pr) j, pg_class c
                                  WHERE pr.prpubid = p.oid AND c.oid = pr.prrelid)
                                || coalesce(v_r.f3, '{}'), ', '), ''), '') END
               || ' WITH (publish = ' || quote_literal(concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                                                                  CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END))
               || ', publish_via_partition_root = ' || CASE WHEN p.pubviaroot THEN 'true' ELSE 'false' END || ');',
               obj_description(p.oid, 'pg_publication')
          INTO v_sql, v_comment
          FROM pg_publication p WHERE p.oid = p_objid;
        v_target := 'PUBLICATION ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid] || array(SELECT 'pg_publication_rel'::regclass::oid FROM pg_publication_rel WHERE prpubid = p_objid)
                                              || coalesce(v_r.f1, '{}'),
                              ARRAY[p_objid] || array(SELECT oid FROM pg_publication_rel WHERE prpubid = p_objid) || coalesce(v_r.f2, '{}'),
                              v_ident, '{n,a}');

    ELSIF v_kind = 'foreign table' THEN
        v_sql := pggit._foreign_table_sql(p_objid);
        v_comment := obj_description(p_objid, 'pg_class');
        v_target := 'FOREIGN TABLE ' || v_q;
        v_deps := pggit._deps(
            ARRAY[p_classid] || array(SELECT 'pg_attrdef'::regclass::oid FROM pg_attrdef WHERE adrelid = p_objid)
                || array(SELECT 'pg_constraint'::regclass::oid FROM pg_constraint WHERE conrelid = p_objid),
            ARRAY[p_objid] || array(SELECT oid FROM pg_attrdef WHERE adrelid = p_objid)
                || array(SELECT oid FROM pg_constraint WHERE conrelid = p_objid),
            v_ident, '{n,a}');

    ELSIF v_kind = 'operator family' THEN
        -- the family, then the operators and functions added to it on their own (those of its
        -- operator classes are theirs)
        SELECT pggit._qname(f.opfnamespace, f.opfname) || ' USING ' || quote_ident(a.amname), obj_description(f.oid, 'pg_opfamily')
          INTO v_target, v_comment
          FROM pg_opfamily f JOIN pg_am a ON a.oid = f.opfmethod WHERE f.oid = p_objid;
        v_target := 'OPERATOR FAMILY ' || v_target;
        v_sql := 'CREATE ' || v_target || ';'
                 || coalesce(E'\nALTER ' || v_target || ' ADD ' || pggit._opfamily_items('pg_opfamily'::regclass, p_objid) || ';', '');
        v_deps := pggit._deps(
            ARRAY[p_classid] || array(SELECT 'pg_amop'::regclass::oid FROM pg_amop WHERE amopfamily = p_objid)
                || array(SELECT 'pg_amproc'::regclass::oid FROM pg_amproc WHERE amprocfamily = p_objid),
            ARRAY[p_objid] || array(SELECT oid FROM pg_amop WHERE amopfamily = p_objid)
                || array(SELECT oid FROM pg_amproc WHERE amprocfamily = p_objid),
            v_ident, '{n}');

    ELSIF v_kind = 'operator class' THEN
        -- (FAMILY only when the family has another name: CREATE OPERATOR CLASS uses the family of
        -- its own name, making it when it does not exist)
        SELECT 'OPERATOR CLASS ' || pggit._qname(c.opcnamespace, c.opcname) || ' USING ' || quote_ident(a.amname),
               'CREATE OPERATOR CLASS ' || pggit._qname(c.opcnamespace, c.opcname) || CASE WHEN c.opcdefault THEN ' DEFAULT' ELSE '' END
               || ' FOR TYPE ' || format_type(c.opcintype, NULL) || ' USING ' || quote_ident(a.amname)
               || CASE WHEN (f.opfnamespace, f.opfname) IS DISTINCT FROM (c.opcnamespace, c.opcname)
                       THEN ' FAMILY ' || pggit._qname(f.opfnamespace, f.opfname) ELSE '' END
               || ' AS ' || concat_ws(', ', CASE WHEN c.opckeytype <> 0 THEN 'STORAGE ' || format_type(c.opckeytype, NULL) END,
                                      pggit._opfamily_items('pg_opclass'::regclass, c.oid)) || ';',
               obj_description(c.oid, 'pg_opclass')
          INTO v_target, v_sql, v_comment
          FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod JOIN pg_opfamily f ON f.oid = c.opcfamily
         WHERE c.oid = p_objid;
        v_deps := pggit._deps(
            ARRAY[p_classid] || array(SELECT d.classid FROM pg_depend d WHERE d.refclassid = p_classid AND d.refobjid = p_objid
                                                                          AND d.classid IN ('pg_amop'::regclass, 'pg_amproc'::regclass)),
            ARRAY[p_objid] || array(SELECT d.objid FROM pg_depend d WHERE d.refclassid = p_classid AND d.refobjid = p_objid
                                                                        AND d.classid IN ('pg_amop'::regclass, 'pg_amproc'::regclass)),
            v_ident, '{n,a}');

    ELSIF v_kind = 'access method' THEN
        SELECT 'CREATE ACCESS METHOD ' || v_q || ' TYPE ' || CASE a.amtype WHEN 't' THEN 'TABLE' ELSE 'INDEX' END
               || ' HANDLER ' || a.amhandler::regproc::text || ';',
               obj_description(a.oid, 'pg_am')
          INTO v_sql, v_comment FROM pg_am a WHERE a.oid = p_objid;
        v_target := 'ACCESS METHOD ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'transform' THEN
        SELECT 'TRANSFORM FOR ' || format_type(t.trftype, NULL) || ' LANGUAGE ' || quote_ident(l.lanname),
               obj_description(t.oid, 'pg_transform'),
               concat_ws(', ', CASE WHEN t.trffromsql <> 0 THEN 'FROM SQL WITH FUNCTION ' || t.trffromsql::regprocedure::text END,
                               CASE WHEN t.trftosql <> 0 THEN 'TO SQL WITH FUNCTION ' || t.trftosql::regprocedure::text END)
          INTO v_target, v_comment, v_sql
          FROM pg_transform t JOIN pg_language l ON l.oid = t.trflang WHERE t.oid = p_objid;
        v_sql := 'CREATE ' || v_target || ' (' || v_sql || ');';
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'text search parser' THEN
        SELECT 'CREATE TEXT SEARCH PARSER ' || v_q || ' (START = ' || p.prsstart::regproc::text || ', GETTOKEN = ' || p.prstoken::regproc::text
               || ', END = ' || p.prsend::regproc::text || ', LEXTYPES = ' || p.prslextype::regproc::text
               || CASE WHEN p.prsheadline <> 0 THEN ', HEADLINE = ' || p.prsheadline::regproc::text ELSE '' END || ');',
               obj_description(p.oid, 'pg_ts_parser')
          INTO v_sql, v_comment FROM pg_ts_parser p WHERE p.oid = p_objid;
        v_target := 'TEXT SEARCH PARSER ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'text search template' THEN
        SELECT 'CREATE TEXT SEARCH TEMPLATE ' || v_q || ' ('
               || CASE WHEN t.tmplinit <> 0 THEN 'INIT = ' || t.tmplinit::regproc::text || ', ' ELSE '' END
               || 'LEXIZE = ' || t.tmpllexize::regproc::text || ');',
               obj_description(t.oid, 'pg_ts_template')
          INTO v_sql, v_comment FROM pg_ts_template t WHERE t.oid = p_objid;
        v_target := 'TEXT SEARCH TEMPLATE ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'foreign data wrapper' THEN
        -- (options that are secrets are not stored)
        SELECT 'CREATE FOREIGN DATA WRAPPER ' || v_q
               || CASE WHEN w.fdwhandler <> 0 THEN ' HANDLER ' || w.fdwhandler::regproc::text ELSE '' END
               || CASE WHEN w.fdwvalidator <> 0 THEN ' VALIDATOR ' || w.fdwvalidator::regproc::text ELSE '' END
               || pggit._options_sql(w.fdwoptions) || ';',
               obj_description(w.oid, 'pg_foreign_data_wrapper')
          INTO v_sql, v_comment FROM pg_foreign_data_wrapper w WHERE w.oid = p_objid;
        v_target := 'FOREIGN DATA WRAPPER ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'server' THEN
        SELECT 'CREATE SERVER ' || v_q || coalesce(' TYPE ' || quote_literal(s.srvtype), '') || coalesce(' VERSION ' || quote_literal(s.srvversion), '')
               || ' FOREIGN DATA WRAPPER ' || quote_ident(w.fdwname) || pggit._options_sql(s.srvoptions) || ';',
               obj_description(s.oid, 'pg_foreign_server')
          INTO v_sql, v_comment
          FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE s.oid = p_objid;
        v_target := 'SERVER ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'user mapping' THEN
        -- (its password and other secrets are not stored)
        SELECT 'USER MAPPING FOR ' || CASE WHEN um.umuser = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END || ' SERVER ' || quote_ident(s.srvname),
               pggit._options_sql(um.umoptions)
          INTO v_target, v_sql
          FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver LEFT JOIN pg_roles r ON r.oid = um.umuser
         WHERE um.oid = p_objid;
        v_sql := 'CREATE ' || v_target || v_sql || ';';
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'subscription' THEN
        -- without the connection string's password; made without connecting and disabled
        -- (connect = false, as pg_dump does): whether it is enabled is not part of its state, so
        -- that no replay (a checkout, the shadow database) starts replicating. Dropped without
        -- the publisher: its slot is let go first (slot_name = NONE), and stays on the publisher.
        -- (Columns read through to_jsonb: they differ between server versions.)
        SELECT 'CREATE SUBSCRIPTION ' || v_q || ' CONNECTION ' || quote_literal(pggit._conninfo_without_secrets(s.subconninfo))
               || ' PUBLICATION ' || (SELECT string_agg(quote_ident(p), ', ' ORDER BY i) FROM unnest(s.subpublications) WITH ORDINALITY u(p, i))
               || ' WITH (connect = false, slot_name = ' || coalesce(quote_literal(s.subslotname::text), 'NONE')
               || CASE WHEN s.subbinary THEN ', binary = true' ELSE '' END
               || CASE WHEN j->>'substream' IN ('t', 'true') THEN ', streaming = on' WHEN j->>'substream' = 'p' THEN ', streaming = parallel' ELSE '' END
               || CASE WHEN j->>'subtwophasestate' <> 'd' THEN ', two_phase = on' ELSE '' END
               || CASE WHEN (j->>'subdisableonerr')::boolean THEN ', disable_on_error = true' ELSE '' END
               || CASE WHEN NOT coalesce((j->>'subpasswordrequired')::boolean, true) THEN ', password_required = false' ELSE '' END
               || CASE WHEN (j->>'subrunasowner')::boolean THEN ', run_as_owner = true' ELSE '' END
               || CASE WHEN coalesce(j->>'suborigin', 'any') <> 'any' THEN ', origin = ' || quote_literal(j->>'suborigin') ELSE '' END
               || CASE WHEN (j->>'subfailover')::boolean THEN ', failover = true' ELSE '' END
               || CASE WHEN s.subsynccommit <> 'off' THEN ', synchronous_commit = ' || quote_literal(s.subsynccommit) ELSE '' END
               || ');',
               obj_description(s.oid, 'pg_subscription'),
               CASE WHEN s.subslotname IS NULL THEN 'DROP SUBSCRIPTION IF EXISTS ' || v_q || ';'
                    ELSE 'ALTER SUBSCRIPTION ' || v_q || ' DISABLE; ALTER SUBSCRIPTION ' || v_q || ' SET (slot_name = NONE); DROP SUBSCRIPTION '
                         || v_q || ';' END
          INTO v_sql, v_comment, v_num_text
          FROM pg_subscription s, to_jsonb(s) j WHERE s.oid = p_objid;
        v_detail := jsonb_build_object('drop', v_num_text);
        v_target := 'SUBSCRIPTION ' || v_q;
        v_deps := '{}';
    ELSE
        RETURN NULL;
    END IF;

    v_sql := v_sql || pggit._comment_sql(v_target, v_comment);
    v_detail := v_detail || jsonb_strip_nulls(jsonb_build_object(
        'deps', to_jsonb(v_deps), 'comment_on', v_target, 'comment', v_comment));
    -- (and its privileges: 10_privileges.sql)
    RETURN pggit._with_acl(ROW(p_classid, p_objid, v_kind, v_ident, v_sql, v_detail)::pggit.objdesc);
END $$;

-- Every tracked root object in the database, as catalog addresses.
CREATE FUNCTION pggit._all_roots() RETURNS TABLE (classid oid, objid oid)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT r.classid, r.objid
      FROM (
        SELECT 'pg_class'::regclass::oid AS c, c.oid AS o FROM pg_class c
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'c', 'f') AND c.oid >= 16384
        UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t
         WHERE t.oid >= 16384 AND (t.typtype IN ('e', 'd', 'r')
                                   -- (base types; not the array types of every type, which belong to theirs)
                                   OR (t.typtype = 'b' AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid)))
        UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p WHERE p.oid >= 16384
        UNION ALL SELECT 'pg_trigger'::regclass, t.oid FROM pg_trigger t WHERE t.oid >= 16384
        UNION ALL SELECT 'pg_policy'::regclass, p.oid FROM pg_policy p
        UNION ALL SELECT 'pg_namespace'::regclass, n.oid FROM pg_namespace n WHERE n.oid >= 16384 OR n.nspname = 'public'
        UNION ALL SELECT 'pg_extension'::regclass, e.oid FROM pg_extension e WHERE e.oid >= 16384
        UNION ALL SELECT 'pg_collation'::regclass, co.oid FROM pg_collation co WHERE co.oid >= 16384
        UNION ALL SELECT 'pg_statistic_ext'::regclass, s.oid FROM pg_statistic_ext s
        UNION ALL SELECT 'pg_rewrite'::regclass, r.oid FROM pg_rewrite r WHERE r.oid >= 16384 AND r.rulename <> '_RETURN'
        UNION ALL SELECT 'pg_event_trigger'::regclass, e.oid FROM pg_event_trigger e WHERE e.oid >= 16384
        UNION ALL SELECT 'pg_cast'::regclass, c.oid FROM pg_cast c WHERE c.oid >= 16384
        UNION ALL SELECT 'pg_operator'::regclass, o.oid FROM pg_operator o WHERE o.oid >= 16384
        UNION ALL SELECT 'pg_ts_dict'::regclass, d.oid FROM pg_ts_dict d WHERE d.oid >= 16384
        UNION ALL SELECT 'pg_ts_config'::regclass, c.oid FROM pg_ts_config c WHERE c.oid >= 16384
        UNION ALL SELECT 'pg_publication'::regclass, p.oid FROM pg_publication p WHERE p.oid >= 16384
        UNION ALL SELECT 'pg_opfamily'::regclass, f.oid FROM pg_opfamily f WHERE f.oid >= 16384
        UNION ALL SELECT 'pg_opclass'::regclass, c.oid FROM pg_opclass c WHERE c.oid >= 16384
        UNION ALL SELECT 'pg_am'::regclass, a.oid FROM pg_am a WHERE a.oid >= 16384
        UNION ALL SELECT 'pg_transform'::regclass, t.oid FROM pg_transform t WHERE t.oid >= 16384
        UNION ALL SELECT 'pg_ts_parser'::regclass, p.oid FROM pg_ts_parser p WHERE p.oid >= 16384
        UNION ALL SELECT 'pg_ts_template'::regclass, t.oid FROM pg_ts_template t WHERE t.oid >= 16384
        UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, w.oid FROM pg_foreign_data_wrapper w WHERE w.oid >= 16384
        UNION ALL SELECT 'pg_foreign_server'::regclass, s.oid FROM pg_foreign_server s WHERE s.oid >= 16384
        UNION ALL SELECT 'pg_user_mapping'::regclass, um.oid FROM pg_user_mapping um WHERE um.oid >= 16384
        UNION ALL SELECT 'pg_subscription'::regclass, s.oid FROM pg_subscription s WHERE s.oid >= 16384
      ) a(c, o)
     CROSS JOIN LATERAL pggit._root(a.c, a.o) r
     WHERE r.objid IS NOT NULL
    UNION ALL SELECT d.classid, d.objid FROM pggit._default_acl_roots() d  -- (10_privileges.sql)
$$;

-- ---- 20_commits.sql ----
-- pgGit engine: commits, trees, refs.

-- The role to record as author: the SET ROLE role if any, else the session's login role.
CREATE FUNCTION pggit._author() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN coalesce(current_setting('role', true), 'none') IN ('none', '') THEN session_user::text
                ELSE current_setting('role') END
$$;

-- The person the role acts for: the setting pggit.author, which a client (the web app) sets to
-- the user it acts for; NULL when unset. It is recorded as a commit's author, with the role as
-- the committer (as Git's author and committer), and in the audit log beside the role. It only
-- names: nothing is allowed or refused by it.
CREATE FUNCTION pggit._person() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_person text := nullif(btrim(current_setting('pggit.author', true)), '');
BEGIN
    IF length(v_person) > 200 OR v_person ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'pggit.author must be at most 200 characters without control characters: %',
            quote_literal(left(v_person, 200)) USING ERRCODE = '22023';
    END IF;
    RETURN v_person;
END $$;

-- Append an audit record.
-- (p_role, p_at and p_person record an operation done earlier by another role: a queued capture.)
CREATE FUNCTION pggit._audit(p_operation text, p_args jsonb, p_outcome text, p_detail text, p_started timestamptz,
                             p_role text DEFAULT NULL, p_at timestamptz DEFAULT NULL,
                             p_person text DEFAULT pggit._person())
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pggit.audit_log (at, role_name, operation, args, outcome, detail, duration_ms, person)
    VALUES (coalesce(p_at, clock_timestamp()), coalesce(p_role, pggit._author()), p_operation, coalesce(p_args, '{}'),
            p_outcome, p_detail, extract(epoch FROM clock_timestamp() - p_started) * 1000, p_person);
    PERFORM pggit._notify();
END $$;

-- Wake listeners (the web app's event listener): one NOTIFY on channel 'pggit' per transaction
-- that wrote history or queued a capture, sent when that transaction commits (none if it rolls
-- back). The payload is empty: listeners read pggit.audit_log. Off with
-- pggit.configure_notify(false) (a transaction that ran NOTIFY cannot be PREPAREd for 2PC);
-- listeners then find new rows by polling the log.
CREATE FUNCTION pggit._notify() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.meta WHERE key = 'notify' AND value = 'off') THEN
        PERFORM pg_notify('pggit', '');
    END IF;
END $$;

-- The NOTIFY of a queued capture: sent only when the queue holds no row of another transaction.
-- Such a row's transaction notified already, and whoever flushes it (the listener) looks at the
-- queue again after its flush (pggit.capture_pending()): a burst of statements wakes the listener
-- once, not once per statement.
CREATE FUNCTION pggit._notify_capture() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_base bigint := pg_current_xact_id()::text::bigint * 1048576;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.capture_queue q WHERE q.seq < v_base)
       AND NOT EXISTS (SELECT 1 FROM pggit.capture_queue q WHERE q.seq >= v_base + 1048576) THEN
        PERFORM pggit._notify();
    END IF;
END $$;

-- Whether captured statements wait in the queue for pggit.flush() (listeners read it after a flush).
CREATE FUNCTION pggit.capture_pending() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pggit.capture_queue)
$$;

-- Turn the NOTIFY of pggit._notify on or off (on by default); returns the setting.
CREATE FUNCTION pggit.configure_notify(p_enabled boolean) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_enabled IS NULL THEN
        RAISE EXCEPTION 'configure_notify needs true or false' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    INSERT INTO pggit.meta (key, value) VALUES ('notify', CASE WHEN p_enabled THEN 'on' ELSE 'off' END)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    RETURN p_enabled;
END $$;

-- The branch HEAD points at.
CREATE FUNCTION pggit.current_branch() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT branch FROM pggit.head
$$;

-- Resolve a ref (NULL or 'HEAD', a branch name, a commit id or unique prefix, optionally
-- followed by ~N for the N-th first-parent ancestor) to a commit id.
CREATE FUNCTION pggit._resolve(p_ref text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id    text;
    v_n     int;
    v_count int;
    v_m     text[];
BEGIN
    IF p_ref IS NULL OR p_ref = 'HEAD' THEN
        SELECT b.head INTO v_id FROM pggit.head h JOIN pggit.branches b ON b.name = h.branch;
        RETURN v_id;
    END IF;
    SELECT b.head INTO v_id FROM pggit.branches b WHERE b.name = p_ref;
    IF FOUND THEN RETURN v_id; END IF;
    v_m := regexp_match(p_ref, '^(.*)~([0-9]{1,9})$');
    IF v_m IS NOT NULL THEN
        v_id := pggit._resolve(v_m[1]);
        FOR v_n IN 1 .. v_m[2]::int LOOP
            SELECT c.parent_ids[1] INTO v_id FROM pggit.commits c WHERE c.commit_id = v_id;
            IF v_id IS NULL THEN
                RAISE EXCEPTION 'ref % goes past the first commit', quote_literal(p_ref) USING ERRCODE = 'PGG01';
            END IF;
        END LOOP;
        RETURN v_id;
    END IF;
    IF p_ref ~ '^[0-9a-f]{4,64}$' THEN
        SELECT min(c.commit_id), count(*) INTO v_id, v_count FROM pggit.commits c
         WHERE c.commit_id >= p_ref AND c.commit_id < p_ref || 'g';
        IF v_count = 1 THEN RETURN v_id; END IF;
        IF v_count > 1 THEN
            RAISE EXCEPTION 'commit prefix % is ambiguous (% commits)', quote_literal(p_ref), v_count USING ERRCODE = 'PGG02';
        END IF;
    END IF;
    RAISE EXCEPTION 'unknown ref %', quote_literal(p_ref)
        USING ERRCODE = 'PGG01', HINT = 'a ref is a branch name, HEAD, or a commit id (or a unique prefix of at least 4 hex digits)';
END $$;

-- The tree (identity, kind, hash) of a commit: its base snapshot overlaid with the changes of
-- the bounded first-parent chain after it. Never replays the whole history.
CREATE FUNCTION pggit._tree_rows(p_commit text) RETURNS TABLE (identity text, kind text, hash text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    v_chain    text[] := '{}';
    v_snapshot text;
    v_id       text := p_commit;
    v_parent   text;
BEGIN
    -- the first-parent chain from the commit back to (not including) its snapshot: key lookups
    SELECT c.snapshot_id INTO v_snapshot FROM pggit.commits c WHERE c.commit_id = p_commit;
    WHILE v_id IS DISTINCT FROM v_snapshot AND v_id IS NOT NULL LOOP
        v_chain := v_chain || v_id;
        SELECT c.parent_ids[1] INTO v_parent FROM pggit.commits c WHERE c.commit_id = v_id;
        v_id := v_parent;
    END LOOP;
    -- (the chain's changes by primary key, commit by commit: a plan kept from when pggit.changes
    -- was small read the whole table, 9 ms at 30,000 commits for a 2-object tree)
    RETURN QUERY
    WITH latest AS (
        SELECT DISTINCT ON (x.identity) x.identity, x.kind, x.new_hash
          FROM unnest(v_chain) WITH ORDINALITY AS ch(commit_id, depth)
         CROSS JOIN LATERAL (SELECT c.identity, c.kind, c.new_hash FROM pggit.changes c
                              WHERE c.commit_id = ch.commit_id OFFSET 0) x
         ORDER BY x.identity, ch.depth
    )
    SELECT s.identity, s.kind, s.hash
      FROM pggit.snapshots s
     WHERE s.commit_id = v_snapshot
       AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.identity = s.identity)
    UNION ALL
    SELECT l.identity, l.kind, l.new_hash FROM latest l WHERE l.new_hash IS NOT NULL;
END $$;

-- Record a commit with the given changes against its first parent and move the branch head.
-- The caller holds the branch row lock (SELECT ... FOR UPDATE on pggit.branches), which is
-- what keeps two sessions from both committing on the same old head and losing one commit.
-- p_author is the role; with a person (pggit._person()) the person is the author and the role
-- the committer.
CREATE FUNCTION pggit._make_commit(p_branch text, p_parents text[], p_author text, p_message text,
                                   p_changes pggit.change[], p_at timestamptz DEFAULT clock_timestamp(),
                                   p_person text DEFAULT pggit._person())
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_author    text := coalesce(p_person, p_author);
    v_committer text := CASE WHEN p_person <> p_author THEN p_author END;
    v_id       text;
    v_p        record;
    v_gen      int;
    v_n        int;
    v_delta    int;
    v_size     int;
    v_snapshot boolean;
BEGIN
    SELECT count(*), coalesce(sum(CASE WHEN c.old_hash IS NULL THEN 1 WHEN c.new_hash IS NULL THEN -1 ELSE 0 END), 0),
           pggit._sha256(
               'parents ' || array_to_string(p_parents, ' ') || E'\nauthor ' || v_author
               || coalesce(E'\ncommitter ' || v_committer, '')
               || E'\ndate ' || to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
               || E'\nserver ' || (current_setting('server_version_num')::int / 10000)
               || E'\n\n' || p_message || E'\n\n'
               || coalesce(string_agg(c.identity || ' ' || coalesce(c.old_hash, '-') || ' ' || coalesce(c.new_hash, '-'),
                                      E'\n' ORDER BY c.identity), ''))
      INTO v_n, v_delta, v_id FROM unnest(p_changes) c;

    SELECT p.snapshot_id, p.chain_changes, p.chain_commits, p.tree_size,
           (SELECT coalesce(max(c.generation), 0) + 1 FROM pggit.commits c WHERE c.commit_id = ANY (p_parents)) AS next_generation
      INTO v_p
      FROM (SELECT 1) one LEFT JOIN pggit.commits p ON p.commit_id = p_parents[1];
    v_gen := v_p.next_generation;
    v_size := coalesce(v_p.tree_size, 0) + v_delta;
    v_snapshot := v_p.snapshot_id IS NULL
               OR v_p.chain_changes + v_n >= greatest(256, v_size / 2)
               OR v_p.chain_commits >= 1000;

    INSERT INTO pggit.commits (commit_id, parent_ids, author, message, committed_at, generation, server_version,
                               snapshot_id, chain_changes, chain_commits, tree_size, committer)
    VALUES (v_id, p_parents, v_author, p_message, p_at, v_gen, current_setting('server_version_num')::int / 10000,
            CASE WHEN v_snapshot THEN v_id ELSE v_p.snapshot_id END,
            CASE WHEN v_snapshot THEN 0 ELSE v_p.chain_changes + v_n END,
            CASE WHEN v_snapshot THEN 0 ELSE v_p.chain_commits + 1 END,
            v_size, v_committer);
    INSERT INTO pggit.changes (commit_id, identity, kind, old_hash, new_hash)
    SELECT v_id, c.identity, c.kind, c.old_hash, c.new_hash FROM unnest(p_changes) c;

    IF v_snapshot THEN
        INSERT INTO pggit.snapshots (commit_id, identity, kind, hash)
        SELECT v_id, t.identity, t.kind, t.hash
          FROM pggit._tree_rows(p_parents[1]) t
         WHERE p_parents[1] IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM unnest(p_changes) c WHERE c.identity = t.identity)
        UNION ALL
        SELECT v_id, c.identity, c.kind, c.new_hash FROM unnest(p_changes) c WHERE c.new_hash IS NOT NULL;
    END IF;

    IF p_branch IS NOT NULL THEN
        UPDATE pggit.branches SET head = v_id WHERE name = p_branch;
    END IF;
    RETURN v_id;
END $$;

-- Lock a branch row and return its head: the lock serializes every move of that head.
CREATE FUNCTION pggit._lock_branch(p_branch text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_head text;
BEGIN
    SELECT b.head INTO v_head FROM pggit.branches b WHERE b.name = p_branch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % does not exist', quote_literal(p_branch) USING ERRCODE = 'PGG01';
    END IF;
    RETURN v_head;
END $$;

-- The first-parent path of a commit in the ancestry index, from the commit down: its chain and
-- position, then the fork point of that chain, and so on to a root, each with its generation
-- (strictly decreasing); stops at the first point below generation p_floor.
CREATE FUNCTION pggit._up(p_commit text, p_floor integer DEFAULT 0)
RETURNS TABLE (chain_id bigint, pos integer, generation integer)
LANGUAGE sql STABLE ROWS 3 SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE up(chain_id, pos, generation) AS (
        SELECT x.chain_id, x.chain_pos, c.generation
          FROM pggit.commit_chains x JOIN pggit.commits c ON c.commit_id = x.commit_id
         WHERE x.commit_id = p_commit AND c.generation >= p_floor
        UNION ALL
        SELECT ch.fork_chain, ch.fork_pos, ch.fork_generation
          FROM up JOIN pggit.chains ch ON ch.chain_id = up.chain_id
         WHERE ch.fork_generation >= p_floor
    )
    SELECT up.chain_id, up.pos, up.generation FROM up ORDER BY up.generation DESC
$$;

-- The ancestors of a commit (itself included) as the highest position reached on each chain
-- (positions 1..pos of that chain), with its generation: the points of its first-parent path
-- (pggit._up) and the chain_reach rows of each chain of the path up to the point. With
-- p_floor, only the chains reached at generation p_floor or above, each exactly (the highest
-- position of a chain has the highest generation, and every row at or above p_floor is read):
-- that costs the merges above p_floor, not the whole history.
CREATE FUNCTION pggit._reach(p_commit text, p_floor integer DEFAULT 0)
RETURNS TABLE (chain_id bigint, pos integer, generation integer)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH up AS MATERIALIZED (SELECT u.chain_id, u.pos, u.generation FROM pggit._up(p_commit, p_floor) u)
    SELECT s.chain_id, max(s.pos), max(s.generation)
      FROM (SELECT up.chain_id, up.pos, up.generation FROM up
            UNION ALL
            -- generations grow along a chain: r.generation <= up.generation is r.chain_pos <= up.pos
            SELECT r.target_chain, r.target_pos, r.target_generation
              FROM up JOIN pggit.chain_reach r
                ON r.chain_id = up.chain_id AND r.generation >= p_floor AND r.generation <= up.generation
             WHERE r.target_generation >= p_floor) s
     GROUP BY s.chain_id
$$;

-- The highest position of chain p_chain that commit p_commit reaches (NULL: none), if its
-- generation is p_floor or more: index lookups along the first-parent path above p_floor.
CREATE FUNCTION pggit._reach_on(p_commit text, p_chain bigint, p_floor integer) RETURNS integer
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT max(v.pos)
      FROM pggit._up(p_commit, p_floor) u,
           LATERAL (SELECT u.pos WHERE u.chain_id = p_chain
                    UNION ALL
                    (SELECT r.target_pos FROM pggit.chain_reach r
                      WHERE r.chain_id = u.chain_id AND r.target_chain = p_chain AND r.chain_pos <= u.pos
                      ORDER BY r.chain_pos DESC LIMIT 1)) v(pos)
$$;

-- Is commit p_ancestor reachable from p_descendant (or equal to it)? Only the part of the
-- ancestry index above p_ancestor's generation is read.
CREATE FUNCTION pggit._is_ancestor(p_ancestor text, p_descendant text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p_ancestor = p_descendant
        OR EXISTS (SELECT 1
                     FROM pggit.commit_chains x JOIN pggit.commits c ON c.commit_id = x.commit_id
                    WHERE x.commit_id = p_ancestor
                      AND pggit._reach_on(p_descendant, x.chain_id, c.generation) >= x.chain_pos)
$$;

-- What commit p_tip reaches beyond commit p_base, read above generation p_floor: one row per chain
-- where p_tip's reach may go higher than p_base's, with p_tip's position and its generation, p_base's
-- position on the chain if p_base reaches it at generation p_floor or above (base_pos: exact then;
-- NULL: p_base reaches no position of the chain at or above p_floor), and the generation of the
-- chain's first position. Rows with pos <= base_pos are left out. One row with chain_id NULL says
-- that no point of p_tip's first-parent path at or above p_floor is reached by p_base: lower the
-- floor (at floor 0 this does not happen; nothing in common then means every row is kept).
--
-- Why this is the whole of it. p_tip's reach is, chain by chain, the maximum of contributions: the
-- points (chain, pos) of its first-parent path and the chain_reach rows of each of those chains at
-- or below the point, each contribution carrying the generation of its commit (the point, or the
-- merge of the row). Let E be a commit of p_tip's first-parent path that p_base reaches: here the
-- highest point of that path, at or above p_floor, on a chain p_base reaches above p_floor,
-- lowered to p_base's position there. Every contribution of generation <= gen(E) is made by E or a
-- first-parent ancestor of E (generations grow along the path), so it is part of E's reach, and
-- E's reach is part of p_base's. So on a chain where p_tip reaches higher than p_base, its
-- highest contribution has generation > gen(E): reading only those (the merges on p_tip's first-
-- parent path since E, each row whatever the generation of its target: a merge made after E can
-- bring in an old branch) gives exactly the chains p_tip reaches beyond p_base and p_tip's
-- position on each. E's generation is p_floor or more, so this costs the merges of both paths
-- above the floor, not the history's. Whether p_base reaches a kept position is read from
-- p_base's reach above p_floor when the position's generation is p_floor or more (a reach that
-- high is exact there); below it the caller decides (pggit._reach_on, or another floor).
CREATE FUNCTION pggit._reach_beyond(p_tip text, p_base text, p_floor integer)
RETURNS TABLE (chain_id bigint, pos integer, generation integer, base_pos integer, start_generation integer)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_bchains bigint[];
    v_bpos    integer[];
    v_bgen    integer[];
    v_uchains bigint[];
    v_upos    integer[];
    v_ugen    integer[];
    v_egen    integer;
BEGIN
    SELECT coalesce(array_agg(b.chain_id), '{}'), coalesce(array_agg(b.pos), '{}'), coalesce(array_agg(b.generation), '{}')
      INTO v_bchains, v_bpos, v_bgen
      FROM pggit._reach(p_base, p_floor) b;
    SELECT coalesce(array_agg(u.chain_id), '{}'), coalesce(array_agg(u.pos), '{}'), coalesce(array_agg(u.generation), '{}')
      INTO v_uchains, v_upos, v_ugen
      FROM pggit._up(p_tip, p_floor) u;
    -- E: the highest point of p_tip's first-parent path above the floor on a chain p_base reaches
    -- (its generation: the point's, or that of p_base's position if lower; generations grow along
    -- a chain)
    SELECT CASE WHEN b.pos >= u.pos THEN u.generation ELSE b.generation END
      INTO v_egen
      FROM unnest(v_uchains, v_upos, v_ugen) u(chain_id, pos, generation)
      JOIN unnest(v_bchains, v_bpos, v_bgen) b(chain_id, pos, generation) ON b.chain_id = u.chain_id
     ORDER BY u.generation DESC
     LIMIT 1;
    IF v_egen IS NULL THEN
        IF p_floor > 0 THEN
            RETURN QUERY SELECT NULL::bigint, NULL::integer, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        v_egen := 0;
    END IF;
    RETURN QUERY
    WITH up AS MATERIALIZED (
        SELECT u.chain_id, u.pos, u.generation FROM unnest(v_uchains, v_upos, v_ugen) u(chain_id, pos, generation)
         WHERE u.generation > v_egen),
    kept AS (
        SELECT k.chain_id, max(k.pos) AS pos, max(k.generation) AS generation
          FROM (SELECT up.chain_id, up.pos, up.generation FROM up
                UNION ALL
                SELECT r.target_chain, r.target_pos, r.target_generation
                  FROM up JOIN pggit.chain_reach r
                    ON r.chain_id = up.chain_id AND r.generation > v_egen AND r.generation <= up.generation) k
         GROUP BY k.chain_id
    )
    SELECT k.chain_id, k.pos, k.generation, b.pos, coalesce(ch.fork_generation, 0) + 1
      FROM kept k
      JOIN pggit.chains ch ON ch.chain_id = k.chain_id
      LEFT JOIN unnest(v_bchains, v_bpos) b(chain_id, pos) ON b.chain_id = k.chain_id
     WHERE b.pos IS NULL OR k.pos > b.pos;
END $$;

-- Place commit p_id (parents p_parents, generation p_generation) in the ancestry index. It
-- continues its first parent's chain when it is the first commit to do so (the UPDATE's row lock
-- decides between two sessions committing on the same parent), else starts a chain forked
-- there; a merge records the chains its other parents reach beyond the first parent, exactly
-- (pggit._reach_beyond, read above a generation floor 64 below the older of the two parents, then
-- 8 times further each round until a commit of the other parent's first-parent path that the
-- first parent reaches is above the floor): a merge costs the merges of both sides since they
-- last met, and a lookup per chain it brings in from below the floor, not the merges of the whole
-- history.
CREATE FUNCTION pggit._place_commit(p_id text, p_parents text[], p_generation integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_pchain  bigint;
    v_ppos    integer;
    v_chain   bigint;
    v_pos     integer;
    v_tip     text;
    v_top     integer;
    v_window  integer;
    v_floor   integer;
    v_chains  bigint[] := '{}';
    v_tpos    integer[] := '{}';
    v_tgen    integer[] := '{}';
    v_c       bigint[];
    v_p       integer[];
    v_g       integer[];
    v_more    boolean;
BEGIN
    SELECT x.chain_id, x.chain_pos INTO v_pchain, v_ppos
      FROM pggit.commit_chains x WHERE x.commit_id = p_parents[1];
    IF v_pchain IS NOT NULL THEN
        UPDATE pggit.chains ch SET length = ch.length + 1
         WHERE ch.chain_id = v_pchain AND ch.length = v_ppos
        RETURNING ch.chain_id, ch.length INTO v_chain, v_pos;
    END IF;
    IF v_chain IS NULL THEN
        INSERT INTO pggit.chains (length, fork_chain, fork_pos, fork_generation)
        VALUES (1, v_pchain, v_ppos, (SELECT c.generation FROM pggit.commits c WHERE c.commit_id = p_parents[1]))
        RETURNING chains.chain_id, 1 INTO v_chain, v_pos;
    END IF;
    INSERT INTO pggit.commit_chains (commit_id, chain_id, chain_pos) VALUES (p_id, v_chain, v_pos);
    IF cardinality(p_parents) > 1 THEN
        FOREACH v_tip IN ARRAY p_parents[2:] LOOP
            SELECT least(a.generation, b.generation) INTO v_top
              FROM pggit.commits a, pggit.commits b WHERE a.commit_id = p_parents[1] AND b.commit_id = v_tip;
            v_window := 64;
            LOOP
                v_floor := greatest(coalesce(v_top, 0) - v_window, 0);
                SELECT array_agg(r.chain_id), array_agg(r.pos), array_agg(r.generation), bool_or(r.chain_id IS NULL)
                  INTO v_c, v_p, v_g, v_more
                  FROM pggit._reach_beyond(v_tip, p_parents[1], v_floor) r
                 WHERE r.chain_id IS NULL OR r.base_pos IS NOT NULL OR r.generation >= v_floor
                    -- a position below the floor that the first parent does not reach above it: look
                    -- it up on the first parent's path above the position's generation
                    OR coalesce(pggit._reach_on(p_parents[1], r.chain_id, r.generation), 0) < r.pos;
                EXIT WHEN NOT coalesce(v_more, false);
                v_window := v_window * 8;  -- no meeting point above the floor: lower it
            END LOOP;
            v_chains := v_chains || coalesce(v_c, '{}');
            v_tpos := v_tpos || coalesce(v_p, '{}');
            v_tgen := v_tgen || coalesce(v_g, '{}');
        END LOOP;
        INSERT INTO pggit.chain_reach (chain_id, chain_pos, target_chain, target_pos, generation, target_generation)
        SELECT v_chain, v_pos, o.chain_id, max(o.pos), p_generation, max(o.generation)
          FROM unnest(v_chains, v_tpos, v_tgen) o(chain_id, pos, generation)
         GROUP BY o.chain_id;
    END IF;
END $$;

-- Trigger commits_index: place a new commit in the ancestry index (pggit._place_commit).
CREATE FUNCTION pggit._index_commit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pggit._place_commit(NEW.commit_id, NEW.parent_ids, NEW.generation);
    RETURN NULL;
END $$;

CREATE TRIGGER commits_index AFTER INSERT ON pggit.commits
    FOR EACH ROW EXECUTE FUNCTION pggit._index_commit();

-- ---- 21_capture.sql ----
-- pgGit engine: automatic capture of DDL as commits on HEAD.

-- Whether a role may turn capture off: the engine's owner, a superuser, or a member of pggit_admin.
CREATE FUNCTION pggit._is_admin(p_role text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(bool_or(r.rolsuper
                            OR r.oid = (SELECT n.nspowner FROM pg_namespace n WHERE n.nspname = 'pggit')
                            OR (to_regrole('pggit_admin') IS NOT NULL AND pg_has_role(r.oid, 'pggit_admin', 'MEMBER'))),
                    false)
      FROM pg_roles r WHERE r.rolname = p_role
$$;

-- How the running statement is captured: 'on', 'off' (pggit.capture = off set by the engine's
-- owner or a pggit_admin member; anyone else's setting is ignored, with a warning when p_warn), or
-- 'absorb' (the engine's own migration steps: only when the engine itself recorded that mode in
-- pggit.tx_state for this transaction; the setting alone is a hint that anyone could forge).
CREATE FUNCTION pggit._capture_mode(p_warn boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_setting text := coalesce(current_setting('pggit.capture', true), '');
BEGIN
    IF v_setting = '' THEN
        RETURN 'on';
    ELSIF v_setting = 'absorb' THEN
        IF EXISTS (SELECT 1 FROM pggit.tx_state s WHERE s.xid = pg_current_xact_id() AND s.key = 'absorb') THEN
            RETURN 'absorb';
        END IF;
    ELSIF v_setting = 'off' THEN
        IF pggit._is_admin(session_user::text) OR pggit._is_admin(pggit._author()) THEN
            RETURN 'off';
        END IF;
        IF p_warn THEN
            RAISE WARNING 'pgGit: pggit.capture = off is ignored for role %: this statement is captured', pggit._author()
                USING HINT = 'only the engine''s owner and members of pggit_admin may turn capture off';
        END IF;
    END IF;
    RETURN 'on';
END $$;

-- Append to a per-transaction value of pggit.tx_state (space-separated words).
CREATE FUNCTION pggit._tx_append(p_key text, p_value text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (PL/pgSQL, here and in the helpers of the DDL path below: its plans are kept for the
    -- session, where an SQL function that is not inlined is planned again at every call)
    INSERT INTO pggit.tx_state AS s (xid, key, value) VALUES (pg_current_xact_id(), p_key, p_value)
    ON CONFLICT (xid, key) DO UPDATE SET value = concat_ws(' ', nullif(s.value, ''), nullif(EXCLUDED.value, ''));
END $$;

-- Take (read and delete) a per-transaction value of pggit.tx_state; NULL when there is none.
CREATE FUNCTION pggit._tx_take(p_key text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_value text;
BEGIN
    DELETE FROM pggit.tx_state s WHERE s.xid = pg_current_xact_id() AND s.key = p_key RETURNING nullif(s.value, '') INTO v_value;
    RETURN v_value;
END $$;

-- sql_drop: remember what the statement dropped (read by the ddl_command_end trigger).
CREATE FUNCTION pggit._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_list text;
BEGIN
    IF coalesce(current_setting('pggit.capture', true), '') <> '' AND pggit._capture_mode() = 'off' THEN RETURN; END IF;
    -- (the dropped list read once: each call of pg_event_trigger_dropped_objects() builds it again)
    WITH d AS MATERIALIZED (SELECT * FROM pg_event_trigger_dropped_objects())
    SELECT string_agg(x, ' ') INTO v_list FROM (
        -- dropped objects themselves
        SELECT 'D' || d.classid || '/' || d.objid AS x
          FROM d WHERE d.objsubid = 0
        UNION ALL
        -- tables that lost a column, a default or a constraint: refresh them
        SELECT 'R' || 'pg_class'::regclass::oid || '/' || t.oid
          FROM d
          CROSS JOIN LATERAL (SELECT CASE
                 WHEN d.classid = 'pg_class'::regclass AND d.objsubid > 0 THEN d.objid
                 WHEN d.object_type IN ('table constraint', 'default value') AND cardinality(d.address_names) >= 2
                     THEN to_regclass(quote_ident(d.address_names[1]) || '.' || quote_ident(d.address_names[2]))::oid
                 END AS oid) t
         WHERE t.oid IS NOT NULL
        UNION ALL
        -- publications that lost a table or schema (dropped with it)
        SELECT 'R' || 'pg_publication'::regclass::oid || '/' || p.oid
          FROM d JOIN pg_publication p ON p.pubname = d.address_args[1]
         WHERE d.object_type IN ('publication relation', 'publication namespace')
        UNION ALL
        SELECT 'R' || 'pg_type'::regclass::oid || '/' || to_regtype(quote_ident(d.address_names[1]) || '.' || quote_ident(d.address_names[2]))::oid
          FROM d
         WHERE d.object_type = 'domain constraint' AND cardinality(d.address_names) >= 2
           AND to_regtype(quote_ident(d.address_names[1]) || '.' || quote_ident(d.address_names[2])) IS NOT NULL
        UNION ALL
        -- an index whose address changed under the same identity where no event trigger saw it
        -- (REINDEX CONCURRENTLY before PostgreSQL 17): the live map's row for that identity goes
        SELECT 'D' || l.classid || '/' || l.objid
          FROM d
          JOIN pggit.live_objects l ON l.identity = 'index ' || d.object_identity
         WHERE d.object_type = 'index' AND d.objsubid = 0 AND l.objid <> d.objid
    ) s;
    IF v_list IS NOT NULL THEN
        PERFORM pggit._tx_append('dropped', v_list);
        PERFORM set_config('pggit.dropped', 'pending', true);  -- a hint: the list itself is in pggit.tx_state
    END IF;
END $$;

-- Lineage: what an object was called before. A renamed object (same catalog address, another
-- identity: ALTER ... RENAME, SET SCHEMA, a renamed schema) keeps, in its description's detail,
-- {"lineage": {"origin": the identity it was first recorded under, "columns": {name: first
-- name} of renamed columns, "labels": {label: first label} of renamed enum labels}}, so that a
-- migration between any two states renames instead of dropping and adding. Carried from the live
-- map's description of the same object; not part of drift (the catalog does not know it).
CREATE FUNCTION pggit._with_lineage(p_descs pggit.objdesc[], p_rencols text[]) RETURNS pggit.objdesc[]
LANGUAGE plpgsql AS $$
DECLARE
    v_out   pggit.objdesc[] := '{}';
    v_d     pggit.objdesc;
    v_prev  text;
    v_old   jsonb;
    v_lin   jsonb;
    v_cols  jsonb;
    v_labels jsonb;
    v_rc    text;
    v_pos   int;
    v_from  text;
    v_to    text;
BEGIN
    FOREACH v_d IN ARRAY coalesce(p_descs, '{}') LOOP
        IF v_d.identity IS NULL THEN
            v_out := v_out || v_d;
            CONTINUE;
        END IF;
        -- the same object in the live map: under this identity, or at this address under another
        SELECT l.identity, b.detail INTO v_prev, v_old
          FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
         WHERE l.identity = v_d.identity;
        IF NOT FOUND THEN
            SELECT l.identity, b.detail INTO v_prev, v_old
              FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
             WHERE l.classid = v_d.classid AND l.objid = v_d.objid AND l.kind = v_d.kind;
        END IF;
        IF v_prev IS NULL THEN
            IF EXISTS (SELECT 1 FROM pggit.blobs b JOIN pggit.live_objects l ON l.hash = b.hash
                        WHERE b.detail ? 'lineage' AND b.detail->'lineage'->>'origin' = v_d.identity) THEN
                -- a new object under the name a renamed one was first recorded under: another
                -- object, with an origin of its own
                v_d.detail := v_d.detail || jsonb_build_object('lineage', jsonb_build_object(
                    'origin', v_d.identity || ' @' || pg_current_xact_id() || '.' || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint));
            END IF;
            v_out := v_out || v_d;
            CONTINUE;
        END IF;
        v_lin := coalesce(v_old->'lineage', '{}');
        IF v_prev <> v_d.identity THEN
            v_lin := v_lin || jsonb_build_object('origin', coalesce(v_lin->>'origin', v_prev));
        END IF;
        v_cols := coalesce(v_lin->'columns', '{}');
        -- columns renamed by this statement: the same position among the table's columns
        FOREACH v_rc IN ARRAY coalesce(p_rencols, '{}') LOOP
            CONTINUE WHEN split_part(v_rc, '/', 1)::oid <> v_d.objid OR v_d.kind <> 'table';
            SELECT count(*) INTO v_pos FROM pg_attribute a
             WHERE a.attrelid = v_d.objid AND a.attnum > 0 AND NOT a.attisdropped AND a.attnum <= split_part(v_rc, '/', 2)::int2;
            v_from := v_old->'columns'->(v_pos - 1)->>'name';
            v_to := v_d.detail->'columns'->(v_pos - 1)->>'name';
            IF v_from IS NOT NULL AND v_to IS NOT NULL AND v_from <> v_to THEN
                v_cols := (v_cols - v_from) || jsonb_build_object(v_to, coalesce(v_cols->>v_from, v_from));
            END IF;
        END LOOP;
        IF v_cols <> '{}' THEN
            -- (columns since dropped, or renamed back, have no lineage)
            SELECT coalesce(jsonb_object_agg(c.key, c.value), '{}') INTO v_cols
              FROM jsonb_each_text(v_cols) c
             WHERE c.key <> c.value
               AND EXISTS (SELECT 1 FROM jsonb_array_elements(v_d.detail->'columns') x WHERE x->>'name' = c.key);
        END IF;
        v_labels := coalesce(v_lin->'labels', '{}');
        IF v_d.detail ? 'enum' AND v_old ? 'enum' AND jsonb_array_length(v_d.detail->'enum') = jsonb_array_length(v_old->'enum')
           AND v_d.detail->'enum' <> v_old->'enum' THEN
            -- the only change that keeps an enum's labels in place is RENAME VALUE
            SELECT v_labels - array_agg(o.v) || jsonb_object_agg(n.v, coalesce(v_labels->>o.v, o.v)) INTO v_labels
              FROM jsonb_array_elements_text(v_old->'enum') WITH ORDINALITY o(v, i)
              JOIN jsonb_array_elements_text(v_d.detail->'enum') WITH ORDINALITY n(v, i) ON n.i = o.i
             WHERE n.v <> o.v;
        END IF;
        IF v_labels <> '{}' THEN
            SELECT coalesce(jsonb_object_agg(c.key, c.value), '{}') INTO v_labels
              FROM jsonb_each_text(v_labels) c
             WHERE c.key <> c.value AND v_d.detail->'enum' ? c.key;
        END IF;
        v_lin := jsonb_strip_nulls(jsonb_build_object(
                     'origin', CASE WHEN v_lin->>'origin' <> v_d.identity THEN v_lin->>'origin' END,
                     'columns', CASE WHEN v_cols <> '{}' THEN v_cols END,
                     'labels', CASE WHEN v_labels <> '{}' THEN v_labels END));
        IF v_lin <> '{}' THEN
            v_d.detail := v_d.detail || jsonb_build_object('lineage', v_lin);
        END IF;
        v_out := v_out || v_d;
    END LOOP;
    RETURN v_out;
END $$;

-- Compare described objects with the live map, store new definitions, update the live map and
-- return the differences as changes. p_touched/p_dropped are catalog addresses the statement
-- touched or dropped: a live object at such an address that no longer describes under the same
-- identity was renamed, moved out of tracking, or dropped.
-- p_rencols: 'objid/attnum' of columns this statement renamed (ALTER TABLE ... RENAME COLUMN).
CREATE FUNCTION pggit._record_changes(p_descs pggit.objdesc[], p_touched_cls oid[], p_touched_obj oid[],
                                      p_dropped_cls oid[], p_dropped_obj oid[], p_rencols text[] DEFAULT '{}')
RETURNS pggit.change[]
LANGUAGE plpgsql AS $$
DECLARE
    v_changes pggit.change[];
    v_d       pggit.objdesc[];   -- the described objects (with an identity)
    v_h       text[];            -- and their hashes, in the same order
BEGIN
    p_descs := pggit._with_lineage(p_descs, p_rencols);
    -- each described object with its hash, computed once. The hash covers the structured detail
    -- too: a partition's columns, say, are not in its definition text but do change
    SELECT array_agg(ROW(x.classid, x.objid, x.kind, x.identity, x.definition, x.detail)::pggit.objdesc ORDER BY ord),
           array_agg(pggit._sha256(x.definition || E'\n' || x.detail::text) ORDER BY ord)
      INTO v_d, v_h
      FROM unnest(p_descs) WITH ORDINALITY AS x(classid, objid, kind, identity, definition, detail, ord)
     WHERE x.identity IS NOT NULL;

    WITH d AS (
        SELECT u.classid, u.objid, u.kind, u.identity, v_h[u.i] AS hash
          FROM unnest(v_d) WITH ORDINALITY u(classid, objid, kind, identity, definition, detail, i)
    ),
    addr AS (
        SELECT * FROM unnest(p_touched_cls, p_touched_obj) a(classid, objid)
        UNION SELECT * FROM unnest(p_dropped_cls, p_dropped_obj)
        UNION SELECT d.classid, d.objid FROM d
    ),
    gone AS (
        SELECT l.identity, l.kind, l.hash FROM pggit.live_objects l
          JOIN addr a ON a.classid = l.classid AND a.objid = l.objid
         WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.identity = l.identity)
    )
    SELECT array_agg(ROW(c.identity, c.kind, c.old_hash, c.new_hash)::pggit.change ORDER BY c.identity)
      INTO v_changes
      FROM (
        SELECT d.identity, d.kind, l.hash AS old_hash, d.hash AS new_hash
          FROM d LEFT JOIN pggit.live_objects l ON l.identity = d.identity
         WHERE l.hash IS DISTINCT FROM d.hash
        UNION ALL
        SELECT g.identity, g.kind, g.hash, NULL FROM gone g
      ) c;

    IF v_changes IS NULL THEN
        -- nothing changed, but an object can keep its identity under a new address (ALTER COLUMN
        -- TYPE to the same type rebuilds indexes): the live map must follow, or dropping it later
        -- would go unrecorded
        -- (each condition on its own index: an OR of them scanned the whole live map)
        DELETE FROM pggit.live_objects l
         USING (SELECT l2.identity, l2.classid, l2.objid
                     FROM unnest(v_d) u JOIN pggit.live_objects l2 ON l2.identity = u.identity
                    WHERE (l2.classid, l2.objid) IS DISTINCT FROM (u.classid, u.objid)
                   UNION
                   SELECT l2.identity, l2.classid, l2.objid
                     FROM unnest(v_d) u JOIN pggit.live_objects l2 ON l2.classid = u.classid AND l2.objid = u.objid
                    WHERE l2.identity IS DISTINCT FROM u.identity) x
         WHERE l.identity = x.identity AND l.classid = x.classid AND l.objid = x.objid;
        IF FOUND THEN
            INSERT INTO pggit.live_objects (identity, kind, hash, classid, objid)
            SELECT u.identity, u.kind, v_h[u.i], u.classid, u.objid
              FROM unnest(v_d) WITH ORDINALITY u(classid, objid, kind, identity, definition, detail, i)
             WHERE NOT EXISTS (SELECT 1 FROM pggit.live_objects l WHERE l.identity = u.identity);
        END IF;
        RETURN NULL;
    END IF;

    INSERT INTO pggit.blobs (hash, kind, definition, detail)
    SELECT DISTINCT ON (v_h[u.i]) v_h[u.i], u.kind, u.definition, u.detail
      FROM unnest(v_d) WITH ORDINALITY u(classid, objid, kind, identity, definition, detail, i)
     WHERE v_h[u.i] IN (SELECT c.new_hash FROM unnest(v_changes) c)
    ON CONFLICT (hash) DO NOTHING;

    -- (an object can keep its identity under a new address: ALTER COLUMN TYPE rebuilds indexes)
    -- (each condition on its own index: an OR of them scanned the whole live map)
    DELETE FROM pggit.live_objects l
     WHERE l.identity = ANY (array(SELECT c.identity FROM unnest(v_changes) c UNION SELECT u.identity FROM unnest(v_d) u));
    DELETE FROM pggit.live_objects l USING unnest(v_d) u WHERE l.classid = u.classid AND l.objid = u.objid;
    INSERT INTO pggit.live_objects (identity, kind, hash, classid, objid)
    SELECT u.identity, u.kind, v_h[u.i], u.classid, u.objid
      FROM unnest(v_d) WITH ORDINALITY u(classid, objid, kind, identity, definition, detail, i);
    RETURN v_changes;
END $$;

-- Commit changes made on the live database to HEAD's branch, or add them to this
-- transaction's group when pggit.begin_commit() opened one. p_defer (capture): the commit is
-- written by the next pggit.flush(), which every reader of history runs first; the live map and
-- blobs already hold the changes, and the branch row is locked as a commit would lock it, so
-- concurrent sessions still record one after the other in the order they captured.
CREATE FUNCTION pggit._commit_live(p_changes pggit.change[], p_message text, p_started timestamptz,
                                   p_defer boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_txid   bigint := txid_current();
    v_branch text;
    v_head   text;
    v_id     text;
BEGIN
    IF EXISTS (SELECT 1 FROM pggit.pending_groups g WHERE g.txid = v_txid) THEN
        INSERT INTO pggit.pending_changes AS p (txid, identity, kind, old_hash, new_hash)
        SELECT v_txid, c.identity, c.kind, c.old_hash, c.new_hash FROM unnest(p_changes) c
        ON CONFLICT (txid, identity) DO UPDATE SET new_hash = EXCLUDED.new_hash, kind = EXCLUDED.kind;
        RETURN NULL;
    END IF;
    -- lock HEAD's branch row: concurrent sessions queue here, so none commits on a stale head
    SELECT b.name, b.head INTO v_branch, v_head
      FROM pggit.head h JOIN pggit.branches b ON b.name = h.branch FOR UPDATE OF b;
    IF p_defer THEN
        INSERT INTO pggit.capture_queue (author, captured_at, message, classids, objids, changes, capture_ms, person)
        -- (its time is now, with the lock: commits follow the order sessions took it)
        VALUES (pggit._author(), clock_timestamp(), p_message, '{}', '{}', p_changes,
                extract(epoch FROM clock_timestamp() - p_started) * 1000, pggit._person());
        PERFORM pggit._notify_capture();
        RETURN NULL;
    END IF;
    v_id := pggit._make_commit(v_branch, ARRAY[v_head], pggit._author(), p_message, p_changes);
    PERFORM pggit._audit('capture', jsonb_build_object('branch', v_branch, 'commit', v_id,
                         'changes', cardinality(p_changes)), 'ok', NULL, p_started);
    RETURN v_id;
END $$;

-- After an ALTER that left this object as described: can objects that depend on it have
-- changed? Dependents (indexes, views, triggers, policies, other tables' foreign keys, functions
-- with SQL-standard bodies) show the table's name and its columns' names, and are rebuilt when a
-- column's type changes. So they cannot have changed when the table keeps its identity at the
-- same address (no rename, no SET SCHEMA), every column it had keeps its name, type and collation
-- (a column may be missing only when the statement dropped something: a RENAME cannot be combined
-- with any other action), every index of it keeps its address (ALTER COLUMN TYPE rebuilds them),
-- it is a plain table without children (a column added to a parent is added to its children)
-- and without triggers or rules (ENABLE/DISABLE TRIGGER or RULE changes their text). Any other kind of
-- object, or any doubt: false, and the caller describes every dependent.
CREATE FUNCTION pggit._keeps_dependents(p_desc pggit.objdesc, p_dropped boolean) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_old  jsonb;
    v_lost text[];
BEGIN
    IF p_desc.identity IS NULL THEN
        RETURN true;  -- gone: what depended on it went with it (and was reported as dropped)
    END IF;
    IF p_desc.kind <> 'table' OR p_desc.classid <> 'pg_class'::regclass THEN
        RETURN false;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = p_desc.objid AND c.relkind = 'r' AND NOT c.relhassubclass)
       OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = p_desc.objid AND NOT t.tgisinternal)
       OR EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = p_desc.objid AND r.rulename <> '_RETURN') THEN
        RETURN false;
    END IF;
    SELECT b.detail INTO v_old FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
     WHERE l.identity = p_desc.identity AND l.classid = p_desc.classid AND l.objid = p_desc.objid;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT array_agg(x.name) INTO v_lost FROM (
        SELECT o->>'name' AS name, o->>'type', o->>'collation' FROM jsonb_array_elements(v_old->'columns') o
        EXCEPT
        SELECT n->>'name', n->>'type', n->>'collation' FROM jsonb_array_elements(p_desc.detail->'columns') n) x;
    IF v_lost IS NOT NULL AND (NOT p_dropped OR EXISTS (
           SELECT 1 FROM jsonb_array_elements(p_desc.detail->'columns') n WHERE n->>'name' = ANY (v_lost))) THEN
        RETURN false;
    END IF;
    -- (a lookup by identity per index, in the identity's collation: a join on the computed name,
    -- whose collation is the "C" of pg_class.relname, scanned the whole live map)
    RETURN NOT EXISTS (
        SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = p_desc.objid
           AND (SELECT l.objid FROM pggit.live_objects l  -- (the identity is the key: one row at most)
                 WHERE l.identity = ('index ' || pggit._qname(ic.relnamespace, ic.relname)) COLLATE "default") <> i.indexrelid);
END $$;

-- The roots of the indexes of the partitions among these objects that are attached to a
-- partitioned index (a partition made or attached gets its parent's indexes: a parent index
-- that is not valid lists them in its definition).
-- (PL/pgSQL, for a plan kept for the session: it runs for most captured statements)
CREATE FUNCTION pggit._partition_index_roots(p_cls oid[], p_obj oid[], OUT classids oid[], OUT objids oid[])
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class t WHERE t.oid = ANY (p_obj) AND t.relispartition AND t.relkind IN ('r', 'p')) THEN
        RETURN;  -- no partition among them (the common case): one index probe per address
    END IF;
    SELECT array_agg(x.classid), array_agg(x.objid) INTO classids, objids
      FROM (SELECT DISTINCT r.classid, r.objid
              FROM unnest(p_cls, p_obj) u(classid, objid)
              JOIN pg_class t ON t.oid = u.objid AND t.relispartition AND t.relkind IN ('r', 'p')
              JOIN pg_index i ON i.indrelid = t.oid
              JOIN pg_class ic ON ic.oid = i.indexrelid AND ic.relispartition
             CROSS JOIN LATERAL pggit._root('pg_class'::regclass, i.indexrelid) r
             WHERE u.classid = 'pg_class'::regclass AND r.objid IS NOT NULL) x;
END $$;

-- Describe what the running DDL statement created or changed and commit it on HEAD (called by
-- the ddl_command_end trigger for statements that are not queued). Generic plans: the catalog lookups below are cheap either way, and re-planning them on every
-- statement (custom plans) was most of the capture's cost. Every lookup here is by key, so
-- sequential scans are off: a generic plan made while pggit's tables were small must not keep
-- scanning them whole once the history has grown. (With sequential scans off, estimated costs
-- pass jit_above_cost; compiling every lookup would cost far more than it saves: JIT is off.)
CREATE FUNCTION pggit._capture_ddl() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_started  timestamptz := clock_timestamp();
    v_cls      oid[];
    v_obj      oid[];
    v_raw_cls  oid[];
    v_raw_obj  oid[];
    v_alter    boolean;
    v_index    boolean;
    v_rencols  text[];
    v_drop_cls oid[];
    v_drop_obj oid[];
    v_dropped  text;
    v_descs    pggit.objdesc[];
    v_changes  pggit.change[];
    v_mode     text := CASE WHEN coalesce(current_setting('pggit.capture', true), '') = '' THEN 'on' ELSE pggit._capture_mode() END;
    v_deps     boolean := true;
    v_attnum   int2;
    v_idx      boolean;
    v_seq      boolean;
BEGIN
    IF coalesce(current_setting('pggit.dropped', true), '') <> '' THEN  -- (only a hint: see _on_sql_drop)
        PERFORM set_config('pggit.dropped', '', true);
        v_dropped := pggit._tx_take('dropped');
    END IF;

    SELECT array_agg(c.classid), array_agg(c.objid), bool_or(c.command_tag LIKE 'ALTER%'),
           bool_or(c.command_tag = 'CREATE INDEX'),
           array_agg(c.objid || '/' || c.objsubid) FILTER (WHERE c.command_tag LIKE 'ALTER%' AND c.objsubid > 0
                                                           AND c.object_type = 'table column'),
           array_agg(r.classid) FILTER (WHERE r.objid IS NOT NULL), array_agg(r.objid) FILTER (WHERE r.objid IS NOT NULL),
           CASE WHEN count(*) = 1 AND bool_and(c.command_tag = 'COMMENT' AND c.classid = 'pg_class'::regclass AND c.objsubid > 0)
                THEN max(c.objsubid)::int2 END,
           bool_or(c.object_type = 'index'), bool_or(c.object_type = 'sequence')
      INTO v_raw_cls, v_raw_obj, v_alter, v_index, v_rencols, v_cls, v_obj, v_attnum, v_idx, v_seq
      FROM pg_event_trigger_ddl_commands() c
      LEFT JOIN LATERAL pggit._root(c.classid, c.objid) r ON true
     WHERE NOT c.in_extension;

    IF v_dropped IS NOT NULL THEN
        SELECT array_agg(split_part(substr(x, 2), '/', 1)::oid) FILTER (WHERE left(x, 1) = 'D'),
               array_agg(split_part(substr(x, 2), '/', 2)::oid) FILTER (WHERE left(x, 1) = 'D'),
               v_cls || coalesce(array_agg(split_part(substr(x, 2), '/', 1)::oid) FILTER (WHERE left(x, 1) = 'R'), '{}'),
               v_obj || coalesce(array_agg(split_part(substr(x, 2), '/', 2)::oid) FILTER (WHERE left(x, 1) = 'R'), '{}')
          INTO v_drop_cls, v_drop_obj, v_cls, v_obj
          FROM regexp_split_to_table(v_dropped, ' ') x;
        -- (an event trigger dropped with its function is not reported: look at all of them)
        SELECT coalesce(v_raw_cls, '{}') || coalesce(a.classids, '{}'), coalesce(v_raw_obj, '{}') || coalesce(a.objids, '{}'),
               coalesce(v_cls, '{}') || coalesce(a.classids, '{}'), coalesce(v_obj, '{}') || coalesce(a.objids, '{}')
          INTO v_raw_cls, v_raw_obj, v_cls, v_obj
          FROM pggit._event_trigger_addresses() a;
        v_raw_cls := nullif(v_raw_cls, '{}'); v_raw_obj := nullif(v_raw_obj, '{}');
        SELECT array_agg(r.classid), array_agg(r.objid) INTO v_cls, v_obj
          FROM unnest(v_cls, v_obj) u(classid, objid)
         CROSS JOIN LATERAL pggit._root(u.classid, u.objid) r WHERE r.objid IS NOT NULL;
    END IF;

    IF v_alter AND v_idx AND EXISTS (
           SELECT 1 FROM unnest(v_raw_cls, v_raw_obj) u(classid, objid)
             JOIN pg_class c ON c.oid = u.objid AND c.relkind IN ('i', 'I')
            CROSS JOIN LATERAL pggit._root(u.classid, u.objid) r
            WHERE u.classid = 'pg_class'::regclass AND r.objid = u.objid
              AND NOT EXISTS (SELECT 1 FROM pggit.live_objects l WHERE l.classid = u.classid AND l.objid = u.objid)) THEN
        -- an index altered (renamed, moved) at an address the live map does not hold: REINDEX
        -- CONCURRENTLY, which fires no event trigger before PostgreSQL 17, gave it a new one. The
        -- live map's rows at addresses that no longer exist are gone (or come back described)
        SELECT v_drop_cls || array_agg(l.classid), v_drop_obj || array_agg(l.objid) INTO v_drop_cls, v_drop_obj
          FROM pggit.live_objects l
         WHERE l.kind = 'index' AND l.classid = 'pg_class'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = l.objid);
    END IF;

    IF v_cls IS NULL AND v_drop_cls IS NULL AND v_raw_cls IS NULL THEN
        RETURN;
    END IF;
    IF v_cls IS NOT NULL THEN
        SELECT v_cls || coalesce(x.classids, '{}'), v_obj || coalesce(x.objids, '{}') INTO v_cls, v_obj
          FROM pggit._partition_index_roots(v_cls, v_obj) x;
    END IF;

    IF 'pg_operator'::regclass = ANY (coalesce(v_raw_cls, '{}') || coalesce(v_drop_cls, '{}')) THEN
        -- an operator made or dropped changes the COMMUTATOR and NEGATOR of the operators it
        -- names, where no event trigger sees it: the operators HEAD holds are described again
        SELECT coalesce(v_cls, '{}') || coalesce(array_agg(l.classid), '{}'), coalesce(v_obj, '{}') || coalesce(array_agg(l.objid), '{}')
          INTO v_cls, v_obj
          FROM pggit.live_objects l
         WHERE l.classid = 'pg_operator'::regclass AND EXISTS (SELECT 1 FROM pg_operator o WHERE o.oid = l.objid);
        v_cls := nullif(v_cls, '{}'); v_obj := nullif(v_obj, '{}');
    END IF;

    IF 'pg_type'::regclass = ANY (coalesce(v_raw_cls, '{}')) OR 'pg_opclass'::regclass = ANY (coalesce(v_raw_cls, '{}')) THEN
        -- a base type made in full takes its I/O functions in (recorded on their own while it was
        -- a shell): their addresses are touched, so the live map lets them go; an operator class
        -- can make its family (CREATE OPERATOR CLASS without FAMILY), which no event trigger reports
        SELECT v_raw_cls || coalesce(array_agg('pg_proc'::regclass::oid), '{}'), v_raw_obj || coalesce(array_agg(f), '{}')
          INTO v_raw_cls, v_raw_obj
          FROM unnest(v_raw_cls, v_raw_obj) u(classid, objid)
          JOIN pg_type t ON t.oid = u.objid AND t.typtype = 'b'
         CROSS JOIN LATERAL unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::oid[]) f
         WHERE u.classid = 'pg_type'::regclass AND f <> 0;
        SELECT coalesce(v_cls, '{}') || coalesce(array_agg(r.classid), '{}'), coalesce(v_obj, '{}') || coalesce(array_agg(r.objid), '{}')
          INTO v_cls, v_obj
          FROM unnest(v_raw_cls, v_raw_obj) u(classid, objid)
          JOIN pg_opclass c ON c.oid = u.objid
         CROSS JOIN LATERAL pggit._root('pg_opfamily'::regclass, c.opcfamily) r
         WHERE u.classid = 'pg_opclass'::regclass AND r.objid IS NOT NULL;
        v_cls := nullif(v_cls, '{}'); v_obj := nullif(v_obj, '{}');
    END IF;

    IF v_attnum IS NOT NULL AND v_dropped IS NULL AND v_mode = 'on' THEN
        -- COMMENT ON COLUMN of a table: only that column's comment changed
        v_descs := ARRAY[pggit._describe_column_comment(v_raw_obj[1], v_attnum)];
        IF v_descs[1] IS NULL THEN
            v_descs := NULL;
        END IF;
    END IF;

    IF v_alter AND v_cls IS NOT NULL AND v_mode <> 'absorb' THEN
        -- the statement's own objects first: whether their dependents can have changed depends
        -- on what the statement did to them (see _keeps_dependents)
        SELECT array_agg(pggit._describe(u.classid, u.objid))
          INTO v_descs
          FROM (SELECT DISTINCT classid, objid FROM unnest(v_cls, v_obj) AS t(classid, objid)) u;
        v_deps := EXISTS (SELECT 1 FROM unnest(v_descs) d WHERE NOT pggit._keeps_dependents(d, v_dropped IS NOT NULL));
    END IF;

    IF v_alter AND v_cls IS NOT NULL AND v_deps THEN
        -- an ALTER can change the text of dependent objects (a rename shows in indexes, views...)
        WITH RECURSIVE dep(classid, objid) AS (
            SELECT * FROM unnest(v_cls, v_obj)
            UNION
            SELECT r.classid, r.objid
              FROM dep JOIN pg_depend d ON d.refclassid = dep.classid AND d.refobjid = dep.objid
                                       AND d.deptype IN ('n', 'a')
             CROSS JOIN LATERAL pggit._root(d.classid, d.objid) r
             WHERE r.objid IS NOT NULL
        )
        SELECT array_agg(classid), array_agg(objid) INTO v_cls, v_obj FROM dep;
        IF EXISTS (SELECT 1 FROM unnest(v_cls, v_obj) u(classid, objid) JOIN pg_class c ON c.oid = u.objid
                    WHERE u.classid = 'pg_class'::regclass AND c.relkind = 'p') THEN
            -- a partition or child table just detached (or disinherited) no longer shows in
            -- pg_depend: find it through the definitions HEAD holds
            SELECT v_cls || coalesce(array_agg(l.classid), '{}'), v_obj || coalesce(array_agg(l.objid), '{}')
              INTO v_cls, v_obj
              FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
             WHERE l.kind = 'table'
               AND ('table ' || coalesce(b.detail->>'partition_of', '')) IN (
                       SELECT p.identity FROM pggit.live_objects p
                        WHERE p.kind = 'table' AND (p.classid, p.objid) IN (SELECT * FROM unnest(v_cls, v_obj)))
               AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = l.objid);
        END IF;
    END IF;

    IF v_cls IS NOT NULL AND (v_alter OR v_index) AND (
           -- (first two cheap probes: a partitioned table or index was touched, or a touched
           -- table has an index of its own in the live map that now backs a constraint)
           EXISTS (SELECT 1 FROM unnest(v_cls, v_obj) t(classid, objid) JOIN pg_class c ON c.oid = t.objid
                    WHERE t.classid = 'pg_class'::regclass AND c.relkind IN ('p', 'I'))
           OR EXISTS (SELECT 1 FROM unnest(v_cls, v_obj) t(classid, objid)
                        JOIN pg_index i ON i.indrelid = t.objid
                        JOIN pggit.live_objects l ON l.classid = 'pg_class'::regclass AND l.objid = i.indexrelid
                       WHERE t.classid = 'pg_class'::regclass
                         AND EXISTS (SELECT 1 FROM pg_constraint con  -- (by conrelid: pg_constraint has no index on conindid)
                                      WHERE con.conrelid = i.indrelid AND con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')))) THEN
        -- an index that became part of another object (ADD PRIMARY KEY / UNIQUE USING INDEX, a
        -- partition's index attached to its parent's by ATTACH PARTITION, ALTER INDEX ... ATTACH
        -- PARTITION or CREATE INDEX on the parent) no longer stands for itself: its address is
        -- touched, so the live map lets it go. Such an index backs a constraint now, or is a
        -- partition's (only those are looked at closer)
        SELECT v_raw_cls || array_agg(l.classid), v_raw_obj || array_agg(l.objid) INTO v_raw_cls, v_raw_obj
          FROM (SELECT DISTINCT pt.relid
                  FROM unnest(v_cls, v_obj) t(classid, objid)
                  JOIN pg_class c ON c.oid = t.objid
                  LEFT JOIN pg_index ix ON ix.indexrelid = c.oid
                 CROSS JOIN LATERAL (SELECT coalesce(ix.indrelid, c.oid) AS relid
                                     UNION SELECT p.relid FROM pg_partition_tree(coalesce(ix.indrelid, c.oid)) p
                                            WHERE c.relkind IN ('p', 'I')) pt
                 WHERE t.classid = 'pg_class'::regclass) u
          JOIN pg_index i ON i.indrelid = u.relid
          JOIN pg_class ic ON ic.oid = i.indexrelid
          JOIN pggit.live_objects l ON l.classid = 'pg_class'::regclass AND l.objid = i.indexrelid
         CROSS JOIN LATERAL pggit._root(l.classid, l.objid) r
         WHERE (ic.relispartition OR EXISTS (SELECT 1 FROM pg_constraint con
                                              WHERE con.conrelid = i.indrelid AND con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')))
           AND r.objid IS DISTINCT FROM l.objid
        HAVING count(*) > 0;
    END IF;

    IF (v_seq OR v_drop_cls IS NOT NULL) AND (
          EXISTS (SELECT 1 FROM unnest(v_cls, v_obj) u(classid, objid) JOIN pg_class c ON c.oid = u.objid
                WHERE u.classid = 'pg_class'::regclass AND c.relkind = 'S')
       OR EXISTS (SELECT 1 FROM pggit.live_objects s
                   WHERE s.kind = 'sequence' AND (s.classid, s.objid) IN (SELECT * FROM unnest(v_drop_cls, v_drop_obj)))) THEN
        -- a sequence's owner shows OWNED BY: the table that owns it now (CREATE SEQUENCE ... OWNED
        -- BY, ALTER SEQUENCE), and the one that did (ownership moved, or the sequence dropped)
        SELECT v_cls || coalesce(array_agg(x.classid), '{}'), v_obj || coalesce(array_agg(x.objid), '{}')
          INTO v_cls, v_obj
          FROM (SELECT d.refclassid AS classid, d.refobjid AS objid
                  FROM unnest(v_cls, v_obj) u(classid, objid)
                  JOIN pg_depend d ON d.classid = u.classid AND d.objid = u.objid AND d.deptype = 'a'
                  JOIN pg_class sc ON sc.oid = u.objid AND sc.relkind = 'S'
                 WHERE u.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                UNION
                SELECT l.classid, l.objid
                  FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
                 WHERE l.kind = 'table' AND jsonb_array_length(b.detail->'owned') > 0
                   AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = l.objid)
                   AND EXISTS (SELECT 1 FROM jsonb_array_elements(b.detail->'owned') o
                                JOIN pggit.live_objects s ON s.identity = 'sequence ' || (o->>'sequence')
                               WHERE (s.classid, s.objid) IN (SELECT * FROM unnest(v_cls, v_obj)
                                                              UNION ALL SELECT * FROM unnest(v_drop_cls, v_drop_obj)))) x;
    END IF;

    -- absorb mode (the engine's own migrations): remember the addresses; pggit._absorb_finish
    -- describes each touched object once when all steps have run, and makes no commit
    IF v_mode = 'absorb' THEN
        PERFORM pggit._tx_append('absorb_touched',
                                 coalesce((SELECT string_agg(c || '/' || o, ' ')
                                             FROM unnest(coalesce(v_raw_cls, '{}') || coalesce(v_cls, '{}'),
                                                         coalesce(v_raw_obj, '{}') || coalesce(v_obj, '{}')) u(c, o)), ''));
        PERFORM pggit._tx_append('absorb_dropped',
                                 coalesce((SELECT string_agg(c || '/' || o, ' ') FROM unnest(v_drop_cls, v_drop_obj) u(c, o)), ''));
        RETURN;
    END IF;

    -- (what was not described above)
    SELECT coalesce(v_descs, '{}') || coalesce(array_agg(pggit._describe(u.classid, u.objid)), '{}')
      INTO v_descs
      FROM (SELECT DISTINCT classid, objid FROM unnest(v_cls, v_obj) AS t(classid, objid)
             WHERE (classid, objid) NOT IN (SELECT d.classid, d.objid FROM unnest(v_descs) d WHERE d.objid IS NOT NULL)) u;

    v_changes := pggit._record_changes(v_descs, coalesce(v_raw_cls, '{}') || coalesce(v_cls, '{}'),
                                       coalesce(v_raw_obj, '{}') || coalesce(v_obj, '{}'),
                                       coalesce(v_drop_cls, '{}'), coalesce(v_drop_obj, '{}'), v_rencols);
    IF v_changes IS NULL THEN
        RETURN;
    END IF;
    PERFORM pggit._commit_live(v_changes, coalesce(current_query(), ''), v_started, true);
END $$;

-- End of an absorb: describe every object the engine's own steps touched (once each) and bring
-- the live map up to date; no commit. Returns the changes the live map took.
CREATE FUNCTION pggit._absorb_finish() RETURNS pggit.change[]
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_t_cls  oid[];
    v_t_obj  oid[];
    v_d_cls  oid[];
    v_d_obj  oid[];
    v_cls    oid[];
    v_obj    oid[];
    v_descs  pggit.objdesc[];
BEGIN
    SELECT array_agg(split_part(x, '/', 1)::oid), array_agg(split_part(x, '/', 2)::oid) INTO v_t_cls, v_t_obj
      FROM (SELECT DISTINCT x FROM regexp_split_to_table(pggit._tx_take('absorb_touched'), ' ') x) s;
    SELECT array_agg(split_part(x, '/', 1)::oid), array_agg(split_part(x, '/', 2)::oid) INTO v_d_cls, v_d_obj
      FROM (SELECT DISTINCT x FROM regexp_split_to_table(pggit._tx_take('absorb_dropped'), ' ') x) s;
    -- (event triggers, which no event trigger sees made or dropped: all of them)
    SELECT coalesce(v_t_cls, '{}') || coalesce(a.classids, '{}'), coalesce(v_t_obj, '{}') || coalesce(a.objids, '{}')
      INTO v_t_cls, v_t_obj FROM pggit._event_trigger_addresses() a;
    IF coalesce(pggit._tx_take('absorb_acl'), '') <> '' THEN
        -- (GRANT / REVOKE / ALTER DEFAULT PRIVILEGES ran: the objects whose privileges changed)
        SELECT v_t_cls || coalesce(a.classids, '{}'), v_t_obj || coalesce(a.objids, '{}'),
               coalesce(v_d_cls, '{}') || coalesce(a.gone_classids, '{}'), coalesce(v_d_obj, '{}') || coalesce(a.gone_objids, '{}')
          INTO v_t_cls, v_t_obj, v_d_cls, v_d_obj FROM pggit._acl_changed() a;
    END IF;
    SELECT array_agg(r.classid), array_agg(r.objid) INTO v_cls, v_obj
      FROM (SELECT DISTINCT r.classid, r.objid FROM unnest(v_t_cls, v_t_obj) u(classid, objid)
             CROSS JOIN LATERAL pggit._root(u.classid, u.objid) r WHERE r.objid IS NOT NULL) r;
    SELECT array_agg(d) INTO v_descs
      FROM unnest(v_cls, v_obj) u(classid, objid) CROSS JOIN LATERAL pggit._describe(u.classid, u.objid) d
     WHERE d.identity IS NOT NULL;
    RETURN pggit._record_changes(coalesce(v_descs, '{}'), coalesce(v_t_cls, '{}') || coalesce(v_cls, '{}'),
                                 coalesce(v_t_obj, '{}') || coalesce(v_obj, '{}'),
                                 coalesce(v_d_cls, '{}'), coalesce(v_d_obj, '{}'));
END $$;

-- Event triggers of users. PostgreSQL runs no event trigger for CREATE, ALTER, DROP or COMMENT ON
-- EVENT TRIGGER, nor reports an event trigger dropped with the function it runs (DROP ... CASCADE):
-- capture cannot see them. They are read from the catalog instead, before every captured
-- statement and every read of history (pggit.flush): the tracked event triggers (those whose
-- function is tracked: not the engine's own) and the live map's, described. Addresses of each.
-- (PL/pgSQL: its plan is kept for the session; an SQL function with an aggregate is planned again
-- at every call, and this runs before every captured statement)
CREATE FUNCTION pggit._event_trigger_addresses(OUT classids oid[], OUT objids oid[])
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (the common case, no event trigger of a user in the catalog or the live map: two probes)
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger e
                    WHERE e.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.oid = e.evtfoid AND p.pronamespace = 'pggit'::regnamespace))
       AND NOT EXISTS (SELECT 1 FROM pggit.live_objects l WHERE l.classid = 'pg_event_trigger'::regclass) THEN
        RETURN;
    END IF;
    SELECT array_agg(x.c), array_agg(x.o) INTO classids, objids
      FROM (SELECT 'pg_event_trigger'::regclass::oid AS c, e.oid AS o FROM pg_event_trigger e
             WHERE e.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.oid = e.evtfoid AND p.pronamespace = 'pggit'::regnamespace)
            UNION
            SELECT l.classid, l.objid FROM pggit.live_objects l WHERE l.classid = 'pg_event_trigger'::regclass) x;
END $$;

-- The event triggers as the catalog holds them, where they differ from the live map: recorded as
-- one commit on HEAD (after what is queued, which flush records first). Not with capture off or
-- while absorbing (the engine's own migrations describe them at their end), nor in a read-only
-- transaction. Returns the number of commits made (0 or 1).
CREATE FUNCTION pggit._sync_event_triggers() RETURNS integer
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_a       record;
    v_descs   pggit.objdesc[];
    v_changes pggit.change[];
BEGIN
    SELECT * INTO v_a FROM pggit._event_trigger_addresses();
    IF v_a.classids IS NULL
       OR (coalesce(current_setting('pggit.capture', true), '') <> '' AND pggit._capture_mode() <> 'on')
       OR current_setting('transaction_read_only') = 'on' THEN
        RETURN 0;
    END IF;
    SELECT array_agg(d) INTO v_descs
      FROM unnest(v_a.classids, v_a.objids) u(classid, objid)
     CROSS JOIN LATERAL pggit._root(u.classid, u.objid) r
     CROSS JOIN LATERAL pggit._describe(r.classid, r.objid) d
     WHERE r.objid IS NOT NULL AND d.identity IS NOT NULL;
    -- (the common case: nothing changed, nothing written)
    IF NOT EXISTS (SELECT 1 FROM unnest(coalesce(v_descs, '{}')) d
                     LEFT JOIN pggit.live_objects l ON l.identity = d.identity AND l.classid = d.classid AND l.objid = d.objid
                    WHERE l.hash IS DISTINCT FROM pggit._sha256(d.definition || E'\n' || d.detail::text))
       AND NOT EXISTS (SELECT 1 FROM pggit.live_objects l
                        WHERE l.classid = 'pg_event_trigger'::regclass
                          AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(v_descs, '{}')) d WHERE d.identity = l.identity AND d.objid = l.objid)) THEN
        RETURN 0;
    END IF;
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), v_a.classids, v_a.objids, '{}', '{}');
    IF v_changes IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pggit._commit_live(v_changes, 'event triggers as the catalog holds them (PostgreSQL runs no event trigger for '
                                          || 'CREATE, ALTER, DROP or COMMENT ON EVENT TRIGGER)', v_started);
    RETURN 1;
END $$;

-- Do the event triggers differ from the live map? (Cheap when there are none.)
CREATE FUNCTION pggit._event_triggers_changed() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_a record;
BEGIN
    SELECT * INTO v_a FROM pggit._event_trigger_addresses();
    IF v_a.classids IS NULL THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM unnest(v_a.classids, v_a.objids) u(classid, objid)
                    CROSS JOIN LATERAL pggit._root(u.classid, u.objid) r
                    CROSS JOIN LATERAL pggit._describe(r.classid, r.objid) d
                     LEFT JOIN pggit.live_objects l ON l.identity = d.identity AND l.classid = d.classid AND l.objid = d.objid
                    WHERE r.objid IS NOT NULL AND d.identity IS NOT NULL
                      AND l.hash IS DISTINCT FROM pggit._sha256(d.definition || E'\n' || d.detail::text))
        OR EXISTS (SELECT 1 FROM pggit.live_objects l
                    WHERE l.classid = 'pg_event_trigger'::regclass
                      AND (NOT EXISTS (SELECT 1 FROM pg_event_trigger e WHERE e.oid = l.objid)
                           OR (SELECT i.identity FROM pggit._root(l.classid, l.objid) r, pggit._ident(r.classid, r.objid) i) IS DISTINCT FROM l.identity));
END $$;

-- Statements that only create new objects and cannot change an existing one: their capture is
-- queued (not CREATE SEQUENCE: its OWNED BY changes the owning table) (one row) and described when pggit.flush() runs. Anything else flushes the queue first.
CREATE FUNCTION pggit._queued_tag(p_tag text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN p_tag IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE INDEX');
END $$;

-- Describe the queued statements that are not described yet (those that only created objects),
-- oldest first: their objects as the catalog holds them now, which is the state their statements
-- left (the ddl_command_start trigger runs this before any statement that could change them).
-- The live map and blobs take their changes; their commits wait for pggit.flush() like every
-- captured statement's. A row whose objects changed nothing (or are gone) is dropped.
CREATE FUNCTION pggit._describe_queued() RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_q       record;
    v_cls     oid[];
    v_obj     oid[];
    v_descs   pggit.objdesc[];
    v_changes pggit.change[];
    v_started timestamptz;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.capture_queue q WHERE q.changes IS NULL) THEN
        RETURN;
    END IF;
    -- the branch lock first (as capture and every commit take it), then the queue rows
    PERFORM 1 FROM pggit.head h JOIN pggit.branches b ON b.name = h.branch FOR UPDATE OF b;
    FOR v_q IN SELECT * FROM pggit.capture_queue q WHERE q.changes IS NULL ORDER BY q.captured_at, q.seq FOR UPDATE LOOP
        v_started := clock_timestamp();
        SELECT array_agg(r.classid), array_agg(r.objid) INTO v_cls, v_obj
          FROM unnest(v_q.classids, v_q.objids) u(classid, objid)
         CROSS JOIN LATERAL pggit._root(u.classid, u.objid) r
         WHERE r.objid IS NOT NULL;
        IF EXISTS (SELECT 1 FROM unnest(v_q.classids, v_q.objids) u(classid, objid)
                    WHERE u.classid = 'pg_class'::regclass AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = u.objid)) THEN
            -- a queued index that is gone from its address without a drop (no statement but DDL
            -- flushes the queue first): REINDEX CONCURRENTLY, which fires no event trigger before
            -- PostgreSQL 17, gave it a new one. Record the indexes the live map does not hold
            SELECT coalesce(v_cls, '{}') || coalesce(array_agg(r.classid), '{}'), coalesce(v_obj, '{}') || coalesce(array_agg(r.objid), '{}')
              INTO v_cls, v_obj
              FROM pg_class c CROSS JOIN LATERAL pggit._root('pg_class'::regclass, c.oid) r
             WHERE c.relkind IN ('i', 'I') AND c.oid >= 16384 AND r.objid = c.oid
               AND NOT EXISTS (SELECT 1 FROM pggit.live_objects l WHERE l.classid = 'pg_class'::regclass AND l.objid = c.oid);
            v_cls := nullif(v_cls, '{}'); v_obj := nullif(v_obj, '{}');
        END IF;
        IF v_cls IS NOT NULL THEN
            SELECT v_cls || coalesce(x.classids, '{}'), v_obj || coalesce(x.objids, '{}') INTO v_cls, v_obj
              FROM pggit._partition_index_roots(v_cls, v_obj) x;
            SELECT array_agg(pggit._describe(u.classid, u.objid)) INTO v_descs
              FROM (SELECT DISTINCT classid, objid FROM unnest(v_cls, v_obj) AS t(classid, objid)) u;
            v_changes := pggit._record_changes(v_descs, v_q.classids || v_cls, v_q.objids || v_obj, '{}', '{}');
            IF v_changes IS NOT NULL THEN
                UPDATE pggit.capture_queue q SET changes = v_changes, capture_ms = extract(epoch FROM clock_timestamp() - v_started) * 1000
                 WHERE q.seq = v_q.seq;
                CONTINUE;
            END IF;
        END IF;
        DELETE FROM pggit.capture_queue q WHERE q.seq = v_q.seq;
    END LOOP;
END $$;

-- Turn captured statements into commits on HEAD's branch, oldest first (describing first those
-- that only created objects); returns how many commits were made. Every entry point that reads
-- or moves history calls this first. (HEAD moves only through the engine's own functions, which
-- flush first: the queue always belongs to HEAD.)
CREATE FUNCTION pggit.flush() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_q       record;
    v_branch  text;
    v_head    text;
    v_n       int := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.capture_queue) THEN
        RETURN pggit._sync_event_triggers();
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        RAISE WARNING 'pgGit: % captured statements are not recorded yet; history read in a read-only transaction leaves them out',
            (SELECT count(*) FROM pggit.capture_queue);
        RETURN 0;
    END IF;
    -- the branch lock first (as every commit takes it), then the queue rows: a concurrent
    -- flush waits here and then finds the rows gone
    SELECT b.name, b.head INTO v_branch, v_head
      FROM pggit.head h JOIN pggit.branches b ON b.name = h.branch FOR UPDATE OF b;
    PERFORM pggit._describe_queued();
    -- (a row another session committed since is described, and committed, by the next flush)
    FOR v_q IN SELECT * FROM pggit.capture_queue q WHERE q.changes IS NOT NULL ORDER BY q.captured_at, q.seq FOR UPDATE LOOP
        -- its commit; its audit row keeps the capture's time, author and duration
        v_head := pggit._make_commit(v_branch, ARRAY[v_head], v_q.author, v_q.message, v_q.changes, v_q.captured_at,
                                     v_q.person);
        v_n := v_n + 1;
        PERFORM pggit._audit('capture', jsonb_build_object('branch', v_branch, 'commit', v_head,
                             'changes', cardinality(v_q.changes))
                             || CASE WHEN cardinality(v_q.classids) > 0 THEN '{"queued": true}'::jsonb ELSE '{}' END,
                             'ok', NULL, clock_timestamp() - make_interval(secs => coalesce(v_q.capture_ms, 0) / 1000),
                             v_q.author, v_q.captured_at, v_q.person);
        DELETE FROM pggit.capture_queue q WHERE q.seq = v_q.seq;
    END LOOP;
    RETURN v_n + pggit._sync_event_triggers();
END $$;

-- ddl_command_start: before a statement that could change an existing object, record what is
-- queued (its objects must be described as they are now, not after this statement).
CREATE FUNCTION pggit._on_ddl_start() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (absorbing, the engine flushed before running its own DDL; with capture off, the queued
    -- objects are still described as they are before this statement, which is not recorded)
    -- (no undescribed row, the common case, costs one probe of the queue and no call of
    -- flush(): rows described when captured wait for the next reader)
    IF NOT pggit._queued_tag(tg_tag) AND EXISTS (SELECT 1 FROM pggit.capture_queue q WHERE q.changes IS NULL)
       AND (coalesce(current_setting('pggit.capture', true), '') = '' OR pggit._capture_mode() <> 'absorb') THEN
        PERFORM pggit._describe_queued();  -- (their commits wait for the next reader)
        IF (coalesce(current_setting('pggit.capture', true), '') = '' OR pggit._capture_mode() = 'on')
           AND pggit._event_triggers_changed() THEN
            PERFORM pggit.flush();
        END IF;
    ELSIF (coalesce(current_setting('pggit.capture', true), '') = '' OR pggit._capture_mode() = 'on')
          AND pggit._event_triggers_changed() THEN
        -- event triggers changed since the last statement (no event trigger saw it): recorded
        -- before this statement, after what is queued
        PERFORM pggit.flush();
    END IF;
END $$;

-- ddl_command_end: a statement that only creates objects is queued (one cheap row in this
-- transaction); any other is described and committed now. Statements inside a group
-- (pggit.begin_commit) always take the direct path.
CREATE FUNCTION pggit._on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- (the setting unset is the common case: no function call for it)
    v_mode text := CASE WHEN coalesce(current_setting('pggit.capture', true), '') = '' THEN 'on' ELSE pggit._capture_mode(true) END;
BEGIN
    IF tg_tag = 'ALTER TABLE' AND EXISTS (SELECT 1 FROM pggit.data_overlays) THEN
        PERFORM pggit._data_check_altered();  -- (50_data.sql; whatever the capture mode)
    END IF;
    IF v_mode = 'off' THEN RETURN; END IF;
    IF tg_tag IN ('GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES') THEN
        -- (no object addresses: see 10_privileges.sql)
        PERFORM pggit._capture_acl(v_mode);
        RETURN;
    ELSIF tg_tag IN ('DROP OWNED', 'REASSIGN OWNED') THEN
        -- (the privileges it revoked, default privileges included, then the objects it dropped:
        -- two commits when it did both. PostgreSQL 14-18 fire no event trigger for REASSIGN
        -- OWNED: its owner changes show in drift(); this branch is for a server that would.)
        PERFORM pggit._capture_acl(v_mode, tg_tag = 'REASSIGN OWNED');
        PERFORM pggit._capture_ddl();
        RETURN;
    END IF;
    IF pggit._queued_tag(tg_tag) AND coalesce(current_setting('pggit.group', true), '') = '' AND v_mode = 'on'
       -- (an index on a partitioned table attaches the partitions' matching indexes: not only new)
       AND (tg_tag <> 'CREATE INDEX' OR NOT EXISTS (
                SELECT 1 FROM pg_event_trigger_ddl_commands() c JOIN pg_class k ON k.oid = c.objid
                 WHERE c.classid = 'pg_class'::regclass AND k.relkind = 'I')) THEN
        INSERT INTO pggit.capture_queue (author, captured_at, message, classids, objids, person)
        SELECT pggit._author(), clock_timestamp(), coalesce(current_query(), ''), array_agg(c.classid), array_agg(c.objid),
               pggit._person()
          FROM pg_event_trigger_ddl_commands() c
         WHERE NOT c.in_extension AND coalesce(c.schema_name, '') <> 'pggit' AND coalesce(c.schema_name, '') NOT LIKE 'pg\_temp%'
        HAVING count(*) > 0;
        IF FOUND THEN
            PERFORM pggit._notify_capture();
        END IF;
        RETURN;
    END IF;
    PERFORM pggit._capture_ddl();
END $$;

-- Group this transaction's DDL statements into one commit with the given message; the commit is
-- made when the transaction commits (nothing is committed if it rolls back).
CREATE FUNCTION pggit.begin_commit(p_message text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_message IS NULL OR btrim(p_message) = '' THEN
        RAISE EXCEPTION 'a commit message is required' USING ERRCODE = 'PGG04';
    END IF;
    PERFORM pggit.flush();  -- statements before the group are commits of their own
    INSERT INTO pggit.pending_groups (txid, branch, message, author, person)
    VALUES (txid_current(), (SELECT branch FROM pggit.head), p_message, pggit._author(), pggit._person())
    ON CONFLICT (txid) DO UPDATE SET message = EXCLUDED.message;
    PERFORM set_config('pggit.group', txid_current()::text, true);
END $$;

-- Deferred to transaction commit: turn a group's accumulated changes into one commit.
CREATE FUNCTION pggit._finish_group() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_changes pggit.change[];
    v_head    text;
    v_id      text;
    v_started timestamptz := clock_timestamp();
    v_group   record;
BEGIN
    SELECT g.* INTO v_group FROM pggit.pending_groups g WHERE g.txid = NEW.txid;
    IF NOT FOUND THEN RETURN NULL; END IF;
    PERFORM pggit.flush();  -- what other sessions captured before this group committed comes first
    SELECT array_agg(ROW(p.identity, p.kind, p.old_hash, p.new_hash)::pggit.change ORDER BY p.identity)
      INTO v_changes
      FROM pggit.pending_changes p
     WHERE p.txid = NEW.txid AND p.old_hash IS DISTINCT FROM p.new_hash;
    IF v_changes IS NOT NULL THEN
        v_head := pggit._lock_branch(v_group.branch);
        v_id := pggit._make_commit(v_group.branch, ARRAY[v_head], v_group.author, v_group.message, v_changes,
                                   clock_timestamp(), v_group.person);
        PERFORM pggit._audit('capture', jsonb_build_object('branch', v_group.branch, 'commit', v_id,
                             'changes', cardinality(v_changes), 'grouped', true), 'ok', NULL, v_started,
                             v_group.author, NULL, v_group.person);
    END IF;
    DELETE FROM pggit.pending_groups WHERE txid = NEW.txid;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER pending_groups_finish AFTER INSERT ON pggit.pending_groups
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pggit._finish_group();

-- ---- 22_api.sql ----
-- pgGit engine: the SQL API for branches and history.

-- Refuse a branch name that Git-like tools could not handle; quotes, spaces, unicode are fine.
CREATE FUNCTION pggit._check_branch_name(p_name text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_name IS NULL OR p_name = '' OR p_name = 'HEAD' OR length(p_name) > 200
       OR p_name ~ '[[:cntrl:]~^:]' OR p_name <> btrim(p_name) OR p_name LIKE '-%' THEN
        RAISE EXCEPTION 'invalid branch name %', coalesce(quote_literal(p_name), 'NULL')
            USING ERRCODE = 'PGG04',
                  HINT = 'a branch name is 1 to 200 characters, not HEAD, without control characters, ~, ^ or :, without leading or trailing spaces, and does not start with -';
    END IF;
END $$;

-- Create a branch at a ref (default HEAD); returns the commit it points at. With with_data the
-- branch also carries the rows of every tracked table as they are now (50_data.sql); it then
-- starts at HEAD. (with_data has no p_ prefix: it is the name callers write, with_data => true.)
CREATE FUNCTION pggit.create_branch(p_name text, p_from text DEFAULT NULL, with_data boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_head    text;
BEGIN
    PERFORM pggit.flush();
    PERFORM pggit._check_branch_name(p_name);
    v_head := pggit._resolve(p_from);
    IF with_data AND v_head IS DISTINCT FROM pggit._resolve('HEAD') THEN
        RAISE EXCEPTION 'a branch with data starts at HEAD (the live data), not at %', quote_literal(p_from)
            USING ERRCODE = 'PGG11', HINT = 'leave out the starting point';
    END IF;
    INSERT INTO pggit.branches (name, head, created_by, created_by_role)
    VALUES (p_name, v_head, coalesce(pggit._person(), pggit._author()),
            CASE WHEN pggit._person() <> pggit._author() THEN pggit._author() END)
    ON CONFLICT (name) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % already exists', quote_literal(p_name) USING ERRCODE = 'PGG03';
    END IF;
    IF with_data THEN
        PERFORM pggit._create_data_branch(p_name);
    END IF;
    PERFORM pggit._audit('create_branch', jsonb_build_object('name', p_name, 'from', p_from, 'head', v_head)
                         || CASE WHEN with_data THEN '{"data": true}'::jsonb ELSE '{}' END, 'ok', NULL, v_started);
    RETURN v_head;
END $$;

-- Delete a branch. Refuses HEAD, and a branch whose head no other branch contains unless forced.
CREATE FUNCTION pggit.delete_branch(p_name text, p_force boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_head    text;
BEGIN
    PERFORM pggit.flush();
    IF p_name = pggit.current_branch() THEN
        RAISE EXCEPTION 'cannot delete branch % because it is HEAD', quote_literal(p_name)
            USING ERRCODE = 'PGG05', HINT = 'switch to another branch first';
    END IF;
    v_head := pggit._lock_branch(p_name);
    IF NOT p_force AND NOT EXISTS (
        SELECT 1 FROM pggit.branches b WHERE b.name <> p_name AND pggit._is_ancestor(v_head, b.head)) THEN
        RAISE EXCEPTION 'branch % is not merged into any other branch', quote_literal(p_name)
            USING ERRCODE = 'PGG06', HINT = 'merge it first, or delete it with p_force => true';
    END IF;
    PERFORM pggit._drop_data_branch(p_name);
    DELETE FROM pggit.branches WHERE name = p_name;
    PERFORM pggit._audit('delete_branch', jsonb_build_object('name', p_name, 'head', v_head, 'force', p_force), 'ok', NULL, v_started);
    RETURN v_head;
END $$;

-- The commit id a ref names (see pggit._resolve for the forms a ref takes).
CREATE FUNCTION pggit.resolve(p_ref text DEFAULT NULL) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pggit.flush();
    SELECT pggit._resolve(p_ref);
$$;

-- All branches with their heads (created_by: the person or role that made it; created_by_role:
-- the role, when a person was named with pggit.author).
CREATE FUNCTION pggit.list_branches()
RETURNS TABLE (name text, head text, is_head boolean, created_at timestamptz, created_by text, created_by_role text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pggit.flush();
    SELECT b.name, b.head, b.name = (SELECT h.branch FROM pggit.head h), b.created_at, b.created_by, b.created_by_role
      FROM pggit.branches b ORDER BY b.name
$$;

-- History reachable from a ref, newest first (by generation: parents always after children).
-- Walks from the tip keeping a frontier, so log(ref, 20) reads about 20 commits however long
-- the history is. committer: the role, when the author is a person it acted for (else NULL).
CREATE FUNCTION pggit.log(p_ref text DEFAULT NULL, p_limit integer DEFAULT 100)
RETURNS TABLE (commit_id text, parent_ids text[], author text, message text, committed_at timestamptz,
               committer text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_flushed  int := pggit.flush();
    v_frontier text[] := ARRAY[pggit._resolve(p_ref)];
    v_seen     text[] := v_frontier;
    v_n        int := 0;
    v_r        record;
BEGIN
    IF p_limit > 5000 THEN
        -- a long listing: one set-based walk is cheaper than many steps
        RETURN QUERY
        WITH RECURSIVE walk(commit_id) AS (
            SELECT v_frontier[1]
            UNION
            SELECT unnest(c.parent_ids) FROM walk w JOIN pggit.commits c ON c.commit_id = w.commit_id
        )
        SELECT c.commit_id, c.parent_ids, c.author, c.message, c.committed_at, c.committer
          FROM walk w JOIN pggit.commits c ON c.commit_id = w.commit_id
         ORDER BY c.generation DESC, c.committed_at DESC, c.seq DESC
         LIMIT p_limit;
        RETURN;
    END IF;
    WHILE v_n < p_limit AND cardinality(v_frontier) > 0 LOOP
        SELECT c.commit_id, c.parent_ids, c.author, c.message, c.committed_at, c.committer INTO v_r
          FROM pggit.commits c WHERE c.commit_id = ANY (v_frontier)
         ORDER BY c.generation DESC, c.committed_at DESC, c.seq DESC LIMIT 1;
        commit_id := v_r.commit_id; parent_ids := v_r.parent_ids; author := v_r.author;
        message := v_r.message; committed_at := v_r.committed_at; committer := v_r.committer;
        RETURN NEXT;
        v_n := v_n + 1;
        v_frontier := array_remove(v_frontier, v_r.commit_id)
                      || array(SELECT p FROM unnest(v_r.parent_ids) p WHERE NOT p = ANY (v_seen));
        v_seen := v_seen || v_r.parent_ids;
    END LOOP;
END $$;

-- The changes one commit made against its first parent.
CREATE FUNCTION pggit.show(p_commit text DEFAULT NULL)
RETURNS TABLE (identity text, kind text, change text, old_definition text, new_definition text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pggit.flush();
    SELECT x.identity, x.kind,
           CASE WHEN x.old_hash IS NULL THEN 'added' WHEN x.new_hash IS NULL THEN 'deleted' ELSE 'modified' END,
           ob.definition, nb.definition
      FROM pggit.changes x
      LEFT JOIN pggit.blobs ob ON ob.hash = x.old_hash
      LEFT JOIN pggit.blobs nb ON nb.hash = x.new_hash
     WHERE x.commit_id = pggit._resolve(p_commit)
     ORDER BY x.identity
$$;

-- Every object in the state of a ref.
CREATE FUNCTION pggit.tree(p_ref text DEFAULT NULL)
RETURNS TABLE (kind text, identity text, definition text, hash text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT pggit.flush();
    SELECT t.kind, t.identity, b.definition, t.hash
      FROM pggit._state(coalesce(p_ref, 'HEAD')) t JOIN pggit.blobs b ON b.hash = t.hash
     ORDER BY t.identity
$$;

-- The versions of one object in the commits reachable from a ref (default HEAD), newest first:
-- each commit that changed it, the change, its definition there and on the commit's first
-- parent, and total (how many versions there are). p_limit/p_offset: one page of them. Only
-- the commits that changed the object are read, and their ancestry is checked against the
-- ref's reach (chain positions), not by walking the history; only the page's definitions are
-- read.
CREATE FUNCTION pggit.object_history(p_identity text, p_ref text DEFAULT NULL, p_limit integer DEFAULT NULL,
                                     p_offset integer DEFAULT 0)
RETURNS TABLE (commit_id text, parent_ids text[], author text, message text, committed_at timestamptz, change text,
               definition text, previous_definition text, committer text, total bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT pggit.flush();
    WITH hits AS MATERIALIZED (
        SELECT x.commit_id, x.old_hash, x.new_hash, c.generation, c.seq, cc.chain_id, cc.chain_pos
          FROM pggit.changes x
          JOIN pggit.commits c ON c.commit_id = x.commit_id
          JOIN pggit.commit_chains cc ON cc.commit_id = x.commit_id
         WHERE x.identity = p_identity
    ), reach AS MATERIALIZED (
        -- (exact for every chain reached at the oldest hit's generation or above)
        SELECT r.chain_id, r.pos
          FROM pggit._reach(pggit._resolve(p_ref), coalesce((SELECT min(h.generation) FROM hits h), 0)) r
    ), mine AS MATERIALIZED (
        SELECT h.*, count(*) OVER () AS total
          FROM hits h JOIN reach r ON r.chain_id = h.chain_id AND h.chain_pos <= r.pos
         ORDER BY h.generation DESC, h.seq DESC
         LIMIT p_limit OFFSET greatest(coalesce(p_offset, 0), 0)
    )
    SELECT c.commit_id, c.parent_ids, c.author, c.message, c.committed_at,
           CASE WHEN m.old_hash IS NULL THEN 'added' WHEN m.new_hash IS NULL THEN 'deleted' ELSE 'modified' END,
           nb.definition, ob.definition, c.committer, m.total
      FROM mine m
      JOIN pggit.commits c ON c.commit_id = m.commit_id
      LEFT JOIN pggit.blobs nb ON nb.hash = m.new_hash
      LEFT JOIN pggit.blobs ob ON ob.hash = m.old_hash
     ORDER BY m.generation DESC, m.seq DESC
$$;

-- The commits reachable from a ref (default HEAD) that changed one object, newest first.
CREATE FUNCTION pggit.blame(p_identity text, p_ref text DEFAULT NULL)
RETURNS TABLE (commit_id text, author text, message text, committed_at timestamptz, change text, definition text,
               committer text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT h.commit_id, h.author, h.message, h.committed_at, h.change, h.definition, h.committer
      FROM pggit.object_history(p_identity, p_ref) h
$$;

-- Tree of a ref as (identity, kind, hash); NULL ref = the empty state; 'merge:<id>' = the result
-- of a merge (open items as the target holds them).
CREATE FUNCTION pggit._state(p_ref text) RETURNS TABLE (identity text, kind text, hash text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_ref ~ '^merge:[0-9]{1,18}$' THEN
        RETURN QUERY SELECT t.identity, t.kind, t.hash FROM pggit._merge_tree(substr(p_ref, 7)::bigint) t;
    ELSIF p_ref IS NOT NULL THEN
        RETURN QUERY SELECT t.identity, t.kind, t.hash FROM pggit._tree_rows(pggit._resolve(p_ref)) t;
    END IF;
END $$;

-- Per-object difference between two refs (NULL from = empty database).
CREATE FUNCTION pggit.diff(p_from text, p_to text DEFAULT NULL)
RETURNS TABLE (identity text, kind text, change text, old_definition text, new_definition text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT pggit.flush();
    SELECT coalesce(n.identity, o.identity), coalesce(n.kind, o.kind),
           CASE WHEN o.hash IS NULL THEN 'added' WHEN n.hash IS NULL THEN 'deleted' ELSE 'modified' END,
           ob.definition, nb.definition
      FROM pggit._state(p_from) o
      FULL JOIN (SELECT * FROM pggit._state(coalesce(p_to, 'HEAD'))) n ON n.identity = o.identity
      LEFT JOIN pggit.blobs ob ON ob.hash = o.hash
      LEFT JOIN pggit.blobs nb ON nb.hash = n.hash
     WHERE o.hash IS DISTINCT FROM n.hash
     ORDER BY 1
$$;

-- Drift: objects whose live definition differs from HEAD's tree (changes made behind the
-- engine's back: capture off, event triggers skipped). Describes every live object: cost grows
-- with the schema (about 1 ms per object), so callers run it on demand.
CREATE FUNCTION pggit.drift()
RETURNS TABLE (identity text, kind text, change text, head_definition text, live_definition text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    PERFORM pggit.flush();
    RETURN QUERY SELECT d.identity, d.kind, d.change, d.head_definition, d.live_definition FROM pggit._drift_rows() d
                  ORDER BY d.identity;
END $$;

-- The rows of pggit.drift() (after a flush), each with the live object's description (NULL for
-- one dropped behind the engine's back), so that recording the drift describes nothing twice.
CREATE FUNCTION pggit._drift_rows()
RETURNS TABLE (identity text, kind text, change text, head_definition text, live_definition text, live pggit.objdesc)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY
    WITH live AS (
        SELECT (s.d).identity AS identity, (s.d).kind AS kind, (s.d).definition AS definition, (s.d).detail AS detail,
               pggit._sha256((s.d).definition || E'\n' || (s.d).detail::text) AS hash, s.d
          FROM (SELECT pggit._describe(r.classid, r.objid) AS d FROM pggit._all_roots() r) s
         WHERE (s.d).identity IS NOT NULL
    ), head AS (
        -- (a renamed object's lineage is the engine's, not the catalog's: not compared)
        SELECT t.identity, t.kind, b.definition, b.detail - 'lineage' AS detail,
               CASE WHEN b.detail ? 'lineage' THEN pggit._sha256(b.definition || E'\n' || (b.detail - 'lineage')::text)
                    ELSE t.hash END AS hash
          FROM pggit._state('HEAD') t JOIN pggit.blobs b ON b.hash = t.hash
    )
    SELECT coalesce(l.identity, h.identity), coalesce(l.kind, h.kind),
           CASE WHEN h.identity IS NULL THEN 'added' WHEN l.identity IS NULL THEN 'deleted' ELSE 'modified' END,
           h.definition, l.definition, l.d
      FROM live l FULL JOIN head h ON h.identity = l.identity
     WHERE l.hash IS DISTINCT FROM h.hash
       -- (the same object printed in another form is the same: see pggit._canon)
       AND (l.identity IS NULL OR h.identity IS NULL
            OR pggit._canon(l.definition) IS DISTINCT FROM pggit._canon(h.definition)
            OR pggit._canon(l.detail::text) IS DISTINCT FROM pggit._canon(h.detail::text))
     ORDER BY 1;
END $$;

-- Commit rows for a set of ids (or refs): commit_id, parent_ids, author, message, committed_at.
CREATE FUNCTION pggit.commit_info(p_refs text[])
RETURNS TABLE (ref text, commit_id text, parent_ids text[], author text, message text, committed_at timestamptz,
               generation integer, committer text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT pggit.flush();
    SELECT r.ref, c.commit_id, c.parent_ids, c.author, c.message, c.committed_at, c.generation, c.committer
      FROM unnest(p_refs) AS r(ref)
      JOIN pggit.commits c ON c.commit_id = pggit._resolve(r.ref)
$$;

-- Commits reachable from a and not from b (ahead) and the reverse (behind), counted up to
-- p_limit (``*_more``: the count reached the limit, so it is a lower bound). On each chain a tip
-- reaches positions 1..pos (pggit._reach), so the commits only a reaches on a chain are the
-- positions between b's reach and a's: exact counts from the chains the two tips reach, whatever
-- the distance to the merge base. Near tips (the usual branch a few commits off its base) read
-- only what each reaches beyond the other above a generation floor, 128 then 1,024 below the
-- older tip (pggit._reach_beyond: the merges since their first-parent paths met); when they met
-- below the floor, or a chain they differ on starts below it (the other tip's position there is
-- not read), the full reaches are compared.
CREATE FUNCTION pggit.ahead_behind(p_a text, p_b text, p_limit integer DEFAULT 1000)
RETURNS TABLE (ahead integer, behind integer, ahead_more boolean, behind_more boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_a      text;
    v_b      text;
    v_ahead  bigint;
    v_behind bigint;
    v_top    integer;
    v_floor  integer;
    v_window integer;
    v_unsure boolean;
BEGIN
    PERFORM pggit.flush();
    v_a := pggit._resolve(p_a);
    v_b := pggit._resolve(p_b);
    IF v_a = v_b THEN
        RETURN QUERY SELECT 0, 0, false, false;
        RETURN;
    END IF;
    -- near tips: count what each reaches beyond the other above a floor 128, then 1,024 below the
    -- older one
    SELECT least(a.generation, b.generation) INTO v_top
      FROM pggit.commits a, pggit.commits b WHERE a.commit_id = v_a AND b.commit_id = v_b;
    FOREACH v_window IN ARRAY ARRAY[128, 1024] LOOP
        v_floor := greatest(coalesce(v_top, 0) - v_window, 0);
        SELECT coalesce(sum(r.pos - coalesce(r.base_pos, 0)), 0),
               coalesce(bool_or(r.chain_id IS NULL OR (r.base_pos IS NULL AND r.start_generation < v_floor)), false)
          INTO v_ahead, v_unsure
          FROM pggit._reach_beyond(v_a, v_b, v_floor) r;
        IF NOT v_unsure THEN
            SELECT coalesce(sum(r.pos - coalesce(r.base_pos, 0)), 0),
                   coalesce(bool_or(r.chain_id IS NULL OR (r.base_pos IS NULL AND r.start_generation < v_floor)), false)
              INTO v_behind, v_unsure
              FROM pggit._reach_beyond(v_b, v_a, v_floor) r;
        END IF;
        EXIT WHEN NOT v_unsure OR v_floor = 0;
    END LOOP;
    IF v_unsure THEN  -- they met below the floor, or a chain starts below it: the full reaches
        SELECT coalesce(sum(greatest(coalesce(a.pos, 0) - coalesce(b.pos, 0), 0)), 0),
               coalesce(sum(greatest(coalesce(b.pos, 0) - coalesce(a.pos, 0), 0)), 0)
          INTO v_ahead, v_behind
          FROM pggit._reach(v_a) a
          FULL JOIN pggit._reach(v_b) b ON b.chain_id = a.chain_id;
    END IF;
    RETURN QUERY SELECT least(v_ahead, p_limit)::integer, least(v_behind, p_limit)::integer,
                        v_ahead >= p_limit, v_behind >= p_limit;
END $$;

-- The audit trail, newest first: p_limit rows after skipping p_offset, among those with an id up
-- to p_max_id (a page's first id: pages do not shift while new rows are written).
CREATE FUNCTION pggit.audit(p_limit integer DEFAULT 50, p_offset integer DEFAULT 0, p_max_id bigint DEFAULT NULL)
RETURNS TABLE (id bigint, at timestamptz, role_name text, operation text, args jsonb, outcome text, detail text,
               duration_ms double precision, person text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.id, a.at, a.role_name, a.operation, a.args, a.outcome, a.detail, a.duration_ms, a.person
      FROM pggit.audit_log a
     WHERE p_max_id IS NULL OR a.id <= p_max_id
     ORDER BY a.id DESC
     OFFSET greatest(p_offset, 0) LIMIT greatest(least(p_limit, 1000), 0)
$$;

-- The audit trail from a position on, oldest first, for readers that must see every row once
-- (the web app's event listener), with the read's horizon. Audit ids are per transaction
-- (pggit._xact_key: the writer's xid * 1048576 + n), so a row can become visible after rows with
-- higher ids. horizon is the oldest transaction still running when this read's snapshot was taken,
-- as a position: every row below it is visible now, and rows that appear later have ids at or
-- above it. A reader pages on with the last id + 1 and, once through, keeps the first page's
-- horizon as where to start next time (rows from there on come again: it keeps the ids it has
-- seen). Write queued captures first (pggit.flush()) to see their rows.
CREATE FUNCTION pggit.audit_since(p_position bigint, p_limit integer DEFAULT 1000)
RETURNS TABLE (id bigint, at timestamptz, role_name text, operation text, args jsonb, outcome text, detail text,
               duration_ms double precision, horizon bigint, person text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.id, a.at, a.role_name, a.operation, a.args, a.outcome, a.detail, a.duration_ms,
           pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1048576, a.person
      FROM pggit.audit_log a
     WHERE a.id >= coalesce(p_position, 0)
     ORDER BY a.id
     LIMIT greatest(least(p_limit, 10000), 1)
$$;

-- Where a reader of pggit.audit_since starts when it has never read: the rows of transactions
-- that start from now on (the next transaction id, as a position).
CREATE FUNCTION pggit.audit_start() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint * 1048576
$$;

-- Record the drift (pggit.drift(): changes made behind the engine's back) as one commit on HEAD
-- with p_message; returns it, or NULL when there is no drift. The live map takes the live
-- descriptions, so the drift is gone. HEAD's branch row is locked as for any commit.
CREATE FUNCTION pggit.commit_drift(p_message text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_ids     text[];
    v_descs   pggit.objdesc[];
    v_cls     oid[];
    v_obj     oid[];
    v_changes pggit.change[];
    v_id      text;
BEGIN
    IF p_message IS NOT NULL AND btrim(p_message) = '' THEN
        RAISE EXCEPTION 'a commit message is required' USING ERRCODE = 'PGG04';
    END IF;
    PERFORM pggit._lock_branch(pggit.current_branch());
    PERFORM pggit.flush();
    -- the drifted objects as they are now (none for one dropped), and below the addresses HEAD
    -- knew them at
    SELECT array_agg(d.identity), array_agg(d.live) FILTER (WHERE d.live IS NOT NULL) INTO v_ids, v_descs
      FROM pggit._drift_rows() d;
    IF v_ids IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(array_agg(l.classid), '{}'), coalesce(array_agg(l.objid), '{}') INTO v_cls, v_obj
      FROM pggit.live_objects l WHERE l.identity = ANY (v_ids);
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), v_cls, v_obj, '{}', '{}');
    IF v_changes IS NULL THEN
        RETURN NULL;
    END IF;
    v_id := pggit._commit_live(v_changes,
                               coalesce(p_message, 'Record drift: ' || array_to_string(v_ids[1:5], ', ')
                                        || CASE WHEN cardinality(v_ids) > 5 THEN format(' and %s more', cardinality(v_ids) - 5) ELSE '' END),
                               v_started);
    PERFORM pggit._audit('commit_drift', jsonb_build_object('commit', v_id, 'objects', to_jsonb(v_ids)), 'ok', NULL, v_started);
    RETURN v_id;
END $$;

-- Undo the drift: migrate the live database back to HEAD's state (what was changed behind the
-- engine's back is undone), refusing steps that lose data unless p_force. HEAD does not move;
-- returns it, or NULL when there is no drift. (It records the drift as a commit, then resets
-- HEAD's branch to the commit before it, in one transaction: the audit log keeps both.)
CREATE FUNCTION pggit.discard_drift(p_force boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_head text;
BEGIN
    PERFORM pggit.flush();
    v_head := pggit._lock_branch(pggit.current_branch());
    IF pggit.commit_drift('Drift, discarded') IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pggit.reset_branch(pggit.current_branch(), v_head, p_force);
    RETURN v_head;
END $$;

-- The steps of discard_drift() that would lose data (identity, statement, reason, as
-- data_loss_steps): the drift is recorded and compared with HEAD in a subtransaction that is
-- then rolled back, so nothing changes. No rows: no drift, or nothing to lose.
CREATE FUNCTION pggit.drift_data_loss()
RETURNS TABLE (identity text, statement text, reason text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_head text;
    v_rows jsonb := '[]';
BEGIN
    PERFORM pggit.flush();
    BEGIN
        v_head := pggit._lock_branch(pggit.current_branch());
        IF pggit.commit_drift('Drift, discarded') IS NOT NULL THEN
            SELECT coalesce(jsonb_agg(to_jsonb(l)), '[]') INTO v_rows FROM pggit._data_loss(pggit._resolve('HEAD'), v_head) l;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'PGG98', MESSAGE = 'pggit: drift_data_loss rolls its preview back';
    EXCEPTION WHEN SQLSTATE 'PGG98' THEN
        NULL;  -- (the recorded drift is gone again; v_rows keeps what it found)
    END;
    RETURN QUERY SELECT r.identity, r.statement, r.reason
                   FROM jsonb_to_recordset(v_rows) AS r(identity text, statement text, reason text);
END $$;

-- ---- 30_migration.sql ----
-- pgGit engine: migrations, the ordered DDL that turns one state into another.

-- Order of kinds when dependencies do not decide.
CREATE FUNCTION pggit._kind_rank(p_kind text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'schema' THEN 0 WHEN 'extension' THEN 1 WHEN 'collation' THEN 1 WHEN 'type' THEN 2 WHEN 'domain' THEN 3
                       WHEN 'function' THEN 4 WHEN 'procedure' THEN 4 WHEN 'aggregate' THEN 5 WHEN 'cast' THEN 5 WHEN 'operator' THEN 5
                       WHEN 'text search dictionary' THEN 5 WHEN 'text search configuration' THEN 5
                       WHEN 'access method' THEN 5 WHEN 'text search parser' THEN 5 WHEN 'text search template' THEN 5
                       WHEN 'transform' THEN 5 WHEN 'operator family' THEN 5 WHEN 'operator class' THEN 5
                       WHEN 'foreign data wrapper' THEN 5 WHEN 'server' THEN 5 WHEN 'user mapping' THEN 6 WHEN 'foreign table' THEN 7
                       WHEN 'subscription' THEN 12
                       WHEN 'sequence' THEN 6 WHEN 'table' THEN 7 WHEN 'view' THEN 8
                       WHEN 'materialized view' THEN 9 WHEN 'index' THEN 10 WHEN 'statistics' THEN 10 WHEN 'trigger' THEN 11 WHEN 'rule' THEN 11
                       WHEN 'policy' THEN 12 WHEN 'event trigger' THEN 12 WHEN 'publication' THEN 12 ELSE 13 END
$$;

-- The SQL object word and name after DROP/COMMENT ON for an object (e.g. 'TRIGGER t ON s.x').
CREATE FUNCTION pggit._target(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_kind = 'table' THEN 'TABLE ' || (p_detail->>'qname') ELSE p_detail->>'comment_on' END
$$;

-- DROP statement for an object.
CREATE FUNCTION pggit._drop_sql(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_detail ? 'drop' THEN rtrim(p_detail->>'drop', ';')  -- (subscriptions)
                -- a base type goes with its I/O functions (which name it)
                WHEN p_kind = 'type' AND p_detail ? 'base' THEN 'DROP TYPE IF EXISTS ' || substr(pggit._target(p_kind, p_detail), 6) || ' CASCADE'
                WHEN p_kind IN ('operator class', 'operator family', 'access method', 'transform', 'text search parser', 'text search template',
                                'foreign data wrapper', 'server', 'user mapping', 'foreign table') THEN
                    regexp_replace(pggit._target(p_kind, p_detail),
                                   '^(OPERATOR CLASS|OPERATOR FAMILY|ACCESS METHOD|TRANSFORM|TEXT SEARCH PARSER|TEXT SEARCH TEMPLATE|FOREIGN DATA WRAPPER|SERVER|USER MAPPING|FOREIGN TABLE) ',
                                   'DROP \1 IF EXISTS ')
                WHEN p_kind IN ('trigger', 'policy', 'rule') THEN
                    regexp_replace(pggit._target(p_kind, p_detail), '^(TRIGGER|POLICY|RULE) ', 'DROP \1 IF EXISTS ')
                ELSE regexp_replace(pggit._target(p_kind, p_detail),
                                    '^(MATERIALIZED VIEW|TABLE|INDEX|SEQUENCE|VIEW|FUNCTION|PROCEDURE|AGGREGATE|TYPE|DOMAIN|SCHEMA|EXTENSION|COLLATION|STATISTICS|EVENT TRIGGER|CAST|OPERATOR|TEXT SEARCH DICTIONARY|TEXT SEARCH CONFIGURATION|PUBLICATION) ',
                                    'DROP \1 IF EXISTS ') END || ';'
$$;

-- Generated columns of table o that must be dropped and added again to turn it into n: those
-- (kept, generated in both) whose expression may name a column whose type or collation changes
-- (PostgreSQL refuses ALTER COLUMN TYPE on a column a generated column uses). The match is
-- textual, so it may take a generated column that does not use the column: harmless, they hold
-- only derived data.
CREATE FUNCTION pggit._generated_rebuild(o jsonb, n jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    WITH retyped AS (
        SELECT oc->>'name' AS name
          FROM jsonb_array_elements(o->'columns') oc, jsonb_array_elements(n->'columns') nc
         WHERE nc->>'name' = oc->>'name' AND (oc->>'local')::boolean AND (nc->>'local')::boolean
           AND ((oc->>'type') <> (nc->>'type') OR (oc->>'collation') IS DISTINCT FROM (nc->>'collation'))
    )
    SELECT coalesce(array_agg(nc->>'name' ORDER BY x.n), '{}')
      FROM jsonb_array_elements(n->'columns') WITH ORDINALITY x(nc, n)
     WHERE (nc->>'generated') IS NOT NULL AND (nc->>'local')::boolean
       AND EXISTS (SELECT 1 FROM jsonb_array_elements(o->'columns') oc
                    WHERE oc->>'name' = nc->>'name' AND (oc->>'generated') IS NOT NULL AND (oc->>'local')::boolean)
       AND EXISTS (SELECT 1 FROM retyped r
                    WHERE r.name <> nc->>'name'
                      AND (nc->>'generated') ~ ('(^|[^[:alnum:]_$])'
                                                || regexp_replace(quote_ident(r.name), '([^[:alnum:]_ ])', '\\\1', 'g')
                                                || '($|[^[:alnum:]_$])'))
$$;

-- Does changing table o into table n need a drop and create (instead of ALTERs)?
CREATE FUNCTION pggit._table_needs_recreate(o jsonb, n jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_kept_old text[];
    v_kept_new text[];
    v_new      text[];
    v_gen      text[];
    v_tail     text[];
BEGIN
    IF (o->>'partition_key') IS DISTINCT FROM (n->>'partition_key')
       OR (o->'inherits') IS DISTINCT FROM (n->'inherits') OR (o->>'persistence') IS DISTINCT FROM (n->>'persistence') THEN
        RETURN true;
    END IF;
    -- ALTER TABLE can only append columns: kept columns must keep their order, new ones come last
    v_new := array(SELECT c->>'name' FROM jsonb_array_elements(n->'columns') c);
    v_kept_old := array(SELECT c->>'name' FROM jsonb_array_elements(o->'columns') c WHERE c->>'name' = ANY (v_new));
    v_kept_new := v_new[1:cardinality(v_kept_old)];
    IF v_kept_old IS DISTINCT FROM v_kept_new THEN
        RETURN true;
    END IF;
    -- generated columns dropped and added again around a type change come back last: they must
    -- be the last columns of n
    v_gen := pggit._generated_rebuild(o, n);
    IF cardinality(v_gen) = 0 THEN
        RETURN false;
    END IF;
    v_tail := array(SELECT x FROM unnest(v_new) WITH ORDINALITY u(x, i) WHERE x = ANY (v_gen) OR NOT x = ANY (v_kept_old) ORDER BY i);
    RETURN v_new[cardinality(v_new) - cardinality(v_tail) + 1:] IS DISTINCT FROM v_tail;
END $$;

-- RENAME CONSTRAINT statements that give the NOT NULL constraints of table q (PostgreSQL 18)
-- the names n has (their default name when n has none), from those of o (after SET NOT NULL:
-- the default name); with p_local, only of columns local on both sides.
CREATE FUNCTION pggit._notnull_renames(q text, o jsonb, n jsonb, p_local boolean) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg('ALTER TABLE ' || q || ' RENAME CONSTRAINT ' || quote_ident(x.f) || ' TO ' || quote_ident(x.t) || ';'
                              ORDER BY x.t), '{}')
      FROM (SELECT CASE WHEN (a->>'notnull')::boolean THEN coalesce(a->>'notnull_name', left((parse_ident(q))[2] || '_' || (a->>'name') || '_not_null', 63))
                        ELSE left((parse_ident(q))[2] || '_' || (a->>'name') || '_not_null', 63) END AS f,
                   coalesce(b->>'notnull_name', left((parse_ident(q))[2] || '_' || (b->>'name') || '_not_null', 63)) AS t
              FROM jsonb_array_elements(o->'columns') a, jsonb_array_elements(n->'columns') b
             WHERE b->>'name' = a->>'name' AND (b->>'notnull')::boolean AND (a ? 'notnull_name' OR b ? 'notnull_name')
               AND (NOT p_local OR ((a->>'local')::boolean AND (b->>'local')::boolean))) x
     WHERE x.f <> x.t
$$;

-- The ALTER statements that turn table o into table n (no constraint drops, no foreign keys:
-- those run in their own phases).
CREATE FUNCTION pggit._alter_table_sql(o jsonb, n jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    q     text := n->>'qname';
    v_out text[] := '{}';
    oc    jsonb;
    nc    jsonb;
    v_col text;
    v_opt text;
    v_gen text[];
    v_readd text[] := '{}';
BEGIN
    -- a partition attached to another parent or bound (the DETACH ran in the first phase); a
    -- partition may hold only its parent's columns
    IF n->>'partition_of' IS NOT NULL AND ((o->>'partition_of') IS DISTINCT FROM (n->>'partition_of') OR (o->>'bound') IS DISTINCT FROM (n->>'bound')) THEN
        SELECT v_out || coalesce(array_agg('ALTER TABLE ' || q || ' DROP COLUMN ' || quote_ident(c->>'name') || ';'), '{}') INTO v_out
          FROM jsonb_array_elements(o->'columns') c
         WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n->'columns') x WHERE x->>'name' = c->>'name');
        -- (a partition keeps the names of its NOT NULL constraints: renamed before)
        v_out := v_out || pggit._notnull_renames(q, o, n, false)
                       || ('ALTER TABLE ' || (n->>'partition_of') || ' ATTACH PARTITION ' || q || ' ' || (n->>'bound') || ';');
    END IF;
    -- (a typed table leaving its type did so in the first phase: NOT OF)
    IF n ? 'of_type' AND (o->>'of_type') IS NOT DISTINCT FROM (n->>'of_type') THEN
        -- a typed table's columns come and go, and change type, with its type's attributes
        -- (ALTER TYPE ... CASCADE): only their defaults and NOT NULL are the table's
        o := jsonb_set(o, '{columns}', coalesce((
                 SELECT jsonb_agg(coalesce((SELECT y.c || jsonb_build_object('type', x.c->'type')
                                              FROM jsonb_array_elements(o->'columns') y(c) WHERE y.c->>'name' = x.c->>'name'),
                                           (x.c - 'default' - 'notnull' - 'late_default') || '{"notnull": false}') ORDER BY x.i)
                   FROM jsonb_array_elements(n->'columns') WITH ORDINALITY x(c, i)), '[]'));
    END IF;
    IF o->>'partition_of' IS NOT NULL THEN
        -- a detached partition keeps its columns, which become its own
        o := jsonb_set(o, '{columns}', coalesce((SELECT jsonb_agg(c || '{"local": true}') FROM jsonb_array_elements(o->'columns') c), '[]'));
    END IF;
    IF n->>'partition_of' IS NULL THEN
        -- generated columns using a column whose type changes: dropped first, added again (last,
        -- as the new state has them) with the constraints that name them
        v_gen := pggit._generated_rebuild(o, n);
        IF cardinality(v_gen) > 0 THEN
            FOREACH v_col IN ARRAY v_gen LOOP
                v_out := v_out || ('ALTER TABLE ' || q || ' DROP COLUMN ' || quote_ident(v_col) || ';');
            END LOOP;
            v_readd := array(SELECT c->>'name' FROM jsonb_array_elements(o->'constraints') c, unnest(v_gen) g
                              WHERE (c->>'def') ~ ('(^|[^[:alnum:]_$])' || regexp_replace(quote_ident(g), '([^[:alnum:]_ ])', '\\\1', 'g')
                                                   || '($|[^[:alnum:]_$])'));
            o := jsonb_set(o, '{columns}', coalesce((SELECT jsonb_agg(c) FROM jsonb_array_elements(o->'columns') c
                                                      WHERE NOT (c->>'name') = ANY (v_gen)), '[]'));
            o := jsonb_set(o, '{constraints}', coalesce((SELECT jsonb_agg(c) FROM jsonb_array_elements(o->'constraints') c
                                                          WHERE NOT (c->>'name') = ANY (v_readd)), '[]'));
        END IF;
        -- columns dropped
        FOR oc IN SELECT c FROM jsonb_array_elements(o->'columns') c
                   WHERE (c->>'local')::boolean
                     AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n->'columns') x WHERE x->>'name' = c->>'name' AND (x->>'local')::boolean) LOOP
            v_out := v_out || ('ALTER TABLE ' || q || ' DROP COLUMN ' || quote_ident(oc->>'name') || ';');
        END LOOP;
        FOR nc IN SELECT c FROM jsonb_array_elements(n->'columns') c WHERE (c->>'local')::boolean LOOP
            v_col := quote_ident(nc->>'name');
            SELECT c INTO oc FROM jsonb_array_elements(o->'columns') c WHERE c->>'name' = nc->>'name' AND (c->>'local')::boolean;
            IF oc IS NULL THEN
                -- (late defaults are set in their own phase, once the functions they call exist)
                v_out := v_out || ('ALTER TABLE ' || q || ' ADD COLUMN '
                                   || pggit._column_sql(CASE WHEN nc ? 'late_default' THEN nc - 'default' ELSE nc END) || ';');
                CONTINUE;
            END IF;
            IF (oc - 'comment') = (nc - 'comment') THEN
                NULL;
            ELSIF (oc->>'generated') IS DISTINCT FROM (nc->>'generated') OR (oc->>'generated_kind') IS DISTINCT FROM (nc->>'generated_kind') THEN
                v_out := v_out || ('ALTER TABLE ' || q || ' DROP COLUMN ' || v_col || ';')
                               || ('ALTER TABLE ' || q || ' ADD COLUMN ' || pggit._column_sql(nc) || ';');
                CONTINUE;
            ELSE
                IF (oc->>'identity') IS NOT NULL AND ((nc->>'identity') IS NULL OR (oc->>'identity') <> (nc->>'identity')
                                                      OR (oc->>'identity_options') <> (nc->>'identity_options')) THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' DROP IDENTITY;');
                END IF;
                IF (oc->>'default') IS NOT NULL AND (nc->>'default') IS NULL THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' DROP DEFAULT;');
                END IF;
                IF (oc->>'type') <> (nc->>'type') OR (oc->>'collation') IS DISTINCT FROM (nc->>'collation') THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' TYPE ' || (nc->>'type')
                                       || coalesce(' COLLATE ' || (nc->>'collation'), '')
                                       || ' USING ' || v_col
                                       -- between two types of users (enums, domains, composites) there is
                                       -- rarely a cast: through their text forms
                                       || CASE WHEN (oc->>'type') ~ '\.' AND (nc->>'type') ~ '\.'
                                               THEN '::text' || CASE WHEN (nc->>'type') LIKE '%[]' THEN '[]' ELSE '' END
                                               ELSE '' END
                                       || '::' || (nc->>'type') || ';');
                END IF;
                IF (nc->>'default') IS NOT NULL AND (oc->>'default') IS DISTINCT FROM (nc->>'default') AND NOT nc ? 'late_default' THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' SET DEFAULT ' || (nc->>'default') || ';');
                END IF;
                IF (oc->>'notnull')::boolean AND NOT (nc->>'notnull')::boolean THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' DROP NOT NULL;');
                ELSIF NOT (oc->>'notnull')::boolean AND (nc->>'notnull')::boolean THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' SET NOT NULL;');
                END IF;
                IF (nc->>'identity') IS NOT NULL AND ((oc->>'identity') IS NULL OR (oc->>'identity') <> (nc->>'identity')
                                                      OR (oc->>'identity_options') <> (nc->>'identity_options')) THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' ADD GENERATED '
                                       || CASE WHEN nc->>'identity' = 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END
                                       || ' AS IDENTITY (' || (nc->>'identity_options') || ');');
                END IF;
            END IF;
        END LOOP;
    END IF;
    -- NOT NULL constraint names (PostgreSQL 18): a detached partition keeps its parent's, SET NOT
    -- NULL gives the default one
    IF n->>'partition_of' IS NULL THEN
        v_out := v_out || pggit._notnull_renames(q, o, n, true);
    END IF;
    -- constraints added or changed (their old versions were dropped in an earlier phase); a
    -- detached partition keeps the constraints it had from its parent, under the same names
    SELECT v_out || coalesce(array_agg(CASE WHEN (o ? 'partition_of' AND NOT n ? 'partition_of') OR (c->>'name') = ANY (v_readd)
                                            THEN 'ALTER TABLE ' || q || ' DROP CONSTRAINT IF EXISTS ' || quote_ident(c->>'name') || '; '
                                            ELSE '' END
                                       || 'ALTER TABLE ' || q || ' ADD CONSTRAINT ' || quote_ident(c->>'name') || ' ' || (c->>'def') || ';'
                                       ORDER BY c->>'name'), '{}')
      INTO v_out
      FROM jsonb_array_elements(n->'constraints') c
     WHERE c->>'type' <> 'f' AND NOT (o->'constraints') @> jsonb_build_array(c - 'comment');
    -- storage options
    IF (o->'options') IS DISTINCT FROM (n->'options') THEN
        SELECT string_agg(split_part(x, '=', 1), ', ') INTO v_opt
          FROM jsonb_array_elements_text(coalesce(o->'options', '[]')) x
         WHERE split_part(x, '=', 1) NOT IN (SELECT split_part(y, '=', 1) FROM jsonb_array_elements_text(coalesce(n->'options', '[]')) y);
        IF v_opt IS NOT NULL THEN
            v_out := v_out || ('ALTER TABLE ' || q || ' RESET (' || v_opt || ');');
        END IF;
        IF jsonb_array_length(coalesce(n->'options', '[]')) > 0 THEN
            v_out := v_out || ('ALTER TABLE ' || q || ' SET (' || (SELECT string_agg(y, ', ') FROM jsonb_array_elements_text(n->'options') y) || ');');
        END IF;
    END IF;
    -- column storage and compression (a column retyped above took its new type's defaults)
    SELECT v_out || coalesce(array_agg(x ORDER BY c.n), '{}') INTO v_out
      FROM jsonb_array_elements(n->'columns') WITH ORDINALITY c(col, n)
      JOIN LATERAL (SELECT y FROM jsonb_array_elements(o->'columns') y WHERE y->>'name' = c.col->>'name') oc(col) ON true
     CROSS JOIN LATERAL unnest(ARRAY[
           CASE WHEN (c.col->>'storage') IS DISTINCT FROM (oc.col->>'storage') OR (c.col->>'type') <> (oc.col->>'type') THEN
               'ALTER TABLE ONLY ' || q || ' ALTER COLUMN ' || quote_ident(c.col->>'name') || ' SET STORAGE '
               || coalesce(c.col->>'storage', CASE WHEN (c.col->>'type') = (oc.col->>'type') THEN oc.col->>'storage_default' END) || ';' END,
           CASE WHEN (c.col->>'compression') IS DISTINCT FROM (oc.col->>'compression') THEN
               'ALTER TABLE ONLY ' || q || ' ALTER COLUMN ' || quote_ident(c.col->>'name') || ' SET COMPRESSION '
               || coalesce(c.col->>'compression', 'default') || ';' END]) x
     WHERE x IS NOT NULL;
    IF (o->>'access_method') IS DISTINCT FROM (n->>'access_method') THEN
        v_out := v_out || ('ALTER TABLE ' || q || ' SET ACCESS METHOD ' || coalesce(n->>'access_method', 'heap') || ';');
    END IF;
    IF (o->'rls') IS DISTINCT FROM (n->'rls') THEN
        v_out := v_out || ('ALTER TABLE ' || q || CASE WHEN (n->>'rls')::boolean THEN ' ENABLE' ELSE ' DISABLE' END || ' ROW LEVEL SECURITY;');
    END IF;
    IF (o->'force_rls') IS DISTINCT FROM (n->'force_rls') THEN
        v_out := v_out || ('ALTER TABLE ' || q || CASE WHEN (n->>'force_rls')::boolean THEN ' FORCE' ELSE ' NO FORCE' END || ' ROW LEVEL SECURITY;');
    END IF;
    -- sequences owned by columns
    SELECT v_out || coalesce(array_agg('ALTER SEQUENCE ' || (x->>'sequence') || ' OWNED BY NONE;'), '{}') INTO v_out
      FROM jsonb_array_elements(o->'owned') x WHERE NOT (n->'owned') @> jsonb_build_array(x)
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n->'owned') y WHERE y->>'sequence' = x->>'sequence');
    SELECT v_out || coalesce(array_agg('ALTER SEQUENCE ' || (x->>'sequence') || ' OWNED BY ' || q || '.' || quote_ident(x->>'column') || ';'), '{}') INTO v_out
      FROM jsonb_array_elements(n->'owned') x WHERE NOT (o->'owned') @> jsonb_build_array(x);
    -- comments
    IF (o->>'comment') IS DISTINCT FROM (n->>'comment') THEN
        v_out := v_out || ('COMMENT ON TABLE ' || q || ' IS ' || coalesce(quote_literal(n->>'comment'), 'NULL') || ';');
    END IF;
    SELECT v_out || coalesce(array_agg('COMMENT ON COLUMN ' || q || '.' || quote_ident(c->>'name') || ' IS '
                                       || coalesce(quote_literal(c->>'comment'), 'NULL') || ';'), '{}')
      INTO v_out
      FROM jsonb_array_elements(n->'columns') c
     WHERE (c->>'comment') IS DISTINCT FROM (SELECT x->>'comment' FROM jsonb_array_elements(o->'columns') x WHERE x->>'name' = c->>'name')
       AND ((c->>'comment') IS NOT NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(o->'columns') x WHERE x->>'name' = c->>'name'));
    -- constraint comments (constraints added later carry theirs in the foreign-key phase)
    SELECT v_out || coalesce(array_agg('COMMENT ON CONSTRAINT ' || quote_ident(c->>'name') || ' ON ' || q || ' IS '
                                       || coalesce(quote_literal(c->>'comment'), 'NULL') || ';'), '{}')
      INTO v_out
      FROM jsonb_array_elements(n->'constraints') c
     WHERE c->>'type' <> 'f'
       AND (c->>'comment') IS DISTINCT FROM (SELECT x->>'comment' FROM jsonb_array_elements(o->'constraints') x
                                             WHERE x->>'name' = c->>'name' AND x->>'def' = c->>'def');
    IF (n->>'of_type') IS NOT NULL AND (o->>'of_type') IS DISTINCT FROM (n->>'of_type') THEN
        v_out := v_out || ('ALTER TABLE ' || q || ' OF ' || (n->>'of_type') || ';');
    END IF;
    RETURN v_out;
END $$;

-- Statements that create a table from its description (foreign keys excluded).
CREATE FUNCTION pggit._create_table_sql(n jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[n->>'create']
        || CASE WHEN (n->>'attached')::boolean THEN ARRAY[pggit._attach_sql(n)] ELSE '{}' END
        || CASE WHEN n ? 'of_type' AND NOT n ? 'partition_of' THEN pggit._typed_column_sql(n, false) ELSE '{}' END
        || coalesce((SELECT array_agg('ALTER TABLE ' || (n->>'qname') || ' ADD CONSTRAINT ' || quote_ident(c->>'name') || ' ' || (c->>'def') || ';'
                                      ORDER BY c->>'name')
                       FROM jsonb_array_elements(n->'constraints') c WHERE c->>'type' <> 'f'), '{}')
        || CASE WHEN jsonb_path_exists(n->'columns', '$[*] ? (exists(@.storage) || exists(@.compression))')
                THEN pggit._column_storage_sql(n) ELSE '{}' END
        || CASE WHEN (n->>'rls')::boolean THEN ARRAY['ALTER TABLE ' || (n->>'qname') || ' ENABLE ROW LEVEL SECURITY;'] ELSE '{}' END
        || CASE WHEN (n->>'force_rls')::boolean THEN ARRAY['ALTER TABLE ' || (n->>'qname') || ' FORCE ROW LEVEL SECURITY;'] ELSE '{}' END
        || coalesce((SELECT array_agg('ALTER SEQUENCE ' || (x->>'sequence') || ' OWNED BY ' || (n->>'qname') || '.' || quote_ident(x->>'column') || ';')
                       FROM jsonb_array_elements(n->'owned') x), '{}')
        || CASE WHEN n->>'comment' IS NOT NULL THEN ARRAY['COMMENT ON TABLE ' || (n->>'qname') || ' IS ' || quote_literal(n->>'comment') || ';'] ELSE '{}' END
        || coalesce((SELECT array_agg('COMMENT ON COLUMN ' || (n->>'qname') || '.' || quote_ident(c->>'name') || ' IS ' || quote_literal(c->>'comment') || ';')
                       FROM jsonb_array_elements(n->'columns') c WHERE c->>'comment' IS NOT NULL), '{}')
        || coalesce((SELECT array_agg('COMMENT ON CONSTRAINT ' || quote_ident(c->>'name') || ' ON ' || (n->>'qname') || ' IS ' || quote_literal(c->>'comment') || ';')
                       FROM jsonb_array_elements(n->'constraints') c WHERE c->>'type' <> 'f' AND c->>'comment' IS NOT NULL), '{}')
$$;

-- ALTER TYPE statements that turn composite attributes o into n, or NULL when only a recreate can
-- (kept attributes must keep their order: ADD ATTRIBUTE appends).
CREATE FUNCTION pggit._composite_alter_sql(p_q text, o jsonb, n jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_out    text[] := '{}';
    v_old    text[] := array(SELECT a->>'name' FROM jsonb_array_elements(o) a);
    v_new    text[] := array(SELECT a->>'name' FROM jsonb_array_elements(n) a);
    v_prefix int := 0;
    v_a      jsonb;
    v_b      jsonb;
    i        int;
BEGIN
    -- attributes keep their place up to the first difference in order; after it, ADD ATTRIBUTE
    -- (which appends) can only rebuild the tail: drop it and add it again in the new order
    WHILE v_prefix < least(cardinality(v_old), cardinality(v_new)) AND v_old[v_prefix + 1] = v_new[v_prefix + 1] LOOP
        v_prefix := v_prefix + 1;
    END LOOP;
    FOR i IN v_prefix + 1 .. coalesce(cardinality(v_old), 0) LOOP
        IF NOT v_old[i] = ANY (v_new[1:v_prefix]) THEN
            v_out := v_out || ('ALTER TYPE ' || p_q || ' DROP ATTRIBUTE ' || quote_ident(v_old[i]) || ' CASCADE;');
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(cardinality(v_new), 0) LOOP
        v_a := n->(i - 1);
        v_b := o->(i - 1);
        IF i > v_prefix THEN
            v_out := v_out || ('ALTER TYPE ' || p_q || ' ADD ATTRIBUTE ' || quote_ident(v_a->>'name') || ' ' || (v_a->>'type') || ' CASCADE;');
        ELSIF (v_b->>'type') <> (v_a->>'type') THEN
            v_out := v_out || ('ALTER TYPE ' || p_q || ' ALTER ATTRIBUTE ' || quote_ident(v_a->>'name') || ' TYPE ' || (v_a->>'type') || ' CASCADE;');
        END IF;
        IF (i > v_prefix AND v_a ? 'comment') OR (i <= v_prefix AND (v_b->>'comment') IS DISTINCT FROM (v_a->>'comment')) THEN
            v_out := v_out || ('COMMENT ON COLUMN ' || p_q || '.' || quote_ident(v_a->>'name') || ' IS '
                               || coalesce(quote_literal(v_a->>'comment'), 'NULL') || ';');
        END IF;
    END LOOP;
    RETURN v_out;
END $$;

-- ALTER DOMAIN statements that turn domain o into n (same base type).
CREATE FUNCTION pggit._domain_alter_sql(p_q text, o jsonb, n jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_out text[] := '{}';
BEGIN
    SELECT v_out || coalesce(array_agg('ALTER DOMAIN ' || p_q || ' DROP CONSTRAINT ' || quote_ident(c->>'name') || ';' ORDER BY c->>'name'), '{}')
      INTO v_out FROM jsonb_array_elements(o->'constraints') c WHERE NOT (n->'constraints') @> jsonb_build_array(c);
    IF (o->>'default') IS DISTINCT FROM (n->>'default') THEN
        v_out := v_out || ('ALTER DOMAIN ' || p_q || coalesce(' SET DEFAULT ' || (n->>'default'), ' DROP DEFAULT') || ';');
    END IF;
    IF (o->>'notnull')::boolean IS DISTINCT FROM (n->>'notnull')::boolean THEN
        v_out := v_out || ('ALTER DOMAIN ' || p_q || CASE WHEN (n->>'notnull')::boolean THEN ' SET' ELSE ' DROP' END || ' NOT NULL;');
    END IF;
    SELECT v_out || coalesce(array_agg('ALTER DOMAIN ' || p_q || ' ADD CONSTRAINT ' || quote_ident(c->>'name') || ' ' || (c->>'def') || ';' ORDER BY c->>'name'), '{}')
      INTO v_out FROM jsonb_array_elements(n->'constraints') c WHERE NOT (o->'constraints') @> jsonb_build_array(c);
    RETURN v_out;
END $$;

-- ADD VALUE statements that turn enum labels o into n, or NULL when only a recreate can.
CREATE FUNCTION pggit._enum_add_sql(p_q text, o jsonb, n jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_old text[] := array(SELECT jsonb_array_elements_text(o));
    v_new text[] := array(SELECT jsonb_array_elements_text(n));
    v_out text[] := '{}';
    i     int;
BEGIN
    IF array(SELECT x FROM unnest(v_new) x WHERE x = ANY (v_old)) IS DISTINCT FROM v_old THEN
        RETURN NULL;  -- a label was removed or reordered
    END IF;
    FOR i IN 1 .. cardinality(v_new) LOOP
        CONTINUE WHEN v_new[i] = ANY (v_old);
        v_out := v_out || ('ALTER TYPE ' || p_q || ' ADD VALUE ' || quote_literal(v_new[i])
                           || CASE WHEN i > 1 THEN ' AFTER ' || quote_literal(v_new[i - 1])
                                   WHEN cardinality(v_old) > 0 THEN ' BEFORE ' || quote_literal(v_old[1]) ELSE '' END || ';');
    END LOOP;
    RETURN v_out;
END $$;

-- Replace enum type p_type by its new definition and convert the columns that use it: rename
-- the old type away, create the new one, convert each column through text, drop the old type.
CREATE FUNCTION pggit._enum_swap_sql(p_type text, p_def text, p_new jsonb, p_old jsonb, p_recreate text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_q    text := substr(p_type, 6);
    v_name text := (parse_ident(v_q))[2];
    v_tmp  text := quote_ident(left(v_name, 40) || '__pggit_old');
    v_out  text[];
    v_r    record;
BEGIN
    v_out := ARRAY['ALTER TYPE ' || v_q || ' RENAME TO ' || v_tmp || ';', p_def];
    FOR v_r IN
        SELECT t.value->'detail'->>'qname' AS tq, c AS col
          FROM jsonb_each(p_new) t, jsonb_array_elements(t.value->'detail'->'columns') c
         WHERE (t.value->>'kind') = 'table' AND p_old ? t.key AND NOT t.key = ANY (p_recreate)
           AND (c->>'type') IN (v_q, v_q || '[]')
           -- a column of its own at this point (a partition's columns follow its parent's)
           AND EXISTS (SELECT 1 FROM jsonb_array_elements(p_old->t.key->'detail'->'columns') oc
                        WHERE oc->>'name' = c->>'name'
                          AND ((oc->>'local')::boolean  -- or a partition detached in the first phase
                               OR (p_old->t.key->'detail' ? 'partition_of' AND NOT t.value->'detail' ? 'partition_of')))
         ORDER BY t.key, c->>'name'
    LOOP
        v_out := v_out
            || ('ALTER TABLE ' || v_r.tq || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name') || ' DROP DEFAULT;')
            || ('ALTER TABLE ' || v_r.tq || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name') || ' TYPE ' || (v_r.col->>'type')
                || ' USING ' || quote_ident(v_r.col->>'name') || '::text' || CASE WHEN (v_r.col->>'type') LIKE '%[]' THEN '[]' ELSE '' END
                || '::' || (v_r.col->>'type') || ';')
            || CASE WHEN v_r.col ? 'default' THEN
                   ARRAY['ALTER TABLE ' || v_r.tq || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name') || ' SET DEFAULT ' || (v_r.col->>'default') || ';']
               ELSE '{}' END;
    END LOOP;
    RETURN v_out || ('DROP TYPE ' || quote_ident((parse_ident(v_q))[1]) || '.' || v_tmp || ';');
END $$;

-- Dependency levels of a set of objects (identity -> {detail: {deps}} in p_state): 0 for an object
-- depending on none of the others, else 1 + the highest level among those it depends on (capped
-- at 64, so a cycle ends). Edges are joined by hash, one level at a time: linear in the set's
-- size times its depth. (p_state is looked up once per object: pass an in-memory value, not one
-- read from a table, which would be detoasted at every lookup.)
CREATE FUNCTION pggit._dep_levels(p_keys text[], p_state jsonb) RETURNS TABLE (k text, level int)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE s AS MATERIALIZED (
        SELECT DISTINCT x AS k FROM unnest(p_keys) x
    ),
    e AS MATERIALIZED (
        SELECT s.k, d AS dep FROM s, jsonb_array_elements_text(p_state->s.k->'detail'->'deps') d
         WHERE d IN (SELECT s2.k FROM s s2)
    ),
    lv(k, level) AS (
        SELECT s.k, 0 FROM s
        UNION
        SELECT e.k, lv.level + 1 FROM lv JOIN e ON e.dep = lv.k WHERE lv.level < 64
    )
    SELECT lv.k, max(lv.level) FROM lv GROUP BY lv.k
$$;

-- Is table u (entries {kind, hash, detail} of the old and new states) altered rather than
-- recreated although it used object p_dep, which is dropped or recreated? Yes when its new
-- definition no longer uses it, the table needs no recreate anyway, and no column that stays
-- changes type away from it (the columns that used p_dep are dropped, in the drop phase, before
-- it; a retype runs in phase 3, after). Objects other than types and domains a column can use
-- (extensions) count any retype.
CREATE FUNCTION pggit._table_leaves(o jsonb, n jsonb, p_dep text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(
        (o->>'kind') = 'table' AND (n->>'kind') = 'table'
        -- (a collation recreated under its name: the columns using it move off it before the drop
        -- and back on after, see _collation_leaves)
        AND (split_part(p_dep, ' ', 1) = 'collation' OR NOT coalesce(n->'detail'->'deps', '[]') ? p_dep)
        AND (o->'detail'->>'partition_of') IS NOT DISTINCT FROM (n->'detail'->>'partition_of')
        AND NOT pggit._table_needs_recreate(o->'detail', n->'detail')
        -- (a column of a type or domain that goes keeps it until phase 3: it must not stay)
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(o->'detail'->'columns') oc, jsonb_array_elements(n->'detail'->'columns') nc
                         WHERE nc->>'name' = oc->>'name' AND (oc->>'type') <> (nc->>'type')
                           AND (split_part(p_dep, ' ', 1) NOT IN ('type', 'domain')
                                OR regexp_replace(oc->>'type', '(\[\])+$', '') = substr(p_dep, strpos(p_dep, ' ') + 1))), false)
$$;

-- Columns of a kept table o -> n that keep their type but leave a collation in p_gone (dropped
-- or recreated by the migration): (name, statement) of the ALTER that moves each to its new
-- collation, run before the collation is dropped.
CREATE FUNCTION pggit._collation_leaves(o jsonb, n jsonb, p_gone text[])
RETURNS TABLE (name text, statement text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT nc->>'name', 'ALTER TABLE ' || (n->>'qname') || ' ALTER COLUMN ' || quote_ident(nc->>'name') || ' TYPE ' || (nc->>'type')
                        || CASE WHEN ('collation ' || (nc->>'collation')) = ANY (p_gone) THEN ''
                                ELSE coalesce(' COLLATE ' || (nc->>'collation'), '') END || ';'
      FROM jsonb_array_elements(o->'columns') oc
      JOIN jsonb_array_elements(n->'columns') nc ON nc->>'name' = oc->>'name'
     WHERE (oc->>'local')::boolean AND (nc->>'local')::boolean AND (oc->>'type') = (nc->>'type')
       AND ('collation ' || (oc->>'collation')) = ANY (p_gone)
$$;

-- DETACH PARTITION (statement p_detach) of table p_q (qualified, quoted), which then drops what
-- the table had from its parent: the constraints and indexes attached to the parent's (those the
-- target holds are added again later). They are read from the catalog before the detach.
CREATE FUNCTION pggit._detach_sql(p_q text, p_detach text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'DO ' || quote_literal(format($body$
DECLARE
    v_q   text := %L;
    v_con text[];
    v_idx text[];
    x     text;
BEGIN
    SELECT coalesce(array_agg(c.conname::text), '{}') INTO v_con FROM pg_catalog.pg_constraint c
     WHERE c.conrelid = v_q::regclass AND c.contype <> 'n' AND (c.conparentid <> 0 OR c.coninhcount > 0);
    SELECT coalesce(array_agg(pg_catalog.quote_ident(s.nspname) || '.' || pg_catalog.quote_ident(r.relname)), '{}') INTO v_idx
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_inherits h ON h.inhrelid = i.indexrelid
      JOIN pg_catalog.pg_class r ON r.oid = i.indexrelid JOIN pg_catalog.pg_namespace s ON s.oid = r.relnamespace
     WHERE i.indrelid = v_q::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid);
    EXECUTE %L;
    FOREACH x IN ARRAY v_con LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %%s DROP CONSTRAINT IF EXISTS %%I', v_q, x);
    END LOOP;
    FOREACH x IN ARRAY v_idx LOOP
        EXECUTE pg_catalog.format('DROP INDEX IF EXISTS %%s', x);
    END LOOP;
END$body$, p_q, p_detach)) || ';'
$$;

-- ALTER EXTENSION statements that turn extension p_name (quoted) defined by p_old into p_new
-- (comments apart): an extension on both sides is never dropped (what uses it would go with it).
CREATE FUNCTION pggit._extension_alter_sql(p_name text, p_old text, p_new text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_out text[] := '{}';
    v_re  text := ' WITH SCHEMA ("(?:[^"]|"")*"|[^ ;]+)';
    v_ver text := ' VERSION (''(?:[^'']|'''')*''|"(?:[^"]|"")*"|[^ ;]+)';
    v_os  text := substring(split_part(p_old, E'\n', 1) FROM v_re);
    v_ns  text := substring(split_part(p_new, E'\n', 1) FROM v_re);
    v_ov  text := substring(split_part(p_old, E'\n', 1) FROM v_ver);
    v_nv  text := substring(split_part(p_new, E'\n', 1) FROM v_ver);
BEGIN
    IF v_ns IS NOT NULL AND v_os IS DISTINCT FROM v_ns THEN
        v_out := v_out || ('ALTER EXTENSION ' || p_name || ' SET SCHEMA ' || v_ns || ';');
    END IF;
    IF v_nv IS NOT NULL AND v_ov IS DISTINCT FROM v_nv THEN
        v_out := v_out || ('ALTER EXTENSION ' || p_name || ' UPDATE TO ' || v_nv || ';');
    END IF;
    RETURN v_out;
END $$;

-- Kinds a migration renames (the others are dropped and created: they hold no data).
CREATE FUNCTION pggit._rename_keyword(p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'table' THEN 'TABLE' WHEN 'view' THEN 'VIEW' WHEN 'materialized view' THEN 'MATERIALIZED VIEW'
                       WHEN 'index' THEN 'INDEX' WHEN 'sequence' THEN 'SEQUENCE' WHEN 'type' THEN 'TYPE'
                       WHEN 'domain' THEN 'DOMAIN' WHEN 'function' THEN 'FUNCTION' WHEN 'procedure' THEN 'PROCEDURE'
                       WHEN 'aggregate' THEN 'AGGREGATE' WHEN 'collation' THEN 'COLLATION' WHEN 'schema' THEN 'SCHEMA' END
$$;

-- Renames between two states, from the lineage the descriptions keep (see pggit._with_lineage):
-- an object of one state and one of the other with the same kind and the same first identity
-- ("origin", or the identity itself) are one object. One row per object that changed in a way
-- a rename explains: its old and new identity (equal when only columns or labels were renamed),
-- and {old name: new name} of its renamed columns and enum labels. Ambiguous matches (two
-- objects claiming one origin) are left out: they migrate as a drop and an add.
CREATE FUNCTION pggit._renames(p_from text, p_to text)
RETURNS TABLE (old_identity text, new_identity text, kind text, columns jsonb, labels jsonb)
LANGUAGE sql STABLE AS $$
    WITH o AS MATERIALIZED (SELECT s.identity, s.kind, s.hash FROM pggit._state(p_from) s),
         n AS MATERIALIZED (SELECT s.identity, s.kind, s.hash FROM pggit._state(p_to) s),
         og AS MATERIALIZED (
             SELECT x.identity, x.kind, b.detail, coalesce(b.detail->'lineage'->>'origin', x.identity) AS key
               FROM (SELECT * FROM o EXCEPT SELECT * FROM n) x JOIN pggit.blobs b ON b.hash = x.hash
              WHERE pggit._rename_keyword(x.kind) IS NOT NULL),
         nc AS MATERIALIZED (
             SELECT x.identity, x.kind, b.detail, coalesce(b.detail->'lineage'->>'origin', x.identity) AS key
               FROM (SELECT * FROM n EXCEPT SELECT * FROM o) x JOIN pggit.blobs b ON b.hash = x.hash
              WHERE pggit._rename_keyword(x.kind) IS NOT NULL),
         cand AS (
             SELECT og.identity AS oi, nc.identity AS ni, og.kind, og.detail AS od, nc.detail AS nd,
                    count(*) OVER (PARTITION BY og.identity) AS n_of_old, count(*) OVER (PARTITION BY nc.identity) AS n_of_new,
                    bool_or(og.identity = nc.identity) OVER (PARTITION BY og.identity) AS old_self,
                    bool_or(og.identity = nc.identity) OVER (PARTITION BY nc.identity) AS new_self
               FROM og JOIN nc ON nc.key = og.key AND nc.kind = og.kind),
         pairs0 AS (
             SELECT * FROM cand
              WHERE oi = ni OR (NOT old_self AND NOT new_self AND n_of_old = 1 AND n_of_new = 1)),
         -- (a new name still held by an object of the old state that is not renamed away: a drop
         -- and an add, the rename could not run before that object is dropped)
         pairs AS (
             SELECT * FROM pairs0 p
              WHERE p.oi = p.ni
                 OR NOT EXISTS (SELECT 1 FROM o WHERE o.identity = p.ni
                                   AND NOT EXISTS (SELECT 1 FROM pairs0 q WHERE q.oi = p.ni AND q.ni <> q.oi)))
    SELECT p.oi, p.ni, p.kind,
           coalesce((SELECT jsonb_object_agg(oc->>'name', nc->>'name')
                       FROM jsonb_array_elements(p.od->'columns') oc, jsonb_array_elements(p.nd->'columns') nc
                      WHERE coalesce(p.od->'lineage'->'columns'->>(oc->>'name'), oc->>'name')
                            = coalesce(p.nd->'lineage'->'columns'->>(nc->>'name'), nc->>'name')
                        AND oc->>'name' <> nc->>'name'
                        -- (a column of the same name and origin on the other side is that column)
                        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p.nd->'columns') x WHERE x->>'name' = oc->>'name'
                                          AND coalesce(p.nd->'lineage'->'columns'->>(x->>'name'), x->>'name')
                                              = coalesce(p.od->'lineage'->'columns'->>(oc->>'name'), oc->>'name'))
                        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p.od->'columns') x WHERE x->>'name' = nc->>'name'
                                          AND coalesce(p.od->'lineage'->'columns'->>(x->>'name'), x->>'name')
                                              = coalesce(p.nd->'lineage'->'columns'->>(nc->>'name'), nc->>'name'))), '{}'),
           coalesce((SELECT jsonb_object_agg(ol, nl)
                       FROM jsonb_array_elements_text(p.od->'enum') ol, jsonb_array_elements_text(p.nd->'enum') nl
                      WHERE coalesce(p.od->'lineage'->'labels'->>ol, ol) = coalesce(p.nd->'lineage'->'labels'->>nl, nl)
                        AND ol <> nl
                        AND NOT (p.nd->'enum') ? ol AND NOT (p.od->'enum') ? nl), '{}')
      FROM pairs p
     WHERE p.oi <> p.ni OR p.od ? 'lineage' OR p.nd ? 'lineage'
$$;

-- The statements that rename objects (p_ren: old identity -> {new, kind, columns, labels}), in
-- order: schemas; objects whose new name another renamed object still holds, to a temporary
-- name; the others; the temporary names to their final ones; then columns and enum labels.
CREATE FUNCTION pggit._rename_sql(p_ren jsonb)
RETURNS TABLE (kind text, identity text, statement text)
LANGUAGE plpgsql IMMUTABLE AS $$
#variable_conflict use_column
DECLARE
    v_r       record;
    v_schemas jsonb := '{}';
    v_old     text[];
    v_new     text[];
    v_args    text;
    v_cur     text;
    v_kw      text;
    v_tmp     jsonb := '{}';
    v_n       int := 0;
    v_pass    int;
    v_col     record;
BEGIN
    FOR v_r IN SELECT e.key AS oi, e.value->>'new' AS ni FROM jsonb_each(p_ren) e
                WHERE e.value->>'kind' = 'schema' AND e.key <> e.value->>'new' ORDER BY e.key LOOP
        v_schemas := v_schemas || jsonb_build_object(substr(v_r.oi, 8), substr(v_r.ni, 8));
        kind := 'schema'; identity := v_r.ni;
        statement := 'ALTER SCHEMA ' || substr(v_r.oi, 8) || ' RENAME TO ' || substr(v_r.ni, 8) || ';';
        RETURN NEXT;
    END LOOP;
    FOR v_pass IN 1 .. 3 LOOP
        FOR v_r IN SELECT e.key AS oi, e.value->>'new' AS ni, e.value->>'kind' AS k,
                          p_ren ? (e.value->>'new') AND (p_ren->(e.value->>'new')->>'new') <> (e.value->>'new') AS held
                     FROM jsonb_each(p_ren) e
                    WHERE e.value->>'kind' <> 'schema' AND e.key <> e.value->>'new'
                    ORDER BY CASE e.value->>'kind' WHEN 'table' THEN 0 WHEN 'sequence' THEN 1 WHEN 'index' THEN 3 ELSE 2 END, e.key LOOP
            CONTINUE WHEN (v_pass = 1 AND NOT v_r.held) OR (v_pass = 2 AND v_r.held) OR (v_pass = 3 AND NOT v_r.held);
            v_kw := pggit._rename_keyword(v_r.k);
            -- [schema, name] of each side, and the argument list of a routine
            v_old := parse_ident(substr(v_r.oi, length(v_r.k) + 2), false);
            v_new := parse_ident(substr(v_r.ni, length(v_r.k) + 2), false);
            v_args := substr(substr(v_r.oi, length(v_r.k) + 2), length(quote_ident(v_old[1]) || '.' || quote_ident(v_old[2])) + 1);
            IF v_r.k = 'aggregate' AND v_args = '()' THEN v_args := '(*)'; END IF;
            IF v_pass = 3 THEN
                v_cur := quote_ident(v_new[1]) || '.' || quote_ident(v_tmp->>v_r.oi) || v_args;
                kind := v_r.k; identity := v_r.ni;
                statement := 'ALTER ' || v_kw || ' ' || v_cur || ' RENAME TO ' || quote_ident(v_new[2]) || ';';
                RETURN NEXT;
                CONTINUE;
            END IF;
            v_cur := coalesce(v_schemas->>quote_ident(v_old[1]), quote_ident(v_old[1])) || '.' || quote_ident(v_old[2]) || v_args;
            IF coalesce(v_schemas->>quote_ident(v_old[1]), quote_ident(v_old[1])) <> quote_ident(v_new[1])
               AND v_r.k NOT IN ('index', 'sequence') THEN
                -- (indexes, and sequences owned by a table, move with their table)
                kind := v_r.k; identity := v_r.ni;
                statement := 'ALTER ' || v_kw || ' ' || v_cur || ' SET SCHEMA ' || quote_ident(v_new[1]) || ';';
                RETURN NEXT;
                v_cur := quote_ident(v_new[1]) || '.' || quote_ident(v_old[2]) || v_args;
            ELSIF v_r.k IN ('index', 'sequence') THEN
                v_cur := quote_ident(v_new[1]) || '.' || quote_ident(v_old[2]) || v_args;
            END IF;
            IF v_pass = 1 THEN
                v_n := v_n + 1;
                v_tmp := v_tmp || jsonb_build_object(v_r.oi, left(v_old[2], 40) || '__pggit_renaming_' || v_n);
                kind := v_r.k; identity := v_r.ni;
                statement := 'ALTER ' || v_kw || ' ' || v_cur || ' RENAME TO ' || quote_ident(v_tmp->>v_r.oi) || ';';
                RETURN NEXT;
            ELSIF v_old[2] <> v_new[2] THEN
                kind := v_r.k; identity := v_r.ni;
                statement := 'ALTER ' || v_kw || ' ' || v_cur || ' RENAME TO ' || quote_ident(v_new[2]) || ';';
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
    -- columns (a swap of two names goes through a temporary one) and enum labels
    FOR v_r IN SELECT e.value->>'new' AS ni, e.value->>'kind' AS k, e.value->'columns' AS cols, e.value->'labels' AS labels
                 FROM jsonb_each(p_ren) e
                WHERE coalesce(e.value->'columns', '{}') <> '{}' OR coalesce(e.value->'labels', '{}') <> '{}'
                ORDER BY e.value->>'new' LOOP
        FOR v_col IN SELECT c.key AS o, c.value #>> '{}' AS n, v_r.cols ? (c.value #>> '{}') AS held
                       FROM jsonb_each(coalesce(v_r.cols, '{}')) c ORDER BY 3 DESC, 1 LOOP
            kind := v_r.k; identity := v_r.ni;
            IF v_col.held THEN
                statement := 'ALTER TABLE ' || substr(v_r.ni, 7) || ' RENAME COLUMN ' || quote_ident(v_col.o)
                             || ' TO ' || quote_ident(left(v_col.o, 40) || '__pggit_renaming') || ';';
            ELSE
                statement := 'ALTER TABLE ' || substr(v_r.ni, 7) || ' RENAME COLUMN ' || quote_ident(v_col.o) || ' TO ' || quote_ident(v_col.n) || ';';
            END IF;
            RETURN NEXT;
        END LOOP;
        FOR v_col IN SELECT c.key AS o, c.value #>> '{}' AS n FROM jsonb_each(coalesce(v_r.cols, '{}')) c
                      WHERE v_r.cols ? (c.value #>> '{}') ORDER BY 1 LOOP
            kind := v_r.k; identity := v_r.ni;
            statement := 'ALTER TABLE ' || substr(v_r.ni, 7) || ' RENAME COLUMN ' || quote_ident(left(v_col.o, 40) || '__pggit_renaming')
                         || ' TO ' || quote_ident(v_col.n) || ';';
            RETURN NEXT;
        END LOOP;
        FOR v_col IN SELECT c.key AS o, c.value #>> '{}' AS n FROM jsonb_each(coalesce(v_r.labels, '{}')) c ORDER BY 1 LOOP
            kind := v_r.k; identity := v_r.ni;
            statement := 'ALTER TYPE ' || substr(v_r.ni, 6) || ' RENAME VALUE ' || quote_literal(v_col.o) || ' TO ' || quote_literal(v_col.n) || ';';
            RETURN NEXT;
        END LOOP;
    END LOOP;
END $$;

-- An old state's description seen after the migration's renames ran (p_ren: old identity ->
-- {new, kind, columns, labels}; p_new_detail: the object's description in the new state, for
-- the names it now goes by): its own name and renamed columns and labels, and the objects it
-- names (parent, inherited tables, owned sequences, dependencies).
CREATE FUNCTION pggit._renamed_detail(p_detail jsonb, p_ren jsonb, p_self jsonb, p_new_detail jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d jsonb := p_detail;
    v_qmap jsonb;
    v_key  text;
    v_m    text[];
BEGIN
    -- qualified names of renamed relations: old -> new
    SELECT coalesce(jsonb_object_agg(substr(r.key, length(r.value->>'kind') + 2), substr(r.value->>'new', length(r.value->>'kind') + 2)), '{}')
      INTO v_qmap FROM jsonb_each(p_ren) r
     WHERE r.value->>'kind' IN ('table', 'sequence', 'view', 'materialized view') AND r.key <> r.value->>'new';
    IF p_self IS NULL AND v_qmap <> '{}' THEN
        -- a trigger, policy or rule names its table; an index moves with its table to another schema
        v_m := regexp_match(d->>'comment_on', '^(TRIGGER|POLICY|RULE) (.*) ON (.*)$');
        IF v_m IS NOT NULL AND v_qmap ? v_m[3] THEN
            d := jsonb_set(d, '{comment_on}', to_jsonb(v_m[1] || ' ' || v_m[2] || ' ON ' || (v_qmap->>v_m[3])));
        ELSIF d->>'comment_on' LIKE 'INDEX %' THEN
            SELECT 'INDEX ' || quote_ident(nt[1]) || '.' || quote_ident(ni[2]) INTO v_key
              FROM jsonb_array_elements_text(d->'deps') x,
                   parse_ident(substr(d->>'comment_on', 7)) ni,
                   parse_ident(substr(p_ren->x->>'new', 7)) nt
             WHERE p_ren->x->>'kind' = 'table' AND nt[1] <> ni[1]
             LIMIT 1;
            IF v_key IS NOT NULL THEN
                d := jsonb_set(d, '{comment_on}', to_jsonb(v_key));
            END IF;
        END IF;
    END IF;
    IF p_self IS NULL AND d->>'comment_on' ~ '^(STATISTICS|OPERATOR|CAST|TEXT SEARCH DICTIONARY|TEXT SEARCH CONFIGURATION|TEXT SEARCH PARSER|TEXT SEARCH TEMPLATE|FOREIGN TABLE|TRANSFORM) ' THEN
        -- kinds not renamed themselves whose names (and argument types) name a renamed schema:
        -- dropped under the schema's new name
        FOR v_m IN SELECT ARRAY[substr(r.key, 8), substr(r.value->>'new', 8)] FROM jsonb_each(p_ren) r
                    WHERE r.value->>'kind' = 'schema' AND r.key <> r.value->>'new' LOOP
            d := jsonb_set(d, '{comment_on}', to_jsonb(regexp_replace(
                     d->>'comment_on', '([ (,])' || regexp_replace(v_m[1], '([^[:alnum:]_ ])', '\\\1', 'g') || '\.',
                     '\1' || replace(v_m[2], '\', '\\') || '.', 'g')));
        END LOOP;
    END IF;
    IF p_self IS NOT NULL AND d ? 'qname' AND p_new_detail ? 'qname' AND current_setting('server_version_num')::int >= 180000 THEN
        -- (PostgreSQL 18 names NOT NULL constraints after the table and column, and a rename of
        -- either keeps the name: the renamed table holds the old default names)
        d := jsonb_set(d, '{columns}', (
            SELECT coalesce(jsonb_agg(CASE WHEN (c->>'notnull')::boolean AND NOT c ? 'notnull_name'
                                                AND left((parse_ident(d->>'qname'))[2] || '_' || (c->>'name') || '_not_null', 63)
                                                    <> left((parse_ident(p_new_detail->>'qname'))[2] || '_'
                                                            || coalesce(p_self->'columns'->>(c->>'name'), c->>'name') || '_not_null', 63)
                                           THEN c || jsonb_build_object('notnull_name',
                                                         left((parse_ident(d->>'qname'))[2] || '_' || (c->>'name') || '_not_null', 63))
                                           ELSE c END ORDER BY i), '[]')
              FROM jsonb_array_elements(d->'columns') WITH ORDINALITY x(c, i)));
    END IF;
    IF p_self IS NOT NULL THEN
        IF p_new_detail ? 'qname' THEN d := jsonb_set(d, '{qname}', p_new_detail->'qname'); END IF;
        IF p_new_detail ? 'comment_on' THEN d := jsonb_set(d, '{comment_on}', p_new_detail->'comment_on'); END IF;
        IF coalesce(p_self->'columns', '{}') <> '{}' AND d ? 'columns' THEN
            d := jsonb_set(d, '{columns}', (SELECT coalesce(jsonb_agg(CASE WHEN p_self->'columns' ? (c->>'name')
                                                                          THEN jsonb_set(c, '{name}', p_self->'columns'->(c->>'name')) ELSE c END
                                                                     ORDER BY i), '[]')
                                              FROM jsonb_array_elements(d->'columns') WITH ORDINALITY x(c, i)));
        END IF;
        IF coalesce(p_self->'labels', '{}') <> '{}' AND d ? 'enum' THEN
            d := jsonb_set(d, '{enum}', (SELECT coalesce(jsonb_agg(coalesce(p_self->'labels'->>l, l) ORDER BY i), '[]')
                                           FROM jsonb_array_elements_text(d->'enum') WITH ORDINALITY x(l, i)));
        END IF;
    END IF;
    IF v_qmap <> '{}' THEN
        IF v_qmap ? (d->>'partition_of') THEN d := jsonb_set(d, '{partition_of}', v_qmap->(d->>'partition_of')); END IF;
        IF d ? 'inherits' THEN
            d := jsonb_set(d, '{inherits}', (SELECT jsonb_agg(coalesce(v_qmap->>x, x) ORDER BY i)
                                               FROM jsonb_array_elements_text(d->'inherits') WITH ORDINALITY y(x, i)));
        END IF;
        IF jsonb_array_length(coalesce(d->'owned', '[]')) > 0 THEN
            d := jsonb_set(d, '{owned}', (SELECT jsonb_agg(CASE WHEN v_qmap ? (o->>'sequence')
                                                                THEN jsonb_set(o, '{sequence}', v_qmap->(o->>'sequence')) ELSE o END
                                                           ORDER BY i)
                                            FROM jsonb_array_elements(d->'owned') WITH ORDINALITY y(o, i)));
        END IF;
    END IF;
    FOREACH v_key IN ARRAY ARRAY['deps', 'fk_deps', 'late_deps'] LOOP
        IF d ? v_key THEN
            d := jsonb_set(d, ARRAY[v_key], (SELECT coalesce(jsonb_agg(coalesce(p_ren->x->>'new', x) ORDER BY i), '[]')
                                               FROM jsonb_array_elements_text(d->v_key) WITH ORDINALITY y(x, i)));
        END IF;
    END LOOP;
    RETURN d;
END $$;

-- Every entry of an old state's map (identity -> {kind, hash, detail}) seen after the renames.
CREATE FUNCTION pggit._renamed_state(p_old jsonb, p_new jsonb, p_ren jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(e.key, jsonb_set(e.value, '{detail}',
               pggit._renamed_detail(e.value->'detail', p_ren,
                                     (SELECT r.value FROM jsonb_each(p_ren) r WHERE r.value->>'new' = e.key),
                                     p_new->e.key->'detail'))), '{}')
      FROM jsonb_each(p_old) e
$$;

-- The ordered DDL that turns the state of p_from (NULL = empty database) into the state of
-- p_to (NULL = HEAD). Phases: drop changed constraints; drop removed and recreated objects in
-- reverse dependency order; create and alter in dependency order; add foreign keys last.
--
-- Works from the objects that differ, plus what the migration must touch because of them
-- (dependents recreated with them, tables whose foreign keys or late defaults reach them): only
-- those objects' descriptions are loaded. The rest of the old state is read once, for its
-- references (deps, fk_deps, late_deps, partition parents, owned sequences).
-- Generic plans: the maps can be large jsonb values (a whole state for migration(NULL, x)),
-- which a custom plan would take in as constants and copy at every planning of every statement
-- that names them. JIT off: the estimates of the jsonb set functions pass jit_above_cost, and
-- compiling costs more than the statements take.
CREATE FUNCTION pggit.migration(p_from text, p_to text DEFAULT NULL)
RETURNS TABLE (step integer, kind text, identity text, statement text, reason text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan SET jit = off AS $$
#variable_conflict use_column
DECLARE
    v_flushed int := pggit.flush();  -- queued captures first: HEAD must be current
    -- identity -> {kind, hash, detail} in the old state, for the objects the migration touches
    v_old     jsonb;
    -- identity -> {kind, hash, detail, def} in the new state, for the same objects
    v_new     jsonb;
    -- identity -> [old kind, old hash, new kind, new hash] of the objects that differ
    v_changed jsonb;
    -- in the old state: 'd identity', 'f identity', 'l identity' -> JSON text [[user, kind, hash], ...]
    -- of the objects that name it in deps, fk_deps or late_deps
    v_users   jsonb;
    -- identities the old state references (deps, fk_deps, late_deps, parents, owned sequences) that
    -- the new state lacks
    v_absent  text[];
    v_extra   jsonb;
    v_recreate text[];
    v_emit    text[];
    v_r       record;
    v_stmts   text[];
    v_s       text;
    v_o       jsonb;
    v_n       jsonb;
    -- parent (qualified, quoted) -> its detail in the new state, for the tables attached to it
    v_parent  jsonb := '{}';
    v_swap    text[];
    v_prealter text[];
    v_od      jsonb;
    v_late    text[] := '{}';
    v_fk_dropped text[] := '{}';
    o_kind    text[] := '{}';
    o_ident   text[] := '{}';
    o_stmt    text[] := '{}';
    -- old identity -> {new, kind, columns, labels}: the objects renamed between the states (the
    -- old state is then read under the new names; the renames run first)
    v_ren     jsonb;
    v_why     jsonb;
    -- identity -> {kind, old, new}: objects whose only change is their privileges (detail.acl)
    v_acl_only jsonb := '{}';
    v_acl     jsonb;
    -- grantees named by the default privileges of either state (NULL until needed)
    v_dp_grantees text[];
    -- the role writing the migration is not the database's owner (10_owners.sql)
    v_not_dbo boolean;
BEGIN
    SELECT coalesce(jsonb_object_agg(r.old_identity, jsonb_build_object('new', r.new_identity, 'kind', r.kind,
                                                                        'columns', r.columns, 'labels', r.labels)), '{}')
      INTO v_ren FROM pggit._renames(p_from, coalesce(p_to, 'HEAD')) r;
    -- the two states: what differs, and the old state's references
    WITH o AS MATERIALIZED (SELECT coalesce(v_ren->s.identity->>'new', s.identity) AS identity, s.kind, s.hash
                              FROM pggit._state(p_from) s),
         n AS MATERIALIZED (SELECT s.identity, s.kind, s.hash FROM pggit._state(coalesce(p_to, 'HEAD')) s),
         -- (set operations and the "C" sort below: hashing, or sorts without collation work)
         gone AS (SELECT * FROM o EXCEPT ALL SELECT * FROM n),
         came AS (SELECT * FROM n EXCEPT ALL SELECT * FROM o),
         refs AS MATERIALIZED (
             SELECT r.rel, coalesce(v_ren->r.target->>'new', r.target) AS target, o.identity AS u, o.kind AS ukind, o.hash AS uhash
               FROM o JOIN pggit.blobs b ON b.hash = o.hash
              CROSS JOIN LATERAL (
                  SELECT 'd' AS rel, x AS target FROM jsonb_array_elements_text(b.detail->'deps') x
                  UNION ALL SELECT 'f', x FROM jsonb_array_elements_text(b.detail->'fk_deps') x
                  UNION ALL SELECT 'l', x FROM jsonb_array_elements_text(b.detail->'late_deps') x
                  -- (named only to know whether the new state has them: parents, owned sequences)
                  UNION ALL SELECT 'x', 'table ' || (b.detail->>'partition_of') WHERE b.detail ? 'partition_of'
                  UNION ALL SELECT 'x', 'sequence ' || (x->>'sequence') FROM jsonb_array_elements(b.detail->'owned') x) r)
    SELECT (SELECT coalesce(jsonb_object_agg(coalesce(g.identity, c.identity), jsonb_build_array(g.kind, g.hash, c.kind, c.hash)), '{}')
              FROM gone g FULL JOIN came c ON c.identity = g.identity),
           -- (values as JSON text, parsed only for the few keys read: far cheaper to build)
           (SELECT coalesce(jsonb_object(array_agg(g.key), array_agg(g.users)), '{}')
              FROM (SELECT (refs.rel || ' ' || refs.target) COLLATE "C" AS key, json_agg(json_build_array(refs.u, refs.ukind, refs.uhash))::text AS users
                      FROM refs WHERE refs.rel <> 'x' GROUP BY 1) g),
           array(SELECT DISTINCT refs.target FROM refs WHERE NOT EXISTS (SELECT 1 FROM n WHERE n.identity = refs.target))
      INTO v_changed, v_users, v_absent;
    IF v_changed = '{}' THEN
        RETURN;
    END IF;

    -- the changed objects' descriptions (and new definitions)
    SELECT coalesce(jsonb_object_agg(c.key, jsonb_build_object('kind', c.value->>0, 'hash', c.value->>1, 'detail', b.detail)), '{}')
      INTO v_old FROM jsonb_each(v_changed) c JOIN pggit.blobs b ON b.hash = c.value->>1;
    SELECT coalesce(jsonb_object_agg(c.key, jsonb_build_object('kind', c.value->>2, 'hash', c.value->>3, 'detail', b.detail,
                                                               'def', b.definition)), '{}')
      INTO v_new FROM jsonb_each(v_changed) c JOIN pggit.blobs b ON b.hash = c.value->>3;
    IF v_ren <> '{}' THEN
        v_old := pggit._renamed_state(v_old, v_new, v_ren);
    END IF;

    -- objects whose only change is their privileges are not altered or rebuilt: they get the
    -- GRANTs and REVOKEs of the difference at the end (10_privileges.sql)
    -- (and so are objects whose only change is their owner: 10_owners.sql)
    SELECT coalesce(jsonb_object_agg(k, jsonb_build_object('kind', v_new->k->'kind', 'old', v_old->k->'detail'->'acl',
                                                            'new', v_new->k->'detail'->'acl',
                                                            'old_owner', v_old->k->'detail'->'owner',
                                                            'detail', v_new->k->'detail')), '{}')
      INTO v_acl_only
      FROM jsonb_object_keys(v_new) k JOIN pggit.blobs ob ON ob.hash = v_old->k->>'hash'
     WHERE (pggit._acl_objtype(v_new->k->>'kind') IS NOT NULL OR pggit._owner_kind(v_new->k->>'kind'))
       AND (v_old->k->>'kind') = (v_new->k->>'kind')
       AND ((v_old->k->'detail'->'acl') IS DISTINCT FROM (v_new->k->'detail'->'acl')
            OR (v_old->k->'detail'->'owner') IS DISTINCT FROM (v_new->k->'detail'->'owner'))
       AND ((v_old->k->'detail') - 'acl' - 'owner') = ((v_new->k->'detail') - 'acl' - 'owner')
       AND pggit._acl_strip(ob.kind, k, ob.definition, ob.detail)
           = pggit._acl_strip(v_new->k->>'kind', k, v_new->k->>'def', v_new->k->'detail');
    IF v_acl_only <> '{}' THEN
        v_changed := v_changed - array(SELECT jsonb_object_keys(v_acl_only));
        v_old := v_old - array(SELECT jsonb_object_keys(v_acl_only));
        v_new := v_new - array(SELECT jsonb_object_keys(v_acl_only));
    END IF;

    -- Enums whose labels change. Added labels go in with ALTER TYPE ... ADD VALUE, unless the
    -- migration itself uses a new label (PostgreSQL refuses that in the same transaction) or
    -- labels were removed or reordered: then the type is swapped for a new one and its columns
    -- converted, all in one transaction.
    v_swap := array(
        SELECT k FROM jsonb_object_keys(v_old) k
         WHERE v_new ? k AND (v_new->k->>'hash') <> (v_old->k->>'hash')
           AND v_new->k->'detail' ? 'enum' AND v_old->k->'detail' ? 'enum'
           AND (pggit._enum_add_sql(substr(k, 6), v_old->k->'detail'->'enum', v_new->k->'detail'->'enum') IS NULL
                OR EXISTS (
                    SELECT 1 FROM jsonb_array_elements_text(v_new->k->'detail'->'enum') l, jsonb_each(v_new) x
                     WHERE NOT (v_old->k->'detail'->'enum') ? l AND x.key <> k
                       AND (v_old->x.key->>'hash') IS DISTINCT FROM (x.value->>'hash')
                       AND strpos(x.value->>'def', quote_literal(l) || '::' || substr(k, 6)) > 0)));
    IF cardinality(v_swap) > 0 THEN
        -- (rare) a swap converts every column of the type, in tables that may not change: load the
        -- whole of both states
        SELECT v_old || pggit._renamed_state(coalesce(jsonb_object_agg(coalesce(v_ren->s.identity->>'new', s.identity),
                                                                     jsonb_build_object('kind', s.kind, 'hash', s.hash, 'detail', b.detail)), '{}'),
                                             '{}', v_ren)
          INTO v_old FROM pggit._state(p_from) s JOIN pggit.blobs b ON b.hash = s.hash
         WHERE NOT v_changed ? coalesce(v_ren->s.identity->>'new', s.identity);
        SELECT v_new || coalesce(jsonb_object_agg(s.identity, jsonb_build_object('kind', s.kind, 'hash', s.hash, 'detail', b.detail,
                                                                                  'def', b.definition)), '{}')
          INTO v_new FROM pggit._state(coalesce(p_to, 'HEAD')) s JOIN pggit.blobs b ON b.hash = s.hash WHERE NOT v_changed ? s.identity;
    END IF;

    -- objects dropped and created again: deleted ones, changed ones no ALTER can reach, and
    -- (transitively) whatever depends on them in the old state
    WITH RECURSIVE changed AS (
        SELECT c.key AS k, v_old->c.key AS o, v_new->c.key AS n FROM jsonb_each(v_changed) c WHERE v_old ? c.key
    ),
    seed AS (
        -- a table that survives an object it used no longer uses it: it is altered, not recreated
        SELECT k, 'nontable' AS how FROM changed
         WHERE n IS NULL AND (o->>'kind') IN ('function', 'procedure', 'aggregate', 'sequence')
        UNION
        SELECT k, 'all' AS how FROM changed
         WHERE (n IS NULL AND (o->>'kind') NOT IN ('function', 'procedure', 'aggregate', 'sequence'))
            OR (o->>'kind') <> (n->>'kind')
            OR (n->>'kind') IN ('view', 'materialized view', 'index', 'trigger', 'policy', 'aggregate', 'rule', 'event trigger', 'cast', 'operator', 'collation',
                                'text search dictionary', 'text search configuration', 'publication',
                                'operator class', 'operator family', 'access method', 'transform', 'text search parser', 'text search template',
                                'foreign data wrapper', 'server', 'user mapping', 'foreign table', 'subscription')
            OR ((n->>'kind') = 'domain' AND (o->'detail'->'domain'->>'base') IS DISTINCT FROM (n->'detail'->'domain'->>'base'))
            OR ((n->>'kind') = 'type' AND NOT (n->'detail' ? 'enum' AND o->'detail' ? 'enum')
                AND NOT (n->'detail' ? 'attributes' AND o->'detail' ? 'attributes'))
            OR ((n->>'kind') IN ('function', 'procedure') AND (o->'detail'->>'result') IS DISTINCT FROM (n->'detail'->>'result'))
            OR ((n->>'kind') = 'table' AND pggit._table_needs_recreate(o->'detail', n->'detail'))
            -- kinds described with their CREATE statement apart ('create'): recreated when it changes
            OR ((n->>'kind') IN ('statistics') AND (o->'detail'->>'create') IS DISTINCT FROM (n->'detail'->>'create'))
        UNION
        -- enums swapped for a new type: what uses the type (functions, views...) is recreated
        SELECT k, 'nontable' FROM unnest(v_swap) k
        UNION
        -- tables losing or retyping columns: their dependents must go first
        SELECT k, 'nontable' FROM changed
         WHERE (n->>'kind') = 'table' AND EXISTS (
             SELECT 1 FROM jsonb_array_elements(o->'detail'->'columns') oc
              WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n->'detail'->'columns') nc
                                 WHERE nc->>'name' = oc->>'name' AND nc->>'type' = oc->>'type'
                                   AND (nc->>'generated') IS NOT DISTINCT FROM (oc->>'generated')))
    ),
    closure AS (
        SELECT k, how, 0 AS depth, NULL::jsonb AS ent, NULL::text AS via FROM seed
        UNION
        SELECT u->>0, 'all', c.depth + 1, u, c.k
          FROM closure c, jsonb_array_elements((v_users->>('d ' || c.k))::jsonb) u
         WHERE c.depth < 32 AND (c.how = 'all' OR (u->>1) <> 'table')
           -- an index of a table that loses or retypes columns is not in the way: ALTER COLUMN
           -- TYPE rebuilds it, DROP COLUMN drops it (and then the new state changed it anyway)
           AND NOT (c.how = 'nontable' AND c.depth = 0 AND (u->>1) = 'index' AND (v_old->c.k->>'kind') = 'table')
           -- a table whose new definition no longer uses the object is altered, not recreated
           -- (the columns that used it are dropped before it, in the drop phase)
           AND NOT ((u->>1) = 'table' AND pggit._table_leaves(v_old->(u->>0), v_new->(u->>0), c.k))
    ),
    recreated AS (
        SELECT DISTINCT k FROM closure WHERE how = 'all' OR depth > 0
    )
    SELECT array_agg(k),
           -- the unchanged ones among them: identity -> [identity, kind, hash]
           (SELECT jsonb_object_agg(c.k, c.ent) FROM (SELECT DISTINCT ON (k) k, ent FROM closure
                                                      WHERE ent IS NOT NULL AND NOT v_changed ? k ORDER BY k) c),
           -- why each is rebuilt: the object it depends on that goes first (the nearest)
           (SELECT jsonb_object_agg(c.k, c.via) FROM (SELECT DISTINCT ON (k) k, via FROM closure
                                                      WHERE via IS NOT NULL ORDER BY k, depth) c)
      INTO v_recreate, v_extra, v_why FROM recreated;
    v_recreate := coalesce(v_recreate, '{}');
    -- tables kept and altered whose old definition uses an object dropped (or recreated) that the
    -- new one does not: their dropped columns go in the drop phase, before that object
    v_prealter := array(
        SELECT DISTINCT u->>0
          FROM unnest(v_recreate || array(SELECT x FROM jsonb_object_keys(v_changed) x WHERE v_changed->x->>2 IS NULL)) t,
               jsonb_array_elements((v_users->>('d ' || t))::jsonb) u
         WHERE (u->>1) = 'table' AND NOT (u->>0) = ANY (v_recreate)
           AND pggit._table_leaves(v_old->(u->>0), v_new->(u->>0), t));

    -- unchanged tables whose foreign keys or late defaults reach a recreated or vanished object
    -- are touched too
    SELECT coalesce(v_extra, '{}') || coalesce(jsonb_object_agg(u->>0, u), '{}') INTO v_extra
      FROM unnest(v_recreate || v_absent) t, unnest(ARRAY['f ', 'l ']) rel, jsonb_array_elements((v_users->>(rel || t))::jsonb) u
     WHERE NOT v_changed ? (u->>0);
    -- load the unchanged objects touched (the same in both states)
    SELECT coalesce(jsonb_object_agg(e.key, jsonb_build_object('kind', e.value->>1, 'hash', b.hash, 'detail', b.detail)), '{}'),
           coalesce(jsonb_object_agg(e.key, jsonb_build_object('kind', e.value->>1, 'hash', b.hash, 'detail', b.detail,
                                                               'def', b.definition)), '{}')
      INTO v_o, v_n FROM jsonb_each(v_extra) e JOIN pggit.blobs b ON b.hash = e.value->>2
     WHERE NOT v_old ? e.key;
    IF v_ren <> '{}' THEN
        v_o := pggit._renamed_state(v_o, v_n, v_ren);
    END IF;
    v_old := v_old || v_o;
    v_new := v_new || v_n;
    -- (what creates an object is its definition without its owner and privileges: those come at the end)
    SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN e.value->'detail' ? 'acl' OR e.value->'detail' ? 'owner'
                                                 THEN jsonb_set(e.value, '{def}', to_jsonb(pggit._acl_strip(e.value->>'kind', e.key, e.value->>'def', e.value->'detail')))
                                                 ELSE e.value END), '{}')
      INTO v_new FROM jsonb_each(v_new) e;

    -- the new parents of the tables attached as partitions (ATTACH wants their CHECK constraints)
    IF EXISTS (SELECT 1 FROM jsonb_each(v_new) t
                WHERE (t.value->>'kind') = 'table' AND t.value->'detail' ? 'partition_of' AND v_old ? t.key
                  AND ((v_old->t.key->'detail'->>'partition_of') IS DISTINCT FROM (t.value->'detail'->>'partition_of')
                       OR (v_old->t.key->'detail'->>'bound') IS DISTINCT FROM (t.value->'detail'->>'bound'))) THEN
        SELECT coalesce(jsonb_object_agg(substr(s.identity, 7), b.detail), '{}') INTO v_parent
          FROM pggit._state(coalesce(p_to, 'HEAD')) s JOIN pggit.blobs b ON b.hash = s.hash
         WHERE s.kind = 'table' AND s.identity IN (SELECT 'table ' || (t.value->'detail'->>'partition_of') FROM jsonb_each(v_new) t
                                                    WHERE (t.value->>'kind') = 'table' AND t.value->'detail' ? 'partition_of');
    END IF;

    -- phase 0: renames (schemas first; an object whose new name another object still holds goes
    -- through a temporary name, or after the drops when that one is dropped)
    IF v_ren <> '{}' THEN
        SELECT o_kind || coalesce(array_agg(x.kind), '{}'), o_ident || coalesce(array_agg(x.identity), '{}'),
               o_stmt || coalesce(array_agg(x.statement), '{}')
          INTO o_kind, o_ident, o_stmt
          FROM pggit._rename_sql(v_ren) x;
    END IF;

    -- typed tables leaving their type, before the type changes (ALTER TYPE ... CASCADE would
    -- change them with it)
    SELECT o_kind || coalesce(array_agg('table'::text ORDER BY t.key), '{}'), o_ident || coalesce(array_agg(t.key ORDER BY t.key), '{}'),
           o_stmt || coalesce(array_agg('ALTER TABLE ' || (t.value->'detail'->>'qname') || ' NOT OF;' ORDER BY t.key), '{}')
      INTO o_kind, o_ident, o_stmt
      FROM jsonb_each(v_old) t
     WHERE (t.value->>'kind') = 'table' AND t.value->'detail' ? 'of_type' AND v_new ? t.key AND NOT t.key = ANY (v_recreate)
       AND (t.value->'detail'->>'of_type') IS DISTINCT FROM (v_new->t.key->'detail'->>'of_type');

    -- phase 1: drop constraints that change or go away, and foreign keys into recreated tables
    FOR v_r IN
        SELECT t.key AS k, c AS con, (c->>'type') = 'f' AS fk
          FROM jsonb_each(v_old) t, jsonb_array_elements(t.value->'detail'->'constraints') c
         WHERE (t.value->>'kind') = 'table'
           AND (CASE WHEN NOT v_new ? t.key OR t.key = ANY (v_recreate)
                     -- tables about to be dropped lose their foreign keys first, so that drop order
                     -- never depends on references between tables (or their partitions)
                     THEN (c->>'type') = 'f'
                     -- a table about to be attached as a partition keeps what ATTACH checks for
                     WHEN v_new->t.key->'detail' ? 'partition_of' AND NOT t.value->'detail' ? 'partition_of'
                     THEN (c->>'type') = 'f'
                          -- and its CHECK constraints that are neither its own in the new state nor, same
                          -- name and definition, its new parent's (those ATTACH merges, the rest would clash)
                          OR ((c->>'type') = 'c' AND NOT (v_new->t.key->'detail'->'constraints') @> jsonb_build_array(c - 'comment')
                              AND NOT coalesce(v_parent->(v_new->t.key->'detail'->>'partition_of')->'constraints', '[]')
                                      @> jsonb_build_array(jsonb_build_object('name', c->>'name', 'type', 'c', 'def', c->>'def')))
                     ELSE (v_new->t.key->>'hash') <> (t.value->>'hash') AND NOT (v_new->t.key->'detail'->'constraints') @> jsonb_build_array(c - 'comment')
                          OR ((c->>'type') = 'f' AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.value->'detail'->'fk_deps') f
                                                               WHERE f = ANY (v_recreate) OR f = ANY (v_absent))) END)
         ORDER BY (c->>'type') = 'f' DESC, t.key, c->>'name'
    LOOP
        kind := 'table'; identity := v_r.k; step := step + 1;
        statement := 'ALTER TABLE ' || (v_old->v_r.k->'detail'->>'qname') || ' DROP CONSTRAINT IF EXISTS ' || quote_ident(v_r.con->>'name') || ';';
        v_fk_dropped := v_fk_dropped || (v_r.k || ' ' || (v_r.con->>'name'));
        o_kind := o_kind || kind; o_ident := o_ident || identity; o_stmt := o_stmt || statement;
    END LOOP;

    -- partitions leaving their parent or changing bounds are detached first (attached again in phase 3)
    FOR v_r IN
        SELECT t.key AS k FROM jsonb_each(v_old) t
         WHERE (t.value->>'kind') = 'table' AND t.value->'detail' ? 'partition_of' AND v_new ? t.key
           AND NOT t.key = ANY (v_recreate)
           AND ((v_new->t.key->'detail'->>'partition_of') IS DISTINCT FROM (t.value->'detail'->>'partition_of')
                OR (v_new->t.key->'detail'->>'bound') IS DISTINCT FROM (t.value->'detail'->>'bound'))
         ORDER BY t.key
    LOOP
        o_kind := o_kind || 'table'::text; o_ident := o_ident || v_r.k;
        v_s := 'ALTER TABLE ' || (v_old->v_r.k->'detail'->>'partition_of') || ' DETACH PARTITION ' || (v_old->v_r.k->'detail'->>'qname') || ';';
        o_stmt := o_stmt || CASE WHEN (v_new->v_r.k->'detail'->>'partition_of') IS NOT DISTINCT FROM (v_old->v_r.k->'detail'->>'partition_of')
                                 THEN v_s  -- attached again to the same parent, whose constraints and indexes it keeps
                                 ELSE pggit._detach_sql(v_old->v_r.k->'detail'->>'qname', v_s) END;
    END LOOP;

    -- defaults calling functions that are about to be dropped go first (set again in phase 4)
    FOR v_r IN
        SELECT t.key AS k, c AS col
          FROM jsonb_each(v_old) t, jsonb_array_elements(t.value->'detail'->'columns') c
         WHERE (t.value->>'kind') = 'table'
           AND c ? 'late_default'  -- partitions too: each has its own copy of the default
           AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.value->'detail'->'late_deps') f WHERE f = ANY (v_recreate) OR f = ANY (v_absent))
         ORDER BY t.key, c->>'name'
    LOOP
        o_kind := o_kind || 'table'::text; o_ident := o_ident || v_r.k;
        o_stmt := o_stmt || ('ALTER TABLE ' || (v_old->v_r.k->'detail'->>'qname') || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name') || ' DROP DEFAULT;');
        IF v_new ? v_r.k THEN
            v_late := v_late || v_r.k;
        END IF;
    END LOOP;

    -- phase 2: drop in reverse dependency order (old state)
    FOR v_r IN
        SELECT lv.k FROM pggit._dep_levels(v_recreate || v_prealter || array(SELECT x FROM jsonb_object_keys(v_old) x WHERE NOT v_new ? x), v_old) lv
         ORDER BY lv.level DESC, pggit._kind_rank(v_old->lv.k->>'kind') DESC, lv.k DESC
    LOOP
        kind := v_old->v_r.k->>'kind'; identity := v_r.k;
        IF v_r.k = ANY (v_prealter) THEN
            -- kept table: its dropped columns go now (the rest of its ALTERs come in phase 3)
            FOR v_s IN SELECT c->>'name' FROM jsonb_array_elements(v_old->v_r.k->'detail'->'columns') c
                        WHERE (c->>'local')::boolean
                          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_new->v_r.k->'detail'->'columns') x
                                           WHERE x->>'name' = c->>'name' AND (x->>'local')::boolean) LOOP
                o_kind := o_kind || kind; o_ident := o_ident || identity;
                o_stmt := o_stmt || ('ALTER TABLE ' || (v_old->v_r.k->'detail'->>'qname') || ' DROP COLUMN ' || quote_ident(v_s) || ';');
            END LOOP;
            -- and its columns leave the collations that go
            FOR v_s IN SELECT l.statement FROM pggit._collation_leaves(v_old->v_r.k->'detail', v_new->v_r.k->'detail',
                                                                     v_recreate || array(SELECT x FROM jsonb_object_keys(v_old) x WHERE NOT v_new ? x)) l LOOP
                o_kind := o_kind || kind; o_ident := o_ident || identity; o_stmt := o_stmt || v_s;
            END LOOP;
            CONTINUE;
        END IF;
        IF kind = 'table' THEN
            -- a sequence owned by the table would go with it: detach the ones that stay
            FOR v_s IN SELECT x->>'sequence' FROM jsonb_array_elements(v_old->v_r.k->'detail'->'owned') x
                        WHERE NOT ('sequence ' || (x->>'sequence')) = ANY (v_absent) AND NOT ('sequence ' || (x->>'sequence')) = ANY (v_recreate)
            LOOP
                o_kind := o_kind || kind; o_ident := o_ident || identity; o_stmt := o_stmt || ('ALTER SEQUENCE ' || v_s || ' OWNED BY NONE;');
            END LOOP;
        END IF;
        IF kind = 'table' AND v_old->v_r.k->'detail' ? 'partition_of'
           AND NOT ('table ' || (v_old->v_r.k->'detail'->>'partition_of')) = ANY (v_absent)
           AND NOT ('table ' || (v_old->v_r.k->'detail'->>'partition_of')) = ANY (v_recreate) THEN
            -- detached first: foreign keys into the parent reach into its partitions
            o_kind := o_kind || kind; o_ident := o_ident || identity;
            o_stmt := o_stmt || ('ALTER TABLE ' || (v_old->v_r.k->'detail'->>'partition_of') || ' DETACH PARTITION '
                                 || (v_old->v_r.k->'detail'->>'qname') || ';');
        END IF;
        o_kind := o_kind || kind; o_ident := o_ident || identity;
        o_stmt := o_stmt || CASE WHEN kind = 'sequence' AND NOT v_new ? v_r.k
                                 -- column defaults that call it go with it (the tables' new
                                 -- definitions no longer have them)
                                 THEN rtrim(pggit._drop_sql(kind, v_old->v_r.k->'detail'), ';') || ' CASCADE;'
                                 -- (default privileges go back to PostgreSQL's: 10_privileges.sql)
                                 WHEN kind = 'default privileges'
                                 THEN array_to_string(array(SELECT pggit._default_acl_guard(v_r.k, x)
                                                              FROM unnest(pggit._acl_diff_sql(kind, v_r.k, v_old->v_r.k->'detail'->'acl', NULL)) x), E'\n')
                                 ELSE pggit._drop_sql(kind, v_old->v_r.k->'detail') END;
    END LOOP;

    -- phase 3: create, recreate and alter in dependency order (new state)
    v_emit := array(SELECT x FROM jsonb_object_keys(v_new) x
                     WHERE (v_old->x->>'hash') IS DISTINCT FROM (v_new->x->>'hash') OR x = ANY (v_recreate));
    FOR v_r IN
        SELECT lv.k FROM pggit._dep_levels(v_emit, v_new) lv
         ORDER BY lv.level, pggit._kind_rank(v_new->lv.k->>'kind'), lv.k
    LOOP
        v_n := v_new->v_r.k;
        v_o := CASE WHEN v_r.k = ANY (v_recreate) THEN NULL ELSE v_old->v_r.k END;
        kind := v_n->>'kind'; identity := v_r.k;
        IF v_o IS NULL THEN
            v_stmts := CASE WHEN kind = 'table' THEN pggit._create_table_sql(v_n->'detail')
                            -- an index of a detached partition was its parent's, untracked until now
                            WHEN kind = 'index' AND NOT v_old ? v_r.k THEN ARRAY[pggit._drop_sql(kind, v_n->'detail'), v_n->>'def']
                            ELSE ARRAY[v_n->>'def'] END;
        ELSIF kind = 'table' THEN
            v_od := v_o->'detail';
            IF v_r.k = ANY (v_prealter) THEN
                -- (its dropped columns went in phase 2)
                v_od := jsonb_set(v_od, '{columns}', coalesce((
                    SELECT jsonb_agg(c ORDER BY i) FROM jsonb_array_elements(v_od->'columns') WITH ORDINALITY y(c, i)
                     WHERE NOT (c->>'local')::boolean
                        OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_n->'detail'->'columns') x
                                    WHERE x->>'name' = c->>'name' AND (x->>'local')::boolean)), '[]'));
                -- (and the collations its columns left went there too)
                v_od := jsonb_set(v_od, '{columns}', coalesce((
                    SELECT jsonb_agg(CASE WHEN l.name IS NULL THEN c
                                          ELSE (c - 'collation') || coalesce((SELECT jsonb_build_object('collation', x->'collation')
                                                                                 FROM jsonb_array_elements(v_n->'detail'->'columns') x
                                                                                WHERE x->>'name' = c->>'name' AND x ? 'collation'
                                                                                  AND NOT ('collation ' || (x->>'collation')) = ANY (
                                                                                      v_recreate || array(SELECT y FROM jsonb_object_keys(v_old) y
                                                                                                           WHERE NOT v_new ? y))), '{}') END
                                     ORDER BY i)
                      FROM jsonb_array_elements(v_od->'columns') WITH ORDINALITY y(c, i)
                      LEFT JOIN pggit._collation_leaves(v_o->'detail', v_n->'detail',
                                                        v_recreate || array(SELECT x FROM jsonb_object_keys(v_old) x WHERE NOT v_new ? x)) l
                             ON l.name = c->>'name'), '[]'));
            END IF;
            IF v_od ? 'owned' THEN
                -- sequences dropped in phase 2 are no longer owned by anything
                v_od := jsonb_set(v_od, '{owned}', coalesce((
                    SELECT jsonb_agg(x) FROM jsonb_array_elements(v_od->'owned') x
                     WHERE NOT ('sequence ' || (x->>'sequence')) = ANY (v_absent)
                       AND NOT ('sequence ' || (x->>'sequence')) = ANY (v_recreate)), '[]'));
            END IF;
            v_stmts := pggit._alter_table_sql(v_od, v_n->'detail');
            IF v_n->'detail' ? 'partition_of'
               AND ((v_od->>'partition_of') IS DISTINCT FROM (v_n->'detail'->>'partition_of')
                    OR (v_od->>'bound') IS DISTINCT FROM (v_n->'detail'->>'bound')) THEN
                -- a table attached as a partition first gets the CHECK constraints of its parent it
                -- lacks, under their names (ATTACH merges them into the parent's): it has those of
                -- its own it kept in phase 1 and, detached from the same parent, those the parent kept
                v_s := v_n->'detail'->>'partition_of';
                v_stmts := array(
                    SELECT 'ALTER TABLE ' || (v_n->'detail'->>'qname') || ' ADD CONSTRAINT ' || quote_ident(p->>'name') || ' ' || (p->>'def') || ';'
                      FROM jsonb_array_elements(v_parent->v_s->'constraints') p
                     WHERE (p->>'type') = 'c'
                       AND NOT (CASE WHEN v_od ? 'partition_of'
                                     THEN (v_od->>'partition_of') = v_s
                                          AND coalesce(v_old->('table ' || v_s)->'detail', v_parent->v_s)->'constraints'
                                              @> jsonb_build_array(p - 'comment')
                                     ELSE (v_od->'constraints') @> jsonb_build_array(p - 'comment') END)
                     ORDER BY p->>'name') || v_stmts;
            END IF;
        ELSIF kind = 'sequence' THEN
            v_stmts := ARRAY['ALTER SEQUENCE ' || substr(v_r.k, 10) || ' ' || (v_n->'detail'->>'options') || ';'];
        ELSIF kind = 'type' AND v_r.k = ANY (v_swap) THEN
            v_stmts := pggit._enum_swap_sql(v_r.k, v_n->>'def', v_new, v_old, v_recreate);
        ELSIF kind = 'type' AND v_n->'detail' ? 'enum' THEN
            v_stmts := pggit._enum_add_sql(substr(v_r.k, 6), v_o->'detail'->'enum', v_n->'detail'->'enum');
        ELSIF kind = 'type' AND v_n->'detail' ? 'attributes' THEN
            v_stmts := pggit._composite_alter_sql(substr(v_r.k, 6), v_o->'detail'->'attributes', v_n->'detail'->'attributes');
        ELSIF kind = 'extension' THEN
            v_stmts := pggit._extension_alter_sql(substr(v_r.k, 11), (SELECT b.definition FROM pggit.blobs b WHERE b.hash = v_o->>'hash'),
                                                  v_n->>'def');
        ELSIF kind = 'domain' THEN
            v_stmts := pggit._domain_alter_sql(substr(v_r.k, 8), v_o->'detail'->'domain', v_n->'detail'->'domain');
        ELSIF kind IN ('function', 'procedure') THEN
            v_stmts := ARRAY[regexp_replace(v_n->>'def', E'\nCOMMENT ON .*$', '')];
        ELSIF kind = 'statistics' THEN
            v_stmts := CASE WHEN (v_o->'detail'->>'target') IS DISTINCT FROM (v_n->'detail'->>'target')
                            THEN ARRAY['ALTER STATISTICS ' || substr(v_r.k, 12) || ' SET STATISTICS '
                                       || coalesce(v_n->'detail'->>'target', '-1') || ';'] ELSE '{}' END;
        ELSE
            v_stmts := '{}';
        END IF;
        IF v_o IS NOT NULL AND kind <> 'table' AND (v_o->'detail'->>'comment') IS DISTINCT FROM (v_n->'detail'->>'comment') THEN
            v_stmts := v_stmts || ('COMMENT ON ' || (v_n->'detail'->>'comment_on') || ' IS '
                                   || coalesce(quote_literal(v_n->'detail'->>'comment'), 'NULL') || ';');
        END IF;
        FOREACH v_s IN ARRAY v_stmts LOOP
            CONTINUE WHEN v_s = '';  -- (an object that is only privileges: they come in phase 6)
            o_kind := o_kind || CASE WHEN kind = 'type' AND v_s LIKE 'ALTER TYPE % ADD VALUE %' THEN 'enum value' ELSE kind END;
            o_ident := o_ident || identity; o_stmt := o_stmt || v_s;
        END LOOP;
    END LOOP;

    -- phase 4: defaults that call user functions, now that every function exists
    FOR v_r IN
        SELECT k, c AS col
          FROM unnest(v_emit || v_late) k, jsonb_array_elements(v_new->k->'detail'->'columns') c
         WHERE (v_new->k->>'kind') = 'table' AND c ? 'late_default'
           AND (k = ANY (v_recreate) OR NOT v_old ? k OR k = ANY (v_late)
                OR (c->>'default') IS DISTINCT FROM (SELECT x->>'default' FROM jsonb_array_elements(v_old->k->'detail'->'columns') x
                                                     WHERE x->>'name' = c->>'name'))
         ORDER BY k, c->>'name'
    LOOP
        o_kind := o_kind || 'table'::text; o_ident := o_ident || v_r.k;
        o_stmt := o_stmt || ('ALTER TABLE ' || (v_new->v_r.k->'detail'->>'qname') || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name')
                             || ' SET DEFAULT ' || (v_r.col->>'default') || ';');
    END LOOP;

    -- phase 5: foreign keys
    FOR v_r IN
        SELECT t.key AS k, c AS con
          FROM jsonb_each(v_new) t, jsonb_array_elements(t.value->'detail'->'constraints') c
         WHERE (t.value->>'kind') = 'table' AND (c->>'type') = 'f'
           AND (NOT v_old ? t.key OR t.key = ANY (v_recreate)
                OR NOT (v_old->t.key->'detail'->'constraints') @> jsonb_build_array(c - 'comment')
                OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.value->'detail'->'fk_deps') f WHERE f = ANY (v_recreate))
                OR (t.key || ' ' || (c->>'name')) = ANY (v_fk_dropped))
         ORDER BY t.key, c->>'name'
    LOOP
        kind := 'table'; identity := v_r.k; step := step + 1;
        statement := CASE WHEN v_old->v_r.k->'detail' ? 'partition_of' AND NOT v_new->v_r.k->'detail' ? 'partition_of'
                          THEN 'ALTER TABLE ' || (v_new->v_r.k->'detail'->>'qname') || ' DROP CONSTRAINT IF EXISTS ' || quote_ident(v_r.con->>'name') || '; '
                          ELSE '' END
                     || 'ALTER TABLE ' || (v_new->v_r.k->'detail'->>'qname') || ' ADD CONSTRAINT ' || quote_ident(v_r.con->>'name') || ' ' || (v_r.con->>'def') || ';';
        o_kind := o_kind || kind; o_ident := o_ident || identity; o_stmt := o_stmt || statement;
        IF v_r.con ? 'comment' THEN
            o_kind := o_kind || kind; o_ident := o_ident || identity;
            o_stmt := o_stmt || ('COMMENT ON CONSTRAINT ' || quote_ident(v_r.con->>'name') || ' ON ' || (v_new->v_r.k->'detail'->>'qname')
                                 || ' IS ' || quote_literal(v_r.con->>'comment') || ';');
        END IF;
    END LOOP;

    -- phase 6: privileges. Objects created (or rebuilt) get theirs from the owner's default, the
    -- others the difference; column privileges of columns that are gone went with them
    FOR v_r IN
        SELECT x.k FROM (SELECT y AS k FROM unnest(v_emit) y UNION SELECT jsonb_object_keys(v_acl_only)) x
         ORDER BY x.k COLLATE "C"
    LOOP
        kind := coalesce(v_new->v_r.k->>'kind', v_acl_only->v_r.k->>'kind');
        CONTINUE WHEN pggit._acl_objtype(kind) IS NULL;
        v_acl := CASE WHEN v_r.k = ANY (v_recreate) OR NOT (v_old ? v_r.k OR v_acl_only ? v_r.k) THEN NULL
                      WHEN v_acl_only ? v_r.k THEN v_acl_only->v_r.k->'old'
                      ELSE v_old->v_r.k->'detail'->'acl' END;
        IF kind = 'table' AND v_acl IS NOT NULL AND v_new ? v_r.k THEN
            SELECT jsonb_object_agg(g.key, (SELECT coalesce(jsonb_agg(p), '[]') FROM jsonb_array_elements_text(g.value) p
                                             WHERE p NOT LIKE '%(%' OR substring(rtrim(p, '*') FROM '^[A-Z ]+\((.*)\)$') IN (
                                                 SELECT quote_ident(c->>'name') FROM jsonb_array_elements(v_new->v_r.k->'detail'->'columns') c)))
              INTO v_acl FROM jsonb_each(v_acl) g;
        END IF;
        IF v_acl IS NULL AND kind <> 'default privileges' THEN
            -- a new object got what default privileges in effect grant (or revoke): back to the
            -- owner's default first
            IF v_dp_grantees IS NULL THEN
                SELECT coalesce(array_agg(DISTINCT g ORDER BY g), '{}') INTO v_dp_grantees
                  FROM (SELECT s.hash FROM pggit._state(p_from) s WHERE s.kind = 'default privileges'
                        UNION SELECT s.hash FROM pggit._state(coalesce(p_to, 'HEAD')) s WHERE s.kind = 'default privileges') x
                  JOIN pggit.blobs b ON b.hash = x.hash
                 CROSS JOIN LATERAL jsonb_object_keys(b.detail->'acl') g;
            END IF;
            IF cardinality(v_dp_grantees) > 0 THEN
                FOREACH v_s IN ARRAY pggit._acl_reset_sql(kind, v_r.k, v_dp_grantees) LOOP
                    o_kind := o_kind || kind; o_ident := o_ident || v_r.k; o_stmt := o_stmt || v_s;
                END LOOP;
            END IF;
        END IF;
        FOREACH v_s IN ARRAY pggit._acl_diff_sql(kind, v_r.k, v_acl,
                                                 CASE WHEN v_acl_only ? v_r.k THEN v_acl_only->v_r.k->'new'
                                                      ELSE v_new->v_r.k->'detail'->'acl' END) LOOP
            o_kind := o_kind || kind; o_ident := o_ident || v_r.k;
            o_stmt := o_stmt || CASE WHEN kind = 'default privileges' THEN pggit._default_acl_guard(v_r.k, v_s) ELSE v_s END;
        END LOOP;
    END LOOP;

    -- phase 7: owners (10_owners.sql), after the privileges, which are relative to the owner
    -- (ALTER ... OWNER TO moves the owner's rights with it). An object a migration creates belongs
    -- to the role that runs it: it is given the owner its state records, or, when none is
    -- recorded (the database's owner) and the role writing the migration is not the database's
    -- owner, given to the database's owner. Kept objects get their new owner. Steps of kind
    -- 'owner' (a shadow database's replay leaves them out: its role owns everything there).
    IF pggit._owners_on() THEN
        SELECT d.datdba <> current_user::regrole INTO v_not_dbo FROM pg_database d WHERE d.datname = current_database();
        FOR v_r IN
            SELECT x.k FROM (SELECT y AS k FROM unnest(v_emit) y UNION SELECT jsonb_object_keys(v_acl_only)) x
             ORDER BY x.k COLLATE "C"
        LOOP
            -- (an object whose only change is its owner or privileges may still be rebuilt for
            -- another's sake, from the old state's description: its new one is in v_acl_only)
            v_od := CASE WHEN v_acl_only ? v_r.k THEN v_acl_only->v_r.k->'detail' ELSE v_new->v_r.k->'detail' END;
            kind := coalesce(v_acl_only->v_r.k->>'kind', v_new->v_r.k->>'kind');
            CONTINUE WHEN NOT pggit._owner_kind(kind);
            IF v_r.k = ANY (v_recreate) OR NOT (v_old ? v_r.k OR v_acl_only ? v_r.k) THEN
                v_s := CASE WHEN v_od ? 'owner' THEN pggit._owner_stmt(kind, v_od, v_od->>'owner')
                            WHEN v_not_dbo THEN pggit._owner_reset_stmt(kind, v_od) END;
            ELSIF (CASE WHEN v_acl_only ? v_r.k THEN v_acl_only->v_r.k->>'old_owner' ELSE v_old->v_r.k->'detail'->>'owner' END)
                  IS DISTINCT FROM v_od->>'owner' THEN
                v_s := CASE WHEN v_od ? 'owner' THEN pggit._owner_stmt(kind, v_od, v_od->>'owner')
                            ELSE pggit._owner_reset_stmt(kind, v_od) END;
            ELSE
                v_s := NULL;
            END IF;
            IF v_s IS NOT NULL THEN
                o_kind := o_kind || 'owner'::text; o_ident := o_ident || v_r.k; o_stmt := o_stmt || v_s;
            END IF;
        END LOOP;
    END IF;

    -- Output. New enum labels come first: PostgreSQL refuses to use a label in the transaction
    -- that added it, so a caller runs the leading 'enum value' steps and commits them first.
    IF cardinality(o_stmt) = 0 THEN
        RETURN;
    END IF;
    step := 1; kind := 'setting'; identity := NULL; statement := 'SET check_function_bodies = false;';
    reason := 'bodies of routines are checked when they run, not when they are made';
    RETURN NEXT;
    FOR v_r IN SELECT o.k, o.i, o.s FROM unnest(o_kind, o_ident, o_stmt) WITH ORDINALITY o(k, i, s, n)
                ORDER BY o.k = 'enum value' DESC, o.n LOOP
        step := step + 1; kind := v_r.k; identity := v_r.i; statement := v_r.s;
        -- why the step is there: what changed, or what it is rebuilt for
        reason := CASE
            WHEN v_r.k = 'enum value' THEN 'label added'
            WHEN v_r.k = 'owner' THEN CASE WHEN v_old ? v_r.i AND NOT v_r.i = ANY (v_recreate) OR v_acl_only ? v_r.i
                                           THEN 'owner changed' ELSE 'owner set' END
            WHEN v_r.s ~ '^ALTER [A-Z ]+ RENAME (TO|COLUMN|VALUE) ' OR v_r.s ~ ' SET SCHEMA [^;]*;$' THEN 'renamed'
            WHEN v_r.i = ANY (v_recreate) AND v_why ? v_r.i
                THEN 'rebuilt: it depends on ' || (v_why->>v_r.i) || ', which '
                     || CASE WHEN (v_why->>v_r.i) = ANY (v_recreate) THEN 'is rebuilt'
                             WHEN NOT v_new ? (v_why->>v_r.i) THEN 'is dropped'
                             ELSE 'changes in a way that needs it out of the way' END
            WHEN v_r.i = ANY (v_recreate) AND v_old ? v_r.i AND v_new ? v_r.i THEN 'rebuilt: it changed in a way no ALTER can make'
            WHEN v_r.i IS NULL THEN NULL
            WHEN v_acl_only ? v_r.i THEN 'privileges changed'
            WHEN NOT v_old ? v_r.i THEN 'added'
            WHEN NOT v_new ? v_r.i THEN 'dropped'
            ELSE 'changed' END;
        RETURN NEXT;
    END LOOP;
END $$;

-- The migration as one executable script.
CREATE FUNCTION pggit.migration_script(p_from text, p_to text DEFAULT NULL) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(string_agg(m.statement, E'\n' ORDER BY m.step), '') FROM pggit.migration(p_from, p_to) m
$$;

-- ---- 40_merge.sql ----
-- pgGit engine: three-way merge (see docs/merge.md).

-- One row per merge: what was merged into what, how, and where it stands.
CREATE TABLE pggit.merges (
    merge_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL,              -- the source ref as given
    target        text NOT NULL,              -- the target branch
    source_commit text NOT NULL,
    target_commit text NOT NULL,              -- the target's head when the merge was prepared
    base_commit   text,
    strategy      text NOT NULL,
    message       text,
    status        text NOT NULL,
    result_commit text,
    error         text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    CONSTRAINT merges_strategy_is_known CHECK (strategy IN ('auto', 'source_wins', 'target_wins', 'union', 'manual_review')),
    CONSTRAINT merges_status_is_known CHECK (status IN ('conflicts', 'ready', 'merged', 'fast_forward', 'up_to_date', 'aborted'))
);

-- The objects a merge decides: every object whose source and target versions differ, and any
-- object whose replay failed. result_hash NULL with a resolution = absent from the result.
CREATE TABLE pggit.merge_items (
    merge_id        bigint NOT NULL REFERENCES pggit.merges,
    identity        text NOT NULL,
    kind            text NOT NULL,
    conflict_type   text NOT NULL,
    auto_resolvable boolean NOT NULL,
    base_hash       text REFERENCES pggit.blobs,
    source_hash     text REFERENCES pggit.blobs,
    target_hash     text REFERENCES pggit.blobs,
    result_hash     text REFERENCES pggit.blobs,
    resolution      text,                      -- NULL while open
    error           text,                      -- PostgreSQL's error when the result was rejected
    resolved_by     text,
    resolved_at     timestamptz,
    PRIMARY KEY (merge_id, identity),
    CONSTRAINT merge_items_class_is_known CHECK (conflict_type IN (
        'NO_CONFLICT', 'SOURCE_MODIFIED', 'TARGET_MODIFIED', 'BOTH_MODIFIED', 'DELETED_SOURCE', 'DELETED_TARGET',
        'BOTH_ADDED', 'SEMANTIC')),
    CONSTRAINT merge_items_resolution_is_known CHECK (resolution IN ('auto', 'source', 'target', 'base', 'custom', 'union'))
);

-- The tree of a merge's result: the target's tree with every decided item's result.
CREATE FUNCTION pggit._merge_tree(p_merge_id bigint) RETURNS TABLE (identity text, kind text, hash text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    v_target text;
BEGIN
    SELECT m.target_commit INTO v_target FROM pggit.merges m WHERE m.merge_id = p_merge_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'merge % does not exist', p_merge_id USING ERRCODE = 'PGG01';
    END IF;
    RETURN QUERY
    SELECT t.identity, t.kind, t.hash FROM pggit._tree_rows(v_target) t
     WHERE NOT EXISTS (SELECT 1 FROM pggit.merge_items i
                        WHERE i.merge_id = p_merge_id AND i.identity = t.identity AND i.resolution IS NOT NULL)
    UNION ALL
    SELECT i.identity, i.kind, i.result_hash FROM pggit.merge_items i
     WHERE i.merge_id = p_merge_id AND i.resolution IS NOT NULL AND i.result_hash IS NOT NULL;
END $$;

-- Best common ancestor: the common ancestor of highest generation (none can descend from it);
-- among equals (criss-cross), the one committed last, then the lowest commit id. On each chain
-- the common ancestors are the positions up to the lower of the two reaches (pggit._reach), and
-- generations grow along a chain, so the answer is among those highest common positions. The
-- reaches are read above a generation floor, first 64 below the older tip, then 8 times further
-- each round: every common ancestor at or above the floor is then on a chain both reaches hold
-- exactly, so the best one found is the answer, and a round costs the merges above its floor (a
-- near fork: a few rows; a far one: at most the whole index, once). Only the candidates of the
-- highest generation are looked up to break ties.
CREATE FUNCTION pggit._merge_base(p_a text, p_b text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_top    integer;
    v_window integer := 64;
    v_floor  integer;
    v_chains bigint[];
    v_pos    integer[];
BEGIN
    IF p_a = p_b THEN RETURN p_a; END IF;
    SELECT least(a.generation, b.generation) INTO v_top
      FROM pggit.commits a, pggit.commits b WHERE a.commit_id = p_a AND b.commit_id = p_b;
    IF v_top IS NULL THEN RETURN NULL; END IF;
    LOOP
        v_floor := greatest(v_top - v_window, 0);
        SELECT array_agg(t.chain_id), array_agg(t.pos) INTO v_chains, v_pos
          FROM (SELECT a.chain_id, least(a.pos, b.pos) AS pos,
                       rank() OVER (ORDER BY least(a.generation, b.generation) DESC) AS r
                  FROM pggit._reach(p_a, v_floor) a
                  JOIN pggit._reach(p_b, v_floor) b ON b.chain_id = a.chain_id) t
         WHERE t.r = 1;
        IF v_chains IS NOT NULL THEN
            RETURN (SELECT c.commit_id
                      FROM unnest(v_chains, v_pos) t(chain_id, pos)
                      JOIN pggit.commit_chains x ON x.chain_id = t.chain_id AND x.chain_pos = t.pos
                      JOIN pggit.commits c ON c.commit_id = x.commit_id
                     ORDER BY c.committed_at DESC, c.commit_id
                     LIMIT 1);
        END IF;
        IF v_floor = 0 THEN RETURN NULL; END IF;
        v_window := v_window * 8;
    END LOOP;
END $$;

CREATE FUNCTION pggit.find_merge_base(p_a text, p_b text DEFAULT NULL) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pggit.flush();
    SELECT pggit._merge_base(pggit._resolve(p_a), pggit._resolve(p_b));
$$;

-- Three-way class of every object of three commits (base may be NULL: unrelated histories).
-- Renames are followed (lineage, see pggit._renames): an object renamed on one side is one object
-- under its new name when the other side left it as the base had it; the other side's row under
-- the old name is then deleted with it. A rename on one side against a change, a delete or
-- another rename on the other stays two objects, whose conflicts say so. (Columns renamed in a
-- table both sides changed are followed by the union of the two versions.)
CREATE FUNCTION pggit._classify(p_base text, p_source text, p_target text)
RETURNS TABLE (identity text, kind text, conflict_type text, auto_resolvable boolean,
               base_hash text, source_hash text, target_hash text)
LANGUAGE sql STABLE AS $$
    WITH b AS MATERIALIZED (SELECT r.identity, r.kind, r.hash FROM pggit._tree_rows(p_base) r WHERE p_base IS NOT NULL),
         sr AS MATERIALIZED (SELECT r.identity, r.kind, r.hash FROM pggit._tree_rows(p_source) r),
         tr AS MATERIALIZED (SELECT r.identity, r.kind, r.hash FROM pggit._tree_rows(p_target) r),
         rs AS MATERIALIZED (SELECT r.old_identity AS o, r.new_identity AS n FROM pggit._renames(p_base, p_source) r
                              WHERE p_base IS NOT NULL AND r.old_identity <> r.new_identity),
         rt AS MATERIALIZED (SELECT r.old_identity AS o, r.new_identity AS n FROM pggit._renames(p_base, p_target) r
                              WHERE p_base IS NOT NULL AND r.old_identity <> r.new_identity),
         -- renames followed: (old identity, new identity, side) where the other side still has
         -- the old identity, unchanged from the base
         follow AS (
             SELECT rs.o, rs.n, 's' AS side FROM rs
               JOIN b ON b.identity = rs.o JOIN tr ON tr.identity = rs.o
              WHERE NOT EXISTS (SELECT 1 FROM rt WHERE rt.o = rs.o)
                AND NOT EXISTS (SELECT 1 FROM tr x WHERE x.identity = rs.n)
                AND tr.hash = b.hash
             UNION ALL
             SELECT rt.o, rt.n, 't' FROM rt
               JOIN b ON b.identity = rt.o JOIN sr ON sr.identity = rt.o
              WHERE NOT EXISTS (SELECT 1 FROM rs WHERE rs.o = rt.o)
                AND NOT EXISTS (SELECT 1 FROM sr x WHERE x.identity = rt.n)
                AND sr.hash = b.hash
         ),
         -- each side keyed by the identity the merge decides it under
         s AS (SELECT coalesce((SELECT f.n FROM follow f WHERE f.side = 't' AND f.o = sr.identity), sr.identity) AS identity,
                      sr.kind, sr.hash FROM sr),
         t AS (SELECT coalesce((SELECT f.n FROM follow f WHERE f.side = 's' AND f.o = tr.identity), tr.identity) AS identity,
                      tr.kind, tr.hash FROM tr),
         bb AS (SELECT coalesce((SELECT f.n FROM follow f WHERE f.o = b.identity), b.identity) AS identity, b.kind, b.hash FROM b),
         -- one object renamed two ways: each new name is that object changed on one side and
         -- gone from the other
         twice AS (SELECT rs.o, x.n FROM rs JOIN rt ON rt.o = rs.o AND rt.n <> rs.n
                                     CROSS JOIN LATERAL (VALUES (rs.n), (rt.n)) x(n)),
         y AS (SELECT coalesce(s.identity, t.identity, bb.identity) AS identity,
                      coalesce(s.kind, t.kind, bb.kind) AS kind, s.hash AS s, t.hash AS t,
                      coalesce(bb.hash, (SELECT b.hash FROM twice w JOIN b ON b.identity = w.o
                                          WHERE w.n = coalesce(s.identity, t.identity))) AS b
                 FROM bb
                 FULL JOIN s ON s.identity = bb.identity
                 FULL JOIN t ON t.identity = coalesce(s.identity, bb.identity))
    SELECT x.identity, x.kind, x.cls,
           x.cls IN ('NO_CONFLICT', 'SOURCE_MODIFIED', 'TARGET_MODIFIED')
           OR (x.cls = 'DELETED_SOURCE' AND x.t IS NOT DISTINCT FROM x.b)
           OR (x.cls = 'DELETED_TARGET' AND x.s IS NOT DISTINCT FROM x.b),
           x.b, x.s, x.t
      FROM (SELECT y.identity, y.kind, y.b, y.s, y.t,
                   CASE WHEN y.s IS NOT DISTINCT FROM y.t THEN 'NO_CONFLICT'
                        WHEN y.t IS NOT DISTINCT FROM y.b THEN
                             CASE WHEN y.s IS NULL THEN 'DELETED_SOURCE' ELSE 'SOURCE_MODIFIED' END
                        WHEN y.s IS NOT DISTINCT FROM y.b THEN
                             CASE WHEN y.t IS NULL THEN 'DELETED_TARGET' ELSE 'TARGET_MODIFIED' END
                        WHEN y.b IS NULL THEN 'BOTH_ADDED'
                        WHEN y.s IS NULL THEN 'DELETED_SOURCE'
                        WHEN y.t IS NULL THEN 'DELETED_TARGET'
                        ELSE 'BOTH_MODIFIED' END AS cls
              FROM y) x
    UNION ALL
    -- the side that kept the old name loses it with the rename: deleted, decided with it
    SELECT f.o, tr.kind, 'DELETED_SOURCE', true, tr.hash, NULL, tr.hash
      FROM follow f JOIN tr ON tr.identity = f.o WHERE f.side = 's'
$$;

CREATE FUNCTION pggit.detect_merge_conflicts(p_source text, p_target text DEFAULT NULL)
RETURNS TABLE (identity text, kind text, conflict_type text, auto_resolvable boolean,
               base_definition text, source_definition text, target_definition text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
#variable_conflict use_column
DECLARE
    v_flushed int := pggit.flush();
    v_src     text := pggit._resolve(p_source);
    v_tgt     text := pggit._resolve(p_target);
BEGIN
    RETURN QUERY
    SELECT c.identity, c.kind, c.conflict_type, c.auto_resolvable, bb.definition, sb.definition, tb.definition
      FROM pggit._classify(pggit._merge_base(v_src, v_tgt), v_src, v_tgt) c
      LEFT JOIN pggit.blobs bb ON bb.hash = c.base_hash
      LEFT JOIN pggit.blobs sb ON sb.hash = c.source_hash
      LEFT JOIN pggit.blobs tb ON tb.hash = c.target_hash
     ORDER BY c.identity;
END $$;

-- Three-way merge of one table changed on both sides, column by column (the union strategy):
-- columns, constraints (by name) and table properties each take the side that changed them;
-- the same one changed two ways is a conflict (reason set, hash NULL).
CREATE FUNCTION pggit._union_table(p_base text, p_source text, p_target text, OUT hash text, OUT reason text)
LANGUAGE plpgsql AS $$
DECLARE
    b jsonb := coalesce((SELECT detail FROM pggit.blobs WHERE blobs.hash = p_base), '{}');
    s jsonb := (SELECT detail FROM pggit.blobs WHERE blobs.hash = p_source);
    t jsonb := (SELECT detail FROM pggit.blobs WHERE blobs.hash = p_target);
    v_detail  jsonb;
    v_cols    jsonb;
    v_cons    jsonb;
    v_key     text;
    v_text    text[];
    v_bad     text;
    v_sren    jsonb;
    v_tren    jsonb;
    v_lin     jsonb;
BEGIN
    -- columns renamed on either side since the base (lineage) are merged under their base
    -- names, and take their new name in the result
    SELECT coalesce(jsonb_object_agg(bc->>'name', c->>'name'), '{}') INTO v_sren
      FROM jsonb_array_elements(s->'columns') c, jsonb_array_elements(coalesce(b->'columns', '[]')) bc
     WHERE coalesce(s->'lineage'->'columns'->>(c->>'name'), c->>'name') = coalesce(b->'lineage'->'columns'->>(bc->>'name'), bc->>'name')
       AND c->>'name' <> bc->>'name';
    SELECT coalesce(jsonb_object_agg(bc->>'name', c->>'name'), '{}') INTO v_tren
      FROM jsonb_array_elements(t->'columns') c, jsonb_array_elements(coalesce(b->'columns', '[]')) bc
     WHERE coalesce(t->'lineage'->'columns'->>(c->>'name'), c->>'name') = coalesce(b->'lineage'->'columns'->>(bc->>'name'), bc->>'name')
       AND c->>'name' <> bc->>'name';
    IF v_sren <> '{}' THEN
        s := jsonb_set(s, '{columns}', (SELECT jsonb_agg(CASE WHEN r.key IS NULL THEN c ELSE jsonb_set(c, '{name}', to_jsonb(r.key)) END ORDER BY i)
                                          FROM jsonb_array_elements(s->'columns') WITH ORDINALITY x(c, i)
                                          LEFT JOIN jsonb_each_text(v_sren) r ON r.value = c->>'name'));
    END IF;
    IF v_tren <> '{}' THEN
        t := jsonb_set(t, '{columns}', (SELECT jsonb_agg(CASE WHEN r.key IS NULL THEN c ELSE jsonb_set(c, '{name}', to_jsonb(r.key)) END ORDER BY i)
                                          FROM jsonb_array_elements(t->'columns') WITH ORDINALITY x(c, i)
                                          LEFT JOIN jsonb_each_text(v_tren) r ON r.value = c->>'name'));
    END IF;
    SELECT string_agg('column ' || quote_ident(r.key) || ' renamed on both sides', ', ') INTO v_bad
      FROM jsonb_each_text(v_sren) r WHERE v_tren ? r.key AND v_tren->>r.key <> r.value;

    -- columns: target's order, then the source's new ones in the source's order
    WITH names AS (
        SELECT c->>'name' AS name, 0 AS side, ord FROM jsonb_array_elements(t->'columns') WITH ORDINALITY x(c, ord)
        UNION ALL
        SELECT c->>'name', 1, ord FROM jsonb_array_elements(s->'columns') WITH ORDINALITY x(c, ord)
         WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t->'columns') tc WHERE tc->>'name' = c->>'name')
    ),
    cols AS (
        SELECT n.name, n.side, n.ord,
               (SELECT c FROM jsonb_array_elements(b->'columns') c WHERE c->>'name' = n.name) AS bc,
               (SELECT c FROM jsonb_array_elements(s->'columns') c WHERE c->>'name' = n.name) AS sc,
               (SELECT c FROM jsonb_array_elements(t->'columns') c WHERE c->>'name' = n.name) AS tc
          FROM names n
    ),
    merged AS (
        SELECT name, side, ord,
               CASE WHEN sc IS NOT DISTINCT FROM tc THEN sc
                    WHEN sc IS NOT DISTINCT FROM bc THEN tc
                    WHEN tc IS NOT DISTINCT FROM bc THEN sc END AS col,
               NOT (sc IS NOT DISTINCT FROM tc OR sc IS NOT DISTINCT FROM bc OR tc IS NOT DISTINCT FROM bc) AS clash
          FROM cols
    )
    SELECT coalesce(jsonb_agg(CASE WHEN v_sren ? name OR v_tren ? name
                                   THEN jsonb_set(col, '{name}', to_jsonb(coalesce(v_sren->>name, v_tren->>name))) ELSE col END
                              ORDER BY side, ord) FILTER (WHERE col IS NOT NULL), '[]'),
           concat_ws(', ', v_bad, string_agg('column ' || quote_ident(name), ', ') FILTER (WHERE clash))
      INTO v_cols, v_bad
      FROM merged;
    -- a column dropped on one side and changed on the other is a clash as well (covered above:
    -- one side NULL, the other different from the base)

    WITH names AS (
        SELECT c->>'name' AS name FROM jsonb_array_elements(coalesce(b->'constraints', '[]')) c
        UNION SELECT c->>'name' FROM jsonb_array_elements(s->'constraints') c
        UNION SELECT c->>'name' FROM jsonb_array_elements(t->'constraints') c
    ),
    cons AS (
        SELECT n.name,
               (SELECT c FROM jsonb_array_elements(coalesce(b->'constraints', '[]')) c WHERE c->>'name' = n.name) AS bc,
               (SELECT c FROM jsonb_array_elements(s->'constraints') c WHERE c->>'name' = n.name) AS sc,
               (SELECT c FROM jsonb_array_elements(t->'constraints') c WHERE c->>'name' = n.name) AS tc
          FROM names n
    ),
    merged AS (
        SELECT name,
               CASE WHEN sc IS NOT DISTINCT FROM tc THEN sc
                    WHEN sc IS NOT DISTINCT FROM bc THEN tc
                    WHEN tc IS NOT DISTINCT FROM bc THEN sc END AS con,
               NOT (sc IS NOT DISTINCT FROM tc OR sc IS NOT DISTINCT FROM bc OR tc IS NOT DISTINCT FROM bc) AS clash
          FROM cons
    )
    SELECT coalesce(jsonb_agg(con ORDER BY con->>'type' = 'f', name COLLATE "C") FILTER (WHERE con IS NOT NULL), '[]'),
           concat_ws(', ', v_bad, string_agg('constraint ' || quote_ident(name), ', ') FILTER (WHERE clash))
      INTO v_cons, v_bad
      FROM merged;

    -- table properties: each one three-way
    v_detail := jsonb_build_object('qname', t->'qname', 'columns', v_cols, 'constraints', v_cons);
    FOREACH v_key IN ARRAY ARRAY['owned', 'partition_of', 'bound', 'attached', 'partition_key', 'inherits', 'persistence',
                                 'options', 'rls', 'force_rls', 'comment', 'access_method', 'owner', 'acl'] LOOP
        IF s->v_key IS NOT DISTINCT FROM t->v_key OR s->v_key IS NOT DISTINCT FROM b->v_key THEN
            v_detail := v_detail || jsonb_build_object(v_key, t->v_key);
        ELSIF t->v_key IS NOT DISTINCT FROM b->v_key THEN
            v_detail := v_detail || jsonb_build_object(v_key, s->v_key);
        ELSE
            v_bad := concat_ws(', ', nullif(v_bad, ''), replace(v_key, '_', ' '));
        END IF;
    END LOOP;
    IF nullif(v_bad, '') IS NOT NULL THEN
        reason := 'changed on both sides: ' || v_bad;
        RETURN;
    END IF;
    -- dependencies: what either side depends on (ordering only; a superset is safe)
    FOREACH v_key IN ARRAY ARRAY['deps', 'fk_deps', 'late_deps'] LOOP
        v_detail := v_detail || jsonb_build_object(v_key, (
            SELECT jsonb_agg(DISTINCT x ORDER BY x) FROM (
                SELECT jsonb_array_elements_text(coalesce(s->v_key, '[]')) x
                UNION SELECT jsonb_array_elements_text(coalesce(t->v_key, '[]'))) d));
    END LOOP;
    -- lineage: the origin either side knows, and the renamed columns the result has
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'origin', coalesce(s->'lineage'->'origin', t->'lineage'->'origin'),
               'columns', (SELECT jsonb_object_agg(l.key, l.value)
                             FROM (SELECT * FROM jsonb_each(coalesce(t->'lineage'->'columns', '{}'))
                                   UNION SELECT * FROM jsonb_each(coalesce(s->'lineage'->'columns', '{}'))) l
                            WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(v_cols) c WHERE c->>'name' = l.key)))) INTO v_lin;
    IF v_lin <> '{}' THEN
        v_detail := v_detail || jsonb_build_object('lineage', v_lin);
    END IF;
    v_detail := jsonb_strip_nulls(v_detail);
    v_text := pggit._table_text(v_detail);
    v_text[1] := v_text[1] || pggit._owner_sql('table', v_detail) || pggit._acl_sql('table', 'table ' || (v_detail->>'qname'), v_detail->'acl');
    v_detail := v_detail || jsonb_build_object('create', v_text[2]);
    hash := pggit._sha256(v_text[1] || E'\n' || v_detail::text);
    INSERT INTO pggit.blobs AS bl (hash, kind, definition, detail) VALUES (_union_table.hash, 'table', v_text[1], v_detail)
    ON CONFLICT ON CONSTRAINT blobs_pkey DO NOTHING;
END $$;

-- A merge's result row: id, status, result commit, open items.
CREATE FUNCTION pggit._merge_result(p_merge_id bigint)
RETURNS TABLE (merge_id bigint, status text, commit_id text, conflicts jsonb, error text)
LANGUAGE sql STABLE AS $$
    SELECT m.merge_id, m.status, m.result_commit,
           coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                         'identity', i.identity, 'kind', i.kind, 'conflict_type', i.conflict_type, 'error', i.error))
                         ORDER BY i.identity)
                       FROM pggit.merge_items i WHERE i.merge_id = m.merge_id AND i.resolution IS NULL), '[]'),
           m.error
      FROM pggit.merges m WHERE m.merge_id = p_merge_id
$$;

-- Lock a merge's row and return it; refuses a merge that does not exist (PGG01) or is not open
-- (PGG08). Every operation on an open merge starts here.
CREATE FUNCTION pggit._lock_open_merge(p_merge_id bigint) RETURNS pggit.merges
LANGUAGE plpgsql AS $$
DECLARE
    v_m pggit.merges;
BEGIN
    SELECT * INTO v_m FROM pggit.merges m WHERE m.merge_id = p_merge_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'merge % does not exist', p_merge_id USING ERRCODE = 'PGG01';
    END IF;
    IF v_m.status NOT IN ('ready', 'conflicts') THEN
        RAISE EXCEPTION 'merge % is %, not open', p_merge_id, v_m.status USING ERRCODE = 'PGG08';
    END IF;
    RETURN v_m;
END $$;

-- Complete a merge whose items are all decided: the merge commit (target head first, source
-- head second) and, when the target is HEAD, the live migration, all or nothing. A step the
-- live database rejects reopens its object's item with PostgreSQL's error.
CREATE FUNCTION pggit._complete_merge(p_merge_id bigint, p_force boolean DEFAULT false)
RETURNS TABLE (merge_id bigint, status text, commit_id text, conflicts jsonb, error text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_m       record;
    v_head    text;
    v_changes pggit.change[];
    v_commit  text;
    v_msg     text;
    v_state   text;
    v_ident   text;
BEGIN
    v_m := pggit._lock_open_merge(p_merge_id);
    IF EXISTS (SELECT 1 FROM pggit.merge_items i WHERE i.merge_id = p_merge_id AND i.resolution IS NULL) THEN
        RAISE EXCEPTION 'merge % has open conflicts', p_merge_id
            USING ERRCODE = 'PGG08', HINT = 'resolve them with pggit.resolve_conflict, or abort the merge';
    END IF;
    v_head := pggit._lock_branch(v_m.target);
    IF v_head <> v_m.target_commit THEN
        RAISE EXCEPTION 'branch % moved since merge % was prepared', quote_literal(v_m.target), p_merge_id
            USING ERRCODE = 'PGG08', HINT = 'abort this merge and merge again';
    END IF;
    SELECT array_agg(ROW(i.identity, i.kind, i.target_hash, i.result_hash)::pggit.change ORDER BY i.identity)
      INTO v_changes
      FROM pggit.merge_items i
     WHERE i.merge_id = p_merge_id AND i.result_hash IS DISTINCT FROM i.target_hash;
    BEGIN
        v_commit := pggit._make_commit(v_m.target, ARRAY[v_m.target_commit, v_m.source_commit], pggit._author(),
                                       coalesce(v_m.message, format('Merge %s into %s', v_m.source, v_m.target)),
                                       coalesce(v_changes, '{}'));
        IF v_m.target = pggit.current_branch() THEN
            PERFORM pggit._apply_live(v_m.target_commit, v_commit, p_force);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE, v_ident = PG_EXCEPTION_HINT;
        IF v_state = 'PGG10' THEN
            -- steps that would lose data: the merge stays ready, complete it with force to accept
            UPDATE pggit.merges m SET error = v_msg WHERE m.merge_id = p_merge_id;
            PERFORM pggit._audit('merge', jsonb_build_object('merge_id', p_merge_id, 'source', v_m.source, 'target', v_m.target),
                                 'refused', v_msg, v_started);
            RETURN QUERY SELECT * FROM pggit._merge_result(p_merge_id);
            RETURN;
        END IF;
        PERFORM pggit._reopen_item(p_merge_id, nullif(v_ident, ''), v_msg);
        PERFORM pggit._audit('merge', jsonb_build_object('merge_id', p_merge_id, 'source', v_m.source, 'target', v_m.target),
                             'error', v_state || ': ' || v_msg, v_started);
        RETURN QUERY SELECT * FROM pggit._merge_result(p_merge_id);
        RETURN;
    END;
    UPDATE pggit.merges m SET status = 'merged', result_commit = v_commit, finished_at = clock_timestamp(), error = NULL
     WHERE m.merge_id = p_merge_id;
    PERFORM pggit._audit('merge', jsonb_build_object('merge_id', p_merge_id, 'source', v_m.source, 'target', v_m.target,
                         'strategy', v_m.strategy, 'commit', v_commit, 'changes', coalesce(cardinality(v_changes), 0))
                         || pggit._forced_args(p_force), 'ok', NULL, v_started);
    RETURN QUERY SELECT * FROM pggit._merge_result(p_merge_id);
END $$;

-- Reopen an object's item with PostgreSQL's error (adding the item when the object was not one:
-- a dependent object that no side changed but that the result breaks).
CREATE FUNCTION pggit._reopen_item(p_merge_id bigint, p_identity text, p_error text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_m record;
BEGIN
    SELECT * INTO v_m FROM pggit.merges WHERE merge_id = p_merge_id;
    IF p_identity IS NOT NULL THEN
        UPDATE pggit.merge_items SET resolution = NULL, result_hash = NULL, error = p_error, resolved_by = NULL, resolved_at = NULL
         WHERE merge_id = p_merge_id AND identity = p_identity;
        IF NOT FOUND THEN
            INSERT INTO pggit.merge_items (merge_id, identity, kind, conflict_type, auto_resolvable,
                                           base_hash, source_hash, target_hash, error)
            SELECT p_merge_id, c.identity, c.kind, 'SEMANTIC', false, c.base_hash, c.source_hash, c.target_hash, p_error
              FROM pggit._classify(v_m.base_commit, v_m.source_commit, v_m.target_commit) c
             WHERE c.identity = p_identity;
        END IF;
    END IF;
    UPDATE pggit.merges SET status = 'conflicts', error = p_error WHERE merge_id = p_merge_id;
END $$;

-- Merge a ref into a branch (default HEAD's). See docs/merge.md.
CREATE FUNCTION pggit.merge_branches(p_source text, p_target text DEFAULT NULL, p_strategy text DEFAULT 'auto',
                                     p_message text DEFAULT NULL, p_complete boolean DEFAULT true,
                                     p_force boolean DEFAULT false)
RETURNS TABLE (merge_id bigint, status text, commit_id text, conflicts jsonb, error text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
#variable_conflict use_column
DECLARE
    v_flushed int := pggit.flush();
    v_started timestamptz := clock_timestamp();
    v_target  text := coalesce(p_target, pggit.current_branch());
    v_src     text;
    v_tgt     text;
    v_base    text;
    v_id      bigint;
    v_status  text;
    v_item    record;
    v_union   record;
BEGIN
    IF p_strategy IS NULL OR p_strategy NOT IN ('auto', 'source_wins', 'target_wins', 'union', 'manual_review') THEN
        RAISE EXCEPTION 'unknown merge strategy %', coalesce(quote_literal(p_strategy), 'NULL')
            USING ERRCODE = 'PGG07', HINT = 'strategies: auto, source_wins, target_wins, union, manual_review';
    END IF;
    v_src := pggit._resolve(p_source);
    v_tgt := pggit._lock_branch(v_target);

    IF pggit._is_ancestor(v_src, v_tgt) THEN
        v_status := 'up_to_date';
    ELSIF pggit._is_ancestor(v_tgt, v_src) THEN
        v_status := 'fast_forward';
    END IF;
    IF v_status IS NOT NULL THEN
        INSERT INTO pggit.merges AS m (source, target, source_commit, target_commit, base_commit, strategy, message,
                                       status, result_commit, created_by, finished_at)
        VALUES (p_source, v_target, v_src, v_tgt, CASE WHEN v_status = 'up_to_date' THEN v_src ELSE v_tgt END,
                p_strategy, p_message, v_status, CASE WHEN v_status = 'up_to_date' THEN v_tgt ELSE v_src END,
                pggit._author(), clock_timestamp())
        RETURNING m.merge_id INTO v_id;
        IF v_status = 'fast_forward' THEN
            IF v_target = pggit.current_branch() THEN
                PERFORM pggit._apply_live(v_tgt, v_src, p_force);
            END IF;
            UPDATE pggit.branches SET head = v_src WHERE name = v_target;
        END IF;
        PERFORM pggit._audit('merge', jsonb_build_object('merge_id', v_id, 'source', p_source, 'target', v_target,
                             'strategy', p_strategy, 'status', v_status, 'commit', v_src)
                             || pggit._forced_args(p_force AND v_status = 'fast_forward'), 'ok', NULL, v_started);
        RETURN QUERY SELECT * FROM pggit._merge_result(v_id);
        RETURN;
    END IF;

    v_base := pggit._merge_base(v_src, v_tgt);
    INSERT INTO pggit.merges AS m (source, target, source_commit, target_commit, base_commit, strategy, message, status, created_by)
    VALUES (p_source, v_target, v_src, v_tgt, v_base, p_strategy, p_message, 'conflicts', pggit._author())
    RETURNING m.merge_id INTO v_id;

    -- every object whose versions differ: one-sided changes are taken (except under
    -- manual_review), conflicts take the strategy's side or stay open
    INSERT INTO pggit.merge_items (merge_id, identity, kind, conflict_type, auto_resolvable,
                                   base_hash, source_hash, target_hash, result_hash, resolution)
    SELECT v_id, c.identity, c.kind, c.conflict_type, c.auto_resolvable, c.base_hash, c.source_hash, c.target_hash,
           CASE WHEN c.auto_resolvable AND c.conflict_type IN ('TARGET_MODIFIED', 'DELETED_TARGET') THEN c.target_hash
                WHEN p_strategy = 'manual_review' THEN NULL
                WHEN c.auto_resolvable THEN c.source_hash
                WHEN p_strategy = 'source_wins' THEN c.source_hash
                WHEN p_strategy = 'target_wins' THEN c.target_hash END,
           CASE WHEN c.auto_resolvable AND c.conflict_type IN ('TARGET_MODIFIED', 'DELETED_TARGET') THEN 'auto'
                WHEN p_strategy = 'manual_review' THEN NULL
                WHEN c.auto_resolvable THEN 'auto'
                WHEN p_strategy = 'source_wins' THEN 'source'
                WHEN p_strategy = 'target_wins' THEN 'target' END
      FROM pggit._classify(v_base, v_src, v_tgt) c
     WHERE c.source_hash IS DISTINCT FROM c.target_hash;

    IF p_strategy IN ('auto', 'union') THEN
        -- privileges changed on both sides merge grantee by grantee (10_privileges.sql)
        UPDATE pggit.merge_items i SET result_hash = m.h, resolution = 'auto', auto_resolvable = true
          FROM (SELECT i2.identity, pggit._merge_acl(i2.identity, i2.base_hash, i2.source_hash, i2.target_hash) AS h
                  FROM pggit.merge_items i2
                 WHERE i2.merge_id = v_id AND i2.conflict_type = 'BOTH_MODIFIED' AND i2.resolution IS NULL) m
         WHERE i.merge_id = v_id AND i.identity = m.identity AND m.h IS NOT NULL;
    END IF;

    IF p_strategy = 'union' THEN
        FOR v_item IN SELECT i.* FROM pggit.merge_items i
                       WHERE i.merge_id = v_id AND i.resolution IS NULL AND i.kind = 'table'
                         AND i.source_hash IS NOT NULL AND i.target_hash IS NOT NULL LOOP
            v_union := pggit._union_table(v_item.base_hash, v_item.source_hash, v_item.target_hash);
            UPDATE pggit.merge_items i
               SET result_hash = v_union.hash, resolution = CASE WHEN v_union.hash IS NOT NULL THEN 'union' END,
                   error = v_union.reason
             WHERE i.merge_id = v_id AND i.identity = v_item.identity;
        END LOOP;
    END IF;

    v_status := CASE WHEN EXISTS (SELECT 1 FROM pggit.merge_items i WHERE i.merge_id = v_id AND i.resolution IS NULL)
                     THEN 'conflicts' ELSE 'ready' END;
    UPDATE pggit.merges m SET status = v_status WHERE m.merge_id = v_id;
    PERFORM pggit._audit('merge', jsonb_build_object('merge_id', v_id, 'source', p_source, 'target', v_target,
                         'strategy', p_strategy, 'status', v_status, 'base', v_base,
                         'items', (SELECT count(*) FROM pggit.merge_items i WHERE i.merge_id = v_id)), 'ok', NULL, v_started);
    IF v_status = 'ready' AND p_complete THEN
        RETURN QUERY SELECT * FROM pggit._complete_merge(v_id, p_force);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM pggit._merge_result(v_id);
END $$;

CREATE FUNCTION pggit.complete_merge(p_merge_id bigint, p_force boolean DEFAULT false)
RETURNS TABLE (merge_id bigint, status text, commit_id text, conflicts jsonb, error text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT pggit.flush();
    SELECT * FROM pggit._complete_merge(p_merge_id, p_force);
$$;

-- Decide one item: source, target, base, or a custom definition.
CREATE FUNCTION pggit.resolve_conflict(p_merge_id bigint, p_identity text, p_resolution text,
                                       p_definition text DEFAULT NULL, p_detail jsonb DEFAULT NULL,
                                       p_complete boolean DEFAULT true, p_force boolean DEFAULT false)
RETURNS TABLE (merge_id bigint, status text, commit_id text, conflicts jsonb, error text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
#variable_conflict use_column
DECLARE
    v_flushed int := pggit.flush();
    v_started timestamptz := clock_timestamp();
    v_m       record;
    v_item    record;
    v_hash    text;
    v_detail  jsonb;
    v_owner   jsonb;
    v_status  text;
BEGIN
    v_m := pggit._lock_open_merge(p_merge_id);
    SELECT * INTO v_item FROM pggit.merge_items i WHERE i.merge_id = p_merge_id AND i.identity = p_identity;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'merge % has no item %', p_merge_id, coalesce(quote_literal(p_identity), 'NULL') USING ERRCODE = 'PGG07';
    END IF;
    IF p_resolution = 'source' THEN
        v_hash := v_item.source_hash;
    ELSIF p_resolution = 'target' THEN
        v_hash := v_item.target_hash;
    ELSIF p_resolution = 'base' THEN
        v_hash := v_item.base_hash;
    ELSIF p_resolution = 'custom' THEN
        IF p_definition IS NULL OR btrim(p_definition) = '' THEN
            RAISE EXCEPTION 'a custom resolution needs a definition' USING ERRCODE = 'PGG07';
        END IF;
        v_detail := p_detail;
        IF v_detail IS NULL THEN
            IF v_item.kind = 'table' THEN
                RAISE EXCEPTION 'a custom table definition needs its detail'
                    USING ERRCODE = 'PGG07',
                          HINT = 'resolve it through the client or the web app: they describe the definition in the shadow database';
            END IF;
            -- other kinds: the definition text is what the migration runs; keep the detail of a side
            SELECT b.detail INTO v_detail FROM pggit.blobs b
             WHERE b.hash = coalesce(v_item.target_hash, v_item.source_hash, v_item.base_hash);
            v_detail := coalesce(v_detail, '{}') || jsonb_build_object('custom', true);
        ELSIF NOT v_detail ? 'owner' AND pggit._owner_kind(v_item.kind) AND pggit._owners_on() THEN
            -- (described by the shadow database's engine, which records no owners: the owner the
            -- sides give it, three-way; 10_owners.sql)
            SELECT CASE WHEN s.o IS NOT DISTINCT FROM b.o THEN t.o WHEN t.o IS NOT DISTINCT FROM b.o THEN s.o ELSE t.o END
              INTO v_owner
              FROM (SELECT (SELECT x.detail->'owner' FROM pggit.blobs x WHERE x.hash = v_item.base_hash) AS o) b,
                   (SELECT (SELECT x.detail->'owner' FROM pggit.blobs x WHERE x.hash = v_item.source_hash) AS o) s,
                   (SELECT (SELECT x.detail->'owner' FROM pggit.blobs x WHERE x.hash = v_item.target_hash) AS o) t;
            IF v_owner IS NOT NULL THEN
                p_definition := pggit._acl_strip(v_item.kind, p_identity, p_definition, v_detail)
                                || pggit._owner_sql(v_item.kind, v_detail || jsonb_build_object('owner', v_owner))
                                || pggit._acl_sql(v_item.kind, p_identity, v_detail->'acl');
                v_detail := v_detail || jsonb_build_object('owner', v_owner);
            END IF;
        END IF;
        v_hash := pggit._sha256(p_definition || E'\n' || v_detail::text);
        INSERT INTO pggit.blobs (hash, kind, definition, detail) VALUES (v_hash, v_item.kind, p_definition, v_detail)
        ON CONFLICT (hash) DO NOTHING;
    ELSE
        RAISE EXCEPTION 'unknown resolution %', coalesce(quote_literal(p_resolution), 'NULL')
            USING ERRCODE = 'PGG07', HINT = 'resolutions: source, target, base, custom';
    END IF;
    UPDATE pggit.merge_items i
       SET result_hash = v_hash, resolution = p_resolution, error = NULL,
           resolved_by = pggit._author(), resolved_at = clock_timestamp()
     WHERE i.merge_id = p_merge_id AND i.identity = p_identity;
    v_status := CASE WHEN EXISTS (SELECT 1 FROM pggit.merge_items i WHERE i.merge_id = p_merge_id AND i.resolution IS NULL)
                     THEN 'conflicts' ELSE 'ready' END;
    UPDATE pggit.merges m SET status = v_status, error = CASE WHEN v_status = 'ready' THEN NULL ELSE m.error END
     WHERE m.merge_id = p_merge_id;
    PERFORM pggit._audit('resolve', jsonb_build_object('merge_id', p_merge_id, 'identity', p_identity,
                         'resolution', p_resolution, 'hash', v_hash), 'ok', NULL, v_started);
    IF v_status = 'ready' AND p_complete THEN
        RETURN QUERY SELECT * FROM pggit._complete_merge(p_merge_id, p_force);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM pggit._merge_result(p_merge_id);
END $$;

-- The client's shadow replay of a merge result failed at one object's step: reopen that item.
CREATE FUNCTION pggit.merge_semantic_error(p_merge_id bigint, p_identity text, p_error text)
RETURNS TABLE (merge_id bigint, status text, commit_id text, conflicts jsonb, error text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
#variable_conflict use_column
BEGIN
    PERFORM pggit._lock_open_merge(p_merge_id);
    PERFORM pggit._reopen_item(p_merge_id, p_identity, coalesce(p_error, 'rejected by PostgreSQL'));
    PERFORM pggit._audit('merge', jsonb_build_object('merge_id', p_merge_id, 'identity', p_identity),
                         'error', 'semantic conflict: ' || p_error, clock_timestamp());
    RETURN QUERY SELECT * FROM pggit._merge_result(p_merge_id);
END $$;

CREATE FUNCTION pggit.abort_merge(p_merge_id bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pggit._lock_open_merge(p_merge_id);
    UPDATE pggit.merges SET status = 'aborted', finished_at = clock_timestamp() WHERE merge_id = p_merge_id;
    PERFORM pggit._audit('abort_merge', jsonb_build_object('merge_id', p_merge_id), 'ok', NULL, clock_timestamp());
    RETURN 'aborted';
END $$;

-- Every item of a merge with its definitions.
CREATE FUNCTION pggit.merge_items(p_merge_id bigint)
RETURNS TABLE (identity text, kind text, conflict_type text, auto_resolvable boolean, resolution text, error text,
               base_definition text, source_definition text, target_definition text, result_definition text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT i.identity, i.kind, i.conflict_type, i.auto_resolvable, i.resolution, i.error,
           bb.definition, sb.definition, tb.definition, rb.definition
      FROM pggit.merge_items i
      LEFT JOIN pggit.blobs bb ON bb.hash = i.base_hash
      LEFT JOIN pggit.blobs sb ON sb.hash = i.source_hash
      LEFT JOIN pggit.blobs tb ON tb.hash = i.target_hash
      LEFT JOIN pggit.blobs rb ON rb.hash = i.result_hash
     WHERE i.merge_id = p_merge_id
     ORDER BY i.resolution IS NOT NULL, i.identity
$$;

-- ---- 41_apply.sql ----
-- pgGit engine: changing the live schema (checkout, revert, reset, merges into HEAD) and
-- committing on branches that are not checked out.

-- Is changing a column's type from p_old to p_new a known widening (no value can be lost)?
CREATE FUNCTION pggit._is_widening(p_old text, p_new text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_o text[] := regexp_match(p_old, '^(.*?)(?:\((\d+)(?:,(\d+))?\))?$');
    v_n text[] := regexp_match(p_new, '^(.*?)(?:\((\d+)(?:,(\d+))?\))?$');
BEGIN
    IF p_old = p_new THEN RETURN true; END IF;
    IF v_o[1] = 'smallint' AND v_n[1] IN ('integer', 'bigint', 'numeric') AND v_n[2] IS NULL THEN RETURN true; END IF;
    IF v_o[1] = 'integer' AND v_n[1] IN ('bigint', 'numeric') AND v_n[2] IS NULL THEN RETURN true; END IF;
    IF v_o[1] = 'bigint' AND v_n[1] = 'numeric' AND v_n[2] IS NULL THEN RETURN true; END IF;
    IF v_o[1] = 'real' AND v_n[1] = 'double precision' THEN RETURN true; END IF;
    IF v_o[1] IN ('character varying', 'character', 'text') AND v_n[1] = 'text' THEN RETURN true; END IF;
    IF v_o[1] IN ('character varying', 'character') AND v_n[1] = 'character varying'
       AND (v_n[2] IS NULL OR (v_o[2] IS NOT NULL AND v_n[2]::int >= v_o[2]::int)) THEN RETURN true; END IF;
    IF v_o[1] = 'numeric' AND v_n[1] = 'numeric'
       AND (v_n[2] IS NULL OR (v_o[2] IS NOT NULL AND coalesce(v_n[3], '0') = coalesce(v_o[3], '0')
                               AND v_n[2]::int >= v_o[2]::int)) THEN RETURN true; END IF;
    IF v_o[1] = 'timestamp without time zone' AND v_n[1] = 'timestamp with time zone' THEN RETURN true; END IF;
    -- every value has a text form: to text, or to varchar without a length, nothing is lost
    IF p_new = 'text' OR p_new = 'character varying' THEN RETURN true; END IF;
    IF v_o[1] IN ('smallint', 'integer') AND v_n[1] = 'double precision' THEN RETURN true; END IF;
    IF v_o[1] = 'smallint' AND v_n[1] = 'real' THEN RETURN true; END IF;
    RETURN false;
END $$;

-- The steps of migration(from, to) that would lose data in the live database: dropping (or
-- recreating) a table that holds rows, dropping a column that holds values, changing the type
-- of a column that holds values other than by a known widening. p_steps: the migration's rows
-- as JSON when the caller has them already.
CREATE FUNCTION pggit._data_loss(p_from text, p_to text, p_steps jsonb DEFAULT NULL)
RETURNS TABLE (identity text, statement text, reason text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_r     record;
    v_rel   regclass;
    v_col   record;
BEGIN
    FOR v_r IN
        -- (maps keyed by identity: a join of two function scans is planned as a nested loop)
        WITH n_map AS (SELECT coalesce(jsonb_object_agg(s.identity, s.hash), '{}') AS m
                         FROM pggit._state(p_to) s WHERE s.kind = 'table'),
             d_map AS (SELECT coalesce(jsonb_object_agg(d.identity, d.statement), '{}') AS m
                         FROM (SELECT DISTINCT ON (m.identity) m.identity, m.statement
                                 FROM jsonb_to_recordset(coalesce(p_steps, (SELECT jsonb_agg(to_jsonb(g)) FROM pggit.migration(p_from, p_to) g)))
                                      AS m(step int, kind text, identity text, statement text)
                                WHERE m.kind = 'table' AND m.statement LIKE 'DROP TABLE%'
                                ORDER BY m.identity, m.step) d),
             o AS (SELECT s.identity, s.hash FROM pggit._state(p_from) s WHERE s.kind = 'table'),
             -- (a renamed table is the same table; its renamed columns are the same columns)
             ren AS (SELECT r.old_identity, r.new_identity, r.columns FROM pggit._renames(p_from, p_to) r WHERE r.kind = 'table'),
             k AS (SELECT o.identity, o.hash, n_map.m->>coalesce(ren.new_identity, o.identity) AS new_hash,
                          d_map.m->>coalesce(ren.new_identity, o.identity) AS drop_stmt, coalesce(ren.columns, '{}') AS cols
                     FROM o CROSS JOIN n_map CROSS JOIN d_map LEFT JOIN ren ON ren.old_identity = o.identity)
        SELECT k.identity, ob.detail AS od, nb.detail AS nd, k.drop_stmt, k.cols
          FROM k
          JOIN pggit.blobs ob ON ob.hash = k.hash
          LEFT JOIN pggit.blobs nb ON nb.hash = k.new_hash
         -- (a table can be recreated with an unchanged definition: a domain it uses was recreated)
         WHERE ((k.new_hash IS DISTINCT FROM k.hash AND nb.detail IS DISTINCT FROM ob.detail) OR k.drop_stmt IS NOT NULL)
           -- only tables dropped or recreated, or with a column dropped or retyped other than by a widening
           AND (nb.detail IS NULL OR k.drop_stmt IS NOT NULL OR EXISTS (
                SELECT 1 FROM jsonb_array_elements(ob.detail->'columns') oc
                  LEFT JOIN LATERAL (SELECT c FROM jsonb_array_elements(nb.detail->'columns') c
                                      WHERE c->>'name' = coalesce(k.cols->>(oc->>'name'), oc->>'name')) x(nc) ON true
                 WHERE (oc->>'local')::boolean
                   AND (nc IS NULL OR CASE WHEN oc->>'type' = nc->>'type' THEN false
                                           ELSE NOT pggit._is_widening(oc->>'type', nc->>'type') END)))
    LOOP
        v_rel := to_regclass(v_r.od->>'qname');
        CONTINUE WHEN v_rel IS NULL;
        IF v_r.nd IS NULL OR v_r.drop_stmt IS NOT NULL THEN
            IF pggit._has_rows(v_rel, NULL) THEN
                identity := v_r.identity;
                statement := coalesce(v_r.drop_stmt, 'DROP TABLE ' || (v_r.od->>'qname') || ';');
                reason := CASE WHEN v_r.nd IS NULL THEN 'drops table ' ELSE 'recreates table ' END
                          || (v_r.od->>'qname') || ', which holds rows';
                RETURN NEXT;
            END IF;
            CONTINUE;
        END IF;
        FOR v_col IN
            SELECT oc->>'name' AS name, oc->>'type' AS old_type, nc->>'type' AS new_type
              FROM jsonb_array_elements(v_r.od->'columns') oc
              LEFT JOIN LATERAL (SELECT c FROM jsonb_array_elements(v_r.nd->'columns') c
                                  WHERE c->>'name' = coalesce(v_r.cols->>(oc->>'name'), oc->>'name')) x(nc) ON true
             WHERE (oc->>'local')::boolean
               AND (nc IS NULL OR CASE WHEN oc->>'type' = nc->>'type' THEN false
                                       ELSE NOT pggit._is_widening(oc->>'type', nc->>'type') END)
        LOOP
            IF pggit._has_rows(v_rel, v_col.name) THEN
                identity := v_r.identity;
                IF v_col.new_type IS NULL THEN
                    statement := 'ALTER TABLE ' || (v_r.od->>'qname') || ' DROP COLUMN ' || quote_ident(v_col.name) || ';';
                    reason := 'drops column ' || quote_ident(v_col.name) || ' of ' || (v_r.od->>'qname') || ', which holds values';
                ELSE
                    statement := 'ALTER TABLE ' || (v_r.od->>'qname') || ' ALTER COLUMN ' || quote_ident(v_col.name)
                                 || ' TYPE ' || v_col.new_type || ';';
                    reason := 'changes column ' || quote_ident(v_col.name) || ' of ' || (v_r.od->>'qname') || ' from '
                              || v_col.old_type || ' to ' || v_col.new_type || ', which can lose values';
                END IF;
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
END $$;

-- Does a table (or one column of it) hold any row (any non-NULL value)?
CREATE FUNCTION pggit._has_rows(p_rel regclass, p_column text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_found boolean;
    v_part  regclass;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_partition_tree(p_rel) t JOIN pg_class c ON c.oid = t.relid WHERE c.relkind = 'f') THEN
        -- (the rows of foreign partitions are elsewhere: not lost, and not read)
        FOR v_part IN SELECT t.relid FROM pg_partition_tree(p_rel) t JOIN pg_class c ON c.oid = t.relid
                       WHERE t.isleaf AND c.relkind <> 'f' LOOP
            IF pggit._has_rows(v_part, p_column) THEN
                RETURN true;
            END IF;
        END LOOP;
        RETURN false;
    END IF;
    IF p_column IS NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', p_rel) INTO v_found;
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I IS NOT NULL)', p_rel, p_column) INTO v_found;
    END IF;
    RETURN v_found;
END $$;

CREATE FUNCTION pggit.data_loss_steps(p_from text, p_to text)
RETURNS TABLE (identity text, statement text, reason text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT pggit.flush();
    SELECT * FROM pggit._data_loss(p_from, p_to);
$$;

-- What a reviewer needs of migration(from, to), computing the migration once:
-- {"steps": [{step, kind, identity, statement}...], "data_loss": [{identity, statement, reason}...]}.
CREATE FUNCTION pggit.migration_review(p_from text, p_to text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_steps jsonb;
BEGIN
    PERFORM pggit.flush();
    SELECT coalesce(jsonb_agg(to_jsonb(g) ORDER BY g.step), '[]') INTO v_steps FROM pggit.migration(p_from, p_to) g;
    RETURN jsonb_build_object(
        'steps', v_steps,
        'data_loss', (SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]') FROM pggit._data_loss(p_from, p_to, v_steps) d));
END $$;

-- Audit arguments of an operation that may have run with force: {"force": false}, or
-- {"force": true, "data_loss": [identities]} with what its forced migrations dropped with their
-- data (taken from pggit.tx_state, where _apply_live records it).
CREATE FUNCTION pggit._forced_args(p_force boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_lost text;
BEGIN
    IF NOT coalesce(p_force, false) THEN
        RETURN '{"force": false}';
    END IF;
    DELETE FROM pggit.tx_state s WHERE s.xid = pg_current_xact_id() AND s.key = 'accepted_loss' RETURNING s.value INTO v_lost;
    RETURN jsonb_build_object('force', true, 'data_loss', coalesce(v_lost::jsonb, '[]'));
END $$;

-- Migrate the live database from the state of p_from to the state of p_to (refs), unless a step
-- would lose data and p_force is false (PGG10). The steps run with capture in absorb mode: the
-- touched objects' descriptions replace the live map, no commit is made. Afterwards every live
-- object must have the definition the target state holds (PGG12). A failing step raises
-- PostgreSQL's error with the step's object identity as HINT.
CREATE FUNCTION pggit._apply_live(p_from text, p_to text, p_force boolean) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_r       record;
    v_ident   text;
    v_stmt    text;
    v_msg     text;
    v_state   text;
    v_n       int := 0;
    v_loss    text;
    v_capture text := coalesce(current_setting('pggit.capture', true), '');
    v_bodies  text := current_setting('check_function_bodies');
    v_bad     text[];
    v_steps   jsonb;
BEGIN
    SELECT jsonb_agg(to_jsonb(m) ORDER BY m.step) INTO v_steps FROM pggit.migration(p_from, p_to) m;
    IF NOT p_force THEN
        SELECT string_agg(l.reason || ' (' || l.statement || ')', E'\n') INTO v_loss FROM pggit._data_loss(p_from, p_to, v_steps) l;
        IF v_loss IS NOT NULL THEN
            RAISE EXCEPTION 'refusing steps that would lose data:%', E'\n' || v_loss
                USING ERRCODE = 'PGG10', HINT = 'run it again with p_force => true to accept the loss';
        END IF;
    ELSE
        -- what the force accepts, for the operation's audit row (pggit._forced_args)
        INSERT INTO pggit.tx_state AS s (xid, key, value)
        SELECT pg_current_xact_id(), 'accepted_loss', jsonb_agg(DISTINCT l.identity ORDER BY l.identity)::text
          FROM pggit._data_loss(p_from, p_to, v_steps) l
        HAVING count(*) > 0
        ON CONFLICT (xid, key) DO UPDATE
            SET value = (SELECT jsonb_agg(DISTINCT x ORDER BY x)::text
                           FROM jsonb_array_elements_text(s.value::jsonb || EXCLUDED.value::jsonb) x);
    END IF;
    -- absorb mode: recorded in pggit.tx_state (what the capture triggers trust) and in the
    -- setting (their cheap hint)
    DELETE FROM pggit.tx_state s WHERE s.xid = pg_current_xact_id() AND s.key IN ('absorb_touched', 'absorb_dropped');
    INSERT INTO pggit.tx_state (xid, key) VALUES (pg_current_xact_id(), 'absorb') ON CONFLICT DO NOTHING;
    PERFORM set_config('pggit.capture', 'absorb', true);
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(v_steps, '[]')) x WHERE x->>'kind' = 'subscription') THEN
        -- CREATE and DROP SUBSCRIPTION lock pg_subscription and pg_replication_origin (shared by
        -- the cluster) in orders that deadlock two such transactions in different databases: the
        -- strongest lock is taken first. (A role that may not take it goes on without.)
        BEGIN
            LOCK TABLE pg_catalog.pg_subscription IN ACCESS EXCLUSIVE MODE;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
    END IF;
    BEGIN
        FOR v_r IN SELECT * FROM jsonb_to_recordset(coalesce(v_steps, '[]'))
                                 AS m(step int, kind text, identity text, statement text) ORDER BY m.step LOOP
            IF v_r.kind = 'setting' THEN
                -- (the script form sets it for the session; here it is local to the transaction)
                PERFORM set_config('check_function_bodies', 'off', true);
                CONTINUE;
            END IF;
            v_ident := v_r.identity;
            v_stmt := v_r.statement;
            EXECUTE v_r.statement;
            v_n := v_n + 1;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
        RAISE EXCEPTION '%', v_msg
            USING ERRCODE = v_state, DETAIL = format('while migrating %s: %s', v_ident, v_stmt), HINT = coalesce(v_ident, '');
    END;
    PERFORM set_config('pggit.capture', v_capture, true);
    DELETE FROM pggit.tx_state s WHERE s.xid = pg_current_xact_id() AND s.key = 'absorb';
    PERFORM set_config('check_function_bodies', v_bodies, true);
    PERFORM pggit._absorb_finish();

    -- the live objects must now be exactly the target state (definitions compared)
    SELECT array_agg(coalesce(l.identity, t.identity) ORDER BY coalesce(l.identity, t.identity)) INTO v_bad
      FROM pggit.live_objects l
      FULL JOIN pggit._state(p_to) t ON t.identity = l.identity
      LEFT JOIN pggit.blobs lb ON lb.hash = l.hash
      LEFT JOIN pggit.blobs tb ON tb.hash = t.hash
     WHERE l.hash IS DISTINCT FROM t.hash AND pggit._canon(lb.definition) IS DISTINCT FROM pggit._canon(tb.definition)
       -- a custom resolution written in psql is the user's text, not the catalog's canonical one
       AND NOT (l.hash IS NOT NULL AND coalesce(tb.detail ? 'custom', false));
    IF v_bad IS NULL THEN
        -- the live map takes the target's descriptions where they say more than the catalog
        -- (the lineage of renamed objects), so that later captures carry it on
        UPDATE pggit.live_objects l SET hash = t.hash
          FROM pggit._state(p_to) t JOIN pggit.blobs tb ON tb.hash = t.hash
         WHERE t.identity = l.identity AND l.hash <> t.hash AND tb.detail ? 'lineage'
           AND tb.definition = (SELECT lb.definition FROM pggit.blobs lb WHERE lb.hash = l.hash);
    END IF;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'the live schema did not reach the target state: % differ', array_to_string(v_bad[1:10], ', ')
            USING ERRCODE = 'PGG12', HINT = v_bad[1],
                  DETAIL = 'the migration ran without error, but these objects are not as the target state holds them';
    END IF;
    RETURN v_n;
END $$;

-- Check out a branch: migrate the live schema to its head and move HEAD there.
CREATE FUNCTION pggit.switch_branch(p_name text, p_force boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_flushed int := pggit.flush();
    v_started timestamptz := clock_timestamp();
    v_current text := pggit.current_branch();
    v_from    text;
    v_to      text;
    v_steps   int;
BEGIN
    IF p_name IS NULL OR NOT EXISTS (SELECT 1 FROM pggit.branches WHERE name = p_name) THEN
        RAISE EXCEPTION 'branch % does not exist', coalesce(quote_literal(p_name), 'NULL') USING ERRCODE = 'PGG01';
    END IF;
    -- both rows locked, in name order (two opposite switches cannot deadlock)
    PERFORM 1 FROM pggit.branches WHERE name IN (v_current, p_name) ORDER BY name FOR UPDATE;
    SELECT head INTO v_from FROM pggit.branches WHERE name = v_current;
    SELECT head INTO v_to FROM pggit.branches WHERE name = p_name;
    IF p_name = v_current THEN
        RETURN v_to;
    END IF;
    v_steps := pggit._apply_live(v_from, v_to, p_force);
    UPDATE pggit.head SET branch = p_name;
    PERFORM pggit._audit('switch', jsonb_build_object('from', v_current, 'to', p_name, 'from_commit', v_from,
                         'to_commit', v_to, 'steps', v_steps) || pggit._forced_args(p_force), 'ok', NULL, v_started);
    RETURN v_to;
END $$;

-- Move a branch head to any commit; on HEAD the live schema follows.
CREATE FUNCTION pggit.reset_branch(p_branch text, p_ref text, p_force boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_flushed int := pggit.flush();
    v_started timestamptz := clock_timestamp();
    v_old     text := pggit._lock_branch(p_branch);
    v_new     text := pggit._resolve(p_ref);
    v_steps   int := 0;
BEGIN
    IF p_branch = pggit.current_branch() AND v_new <> v_old THEN
        v_steps := pggit._apply_live(v_old, v_new, p_force);
    END IF;
    UPDATE pggit.branches SET head = v_new WHERE name = p_branch;
    PERFORM pggit._audit('reset', jsonb_build_object('branch', p_branch, 'from_commit', v_old, 'to_commit', v_new,
                         'steps', v_steps) || pggit._forced_args(p_force), 'ok', NULL, v_started);
    RETURN v_new;
END $$;

-- A new commit on a branch (HEAD's by default) undoing one commit, three-way against the
-- branch's head: an object changed again since refuses the revert (PGG09).
CREATE FUNCTION pggit.revert(p_commit text, p_branch text DEFAULT NULL, p_force boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_flushed  int := pggit.flush();
    v_started  timestamptz := clock_timestamp();
    v_branch   text := coalesce(p_branch, pggit.current_branch());
    v_head     text := pggit._lock_branch(v_branch);
    v_commit   text := pggit._resolve(p_commit);
    v_c        record;
    v_changes  pggit.change[];
    v_clash    text;
    v_new      text;
BEGIN
    SELECT * INTO v_c FROM pggit.commits c WHERE c.commit_id = v_commit;
    IF cardinality(v_c.parent_ids) = 0 THEN
        RAISE EXCEPTION 'cannot revert the first commit %', left(v_commit, 12) USING ERRCODE = 'PGG07';
    END IF;
    IF NOT pggit._is_ancestor(v_commit, v_head) THEN
        RAISE EXCEPTION 'commit % is not on branch %', left(v_commit, 12), quote_literal(v_branch) USING ERRCODE = 'PGG07';
    END IF;
    WITH h AS (SELECT t.identity, t.hash FROM pggit._tree_rows(v_head) t
                WHERE t.identity IN (SELECT x.identity FROM pggit.changes x WHERE x.commit_id = v_commit)),
    x AS (SELECT x.identity, x.kind, x.old_hash, x.new_hash, h.hash AS head_hash
            FROM pggit.changes x LEFT JOIN h ON h.identity = x.identity WHERE x.commit_id = v_commit)
    SELECT array_agg(ROW(x.identity, x.kind, x.head_hash, x.old_hash)::pggit.change ORDER BY x.identity)
               FILTER (WHERE x.head_hash IS NOT DISTINCT FROM x.new_hash),
           string_agg(x.identity, ', ' ORDER BY x.identity)
               FILTER (WHERE x.head_hash IS DISTINCT FROM x.new_hash AND x.head_hash IS DISTINCT FROM x.old_hash)
      INTO v_changes, v_clash
      FROM x;
    IF v_clash IS NOT NULL THEN
        RAISE EXCEPTION 'cannot revert %: changed again since: %', left(v_commit, 12), v_clash
            USING ERRCODE = 'PGG09', HINT = 'revert the later commits first, or change the objects by hand';
    END IF;
    IF v_changes IS NULL THEN
        RAISE EXCEPTION 'nothing to revert: the changes of % are already undone on %', left(v_commit, 12), quote_literal(v_branch)
            USING ERRCODE = 'PGG09';
    END IF;
    v_new := pggit._make_commit(v_branch, ARRAY[v_head], pggit._author(),
                                'Revert "' || split_part(v_c.message, E'\n', 1) || E'"\n\nThis reverts commit ' || v_commit || '.',
                                v_changes);
    IF v_branch = pggit.current_branch() THEN
        PERFORM pggit._apply_live(v_head, v_new, p_force);
    END IF;
    PERFORM pggit._audit('revert', jsonb_build_object('branch', v_branch, 'reverted', v_commit, 'commit', v_new,
                         'changes', cardinality(v_changes)) || pggit._forced_args(p_force), 'ok', NULL, v_started);
    RETURN v_new;
END $$;

-- Record a commit on a branch that is not HEAD from objects described elsewhere (the client's
-- shadow database): [{identity, kind, definition, detail}] or [{identity, deleted: true}].
CREATE FUNCTION pggit.commit_objects(p_branch text, p_expected_head text, p_message text, p_objects jsonb,
                                     p_author text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    v_flushed int := pggit.flush();
    v_started timestamptz := clock_timestamp();
    v_head    text;
    v_changes pggit.change[];
    v_id      text;
BEGIN
    IF p_branch = pggit.current_branch() THEN
        RAISE EXCEPTION 'branch % is HEAD: its DDL is captured from the live database', quote_literal(p_branch)
            USING ERRCODE = 'PGG11';
    END IF;
    v_head := pggit._lock_branch(p_branch);
    IF p_expected_head IS NOT NULL AND v_head <> pggit._resolve(p_expected_head) THEN
        RAISE EXCEPTION 'branch % moved (its head is now %)', quote_literal(p_branch), left(v_head, 12) USING ERRCODE = 'PGG08';
    END IF;
    IF p_message IS NULL OR btrim(p_message) = '' THEN
        RAISE EXCEPTION 'a commit message is required' USING ERRCODE = 'PGG07';
    END IF;
    IF jsonb_typeof(p_objects) IS DISTINCT FROM 'array' OR EXISTS (
           SELECT 1 FROM jsonb_array_elements(p_objects) o
            WHERE jsonb_typeof(o) <> 'object' OR NOT o ? 'identity'
               OR (NOT coalesce((o->>'deleted')::boolean, false)
                   AND (NOT o ? 'kind' OR NOT o ? 'definition' OR jsonb_typeof(o->'detail') IS DISTINCT FROM 'object'))) THEN
        RAISE EXCEPTION 'objects must be a JSON array of {identity, kind, definition, detail} or {identity, deleted: true}'
            USING ERRCODE = 'PGG07';
    END IF;
    WITH o0 AS (
        SELECT e->>'identity' AS identity, e->>'kind' AS kind, e->>'definition' AS definition, e->'detail' AS detail,
               coalesce((e->>'deleted')::boolean, false) AS deleted
          FROM jsonb_array_elements(p_objects) e
    ),
    -- (a shadow database's engine describes no owners: an object described without one keeps
    -- the owner the branch records for it, 10_owners.sql)
    ho AS (
        SELECT t.identity, b.kind, b.detail->'owner' AS owner
          FROM pggit._tree_rows(v_head) t JOIN pggit.blobs b ON b.hash = t.hash
         WHERE t.identity IN (SELECT o0.identity FROM o0) AND b.detail ? 'owner' AND pggit._owners_on()
    ),
    o AS (
        SELECT o0.identity, o0.kind,
               CASE WHEN hb.owner IS NULL THEN o0.definition
                    ELSE pggit._acl_strip(o0.kind, o0.identity, o0.definition, o0.detail)
                         || pggit._owner_sql(o0.kind, o0.detail || jsonb_build_object('owner', hb.owner))
                         || pggit._acl_sql(o0.kind, o0.identity, o0.detail->'acl') END AS definition,
               CASE WHEN hb.owner IS NULL THEN o0.detail ELSE o0.detail || jsonb_build_object('owner', hb.owner) END AS detail,
               o0.deleted
          FROM o0
          LEFT JOIN ho hb ON hb.identity = o0.identity AND hb.kind = o0.kind AND NOT o0.deleted
                         AND NOT coalesce(o0.detail ? 'owner', true)
    ),
    h AS (
        SELECT o.*, CASE WHEN NOT o.deleted THEN pggit._sha256(o.definition || E'\n' || o.detail::text) END AS hash FROM o
    ),
    ins AS (
        INSERT INTO pggit.blobs (hash, kind, definition, detail)
        SELECT DISTINCT ON (h.hash) h.hash, h.kind, h.definition, h.detail FROM h WHERE NOT h.deleted
        ON CONFLICT (hash) DO NOTHING
    )
    SELECT array_agg(ROW(h.identity, coalesce(h.kind, t.kind), t.hash, h.hash)::pggit.change ORDER BY h.identity)
      INTO v_changes
      FROM h LEFT JOIN pggit._tree_rows(v_head) t ON t.identity = h.identity
     WHERE t.hash IS DISTINCT FROM h.hash AND coalesce(h.kind, t.kind) IS NOT NULL;
    IF v_changes IS NULL THEN
        RETURN NULL;
    END IF;
    v_id := pggit._make_commit(p_branch, ARRAY[v_head], coalesce(p_author, pggit._author()), p_message, v_changes);
    PERFORM pggit._audit('commit_objects', jsonb_build_object('branch', p_branch, 'commit', v_id,
                         'changes', cardinality(v_changes)), 'ok', NULL, v_started);
    RETURN v_id;
END $$;

-- The DROP statement for an object of a state (NULL when the state does not hold it).
CREATE FUNCTION pggit.object_drop_sql(p_ref text, p_identity text) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pggit.flush();
    SELECT pggit._drop_sql(s.kind, b.detail) FROM pggit._state(p_ref) s JOIN pggit.blobs b ON b.hash = s.hash
     WHERE s.identity = p_identity;
$$;

-- A failed operation, recorded by the client in a transaction of its own (the failing one
-- rolled its own audit row back).
CREATE FUNCTION pggit.audit_failure(p_operation text, p_args jsonb, p_outcome text, p_detail text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_outcome NOT IN ('error', 'refused') THEN
        RAISE EXCEPTION 'a failure''s outcome is error or refused' USING ERRCODE = 'PGG07';
    END IF;
    PERFORM pggit._audit(left(coalesce(p_operation, 'unknown'), 100), p_args, p_outcome, p_detail, clock_timestamp());
END $$;

-- ---- 50_data.sql ----
-- pgGit engine: data branches. A branch made with data (create_branch(..., with_data => true))
-- carries the rows of every tracked table with a primary key as they were when it was made.
--
-- How: nothing is copied. For each table T that a data branch carries, schema pggit_data holds
-- two overlay tables keyed by (branch_id, T's key): b_<oid>, each branch's own rows (what it
-- inserted or updated, and tombstones of what it deleted), and p_<oid>, pre-images (a row of T
-- as it was at a branch's fork, saved when the checked-out side first changes or deletes it
-- afterwards; a key T gained since the fork is saved as absent). One view per table, named
-- like T in schema pggit_data_<schema>, shows for the branch named by the setting
-- pggit.data_branch (its id):
--   T's rows that neither overlay holds + pre-images the branch did not override + the branch's rows,
-- and its INSTEAD OF trigger writes the branch's changes into b_<oid>. Statement triggers on T
-- save pre-images for every data branch that carries it. A connection with that setting and
-- the view schemas first in its search_path works on the branch.
-- The overlays are made when the first data branch carries a table and dropped with the last,
-- so a branch after the first is a few rows: its time does not depend on the data. Making one
-- locks the tables for the instant of the fork (SHARE ROW EXCLUSIVE: writers in flight finish
-- first, later ones see the branch).

CREATE TABLE pggit.data_branches (
    branch      text PRIMARY KEY,
    id          integer NOT NULL UNIQUE,              -- the value of pggit.data_branch that shows it
    fork_commit text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    skipped     text[] NOT NULL DEFAULT '{}'          -- tables without a primary key: not carried
);

-- The overlay of one checked-out table (there while some data branch carries the table).
CREATE TABLE pggit.data_overlays (
    relid       oid PRIMARY KEY,                      -- the checked-out table
    identity    text NOT NULL,                        -- 'table public.orders'
    view_schema text NOT NULL,
    view_name   text NOT NULL,
    key_columns text[] NOT NULL,
    columns     text[] NOT NULL                       -- the columns the view shows, in order
);

-- The tables each data branch carries.
CREATE TABLE pggit.data_tables (
    id    integer NOT NULL REFERENCES pggit.data_branches (id) ON DELETE CASCADE,
    relid oid NOT NULL REFERENCES pggit.data_overlays,
    PRIMARY KEY (id, relid)
);
CREATE INDEX data_tables_relid ON pggit.data_tables (relid);

-- The schema that shows schema p_nsp on data branches (a long name is replaced by its oid).
CREATE FUNCTION pggit._data_view_schema(p_nsp oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'pggit_data_' || CASE WHEN octet_length(n.nspname) <= 48 THEN n.nspname ELSE 'n' || n.oid END
      FROM pg_namespace n WHERE n.oid = p_nsp
$$;

-- A name in double quotes, always (quote_ident leaves out unreserved keywords, which PL/pgSQL
-- does not take as field names: NEW.by).
CREATE FUNCTION pggit._data_q(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT '"' || replace(p_name, '"', '""') || '"' $$;

-- A SQL list of quoted names, each prefixed (e.g. 'n.').
CREATE FUNCTION pggit._data_cols(p_cols text[], p_prefix text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(p_prefix || pggit._data_q(c), ', ' ORDER BY o), '') FROM unnest(p_cols) WITH ORDINALITY u(c, o)
$$;

-- "a.k1 = b.k1 AND a.k2 = b.k2" over the key columns.
CREATE FUNCTION pggit._data_key_match(p_keys text[], p_a text, p_b text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(format('%s.%s = %s.%s', p_a, pggit._data_q(k), p_b, pggit._data_q(k)), ' AND ' ORDER BY o)
      FROM unnest(p_keys) WITH ORDINALITY u(k, o)
$$;

-- Make the overlay of one table: its two tables, its view with the write trigger, and the
-- triggers on the table that save pre-images.
CREATE FUNCTION pggit._data_make_overlay(p_relid oid, p_keys text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_b      text := 'b_' || p_relid;
    v_p      text := 'p_' || p_relid;
    v_w      text := 'w_' || p_relid;
    v_table  text := p_relid::regclass::text;
    v_schema text;
    v_name   text;
    v_owner  text;
    v_cols   text[];
    v_write  text[];   -- the columns a write sets (not generated ones)
    v_nn     text[];
    v_r      record;
    v_keys   text := pggit._data_cols(p_keys);
    v_unique text;
    v_id     text := $b$current_setting('pggit.data_branch')::integer$b$;
BEGIN
    SELECT c.relname, pggit._data_view_schema(c.relnamespace), c.relowner::regrole::text
      INTO v_name, v_schema, v_owner FROM pg_class c WHERE c.oid = p_relid;
    SELECT array_agg(a.attname::text ORDER BY a.attnum),
           array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = ''),
           array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attnotnull AND a.attgenerated = '' AND NOT a.attname = ANY (p_keys))
      INTO v_cols, v_write, v_nn
      FROM pg_attribute a WHERE a.attrelid = p_relid AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', v_schema);

    -- pre-images: plain columns (CREATE TABLE AS keeps no constraint)
    EXECUTE format('CREATE TABLE pggit_data.%I AS SELECT 0 AS branch_id, %s, false AS _absent FROM %s WITH NO DATA',
                   v_p, pggit._data_cols(v_cols), v_table);
    EXECUTE format('ALTER TABLE pggit_data.%I ADD PRIMARY KEY (branch_id, %s)', v_p, v_keys);
    -- the branches' rows: the table's columns, defaults and generated columns; a tombstone
    -- leaves the other columns NULL, so NOT NULL becomes a check on live rows
    EXECUTE format('CREATE TABLE pggit_data.%I (branch_id integer NOT NULL, LIKE %s INCLUDING DEFAULTS INCLUDING GENERATED, '
                   '_deleted boolean NOT NULL DEFAULT false)', v_b, v_table);
    FOR v_r IN SELECT a.attname FROM pg_attribute a
                WHERE a.attrelid = format('pggit_data.%I', v_b)::regclass AND a.attnum > 0 AND a.attnotnull
                  AND NOT a.attname = ANY (p_keys) AND a.attname NOT IN ('_deleted', 'branch_id') LOOP
        EXECUTE format('ALTER TABLE pggit_data.%I ALTER COLUMN %I DROP NOT NULL', v_b, v_r.attname);
    END LOOP;
    IF v_nn IS NOT NULL THEN
        EXECUTE format('ALTER TABLE pggit_data.%I ADD CONSTRAINT %I CHECK (_deleted OR (%s))', v_b, 'not_null',
                       (SELECT string_agg(format('%I IS NOT NULL', c), ' AND ') FROM unnest(v_nn) c));
    END IF;
    EXECUTE format('ALTER TABLE pggit_data.%I ADD PRIMARY KEY (branch_id, %s)', v_b, v_keys);
    -- the table's other b-tree indexes on columns, per branch: a range or a lookup on the branch
    -- finds the overlays' rows the way it finds the table's
    FOR v_r IN SELECT array(SELECT pggit._data_q(a.attname) FROM unnest(i.indkey) WITH ORDINALITY k(attnum, o)
                              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.o) AS cols
                 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
                WHERE i.indrelid = p_relid AND NOT i.indisprimary AND i.indpred IS NULL AND am.amname = 'btree'
                  AND i.indexprs IS NULL AND i.indisvalid LOOP
        EXECUTE format('CREATE INDEX ON pggit_data.%I (branch_id, %s)', v_b, array_to_string(v_r.cols, ', '));
        EXECUTE format('CREATE INDEX ON pggit_data.%I (branch_id, %s)', v_p, array_to_string(v_r.cols, ', '));
    END LOOP;

    -- the view: the branch's rows over the checked-out ones (one anti-join against the keys of
    -- both overlays: a scan of the table probes one hash table, not two)
    EXECUTE format($v$CREATE VIEW %1$I.%2$I AS
    SELECT %3$s FROM %4$s t
     WHERE NOT EXISTS (SELECT 1 FROM (SELECT %13$s FROM pggit_data.%5$I b WHERE b.branch_id = %7$s
                                      UNION ALL SELECT %14$s FROM pggit_data.%6$I p WHERE p.branch_id = %7$s) o
                        WHERE %8$s)
    UNION ALL
    SELECT %10$s FROM pggit_data.%6$I p
     WHERE p.branch_id = %7$s AND NOT p._absent
       AND NOT EXISTS (SELECT 1 FROM pggit_data.%5$I b WHERE b.branch_id = p.branch_id AND %11$s)
    UNION ALL
    SELECT %12$s FROM pggit_data.%5$I b WHERE b.branch_id = %7$s AND NOT b._deleted$v$,
        v_schema, v_name, pggit._data_cols(v_cols, 't.'), v_table, v_b, v_p, v_id,
        pggit._data_key_match(p_keys, 'o', 't'), NULL,
        pggit._data_cols(v_cols, 'p.'), pggit._data_key_match(p_keys, 'b', 'p'), pggit._data_cols(v_cols, 'b.'),
        pggit._data_cols(p_keys, 'b.'), pggit._data_cols(p_keys, 'p.'));
    -- the table's defaults (sequences and identities are shared: keys drawn on a branch never
    -- collide with the checked-out side's)
    FOR v_r IN SELECT a.attname, CASE WHEN a.attidentity <> '' THEN format('nextval(%L::regclass)', pg_get_serial_sequence(v_table, a.attname))
                                      ELSE pg_get_expr(d.adbin, d.adrelid) END AS expr
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = p_relid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                  AND (d.adbin IS NOT NULL OR a.attidentity <> '') LOOP
        EXECUTE format('ALTER VIEW %I.%I ALTER COLUMN %I SET DEFAULT %s', v_schema, v_name, v_r.attname, v_r.expr);
    END LOOP;

    -- the table's other unique constraints (on columns, without a predicate) hold on the branch
    SELECT coalesce(string_agg(format($u$
    IF TG_OP <> 'DELETE' AND %1$s AND EXISTS (SELECT 1 FROM %2$I.%3$I v WHERE %4$s AND (%5$s) IS DISTINCT FROM (%6$s)) THEN
        RAISE EXCEPTION USING MESSAGE = %7$L, ERRCODE = 'unique_violation';
    END IF;$u$,
            (SELECT string_agg(format('NEW.%s IS NOT NULL', pggit._data_q(c)), ' AND ') FROM unnest(u.cols) c),
            v_schema, v_name,
            (SELECT string_agg(format('v.%1$s = NEW.%1$s', pggit._data_q(c)), ' AND ') FROM unnest(u.cols) c),
            pggit._data_cols(p_keys, 'v.'), pggit._data_cols(p_keys, 'OLD.'),
            format('duplicate key value violates unique constraint %s on %s', quote_ident(u.name), v_table)), ''), '')
      INTO v_unique
      FROM (SELECT i.indexrelid::regclass::text AS name,
                   array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, o)
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.o) AS cols
              FROM pg_index i
             WHERE i.indrelid = p_relid AND i.indisunique AND NOT i.indisprimary AND i.indpred IS NULL
               AND NOT 0 = ANY (i.indkey::int2[])) u;

    -- writes (SECURITY DEFINER: who may write the view writes the overlay through it)
    EXECUTE format($f$CREATE FUNCTION pggit_data.%1$I() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
DECLARE
    v_branch integer := %2$s;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.data_tables d WHERE d.id = v_branch AND d.relid = %3$s) THEN
        RAISE EXCEPTION USING MESSAGE = format('data branch %%s does not carry %%s', v_branch, %4$L),
            ERRCODE = 'PGG13', HINT = 'pggit.data_branches() lists the data branches and their ids';
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (%5$s) IS DISTINCT FROM (%6$s)) THEN
        IF EXISTS (SELECT 1 FROM %7$I.%8$I v WHERE %9$s) THEN
            RAISE EXCEPTION USING MESSAGE = %10$L, ERRCODE = 'unique_violation',
                DETAIL = format(%11$L, concat_ws(', ', %6$s));
        END IF;
    END IF;
%17$s
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (%5$s) IS DISTINCT FROM (%6$s)) THEN
        INSERT INTO pggit_data.%12$I AS b (branch_id, %13$s, _deleted) VALUES (v_branch, %5$s, true)
        ON CONFLICT (branch_id, %13$s) DO UPDATE SET _deleted = true;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
    END IF;
    INSERT INTO pggit_data.%12$I AS b (branch_id, %14$s, _deleted) VALUES (v_branch, %15$s, false)
    ON CONFLICT (branch_id, %13$s) DO UPDATE SET (%14$s, _deleted) = (SELECT %16$s, false);
    RETURN NEW;
END $body$
$f$,
        v_w, v_id, p_relid, v_table,
        pggit._data_cols(p_keys, 'OLD.'), pggit._data_cols(p_keys, 'NEW.'),
        v_schema, v_name, pggit._data_key_match(p_keys, 'v', 'NEW'),
        format('duplicate key value violates the primary key of %s', v_table),
        'Key (' || replace(v_keys, '%', '%%') || ')=(%s) already exists.',
        v_b, v_keys, pggit._data_cols(v_write), pggit._data_cols(v_write, 'NEW.'), pggit._data_cols(v_write, 'EXCLUDED.'),
        v_unique);
    EXECUTE format('REVOKE ALL ON FUNCTION pggit_data.%I() FROM PUBLIC', v_w);
    EXECUTE format('CREATE TRIGGER pggit_write INSTEAD OF INSERT OR UPDATE OR DELETE ON %I.%I FOR EACH ROW EXECUTE FUNCTION pggit_data.%I()',
                   v_schema, v_name, v_w);

    -- the view's privileges are the table's; its owner is the table's owner
    FOR v_r IN SELECT DISTINCT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = p_relid AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE') LOOP
        EXECUTE format('GRANT %s ON %I.%I TO %s', v_r.privilege_type, v_schema, v_name,
                       CASE WHEN v_r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(v_r.grantee::regrole::text) END);
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %s', v_schema,
                       CASE WHEN v_r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(v_r.grantee::regrole::text) END);
    END LOOP;
    EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', v_schema, v_name, v_owner);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', v_schema, v_owner);
    -- (a view reads with its owner's privileges: the table's owner reads the overlays)
    EXECUTE format('GRANT USAGE ON SCHEMA pggit_data TO %I', v_owner);
    EXECUTE format('GRANT SELECT ON pggit_data.%I, pggit_data.%I TO %I', v_b, v_p, v_owner);

    INSERT INTO pggit.data_overlays (relid, identity, view_schema, view_name, key_columns, columns)
    SELECT p_relid, 'table ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname), v_schema, v_name, p_keys, v_cols
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_relid;
    PERFORM pggit._data_fork_triggers(p_relid);
END $$;

-- The triggers on carried table p_relid that keep its data branches' fork: when a row first
-- changes after a fork, its pre-image is saved for each data branch that carries the table,
-- and a key the table gains is saved as absent. An UPDATE that keeps the key (the common case)
-- is kept row by row, with no transition tables to fill; one that changes keys stages its rows
-- in k_<oid>, kept set-wise at the end of the statement (a key that another row of the same
-- statement gave up is not new). INSERT, DELETE and TRUNCATE are kept per statement. Made
-- again by pggit._after_upgrade(), so a new version's form reaches existing overlays.
CREATE FUNCTION pggit._data_fork_triggers(p_relid oid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o     pggit.data_overlays;
    v_table text := p_relid::regclass::text;
    v_p     text := 'p_' || p_relid;
    v_k     text := 'k_' || p_relid;
    v_cols  text;
    v_keys  text;
    v_same  text;   -- the row keeps its key
    v_newk  text;   -- the staged row of a new key: its key columns, the others NULL
BEGIN
    SELECT o.* INTO STRICT v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    v_cols := pggit._data_cols(v_o.columns);
    v_keys := pggit._data_cols(v_o.key_columns);
    v_same := format('(%s) IS NOT DISTINCT FROM (%s)', pggit._data_cols(v_o.key_columns, 'OLD.'),
                     pggit._data_cols(v_o.key_columns, 'NEW.'));
    SELECT string_agg(CASE WHEN c = ANY (v_o.key_columns) THEN 'NEW.' || pggit._data_q(c) ELSE 'NULL' END, ', ' ORDER BY o)
      INTO v_newk FROM unnest(v_o.columns) WITH ORDINALITY u(c, o);
    IF to_regclass(format('pggit_data.%I', v_k)) IS NULL THEN
        -- (rows live for one statement of their own transaction: nothing to keep after a crash)
        EXECUTE format('CREATE UNLOGGED TABLE pggit_data.%I AS SELECT %s, false AS _pggit_new FROM %s WITH NO DATA',
                       v_k, v_cols, v_table);
    END IF;

    -- row by row: UPDATE
    EXECUTE format($f$CREATE OR REPLACE FUNCTION pggit_data.%1$I() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    -- (pgGit data branches: an updated row as it was at each fork)
    IF %2$s THEN
        INSERT INTO pggit_data.%3$I (branch_id, %4$s, _absent)
        SELECT d.id, %5$s, false FROM pggit.data_tables d WHERE d.relid = %6$s
        ON CONFLICT DO NOTHING;
    ELSIF current_setting('session_replication_role') = 'replica' THEN
        -- (a replication apply worker fires no statement triggers: keep the key change here)
        INSERT INTO pggit_data.%3$I (branch_id, %4$s, _absent)
        SELECT d.id, x.* FROM (VALUES (%5$s, false), (%8$s, true)) x CROSS JOIN pggit.data_tables d
         WHERE d.relid = %6$s
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO pggit_data.%7$I VALUES (%5$s, false), (%8$s, true);
    END IF;
    RETURN NULL;
END $body$
$f$, 'r_' || p_relid, v_same, v_p, v_cols, pggit._data_cols(v_o.columns, 'OLD.'), p_relid, v_k, v_newk);

    -- per statement: INSERT, DELETE, TRUNCATE and the staged key changes of an UPDATE
    EXECUTE format($f$CREATE OR REPLACE FUNCTION pggit_data.%1$I() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    -- (pgGit data branches: the rows as they were at each fork; a key the table gains is absent)
    IF TG_OP = 'UPDATE' THEN
        WITH s AS (DELETE FROM pggit_data.%9$I RETURNING *)
        INSERT INTO pggit_data.%2$I (branch_id, %3$s, _absent)
        SELECT d.id, x.* FROM (SELECT %4$s, false FROM s o WHERE NOT o._pggit_new
                               UNION ALL
                               SELECT %10$s, true FROM s n
                                WHERE n._pggit_new AND NOT EXISTS (SELECT 1 FROM s o WHERE NOT o._pggit_new AND %11$s)) x
         CROSS JOIN pggit.data_tables d WHERE d.relid = %5$s
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO pggit_data.%2$I (branch_id, %3$s, _absent)
        SELECT d.id, %4$s, false FROM pggit_old o CROSS JOIN pggit.data_tables d WHERE d.relid = %5$s
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO pggit_data.%2$I (branch_id, %6$s, _absent)
        SELECT d.id, %7$s, true FROM pggit_new n CROSS JOIN pggit.data_tables d WHERE d.relid = %5$s
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'TRUNCATE' THEN
        -- (the table by its oid: it may have been renamed since)
        EXECUTE format(%8$L, TG_RELID::regclass);
    END IF;
    RETURN NULL;
END $body$
$f$, 'm_' || p_relid, v_p, v_cols, pggit._data_cols(v_o.columns, 'o.'), p_relid,
        v_keys, pggit._data_cols(v_o.key_columns, 'n.'),
        replace(format('INSERT INTO pggit_data.%I (branch_id, %s, _absent) SELECT d.id, %s, false FROM ',
                       v_p, v_cols, pggit._data_cols(v_o.columns, 't.')), '%', '%%')
        || '%s t CROSS JOIN pggit.data_tables d WHERE d.relid = ' || p_relid || ' ON CONFLICT DO NOTHING',
        v_k, pggit._data_cols(v_o.columns, 'n.'), pggit._data_key_match(v_o.key_columns, 'o', 'n'));
    EXECUTE format('REVOKE ALL ON FUNCTION pggit_data.%I() FROM PUBLIC', 'm_' || p_relid);
    EXECUTE format('REVOKE ALL ON FUNCTION pggit_data.%I() FROM PUBLIC', 'r_' || p_relid);

    EXECUTE format('DROP TRIGGER IF EXISTS pggit_data_ins ON %1$s; DROP TRIGGER IF EXISTS pggit_data_upd ON %1$s; '
                   'DROP TRIGGER IF EXISTS pggit_data_key ON %1$s; DROP TRIGGER IF EXISTS pggit_data_del ON %1$s; '
                   'DROP TRIGGER IF EXISTS pggit_data_trunc ON %1$s', v_table);
    EXECUTE format('CREATE TRIGGER pggit_data_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS pggit_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION pggit_data.%I()', v_table, 'm_' || p_relid);
    EXECUTE format('CREATE TRIGGER pggit_data_upd AFTER UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION pggit_data.%I()',
                   v_table, 'r_' || p_relid);
    EXECUTE format('CREATE TRIGGER pggit_data_key AFTER UPDATE OF %s ON %s FOR EACH STATEMENT EXECUTE FUNCTION pggit_data.%I()',
                   v_keys, v_table, 'm_' || p_relid);
    EXECUTE format('CREATE TRIGGER pggit_data_del AFTER DELETE ON %s REFERENCING OLD TABLE AS pggit_old '
                   'FOR EACH STATEMENT EXECUTE FUNCTION pggit_data.%I()', v_table, 'm_' || p_relid);
    EXECUTE format('CREATE TRIGGER pggit_data_trunc BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION pggit_data.%I()',
                   v_table, 'm_' || p_relid);
    -- (they fire under session_replication_role = replica too: a bulk load that skips triggers
    -- must not change what a branch sees)
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER pggit_data_ins, ENABLE ALWAYS TRIGGER pggit_data_upd, '
                   'ENABLE ALWAYS TRIGGER pggit_data_key, ENABLE ALWAYS TRIGGER pggit_data_del, '
                   'ENABLE ALWAYS TRIGGER pggit_data_trunc', v_table);
END $$;

-- Drop the overlay of one table (no data branch carries it any more).
CREATE FUNCTION pggit._data_drop_overlay(p_relid oid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o record;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    IF EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = p_relid) THEN
        EXECUTE format('DROP TRIGGER IF EXISTS pggit_data_ins ON %1$s; DROP TRIGGER IF EXISTS pggit_data_upd ON %1$s; '
                       'DROP TRIGGER IF EXISTS pggit_data_key ON %1$s; '
                       'DROP TRIGGER IF EXISTS pggit_data_del ON %1$s; DROP TRIGGER IF EXISTS pggit_data_trunc ON %1$s',
                       p_relid::regclass);
    END IF;
    EXECUTE format('DROP VIEW IF EXISTS %I.%I', v_o.view_schema, v_o.view_name);
    EXECUTE format('DROP FUNCTION IF EXISTS pggit_data.%I(); DROP FUNCTION IF EXISTS pggit_data.%I(); '
                   'DROP FUNCTION IF EXISTS pggit_data.%I(); DROP TABLE IF EXISTS pggit_data.%I; '
                   'DROP TABLE IF EXISTS pggit_data.%I; DROP TABLE IF EXISTS pggit_data.%I',
                   'w_' || p_relid, 'm_' || p_relid, 'r_' || p_relid, 'b_' || p_relid, 'p_' || p_relid, 'k_' || p_relid);
    DELETE FROM pggit.data_overlays WHERE relid = p_relid;
    IF NOT EXISTS (SELECT 1 FROM pggit.data_overlays o WHERE o.view_schema = v_o.view_schema) THEN
        EXECUTE format('DROP SCHEMA IF EXISTS %I', v_o.view_schema);
    END IF;
END $$;

-- Give branch p_branch (just created at HEAD) the data of every tracked table with a primary key.
CREATE FUNCTION pggit._create_data_branch(p_branch text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id      integer;
    v_t       record;
    v_skipped text[];
    v_capture text := coalesce(current_setting('pggit.capture', true), '');
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('pggit data branches'));
    -- (ids are not used again: a connection left on a deleted branch must not see a new one)
    v_id := coalesce((SELECT m.value::integer FROM pggit.meta m WHERE m.key = 'data_branch_id'), 0) + 1;
    INSERT INTO pggit.meta (key, value) VALUES ('data_branch_id', v_id::text)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    INSERT INTO pggit.data_branches (branch, id, fork_commit)
    VALUES (p_branch, v_id, (SELECT b.head FROM pggit.branches b WHERE b.name = p_branch));
    -- the engine's own objects: nothing made here is a change of the schema
    PERFORM set_config('pggit.capture', 'off', true);
    FOR v_t IN
        SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, o.relid IS NOT NULL AS has_overlay,
               (SELECT array_agg(a.attname::text ORDER BY k.o)
                  FROM pg_constraint x CROSS JOIN LATERAL unnest(x.conkey) WITH ORDINALITY k(attnum, o)
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                 WHERE x.conrelid = c.oid AND x.contype = 'p') AS keys
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pggit.data_overlays o ON o.relid = c.oid
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence = 'p'
           AND pggit._tracked_schema(n.nspname)
         ORDER BY n.nspname, c.relname
    LOOP
        IF v_t.keys IS NULL THEN
            v_skipped := v_skipped || v_t.name;
            CONTINUE;
        END IF;
        -- the fork is one instant: writers in flight finish first, and later ones save pre-images
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', v_t.oid::regclass);
        IF NOT v_t.has_overlay THEN
            CREATE SCHEMA IF NOT EXISTS pggit_data;
            REVOKE ALL ON SCHEMA pggit_data FROM PUBLIC;
            PERFORM pggit._data_make_overlay(v_t.oid, v_t.keys);
        END IF;
        INSERT INTO pggit.data_tables (id, relid) VALUES (v_id, v_t.oid);
    END LOOP;
    IF v_skipped IS NOT NULL THEN
        UPDATE pggit.data_branches SET skipped = v_skipped WHERE branch = p_branch;
        RAISE NOTICE 'data branch %: tables without a primary key are not carried: %', quote_literal(p_branch),
            array_to_string(v_skipped, ', ');
    END IF;
    PERFORM set_config('pggit.capture', v_capture, true);
END $$;

-- Delete the data of branch p_branch: its rows in the overlays, and the overlays no other data
-- branch needs.
CREATE FUNCTION pggit._drop_data_branch(p_branch text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id      integer;
    v_rel     oid;
    v_capture text := coalesce(current_setting('pggit.capture', true), '');
BEGIN
    SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_branch;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('pggit data branches'));
    PERFORM set_config('pggit.capture', 'off', true);
    FOR v_rel IN SELECT t.relid FROM pggit.data_tables t WHERE t.id = v_id LOOP
        DELETE FROM pggit.data_tables t WHERE t.id = v_id AND t.relid = v_rel;
        IF EXISTS (SELECT 1 FROM pggit.data_tables t WHERE t.relid = v_rel) THEN
            EXECUTE format('DELETE FROM pggit_data.%I WHERE branch_id = $1', 'b_' || v_rel) USING v_id;
            EXECUTE format('DELETE FROM pggit_data.%I WHERE branch_id = $1', 'p_' || v_rel) USING v_id;
        ELSE
            PERFORM pggit._data_drop_overlay(v_rel);
        END IF;
    END LOOP;
    DELETE FROM pggit.data_branches WHERE branch = p_branch;
    PERFORM set_config('pggit.capture', v_capture, true);
END $$;

-- Data branches: name, id (the value of the setting pggit.data_branch that shows it), the
-- commit they forked at, the tables they carry, the rows they hold (their own and the
-- pre-images kept for them) and the bytes those take (NULL without p_sizes: they are counted),
-- and the tables they do not carry.
CREATE FUNCTION pggit.data_branches(p_sizes boolean DEFAULT true)
RETURNS TABLE (branch text, id integer, fork_commit text, created_at timestamptz, tables integer, rows bigint, bytes bigint,
               skipped text[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_d record;
    v_t record;
    v_n bigint;
    v_s bigint;
    v_o text;
BEGIN
    FOR v_d IN SELECT d.* FROM pggit.data_branches d ORDER BY d.branch LOOP
        branch := v_d.branch; id := v_d.id; fork_commit := v_d.fork_commit; created_at := v_d.created_at;
        skipped := v_d.skipped; tables := 0; rows := CASE WHEN p_sizes THEN 0 END; bytes := rows;
        FOR v_t IN SELECT t.relid FROM pggit.data_tables t WHERE t.id = v_d.id LOOP
            tables := tables + 1;
            CONTINUE WHEN NOT p_sizes;
            FOREACH v_o IN ARRAY ARRAY['b_', 'p_'] LOOP
                EXECUTE format('SELECT count(*), coalesce(sum(pg_column_size(x.*)), 0) FROM pggit_data.%I x WHERE x.branch_id = $1',
                               v_o || v_t.relid)
                   INTO v_n, v_s USING v_d.id;
                rows := rows + v_n; bytes := bytes + v_s;
            END LOOP;
        END LOOP;
        RETURN NEXT;
    END LOOP;
END $$;

-- The settings under which a connection works on data branch p_branch: pggit.data_branch (its
-- id) and a search_path that puts before each schema of p_path (the application's own
-- search_path; PostgreSQL's default when not given) the schema that shows it on data branches.
CREATE FUNCTION pggit.data_settings(p_branch text, p_path text DEFAULT '"$user", public')
RETURNS TABLE (data_branch integer, search_path text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_out text[] := '{}';
    v_s   text;
    v_nsp oid;
BEGIN
    SELECT d.id INTO data_branch FROM pggit.data_branches d WHERE d.branch = p_branch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % has no data', quote_literal(p_branch)
            USING ERRCODE = 'PGG13', HINT = 'create it with pggit.create_branch(name, with_data => true)';
    END IF;
    FOREACH v_s IN ARRAY string_to_array(coalesce(p_path, ''), ',') LOOP
        v_s := btrim(v_s);
        v_s := CASE WHEN v_s = '"$user"' OR v_s = '$user' THEN session_user::text
                    WHEN v_s LIKE '"%"' THEN replace(substr(v_s, 2, length(v_s) - 2), '""', '"')
                    ELSE lower(v_s) END;
        SELECT n.oid INTO v_nsp FROM pg_namespace n WHERE n.nspname = v_s;
        IF FOUND THEN
            IF EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = pggit._data_view_schema(v_nsp)) THEN
                v_out := v_out || pggit._data_view_schema(v_nsp);
            END IF;
            v_out := v_out || v_s;  -- (what the branch does not show: functions, types, sequences)
        END IF;
    END LOOP;
    search_path := (SELECT string_agg(quote_ident(x), ', ' ORDER BY o) FROM unnest(v_out) WITH ORDINALITY u(x, o));
    RETURN NEXT;
END $$;

-- An overlay of carried table p_relid, qualified: kind 'b' (the branches' rows), 'p' (pre-images)
-- or 'k' (key changes staged for one statement).
CREATE FUNCTION pggit._data_rel(p_relid oid, p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'pggit_data.' || quote_ident(p_kind || '_' || p_relid) $$;

-- The FROM clause of the keys data branch p_id (an SQL expression: a literal or a parameter)
-- changed in table p_relid or that the checked-out side changed since its fork: one row per key
-- (pggit_k) with the checked-out row (pggit_m), the branch's row (pggit_b) and the pre-image
-- (pggit_p), each all NULL where there is none.
CREATE FUNCTION pggit._data_changed_from(p_relid oid, p_id text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_keys text[] := (SELECT o.key_columns FROM pggit.data_overlays o WHERE o.relid = p_relid);
BEGIN
    RETURN format($q$
          FROM (SELECT %1$s FROM %2$s WHERE branch_id = %3$s
                UNION SELECT %1$s FROM %4$s WHERE branch_id = %3$s) pggit_k
          -- (a lookup by key per changed row: as a join the planner may scan the whole table)
          LEFT JOIN LATERAL (SELECT * FROM %5$s pggit_t WHERE %6$s OFFSET 0) pggit_m ON true
          LEFT JOIN %2$s pggit_b ON pggit_b.branch_id = %3$s AND %7$s
          LEFT JOIN %4$s pggit_p ON pggit_p.branch_id = %3$s AND %8$s$q$,
        pggit._data_cols(v_keys), pggit._data_rel(p_relid, 'b'), p_id, pggit._data_rel(p_relid, 'p'), p_relid::regclass,
        pggit._data_key_match(v_keys, 'pggit_t', 'pggit_k'), pggit._data_key_match(v_keys, 'pggit_b', 'pggit_k'),
        pggit._data_key_match(v_keys, 'pggit_p', 'pggit_k'));
END $$;

-- One table's rows that differ between the checked-out side and data branch p_id since its
-- fork, by key: the SQL of a query returning (key jsonb, in_checked_out, in_branch, columns
-- (changed), checked_out jsonb, branch jsonb). Only keys either side changed are read: the
-- branch's rows and the pre-images kept for it.
CREATE FUNCTION pggit._data_diff_sql(p_relid oid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o    record;
    v_k1   text;
    v_cmp  text;
    v_vcol text;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    v_k1 := quote_ident(v_o.key_columns[1]);
    -- each column of the branch's row: its own version, else the pre-image, else the table's
    SELECT string_agg(format('CASE WHEN pggit_b.%1$s IS NOT NULL THEN pggit_b.%2$I WHEN pggit_p.%1$s IS NOT NULL THEN pggit_p.%2$I ELSE pggit_m.%2$I END AS %2$I',
                             v_k1, c), ', ' ORDER BY o)
      INTO v_vcol FROM unnest(v_o.columns) WITH ORDINALITY u(c, o);
    -- per column: the type's own equality where it has one, else the text form (json, point)
    SELECT string_agg(format('CASE WHEN %s THEN %L END',
               CASE WHEN EXISTS (SELECT 1 FROM pg_operator op
                                  WHERE op.oprname = '=' AND op.oprleft = coalesce(nullif(ty.typbasetype, 0), ty.oid)
                                    AND op.oprright = coalesce(nullif(ty.typbasetype, 0), ty.oid))
                    THEN format('pggit_m.%1$I IS DISTINCT FROM pggit_v.%1$I', a.attname)
                    ELSE format('pggit_m.%1$I::text IS DISTINCT FROM pggit_v.%1$I::text', a.attname) END,
               a.attname), ', ' ORDER BY a.attnum)
      INTO v_cmp
      FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
     WHERE a.attrelid = p_relid AND a.attname = ANY (v_o.columns) AND NOT a.attisdropped;
    RETURN format($q$
        SELECT jsonb_build_object(%1$s) AS key, pggit_m.%2$s IS NOT NULL AS in_m,
               CASE WHEN pggit_b.%2$s IS NOT NULL THEN NOT pggit_b._deleted WHEN pggit_p.%2$s IS NOT NULL THEN NOT pggit_p._absent
                    ELSE pggit_m.%2$s IS NOT NULL END AS in_v,
               array_remove(ARRAY[%3$s]::text[], NULL) AS cols, to_jsonb(pggit_m) AS m_row, to_jsonb(pggit_v) AS v_row
          %4$s
          CROSS JOIN LATERAL (SELECT %5$s) pggit_v$q$,
        (SELECT string_agg(format('%L, pggit_k.%I', c, c), ', ' ORDER BY o) FROM unnest(v_o.key_columns) WITH ORDINALITY u(c, o)),
        v_k1, v_cmp, pggit._data_changed_from(p_relid, '$1'), v_vcol);
END $$;

-- Rows that differ between the checked-out tables and a data branch, by primary key: table,
-- key (jsonb), change ('added', 'deleted' or 'changed' going from p_from to p_to), the changed
-- columns, and both rows. One side is a data branch, the other HEAD or the checked-out branch.
CREATE FUNCTION pggit.data_diff(p_from text, p_to text, p_table text DEFAULT NULL)
RETURNS TABLE (table_identity text, key jsonb, change text, columns text[], old_row jsonb, new_row jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id   integer;
    v_flip boolean;
    v_t    record;
BEGIN
    IF (p_from IS NULL OR p_from IN ('HEAD', pggit.current_branch()))
       AND EXISTS (SELECT 1 FROM pggit.data_branches d WHERE d.branch = p_to) THEN
        SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_to;
        v_flip := false;
    ELSIF (p_to IS NULL OR p_to IN ('HEAD', pggit.current_branch()))
       AND EXISTS (SELECT 1 FROM pggit.data_branches d WHERE d.branch = p_from) THEN
        SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_from;
        v_flip := true;
    ELSE
        RAISE EXCEPTION 'data_diff compares a data branch with the checked-out branch, not % and %',
            quote_nullable(p_from), quote_nullable(p_to)
            USING ERRCODE = 'PGG13', HINT = 'pggit.data_branches() lists the branches that carry data';
    END IF;
    FOR v_t IN SELECT o.relid, o.identity FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid
                WHERE t.id = v_id AND (p_table IS NULL OR o.identity IN (p_table, 'table ' || p_table))
                ORDER BY o.identity LOOP
        RETURN QUERY EXECUTE format($q$
            SELECT %1$L::text, d.key,
                   CASE WHEN d.in_m AND d.in_v THEN 'changed' WHEN d.in_v <> %2$L THEN 'added' ELSE 'deleted' END,
                   CASE WHEN d.in_m AND d.in_v THEN d.cols END,
                   CASE WHEN %2$L THEN d.v_row ELSE d.m_row END,
                   CASE WHEN %2$L THEN d.m_row ELSE d.v_row END
              FROM (%3$s) d
             WHERE d.in_m <> d.in_v OR (d.in_m AND d.in_v AND cardinality(d.cols) > 0)
             ORDER BY d.key$q$, v_t.identity, v_flip, pggit._data_diff_sql(v_t.relid))
        USING v_id;
    END LOOP;
END $$;

-- After ALTER TABLE: a table that data branches carry must keep the columns their overlays
-- name (adding columns is fine; PostgreSQL itself refuses to drop or retype a column a view
-- shows). Renaming one would break the triggers that keep the branches' fork.
CREATE FUNCTION pggit._data_check_altered() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_bad text;
BEGIN
    SELECT o.identity INTO v_bad
      FROM pg_event_trigger_ddl_commands() c JOIN pggit.data_overlays o ON o.relid = c.objid
     WHERE c.classid = 'pg_class'::regclass
       AND NOT o.columns <@ array(SELECT a.attname::text FROM pg_attribute a
                                  WHERE a.attrelid = o.relid AND a.attnum > 0 AND NOT a.attisdropped)
     LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'cannot rename a column of %: data branches carry it', v_bad
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'delete its data branches first (SELECT * FROM pggit.data_branches())';
    END IF;
END $$;

-- Three-way data merge of data branch p_id into the checked-out table p_relid, by primary key.
-- Base: the fork (the pre-image where the checked-out side changed a row since, else its row).
-- Source: the branch. Target: the checked-out table. Only keys either side changed are read.
-- Fills temporary table pg_temp.pggit_merge_<relid> with one row per changed key:
--   key (jsonb), action ('insert', 'update', 'delete', 'none' or 'conflict'), conflict (why),
--   columns (the cells changed differently on both sides), base/source/target/merged (jsonb),
--   and the typed merged row (m__<column>), and returns its name.
CREATE FUNCTION pggit._data_merge_table(p_id integer, p_relid oid) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o     record;
    v_tmp   text := 'pggit_merge_' || p_relid;
    v_k1    text;
    v_vals  text;   -- base__c, source__c, target__c per column
    v_same  text;   -- the target kept every cell of the base
    v_noop  text;   -- the merged row is the target's
    v_conf  text;   -- per column: the name when both sides changed it differently
    v_merge text;   -- per column: the merged value
    v_out   text;   -- per column: m__c
    v_types text;
    v_c     record;
    v_eq    text;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    v_k1 := quote_ident(v_o.key_columns[1]);
    v_vals := ''; v_conf := ''; v_merge := ''; v_out := ''; v_same := ''; v_noop := '';
    FOR v_c IN SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type,
                      EXISTS (SELECT 1 FROM pg_type ty JOIN pg_operator op ON op.oprname = '='
                                     AND op.oprleft = coalesce(nullif(ty.typbasetype, 0), ty.oid)
                                     AND op.oprright = coalesce(nullif(ty.typbasetype, 0), ty.oid)
                               WHERE ty.oid = a.atttypid) AS has_eq
                 FROM unnest(v_o.columns) WITH ORDINALITY u(c, o)
                 JOIN pg_attribute a ON a.attrelid = p_relid AND a.attname = u.c AND NOT a.attisdropped
                ORDER BY u.o LOOP
        v_eq := CASE WHEN v_c.has_eq THEN '%1$s IS NOT DISTINCT FROM %2$s' ELSE '%1$s::text IS NOT DISTINCT FROM %2$s::text' END;
        v_vals := v_vals || format(', CASE WHEN pggit_p.%1$s IS NOT NULL THEN pggit_p.%2$I ELSE pggit_m.%2$I END AS %3$I'
                                   ', CASE WHEN pggit_b.%1$s IS NOT NULL THEN pggit_b.%2$I WHEN pggit_p.%1$s IS NOT NULL THEN pggit_p.%2$I ELSE pggit_m.%2$I END AS %4$I'
                                   ', pggit_m.%2$I AS %5$I',
                                   v_k1, v_c.name, 'base__' || v_c.name, 'source__' || v_c.name, 'target__' || v_c.name);
        -- a cell conflicts when the two sides changed it to different values
        v_conf := v_conf || format(', CASE WHEN NOT (%s) AND NOT (r.in_base AND ((%s) OR (%s))) THEN %L END',
                                   format(v_eq, 'r.' || quote_ident('source__' || v_c.name), 'r.' || quote_ident('target__' || v_c.name)),
                                   format(v_eq, 'r.' || quote_ident('source__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)),
                                   format(v_eq, 'r.' || quote_ident('target__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)),
                                   v_c.name);
        -- the merged cell: the source's for a row only it has, else the target's unless only the
        -- source changed it
        v_merge := v_merge || format(', CASE WHEN NOT r.in_tgt OR (r.in_base AND (%s)) THEN r.%I ELSE r.%I END AS %I',
                                     format(v_eq, 'r.' || quote_ident('target__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)),
                                     'source__' || v_c.name, 'target__' || v_c.name, 'm__' || v_c.name);
        v_same := v_same || format(' AND %s', format(v_eq, 'r.' || quote_ident('target__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)));
        -- (the merged cell is the target's: nothing to write)
        v_noop := v_noop || format(' AND ((%s) OR NOT (r.in_base AND (%s)))',
                                   format(v_eq, 'r.' || quote_ident('source__' || v_c.name), 'r.' || quote_ident('target__' || v_c.name)),
                                   format(v_eq, 'r.' || quote_ident('target__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)));
        v_out := v_out || format(', %I', 'm__' || v_c.name);
    END LOOP;
    EXECUTE format('DROP TABLE IF EXISTS pg_temp.%I', v_tmp);
    EXECUTE format($q$
        CREATE TEMP TABLE %1$I ON COMMIT DROP AS
        WITH r AS (
            SELECT jsonb_build_object(%2$s) AS key,
                   pggit_b.%3$s IS NOT NULL AS src_changed,
                   CASE WHEN pggit_p.%3$s IS NOT NULL THEN NOT pggit_p._absent ELSE pggit_m.%3$s IS NOT NULL END AS in_base,
                   CASE WHEN pggit_b.%3$s IS NOT NULL THEN NOT pggit_b._deleted
                        WHEN pggit_p.%3$s IS NOT NULL THEN NOT pggit_p._absent ELSE pggit_m.%3$s IS NOT NULL END AS in_src,
                   pggit_m.%3$s IS NOT NULL AS in_tgt
                   %4$s
              %5$s
        ),
        c AS (
            SELECT r.*, array_remove(ARRAY[NULL::text %6$s], NULL) AS cols, (true %7$s) AS target_kept_base,
                   (true %9$s) AS noop %8$s
              FROM r
        )
        SELECT c.*,
               CASE WHEN NOT c.src_changed OR (NOT c.in_src AND NOT c.in_tgt) THEN 'none'
                    WHEN NOT c.in_src THEN CASE WHEN c.in_base AND c.target_kept_base THEN 'delete' ELSE 'conflict' END
                    WHEN NOT c.in_tgt THEN CASE WHEN NOT c.in_base THEN 'insert' ELSE 'conflict' END
                    WHEN cardinality(c.cols) > 0 THEN 'conflict'
                    WHEN c.noop THEN 'none'
                    ELSE 'update' END AS action,
               CASE WHEN NOT c.src_changed OR (NOT c.in_src AND NOT c.in_tgt) THEN NULL
                    WHEN NOT c.in_src AND NOT (c.in_base AND c.target_kept_base) THEN 'deleted on the branch, changed on the checked-out side'
                    WHEN c.in_src AND NOT c.in_tgt AND c.in_base THEN 'changed on the branch, deleted on the checked-out side'
                    WHEN c.in_src AND c.in_tgt AND cardinality(c.cols) > 0 THEN
                         CASE WHEN c.in_base THEN 'changed on both sides' ELSE 'added on both sides' END
               END AS conflict
          FROM c$q$,
        v_tmp,
        (SELECT string_agg(format('%L, pggit_k.%I', k, k), ', ' ORDER BY o) FROM unnest(v_o.key_columns) WITH ORDINALITY u(k, o)),
        v_k1, v_vals, pggit._data_changed_from(p_relid, p_id::text), v_conf, v_same, v_merge, v_noop);
    EXECUTE format('CREATE INDEX ON pg_temp.%I (key)', v_tmp);  -- (resolutions find their rows by key)
    RETURN v_tmp;
END $$;

-- jsonb_build_object over the prefixed columns of merge table t: NULL when the side has no row.
CREATE FUNCTION pggit._data_side_json(p_cols text[], p_prefix text, p_present text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('CASE WHEN t.%I THEN jsonb_build_object(%s) END', p_present,
                  string_agg(format('%L, t.%I', c, p_prefix || c), ', ' ORDER BY o))
      FROM unnest(p_cols) WITH ORDINALITY u(c, o)
$$;

-- The rows of one merge table as the merge reports them.
CREATE FUNCTION pggit._data_merge_rows(p_relid oid, p_tmp text)
RETURNS TABLE (table_identity text, key jsonb, action text, conflict text, columns text[], base jsonb, source jsonb,
               target jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o record;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    RETURN QUERY EXECUTE format('SELECT %L::text, t.key, t.action, t.conflict, CASE WHEN t.action = %L THEN t.cols END, %s, %s, %s '
                                'FROM pg_temp.%I t WHERE t.action <> %L ORDER BY t.key',
                                v_o.identity, 'conflict',
                                pggit._data_side_json(v_o.columns, 'base__', 'in_base'),
                                pggit._data_side_json(v_o.columns, 'source__', 'in_src'),
                                pggit._data_side_json(v_o.columns, 'target__', 'in_tgt'),
                                p_tmp, 'none');
END $$;

-- Apply resolutions to one merge table. Each resolution: {"table", "key", "column" (absent: the
-- whole row), "take": "source" | "target" | "base" | "value", "value" (with "value")}.
CREATE FUNCTION pggit._data_resolve(p_relid oid, p_tmp text, p_resolutions jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o    record;
    v_r    jsonb;
    v_take text;
    v_col  text;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    FOR v_r IN SELECT r FROM jsonb_array_elements(coalesce(p_resolutions, '[]')) r
                WHERE r->>'table' IN (v_o.identity, substr(v_o.identity, 7)) LOOP
        v_take := v_r->>'take';
        v_col := v_r->>'column';
        IF v_take IS NULL OR v_take NOT IN ('source', 'target', 'base', 'value') OR (v_take = 'value' AND v_col IS NULL)
           OR jsonb_typeof(v_r->'key') IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'invalid data resolution %', v_r
                USING ERRCODE = 'PGG07', HINT = 'each needs "table", "key" (an object), "take" (source, target, base or value with "column")';
        END IF;
        IF v_col IS NOT NULL AND NOT v_col = ANY (v_o.columns) THEN
            RAISE EXCEPTION 'table % has no column %', v_o.identity, quote_ident(v_col) USING ERRCODE = 'PGG07';
        END IF;
        IF v_col IS NULL THEN
            -- the whole row from one side
            EXECUTE format('UPDATE pg_temp.%1$I t SET action = CASE
                    WHEN $2 = ''target'' THEN ''none''
                    WHEN NOT (CASE $2 WHEN ''source'' THEN t.in_src ELSE t.in_base END) THEN CASE WHEN t.in_tgt THEN ''delete'' ELSE ''none'' END
                    WHEN t.in_tgt THEN ''update'' ELSE ''insert'' END,
                  cols = ''{}'' %2$s
                 WHERE t.key = $1', p_tmp,
                (SELECT string_agg(format(', %1$I = CASE $2 WHEN ''source'' THEN t.%2$I WHEN ''base'' THEN t.%3$I ELSE t.%1$I END',
                                          'm__' || c, 'source__' || c, 'base__' || c), '')
                   FROM unnest(v_o.columns) c))
            USING v_r->'key', v_take;
        ELSE
            -- one cell
            EXECUTE format('UPDATE pg_temp.%1$I t SET %2$I = CASE $2 WHEN ''source'' THEN t.%3$I WHEN ''target'' THEN t.%4$I
                                   WHEN ''base'' THEN t.%5$I ELSE (jsonb_populate_record(NULL::%6$s, jsonb_build_object($3, $4))).%7$I END,
                                 cols = array_remove(t.cols, $3),
                                 action = CASE WHEN t.action = ''conflict'' AND t.in_src AND t.in_tgt
                                               AND cardinality(array_remove(t.cols, $3)) = 0 THEN ''update'' ELSE t.action END
                             WHERE t.key = $1',
                           p_tmp, 'm__' || v_col, 'source__' || v_col, 'target__' || v_col, 'base__' || v_col,
                           p_relid::regclass, v_col)
            USING v_r->'key', v_take, v_col, v_r->'value';
        END IF;
    END LOOP;
END $$;

-- What merging data branch p_branch into the checked-out tables would do, by primary key:
-- action 'insert', 'update', 'delete' or 'conflict' (with why, and the cells for 'changed on
-- both sides'), and the base, branch and checked-out rows. Changes nothing.
CREATE FUNCTION pggit.data_merge_preview(p_branch text, p_resolutions jsonb DEFAULT '[]')
RETURNS TABLE (table_identity text, key jsonb, action text, conflict text, columns text[], base jsonb, source jsonb,
               target jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id  integer;
    v_t   record;
    v_tmp text;
BEGIN
    SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_branch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % has no data', quote_literal(p_branch) USING ERRCODE = 'PGG13';
    END IF;
    FOR v_t IN SELECT o.relid FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid
                WHERE t.id = v_id ORDER BY o.identity LOOP
        v_tmp := pggit._data_merge_table(v_id, v_t.relid);
        PERFORM pggit._data_resolve(v_t.relid, v_tmp, p_resolutions);
        RETURN QUERY SELECT * FROM pggit._data_merge_rows(v_t.relid, v_tmp);
        EXECUTE format('DROP TABLE pg_temp.%I', v_tmp);
    END LOOP;
END $$;

-- Merge data branch p_branch into the checked-out tables, three-way by primary key, with
-- p_resolutions for its conflicts (see _data_resolve). All or nothing: with a conflict left, or
-- when the merged rows break a constraint (unique, foreign key, check), nothing is applied and
-- the rows in the way are returned (status 'conflicts'); else every table is changed in this
-- transaction (status 'merged', one row per table with the counts) and the branch starts again
-- from the merged rows.
CREATE FUNCTION pggit.merge_data(p_branch text, p_resolutions jsonb DEFAULT '[]')
RETURNS TABLE (status text, table_identity text, key jsonb, action text, conflict text, columns text[], counts jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_id      integer;
    v_t       record;
    v_tmps    jsonb := '{}';
    v_tmp     text;
    v_n       bigint;
    v_counts  jsonb := '{}';
    v_msg     text;
    v_state   text;
    v_table   text;
    v_failed  boolean := false;
BEGIN
    SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_branch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % has no data', quote_literal(p_branch) USING ERRCODE = 'PGG13';
    END IF;
    -- the checked-out tables hold still while the merge reads and writes them
    FOR v_t IN SELECT o.relid FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid
                WHERE t.id = v_id ORDER BY o.relid LOOP
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', v_t.relid::regclass);
    END LOOP;
    FOR v_t IN SELECT o.relid, o.identity FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid
                WHERE t.id = v_id ORDER BY o.identity LOOP
        v_tmp := pggit._data_merge_table(v_id, v_t.relid);
        PERFORM pggit._data_resolve(v_t.relid, v_tmp, p_resolutions);
        v_tmps := v_tmps || jsonb_build_object(v_t.relid::text, v_tmp);
        RETURN QUERY EXECUTE format('SELECT %L::text, %L::text, t.key, t.action, t.conflict, t.cols, NULL::jsonb FROM pg_temp.%I t '
                                    'WHERE t.action = %L ORDER BY t.key', 'conflicts', v_t.identity, v_tmp, 'conflict');
        IF FOUND THEN
            v_failed := true;
        END IF;
    END LOOP;
    IF v_failed THEN
        PERFORM pggit._audit('merge_data', jsonb_build_object('branch', p_branch, 'status', 'conflicts'), 'refused',
                             'data conflicts', v_started);
        RETURN;
    END IF;
    BEGIN
        SET CONSTRAINTS ALL IMMEDIATE;
        -- deletes from the referencing tables first, then inserts and updates into the referenced ones first
        FOR v_t IN SELECT o.relid, o.identity, o.key_columns, o.columns FROM pggit.data_tables t
                     JOIN pggit.data_overlays o ON o.relid = t.relid WHERE t.id = v_id
                    ORDER BY (SELECT count(*) FROM pg_constraint f WHERE f.conrelid = o.relid AND f.contype = 'f') DESC, o.identity LOOP
            v_table := v_t.identity;
            EXECUTE format('DELETE FROM %s x USING pg_temp.%I t WHERE t.action = %L AND %s',
                           v_t.relid::regclass, v_tmps->>v_t.relid::text, 'delete',
                           (SELECT string_agg(format('x.%I = t.%I', k, 'm__' || k), ' AND ') FROM unnest(v_t.key_columns) k));
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_counts := v_counts || jsonb_build_object(v_t.identity, jsonb_build_object('deleted', v_n));
        END LOOP;
        FOR v_t IN SELECT o.relid, o.identity, o.key_columns, o.columns,
                          array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = o.relid AND a.attname = ANY (o.columns)
                                   AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum) AS writable
                     FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid WHERE t.id = v_id
                    ORDER BY (SELECT count(*) FROM pg_constraint f WHERE f.conrelid = o.relid AND f.contype = 'f'), o.identity LOOP
            v_table := v_t.identity;
            EXECUTE format('UPDATE %s x SET (%s) = (SELECT %s) FROM pg_temp.%I t WHERE t.action = %L AND %s',
                           v_t.relid::regclass, pggit._data_cols(v_t.writable),
                           (SELECT string_agg(format('t.%I', 'm__' || c), ', ') FROM unnest(v_t.writable) c),
                           v_tmps->>v_t.relid::text, 'update',
                           (SELECT string_agg(format('x.%I = t.%I', k, 'm__' || k), ' AND ') FROM unnest(v_t.key_columns) k));
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_counts := jsonb_set(v_counts, ARRAY[v_t.identity, 'updated'], to_jsonb(v_n));
            EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM pg_temp.%I t WHERE t.action = %L',
                           v_t.relid::regclass, pggit._data_cols(v_t.writable),
                           (SELECT string_agg(format('t.%I', 'm__' || c), ', ') FROM unnest(v_t.writable) c),
                           v_tmps->>v_t.relid::text, 'insert');
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_counts := jsonb_set(v_counts, ARRAY[v_t.identity, 'inserted'], to_jsonb(v_n));
        END LOOP;
    EXCEPTION WHEN integrity_constraint_violation OR check_violation OR not_null_violation OR unique_violation
                   OR foreign_key_violation OR exclusion_violation THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
        PERFORM pggit._audit('merge_data', jsonb_build_object('branch', p_branch, 'status', 'conflicts'), 'refused',
                             v_state || ': ' || v_msg, v_started);
        RETURN QUERY SELECT 'conflicts'::text, v_table, NULL::jsonb, 'conflict'::text,
                            'the merged rows break a constraint: ' || v_msg, NULL::text[], NULL::jsonb;
        RETURN;
    END;
    -- the branch starts again from the merged rows
    FOR v_t IN SELECT t.relid FROM pggit.data_tables t WHERE t.id = v_id LOOP
        EXECUTE format('DELETE FROM pggit_data.%I WHERE branch_id = $1', 'b_' || v_t.relid) USING v_id;
        EXECUTE format('DELETE FROM pggit_data.%I WHERE branch_id = $1', 'p_' || v_t.relid) USING v_id;
        EXECUTE format('DROP TABLE pg_temp.%I', v_tmps->>v_t.relid::text);
    END LOOP;
    PERFORM pggit._audit('merge_data', jsonb_build_object('branch', p_branch, 'status', 'merged', 'tables', v_counts),
                         'ok', NULL, v_started);
    RETURN QUERY SELECT 'merged'::text, e.key, NULL::jsonb, NULL::text, NULL::text, NULL::text[], e.value
                   FROM jsonb_each(v_counts) e ORDER BY e.key;
END $$;

-- ---- 90_install.sql ----
-- pgGit engine: version, initial import, event triggers, privileges.

CREATE FUNCTION pggit.version() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT value FROM pggit.meta WHERE key = 'version'
$$;

-- Import the database's current schema as the first commit on branch main.
CREATE FUNCTION pggit._initial_import() RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_descs   pggit.objdesc[];
    v_changes pggit.change[];
    v_id      text;
BEGIN
    SELECT array_agg(pggit._describe(r.classid, r.objid)) INTO v_descs FROM pggit._all_roots() r;
    v_changes := coalesce(pggit._record_changes(coalesce(v_descs, '{}'), '{}', '{}', '{}', '{}'), '{}');
    v_id := pggit._make_commit(NULL, '{}', pggit._author(), 'Initial import', v_changes);
    INSERT INTO pggit.branches (name, head, created_by, created_by_role)
    VALUES ('main', v_id, coalesce(pggit._person(), pggit._author()),
            CASE WHEN pggit._person() <> pggit._author() THEN pggit._author() END);
    INSERT INTO pggit.head (branch) VALUES ('main');
    PERFORM pggit._audit('init', jsonb_build_object('commit', v_id, 'objects', cardinality(v_changes)), 'ok', NULL, v_started);
    RETURN v_id;
END $$;

-- After an upgrade: objects whose description this version writes differently (a kind it
-- describes more fully), and objects of kinds it tracks for the first time, take the new form in
-- one commit on HEAD, so that they do not show as drift. p_skip: identities that drifted before the upgrade (changes made behind the engine's
-- back stay drift). Returns how many objects changed.
CREATE FUNCTION pggit._refresh_descriptions(p_skip text[], p_message text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_descs   pggit.objdesc[];
    v_changes pggit.change[];
    v_cls     oid[];
    v_obj     oid[];
BEGIN
    PERFORM pggit.flush();
    -- (and the objects of kinds this version tracks for the first time: the live map has none)
    SELECT array_agg(s.d) INTO v_descs
      FROM (SELECT pggit._describe(r.classid, r.objid) AS d FROM pggit._all_roots() r) s
      LEFT JOIN pggit.live_objects l ON l.identity = (s.d).identity
     WHERE (s.d).identity IS NOT NULL AND NOT (s.d).identity = ANY (p_skip)
       AND l.hash IS DISTINCT FROM pggit._sha256((s.d).definition || E'\n' || (s.d).detail::text);
    -- (objects recorded on their own that now belong to another, such as the I/O functions of a
    -- base type: their addresses are touched, so they leave the tree)
    SELECT coalesce(array_agg(l.classid), '{}'), coalesce(array_agg(l.objid), '{}') INTO v_cls, v_obj
      FROM pggit.live_objects l CROSS JOIN LATERAL pggit._root(l.classid, l.objid) r
     WHERE NOT l.identity = ANY (p_skip) AND r.objid IS NOT NULL AND (r.classid, r.objid) IS DISTINCT FROM (l.classid, l.objid);
    IF v_descs IS NULL AND v_cls = '{}' THEN
        RETURN 0;
    END IF;
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), v_cls, v_obj, '{}', '{}');
    IF v_changes IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pggit._commit_live(v_changes, p_message, v_started);
    RETURN cardinality(v_changes);
END $$;

CREATE EVENT TRIGGER pggit_sql_drop ON sql_drop EXECUTE FUNCTION pggit._on_sql_drop();
CREATE EVENT TRIGGER pggit_ddl_start ON ddl_command_start EXECUTE FUNCTION pggit._on_ddl_start();
CREATE EVENT TRIGGER pggit_ddl_end ON ddl_command_end EXECUTE FUNCTION pggit._on_ddl_end();

-- After an upgrade, once the functions are this version's: objects the engine generated with an
-- earlier version's code (a data branch's triggers on the tables it carries) are made again.
CREATE FUNCTION pggit._after_upgrade() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pggit._data_fork_triggers(o.relid) FROM pggit.data_overlays o ORDER BY o.relid;
END $$;

-- pggit_admin: the roles that may turn capture off (SET pggit.capture = off) besides the engine's
-- owner and superusers. One role for the whole server, made by the first install that can.
DO $$
BEGIN
    IF to_regrole('pggit_admin') IS NULL THEN
        CREATE ROLE pggit_admin NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;  -- made by a concurrent install
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'pgGit: role pggit_admin not created (CREATEROLE needed): only the engine''s owner and superusers may turn capture off';
END $$;

-- Nothing in pggit is granted to PUBLIC; grant pggit_* privileges to roles explicitly.
REVOKE ALL ON ALL TABLES IN SCHEMA pggit FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pggit FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pggit FROM PUBLIC;
REVOKE ALL ON TYPE pggit.objdesc, pggit.change FROM PUBLIC;
