-- pgGit 0.3.0 -> 0.4.0: capture's per-transaction state moves from settings any role could set
-- (pggit.dropped, pggit.absorb_*) to table pggit.tx_state, written only by the engine; turning
-- capture off is allowed only to the engine's owner, superusers and members of pggit_admin.
-- Functions are re-created from the sources by the installer.
CREATE TABLE pggit.tx_state (
    xid   xid8 NOT NULL,
    key   text NOT NULL,
    value text NOT NULL DEFAULT '',
    PRIMARY KEY (xid, key),
    CONSTRAINT tx_state_key_is_known CHECK (key IN ('dropped', 'absorb', 'absorb_touched', 'absorb_dropped'))
);
REVOKE ALL ON pggit.tx_state FROM PUBLIC;

DO $$
BEGIN
    IF to_regrole('pggit_admin') IS NULL THEN
        CREATE ROLE pggit_admin NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'pgGit: role pggit_admin not created (CREATEROLE needed): only the engine''s owner and superusers may turn capture off';
END $$;

-- Ancestry index (merge base and ahead/behind in milliseconds, issue 11): tables chains,
-- commit_chains and chain_reach, filled for the existing commits in commit order, then kept by
-- trigger commits_index. The functions below are the sources' (the placement needs them here);
-- the installer re-creates them, and _index_commit, from the sources.
CREATE TABLE pggit.chains (
    chain_id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    length     integer NOT NULL,
    fork_chain integer REFERENCES pggit.chains,
    fork_pos   integer,
    fork_generation integer
);
CREATE TABLE pggit.commit_chains (
    commit_id text PRIMARY KEY REFERENCES pggit.commits,
    chain_id  integer NOT NULL REFERENCES pggit.chains,
    chain_pos integer NOT NULL,
    CONSTRAINT commit_chains_one_commit_per_position UNIQUE (chain_id, chain_pos)
);
CREATE TABLE pggit.chain_reach (
    chain_id     integer NOT NULL REFERENCES pggit.chains,
    chain_pos    integer NOT NULL,
    target_chain integer NOT NULL REFERENCES pggit.chains,
    target_pos   integer NOT NULL,
    generation        integer NOT NULL,
    target_generation integer NOT NULL,
    PRIMARY KEY (chain_id, target_chain, chain_pos)
);
CREATE INDEX chain_reach_by_generation ON pggit.chain_reach (chain_id, generation);
REVOKE ALL ON pggit.chains, pggit.commit_chains, pggit.chain_reach FROM PUBLIC;

CREATE FUNCTION pggit._up(p_commit text, p_floor integer DEFAULT 0)
RETURNS TABLE (chain_id integer, pos integer, generation integer)
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

CREATE FUNCTION pggit._reach(p_commit text, p_floor integer DEFAULT 0)
RETURNS TABLE (chain_id integer, pos integer, generation integer)
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

CREATE FUNCTION pggit._place_commit(p_id text, p_parents text[], p_generation integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_pchain integer;
    v_ppos   integer;
    v_chain  integer;
    v_pos    integer;
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
        INSERT INTO pggit.chain_reach (chain_id, chain_pos, target_chain, target_pos, generation, target_generation)
        SELECT v_chain, v_pos, o.chain_id, o.pos, p_generation, o.generation
          FROM (SELECT r.chain_id, max(r.pos) AS pos, max(r.generation) AS generation
                  FROM unnest(p_parents[2:]) t(tip), pggit._reach(t.tip) r
                 GROUP BY r.chain_id) o
          LEFT JOIN pggit._reach(p_parents[1]) f ON f.chain_id = o.chain_id
         WHERE f.pos IS NULL OR o.pos > f.pos;
    END IF;
END $$;

DO $$
DECLARE
    v_c record;
BEGIN
    FOR v_c IN SELECT c.commit_id, c.parent_ids, c.generation FROM pggit.commits c ORDER BY c.seq LOOP
        PERFORM pggit._place_commit(v_c.commit_id, v_c.parent_ids, v_c.generation);
    END LOOP;
END $$;

CREATE FUNCTION pggit._index_commit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'pggit._index_commit is re-created from the sources by the installer';
END $$;
CREATE TRIGGER commits_index AFTER INSERT ON pggit.commits
    FOR EACH ROW EXECUTE FUNCTION pggit._index_commit();

-- Keys without sequences (issue 10): nextval in the user's session changed what lastval()
-- answers after DDL. The identity columns written in the DDL path keep their values (and so the
-- order of the existing rows) and lose their sequences; new keys come from pggit._xact_key
-- (the transaction's id times 2^20 plus a counter), the columns' default; chain ids become
-- bigint. The function is the sources'; the installer re-creates it.
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
ALTER TABLE pggit.commits ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE pggit.capture_queue ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE pggit.audit_log ALTER COLUMN id DROP IDENTITY;
ALTER TABLE pggit.chains ALTER COLUMN chain_id DROP IDENTITY;
ALTER TABLE pggit.chains ALTER COLUMN chain_id TYPE bigint, ALTER COLUMN fork_chain TYPE bigint;
ALTER TABLE pggit.commit_chains ALTER COLUMN chain_id TYPE bigint;
ALTER TABLE pggit.chain_reach ALTER COLUMN chain_id TYPE bigint, ALTER COLUMN target_chain TYPE bigint;
DROP FUNCTION pggit._up(text, integer), pggit._reach(text, integer);
ALTER TABLE pggit.commits ALTER COLUMN seq SET DEFAULT pggit._xact_key('commits');
ALTER TABLE pggit.capture_queue ALTER COLUMN seq SET DEFAULT pggit._xact_key('capture_queue');
ALTER TABLE pggit.audit_log ALTER COLUMN id SET DEFAULT pggit._xact_key('audit_log');
ALTER TABLE pggit.chains ALTER COLUMN chain_id SET DEFAULT pggit._xact_key('chains');
