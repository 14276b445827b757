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
-- trigger commits_index. pggit._reach and pggit._index_commit are re-created from the sources.
CREATE TABLE pggit.chains (
    chain_id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    length     integer NOT NULL,
    fork_chain integer REFERENCES pggit.chains,
    fork_pos   integer
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
    PRIMARY KEY (chain_id, chain_pos, target_chain)
);
REVOKE ALL ON pggit.chains, pggit.commit_chains, pggit.chain_reach FROM PUBLIC;

CREATE FUNCTION pggit._reach(p_commit text) RETURNS TABLE (chain_id integer, pos integer)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE up(chain_id, pos) AS (
        SELECT x.chain_id, x.chain_pos FROM pggit.commit_chains x WHERE x.commit_id = p_commit
        UNION ALL
        SELECT ch.fork_chain, ch.fork_pos
          FROM up JOIN pggit.chains ch ON ch.chain_id = up.chain_id
         WHERE ch.fork_chain IS NOT NULL
    )
    SELECT s.chain_id, max(s.pos)
      FROM (SELECT up.chain_id, up.pos FROM up
            UNION ALL
            SELECT r.target_chain, r.target_pos
              FROM up JOIN pggit.chain_reach r ON r.chain_id = up.chain_id AND r.chain_pos <= up.pos) s
     GROUP BY s.chain_id
$$;

-- The same placement as the trigger's, for a commit already stored (dropped below).
CREATE FUNCTION pggit._index_commit_0_4_0(p_id text, p_parents text[]) RETURNS void
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
        INSERT INTO pggit.chains (length, fork_chain, fork_pos) VALUES (1, v_pchain, v_ppos)
        RETURNING chains.chain_id, 1 INTO v_chain, v_pos;
    END IF;
    INSERT INTO pggit.commit_chains (commit_id, chain_id, chain_pos) VALUES (p_id, v_chain, v_pos);
    IF cardinality(p_parents) > 1 THEN
        INSERT INTO pggit.chain_reach (chain_id, chain_pos, target_chain, target_pos)
        SELECT v_chain, v_pos, r2.chain_id, r2.pos
          FROM pggit._reach(p_parents[2]) r2
          LEFT JOIN pggit._reach(p_parents[1]) r1 ON r1.chain_id = r2.chain_id
         WHERE r1.pos IS NULL OR r2.pos > r1.pos;
    END IF;
END $$;

DO $$
DECLARE
    v_c record;
BEGIN
    FOR v_c IN SELECT c.commit_id, c.parent_ids FROM pggit.commits c ORDER BY c.seq LOOP
        PERFORM pggit._index_commit_0_4_0(v_c.commit_id, v_c.parent_ids);
    END LOOP;
END $$;
DROP FUNCTION pggit._index_commit_0_4_0(text, text[]);

CREATE FUNCTION pggit._index_commit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'pggit._index_commit is re-created from the sources by the installer';
END $$;
CREATE TRIGGER commits_index AFTER INSERT ON pggit.commits
    FOR EACH ROW EXECUTE FUNCTION pggit._index_commit();
