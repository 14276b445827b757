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
