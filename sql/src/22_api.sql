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
