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
    INSERT INTO pggit.branches (name, head, created_by) VALUES ('main', v_id, pggit._author());
    INSERT INTO pggit.head (branch) VALUES ('main');
    PERFORM pggit._audit('init', jsonb_build_object('commit', v_id, 'objects', cardinality(v_changes)), 'ok', NULL, v_started);
    RETURN v_id;
END $$;

CREATE EVENT TRIGGER pggit_sql_drop ON sql_drop EXECUTE FUNCTION pggit._on_sql_drop();
CREATE EVENT TRIGGER pggit_ddl_start ON ddl_command_start EXECUTE FUNCTION pggit._on_ddl_start();
CREATE EVENT TRIGGER pggit_ddl_end ON ddl_command_end EXECUTE FUNCTION pggit._on_ddl_end();

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
