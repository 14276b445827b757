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
