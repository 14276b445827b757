-- pgGit engine: owners as part of an object's state.
--
-- An object's owner is described relative to the database's owner (pg_database.datdba): an
-- object the database's owner owns (the common case) is described as before; any other owner is
-- recorded in detail.owner (the role's name as the catalog has it) and the definition gets
-- 'ALTER <object> OWNER TO <role>;' (the role through quote_ident) after what creates the object
-- and before its privileges (10_privileges.sql), which are relative to the owner. Sequences owned
-- by a table follow their table (PostgreSQL moves them with it) and record no owner of their own.
-- Repositories turn this off with pggit.configure_owners(false).
-- (The helpers run in every description: like those of 10_privileges.sql they are called only
-- from functions that set search_path, and the SQL ones carry no SET so that they can be inlined.)

-- Are owners part of descriptions here? (meta key 'owners', 'on' unless set to 'off')
CREATE FUNCTION pggit._owners_on() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (PL/pgSQL, not SQL: called once per description, and an SQL function with a sub-select is
    -- planned again at every call)
    RETURN NOT EXISTS (SELECT 1 FROM pggit.meta m WHERE m.key = 'owners' AND m.value = 'off');
END $$;

-- Does a kind of object have an owner the engine records?
CREATE FUNCTION pggit._owner_kind(p_kind text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_kind IN ('table', 'view', 'materialized view', 'sequence', 'foreign table', 'type', 'domain', 'function',
                      'procedure', 'aggregate', 'schema', 'collation', 'conversion', 'operator', 'operator class',
                      'operator family', 'text search dictionary', 'text search configuration', 'foreign data wrapper',
                      'server', 'publication', 'subscription', 'event trigger', 'statistics', 'language')
$$;

-- The live owner of an object, as a role oid; NULL for objects without an owner of their own.
CREATE FUNCTION pggit._owner_oid(p_classid oid, p_objid oid) RETURNS oid
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner oid;
BEGIN
    CASE p_classid
        WHEN 'pg_class'::regclass THEN
            SELECT c.relowner INTO v_owner FROM pg_class c
             WHERE c.oid = p_objid
               -- (a sequence owned by a table follows it)
               AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
                                                     WHERE d.classid = 'pg_class'::regclass AND d.objid = p_objid
                                                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')));
        WHEN 'pg_proc'::regclass THEN SELECT p.proowner INTO v_owner FROM pg_proc p WHERE p.oid = p_objid;
        WHEN 'pg_type'::regclass THEN SELECT t.typowner INTO v_owner FROM pg_type t WHERE t.oid = p_objid;
        WHEN 'pg_namespace'::regclass THEN SELECT n.nspowner INTO v_owner FROM pg_namespace n WHERE n.oid = p_objid;
        WHEN 'pg_collation'::regclass THEN SELECT c.collowner INTO v_owner FROM pg_collation c WHERE c.oid = p_objid;
        WHEN 'pg_conversion'::regclass THEN SELECT c.conowner INTO v_owner FROM pg_conversion c WHERE c.oid = p_objid;
        WHEN 'pg_operator'::regclass THEN SELECT o.oprowner INTO v_owner FROM pg_operator o WHERE o.oid = p_objid;
        WHEN 'pg_opclass'::regclass THEN SELECT o.opcowner INTO v_owner FROM pg_opclass o WHERE o.oid = p_objid;
        WHEN 'pg_opfamily'::regclass THEN SELECT o.opfowner INTO v_owner FROM pg_opfamily o WHERE o.oid = p_objid;
        WHEN 'pg_ts_dict'::regclass THEN SELECT d.dictowner INTO v_owner FROM pg_ts_dict d WHERE d.oid = p_objid;
        WHEN 'pg_ts_config'::regclass THEN SELECT c.cfgowner INTO v_owner FROM pg_ts_config c WHERE c.oid = p_objid;
        WHEN 'pg_foreign_data_wrapper'::regclass THEN SELECT w.fdwowner INTO v_owner FROM pg_foreign_data_wrapper w WHERE w.oid = p_objid;
        WHEN 'pg_foreign_server'::regclass THEN SELECT s.srvowner INTO v_owner FROM pg_foreign_server s WHERE s.oid = p_objid;
        WHEN 'pg_publication'::regclass THEN SELECT p.pubowner INTO v_owner FROM pg_publication p WHERE p.oid = p_objid;
        WHEN 'pg_subscription'::regclass THEN SELECT s.subowner INTO v_owner FROM pg_subscription s WHERE s.oid = p_objid;
        WHEN 'pg_event_trigger'::regclass THEN SELECT e.evtowner INTO v_owner FROM pg_event_trigger e WHERE e.oid = p_objid;
        WHEN 'pg_statistic_ext'::regclass THEN SELECT s.stxowner INTO v_owner FROM pg_statistic_ext s WHERE s.oid = p_objid;
        WHEN 'pg_language'::regclass THEN SELECT l.lanowner INTO v_owner FROM pg_language l WHERE l.oid = p_objid;
        ELSE v_owner := NULL;
    END CASE;
    RETURN v_owner;
END $$;

-- The owner an object records in detail.owner: its owner's name unless that is the database's
-- owner, or pg_database_owner (the role that stands for it: schema public's owner since
-- PostgreSQL 15), or owners are off, or the kind has no owner: then NULL.
CREATE FUNCTION pggit._owner(p_classid oid, p_objid oid, p_kind text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner oid;
BEGIN
    -- (PL/pgSQL with kept plans: runs in every description)
    IF NOT pggit._owner_kind(p_kind) OR NOT pggit._owners_on() THEN
        RETURN NULL;
    END IF;
    v_owner := pggit._owner_oid(p_classid, p_objid);
    IF v_owner IS NULL OR v_owner = 'pg_database_owner'::regrole
       OR v_owner = (SELECT d.datdba FROM pg_database d WHERE d.datname = current_database()) THEN
        RETURN NULL;
    END IF;
    RETURN pg_get_userbyid(v_owner);
END $$;

-- What ALTER ... OWNER TO names an object by ('TABLE public.t', 'FUNCTION public.f(integer)'):
-- a table by its qualified name, any other kind as COMMENT ON names it (detail.comment_on).
CREATE FUNCTION pggit._owner_on(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_kind = 'table' THEN 'TABLE ' || (p_detail->>'qname') ELSE p_detail->>'comment_on' END
$$;

-- One ALTER ... OWNER TO statement (no leading newline); NULL when the object cannot be named.
CREATE FUNCTION pggit._owner_stmt(p_kind text, p_detail jsonb, p_owner text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('ALTER %s OWNER TO %I;', pggit._owner_on(p_kind, p_detail), p_owner)
     WHERE p_owner IS NOT NULL AND pggit._owner_on(p_kind, p_detail) IS NOT NULL
$$;

-- The statement that gives an object back to the database's owner (an object whose state
-- records no owner), named where it runs (a DO block: the database's owner differs between
-- databases).
CREATE FUNCTION pggit._owner_reset_stmt(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'DO ' || quote_literal('BEGIN EXECUTE ' || quote_literal('ALTER ' || pggit._owner_on(p_kind, p_detail) || ' OWNER TO ')
                                  || ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid((SELECT d.datdba FROM pg_catalog.pg_database d'
                                  || ' WHERE d.datname = pg_catalog.current_database()))); END') || ';'
     WHERE pggit._owner_on(p_kind, p_detail) IS NOT NULL
$$;

-- The owner part of a definition: '' when no owner is recorded.
CREATE FUNCTION pggit._owner_sql(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(E'\n' || pggit._owner_stmt(p_kind, p_detail, p_detail->>'owner'), '')
$$;

-- The objects of the live map whose live owner differs from the one HEAD recorded (for REASSIGN
-- OWNED, which would report no object addresses; PostgreSQL 14-18 fire no event trigger for it).
-- One catalog probe per object of a kind with owners.
CREATE FUNCTION pggit._owner_changed(OUT classids oid[], OUT objids oid[])
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(l.classid), '{}'), coalesce(array_agg(l.objid), '{}')
      FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
     WHERE pggit._owner_kind(l.kind)
       AND pggit._owner(l.classid, l.objid, l.kind) IS DISTINCT FROM b.detail->>'owner'
$$;

-- Turn owners in descriptions on or off for this repository (meta key 'owners'); the objects
-- whose description changes take the new form in one commit on HEAD (what had drifted before
-- stays drift). Returns how many objects changed.
CREATE FUNCTION pggit.configure_owners(p_on boolean) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_skip    text[];
    v_descs   pggit.objdesc[];
    v_changes pggit.change[];
BEGIN
    IF p_on IS NULL THEN
        RAISE EXCEPTION 'configure_owners needs true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM pggit.flush();
    IF pggit._owners_on() = p_on THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(d.identity), '{}') INTO v_skip FROM pggit.drift() d;
    INSERT INTO pggit.meta AS m (key, value) VALUES ('owners', CASE WHEN p_on THEN 'on' ELSE 'off' END)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    SELECT array_agg(s.d) INTO v_descs
      FROM (SELECT pggit._describe(r.classid, r.objid) AS d FROM pggit._all_roots() r) s
      LEFT JOIN pggit.live_objects l ON l.identity = (s.d).identity
     WHERE (s.d).identity IS NOT NULL AND NOT (s.d).identity = ANY (v_skip)
       AND l.hash IS DISTINCT FROM pggit._sha256((s.d).definition || E'\n' || (s.d).detail::text);
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), '{}', '{}', '{}', '{}');
    IF v_changes IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pggit._commit_live(v_changes, CASE WHEN p_on THEN 'Owners tracked: objects described with their owners'
                                               ELSE 'Owners not tracked: objects described without their owners' END, v_started);
    RETURN cardinality(v_changes);
END $$;
