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
