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
-- the installer re-creates them, and _reach and _index_commit, from the sources.
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
        SELECT f.chain_id, f.chain_pos, c.generation
          FROM up
          JOIN pggit.chains ch ON ch.chain_id = up.chain_id
          JOIN pggit.commit_chains f ON f.chain_id = ch.fork_chain AND f.chain_pos = ch.fork_pos
          JOIN pggit.commits c ON c.commit_id = f.commit_id
         WHERE c.generation >= p_floor
    )
    SELECT up.chain_id, up.pos, up.generation FROM up ORDER BY up.generation DESC
$$;

CREATE FUNCTION pggit._reach_on(p_commit text, p_chain integer) RETURNS integer
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT max(v.pos)
      FROM pggit._up(p_commit) u,
           LATERAL (SELECT u.pos WHERE u.chain_id = p_chain
                    UNION ALL
                    (SELECT r.target_pos FROM pggit.chain_reach r
                      WHERE r.chain_id = u.chain_id AND r.target_chain = p_chain AND r.chain_pos <= u.pos
                      ORDER BY r.chain_pos DESC LIMIT 1)) v(pos)
$$;

CREATE FUNCTION pggit._beyond(p_tip text, p_base text)
RETURNS TABLE (chain_id integer, pos integer, generation integer)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_u      record;
    v_lo     integer;
    v_lo_gen integer;
BEGIN
    FOR v_u IN SELECT u.chain_id, u.pos, u.generation FROM pggit._up(p_tip) u ORDER BY u.generation DESC LOOP
        v_lo := coalesce(pggit._reach_on(p_base, v_u.chain_id), 0);
        EXIT WHEN v_lo >= v_u.pos;
        v_lo_gen := coalesce((SELECT c.generation
                                FROM pggit.commit_chains x JOIN pggit.commits c ON c.commit_id = x.commit_id
                               WHERE x.chain_id = v_u.chain_id AND x.chain_pos = v_lo), 0);
        RETURN QUERY SELECT v_u.chain_id, v_u.pos, v_u.generation;
        RETURN QUERY
        SELECT r.target_chain, r.target_pos, r.target_generation
          FROM pggit.chain_reach r
         WHERE r.chain_id = v_u.chain_id AND r.generation > v_lo_gen AND r.generation <= v_u.generation
           AND r.target_pos > coalesce(pggit._reach_on(p_base, r.target_chain), 0);
    END LOOP;
END $$;

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
        INSERT INTO pggit.chains (length, fork_chain, fork_pos) VALUES (1, v_pchain, v_ppos)
        RETURNING chains.chain_id, 1 INTO v_chain, v_pos;
    END IF;
    INSERT INTO pggit.commit_chains (commit_id, chain_id, chain_pos) VALUES (p_id, v_chain, v_pos);
    IF cardinality(p_parents) > 1 THEN
        INSERT INTO pggit.chain_reach (chain_id, chain_pos, target_chain, target_pos, generation, target_generation)
        SELECT v_chain, v_pos, b.chain_id, max(b.pos), p_generation, max(b.generation)
          FROM unnest(p_parents[2:]) t(tip), pggit._beyond(t.tip, p_parents[1]) b
         GROUP BY b.chain_id;
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
