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
