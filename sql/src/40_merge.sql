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
