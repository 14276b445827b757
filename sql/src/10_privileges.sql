-- pgGit engine: privileges (GRANT / REVOKE) as part of an object's state.
--
-- An object's ACL is described relative to what its owner gets by default (acldefault): a
-- grantee whose privileges differ from the default is recorded in detail.acl as
-- {grantee: [privilege, ...]}, privileges sorted, 'SELECT*' for one held WITH GRANT OPTION and
-- 'UPDATE("col")' for a column privilege. Grantees are 'PUBLIC', 'OWNER' (whoever owns the object)
-- or the role's quoted name (quote_ident, so a role named "PUBLIC" stays apart). The definition
-- text ends with the GRANT and REVOKE statements that turn the default into that ACL. Grantors
-- are not state. Repositories turn this off with pggit.configure_privileges(false).

-- Are privileges part of descriptions here? (meta key 'privileges', 'on' unless set to 'off')
CREATE FUNCTION pggit._privileges_on() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (PL/pgSQL: an SQL function with a sub-select is planned again at every call)
    RETURN NOT EXISTS (SELECT 1 FROM pggit.meta m WHERE m.key = 'privileges' AND m.value = 'off');
END $$;

-- The acldefault object type of a kind with privileges; NULL for kinds without.
CREATE FUNCTION pggit._acl_objtype(p_kind text) RETURNS "char"
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'table' THEN 'r' WHEN 'view' THEN 'r' WHEN 'materialized view' THEN 'r'
                       WHEN 'sequence' THEN 's' WHEN 'function' THEN 'f' WHEN 'procedure' THEN 'f'
                       WHEN 'aggregate' THEN 'f' WHEN 'type' THEN 'T' WHEN 'domain' THEN 'T'
                       WHEN 'schema' THEN 'n' WHEN 'default privileges' THEN 'D' END::"char"
$$;

-- The parts of a default privileges identity: role and schema (quoted; schema NULL for all
-- schemas) and what it is on ('tables', ...).
CREATE FUNCTION pggit._default_acl_parts(p_identity text, OUT role text, OUT schema text, OUT objs text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT m[1], m[2], m[3]
      FROM regexp_match(p_identity, '^default privileges for role ("(?:[^"]|"")*"|[^ "]+)(?: in schema ("(?:[^"]|"")*"|[^ "]+))? on ([a-z]+)$') m
$$;

-- The acldefault object type of a default privileges entry, from its identity.
CREATE FUNCTION pggit._default_acl_objtype(p_identity text) RETURNS "char"
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE substring(p_identity FROM ' on ([a-z]+)$')
                WHEN 'tables' THEN 'r' WHEN 'sequences' THEN 's' WHEN 'functions' THEN 'f'
                WHEN 'types' THEN 'T' WHEN 'schemas' THEN 'n' END::"char"
$$;

-- What GRANT names the object by: 'TABLE public.t', 'FUNCTION public.f(integer)', ...
CREATE FUNCTION pggit._acl_on(p_kind text, p_identity text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_kind = 'default privileges' THEN p_identity
                ELSE CASE WHEN p_kind IN ('table', 'view', 'materialized view') THEN 'TABLE'
                          WHEN p_kind = 'aggregate' THEN 'FUNCTION'
                          ELSE upper(p_kind) END || ' ' || substr(p_identity, length(p_kind) + 2) END
$$;

-- The privileges a grantee ('OWNER', 'PUBLIC' or a role) holds by default on an object of a kind.
CREATE FUNCTION pggit._acl_default(p_kind text, p_identity text, p_grantee text) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (PL/pgSQL with a kept plan: an SQL function this complex is planned again at every
    -- call, and a description with privileges calls it per grantee)
    RETURN (
        SELECT coalesce(array_agg(d.p ORDER BY d.p COLLATE "C"), '{}')
          FROM (SELECT x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS p
                  FROM aclexplode(acldefault(CASE WHEN p_kind = 'default privileges' THEN pggit._default_acl_objtype(p_identity)
                                                  ELSE pggit._acl_objtype(p_kind) END, 10)) x
                 WHERE x.grantee = CASE p_grantee WHEN 'OWNER' THEN 10 WHEN 'PUBLIC' THEN 0 END
                   -- (default privileges for one schema only add to those for all schemas)
                   AND NOT (p_kind = 'default privileges' AND (pggit._default_acl_parts(p_identity)).schema IS NOT NULL)
                -- (the public schema as PostgreSQL makes it: USAGE for everyone, and CREATE before 15)
                UNION SELECT 'USAGE' WHERE p_identity = 'schema public' AND p_grantee = 'PUBLIC'
                UNION SELECT 'CREATE' WHERE p_identity = 'schema public' AND p_grantee = 'PUBLIC'
                                        AND current_setting('server_version_num')::int < 150000) d);
END $$;

-- The live ACL of an object as recorded in detail.acl; NULL when it is the owner's default (or
-- privileges are off, or the kind has none).
CREATE FUNCTION pggit._acl(p_classid oid, p_objid oid, p_kind text, p_identity text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_acl   aclitem[];
    v_owner oid;
    v_cols  boolean := false;
    v_out   jsonb;
BEGIN
    IF pggit._acl_objtype(p_kind) IS NULL OR NOT pggit._privileges_on() THEN
        RETURN NULL;
    END IF;
    IF p_classid = 'pg_class'::regclass THEN
        SELECT c.relacl, c.relowner, c.relkind IN ('r', 'p', 'v', 'm', 'f') INTO v_acl, v_owner, v_cols
          FROM pg_class c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_proc'::regclass THEN
        SELECT p.proacl, p.proowner INTO v_acl, v_owner FROM pg_proc p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_type'::regclass THEN
        SELECT t.typacl, t.typowner INTO v_acl, v_owner FROM pg_type t WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_namespace'::regclass THEN
        SELECT n.nspacl, n.nspowner INTO v_acl, v_owner FROM pg_namespace n WHERE n.oid = p_objid;
    ELSE
        RETURN NULL;
    END IF;
    IF v_owner IS NULL THEN
        RETURN NULL;
    END IF;
    -- (the common case, nothing ever granted or revoked: no ACL at all, costs one more probe)
    IF v_acl IS NULL AND p_identity <> 'schema public'
       AND NOT (v_cols AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p_objid AND a.attnum > 0 AND a.attacl IS NOT NULL)) THEN
        RETURN NULL;
    END IF;
    WITH items AS (
        SELECT x.grantee, x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS priv
          FROM aclexplode(coalesce(v_acl, acldefault(pggit._acl_objtype(p_kind), v_owner))) x
        UNION
        SELECT x.grantee, x.privilege_type || '(' || quote_ident(a.attname) || ')' || CASE WHEN x.is_grantable THEN '*' ELSE '' END
          FROM pg_attribute a CROSS JOIN LATERAL aclexplode(a.attacl) x
         WHERE v_cols AND a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
    ),
    per AS (
        SELECT CASE WHEN i.grantee = 0 THEN 'PUBLIC' WHEN i.grantee = v_owner THEN 'OWNER'
                    ELSE quote_ident(pg_get_userbyid(i.grantee)) END AS g,
               -- (a privilege held both with and without grant option, from two grantors: with)
               array_agg(i.priv ORDER BY i.priv COLLATE "C")
                   FILTER (WHERE NOT EXISTS (SELECT 1 FROM items j WHERE j.grantee = i.grantee AND j.priv = i.priv || '*')) AS privs
          FROM items i GROUP BY 1
    ),
    g AS (
        SELECT d.g FROM (VALUES ('OWNER'), ('PUBLIC')) d(g) UNION SELECT per.g FROM per
    )
    SELECT jsonb_object_agg(g.g, to_jsonb(coalesce(per.privs, '{}')))
      INTO v_out
      FROM g LEFT JOIN per ON per.g = g.g
     WHERE coalesce(per.privs, '{}') IS DISTINCT FROM pggit._acl_default(p_kind, p_identity, g.g);
    RETURN v_out;
END $$;

-- A privilege list as SQL: 'SELECT, UPDATE ("a b", c)' (grant options left out; the column
-- privileges of one kind together).
CREATE FUNCTION pggit._acl_privs_sql(p_privs text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- (PL/pgSQL with a kept plan: an SQL function this complex is planned again at every
    -- call, and a description with privileges calls it per grantee)
    RETURN (
        SELECT string_agg(CASE WHEN g.cols IS NULL THEN g.t ELSE g.t || ' (' || g.cols || ')' END, ', ' ORDER BY g.o)
          FROM (SELECT coalesce(m[1], rtrim(u.p, '*')) AS t, string_agg(m[2], ', ' ORDER BY u.o) AS cols, min(u.o) AS o
                  FROM unnest(p_privs) WITH ORDINALITY u(p, o)
                  LEFT JOIN LATERAL regexp_match(rtrim(u.p, '*'), '^([A-Z ]+)\((.*)\)$') m ON true
                 GROUP BY 1, m[1] IS NULL) g);
END $$;

-- One GRANT or REVOKE of privileges on an object to/from a grantee. The owner is named by what the
-- catalog says when the statement runs (a DO block): the owner differs between databases.
CREATE FUNCTION pggit._acl_stmt(p_verb text, p_privs text[], p_on text, p_grantee text, p_grant_option boolean) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_head text := p_verb || ' ' || pggit._acl_privs_sql(p_privs) || ' ON ' || p_on
                   || CASE WHEN p_verb = 'GRANT' THEN ' TO ' ELSE ' FROM ' END;
    v_tail text := CASE WHEN p_grant_option THEN ' WITH GRANT OPTION' ELSE '' END || ';';
    v_kw   text := split_part(p_on, ' ', 1);
    v_name text := substr(p_on, length(v_kw) + 2);
BEGIN
    IF cardinality(p_privs) IS NULL OR cardinality(p_privs) = 0 THEN
        RETURN '';
    END IF;
    -- (grantees and privileges come from stored descriptions: only the forms the engine writes)
    IF p_grantee IS NULL OR p_grantee !~ '^(OWNER|PUBLIC|"([^"]|"")+"|[a-z_][a-z0-9_$]*)$' THEN
        RAISE EXCEPTION 'not a grantee pgGit writes: %', coalesce(quote_literal(p_grantee), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_privs) p
                WHERE p IS NULL OR p !~ '^[A-Z]+( [A-Z]+)*(\(("([^"]|"")+"|[a-z_][a-z0-9_$]*)\))?\*?$') THEN
        RAISE EXCEPTION 'not a privilege pgGit writes: %', (SELECT string_agg(coalesce(quote_literal(p), 'NULL'), ', ') FROM unnest(p_privs) p)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_on LIKE 'default privileges for role %' THEN
        SELECT 'ALTER DEFAULT PRIVILEGES FOR ROLE ' || x.role || coalesce(' IN SCHEMA ' || x.schema, '') || ' ' || p_verb || ' '
               || pggit._acl_privs_sql(p_privs) || ' ON ' || upper(x.objs)
               || CASE WHEN p_verb = 'GRANT' THEN ' TO ' ELSE ' FROM ' END
               || CASE WHEN p_grantee = 'OWNER' THEN x.role ELSE p_grantee END || v_tail
          INTO v_head FROM pggit._default_acl_parts(p_on) x;
        RETURN v_head;
    END IF;
    IF p_grantee <> 'OWNER' THEN
        RETURN v_head || p_grantee || v_tail;
    END IF;
    RETURN 'DO ' || quote_literal('BEGIN EXECUTE ' || quote_literal(v_head) || ' || quote_ident(('
           || CASE WHEN v_kw IN ('TABLE', 'SEQUENCE') THEN 'SELECT pg_get_userbyid(relowner) FROM pg_catalog.pg_class WHERE oid = '
                                                           || quote_literal(v_name) || '::pg_catalog.regclass'
                   WHEN v_kw IN ('FUNCTION', 'PROCEDURE') THEN 'SELECT pg_get_userbyid(proowner) FROM pg_catalog.pg_proc WHERE oid = '
                                                               || quote_literal(v_name) || '::pg_catalog.regprocedure'
                   WHEN v_kw IN ('TYPE', 'DOMAIN') THEN 'SELECT pg_get_userbyid(typowner) FROM pg_catalog.pg_type WHERE oid = '
                                                        || quote_literal(v_name) || '::pg_catalog.regtype'
                   ELSE 'SELECT pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE oid = '
                        || quote_literal(v_name) || '::pg_catalog.regnamespace' END
           || ')) || ' || quote_literal(v_tail) || '; END') || ';';
END $$;

-- A migration's default privileges statement, run only where the running role may change the
-- default privileges of the entry's role (a superuser always; the shadow database's role only its
-- own): elsewhere a notice says it was skipped.
CREATE FUNCTION pggit._default_acl_guard(p_identity text, p_stmt text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'DO ' || quote_literal(
               'BEGIN IF pg_catalog.pg_has_role(pg_catalog.to_regrole(' || quote_literal(x.role) || '), ''USAGE'') THEN EXECUTE '
               || quote_literal(p_stmt) || '; ELSE RAISE NOTICE ''%'', '
               || quote_literal('pgGit: skipped (the running role may not change the default privileges of ' || x.role || '): ' || p_stmt)
               || '; END IF; END') || ';'
      FROM pggit._default_acl_parts(p_identity) x
$$;

-- The statements that turn privileges p_from into p_to on one object (NULL = the owner's
-- default): per grantee, in name order, the REVOKEs then the GRANTs.
CREATE FUNCTION pggit._acl_diff_sql(p_kind text, p_identity text, p_from jsonb, p_to jsonb) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- (PL/pgSQL with a kept plan: an SQL function this complex is planned again at every
    -- call, and a description with privileges calls it per grantee)
    RETURN (
        SELECT coalesce(array_agg(s.stmt ORDER BY s.g COLLATE "C", s.ord) FILTER (WHERE s.stmt <> ''), '{}')
          FROM (
            SELECT k.g, d.def,
                   CASE WHEN nullif(p_from, 'null') ? k.g THEN array(SELECT jsonb_array_elements_text(p_from->k.g)) ELSE d.def END AS o,
                   CASE WHEN nullif(p_to, 'null') ? k.g THEN array(SELECT jsonb_array_elements_text(p_to->k.g)) ELSE d.def END AS n
              FROM (SELECT jsonb_object_keys(coalesce(nullif(p_from, 'null'), '{}')) AS g
                    UNION SELECT jsonb_object_keys(coalesce(nullif(p_to, 'null'), '{}'))) k
             CROSS JOIN LATERAL (SELECT pggit._acl_default(p_kind, p_identity, k.g) AS def) d
          ) x
         CROSS JOIN LATERAL (
            -- (a privilege kept but with its grant option changed is revoked and granted again)
            SELECT 1 AS ord, pggit._acl_stmt('REVOKE', array(SELECT p FROM unnest(x.o) p WHERE NOT p = ANY (x.n) ORDER BY p COLLATE "C"),
                                             pggit._acl_on(p_kind, p_identity), x.g, false) AS stmt, x.g
            UNION ALL
            SELECT 2, pggit._acl_stmt('GRANT', array(SELECT p FROM unnest(x.n) p WHERE NOT p = ANY (x.o) AND p NOT LIKE '%*' ORDER BY p COLLATE "C"),
                                      pggit._acl_on(p_kind, p_identity), x.g, false), x.g
            UNION ALL
            SELECT 3, pggit._acl_stmt('GRANT', array(SELECT p FROM unnest(x.n) p WHERE NOT p = ANY (x.o) AND p LIKE '%*' ORDER BY p COLLATE "C"),
                                      pggit._acl_on(p_kind, p_identity), x.g, true), x.g
         ) s);
END $$;

-- For an object a migration creates while default privileges may be in effect: the statements
-- that take from each grantee those default privileges name what PostgreSQL gave it beyond the
-- owner's default (or took from the owner), so that the object starts from the owner's default.
CREATE FUNCTION pggit._acl_reset_sql(p_kind text, p_identity text, p_grantees text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    -- (everything taken from the others, then each one's default given: PUBLIC's EXECUTE on a
    -- routine, the owner's rights)
    SELECT pggit._acl_diff_sql(p_kind, p_identity,
                               (SELECT jsonb_object_agg(g, to_jsonb(pggit._acl_default(p_kind, p_identity, 'OWNER')))
                                  FROM unnest(p_grantees) g WHERE g <> 'OWNER'),
                               (SELECT jsonb_object_agg(g, '[]'::jsonb) FROM unnest(p_grantees) g WHERE g <> 'OWNER'))
           || pggit._acl_diff_sql(p_kind, p_identity, (SELECT jsonb_object_agg(g, '[]'::jsonb) FROM unnest(p_grantees) g), NULL)
$$;

-- The privilege part of a definition: '' for the owner's default.
CREATE FUNCTION pggit._acl_sql(p_kind text, p_identity text, p_acl jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_acl IS NULL OR p_acl = 'null' THEN ''
                ELSE coalesce((SELECT string_agg(E'\n' || s, '') FROM unnest(pggit._acl_diff_sql(p_kind, p_identity, NULL, p_acl)) s), '') END
$$;

-- A definition without its privilege part and its owner (what creates the object): the owner
-- line (10_owners.sql) comes before the privileges.
CREATE FUNCTION pggit._acl_strip(p_kind text, p_identity text, p_definition text, p_detail jsonb) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_acl text;
BEGIN
    IF p_kind = 'default privileges' THEN
        RETURN '';  -- (nothing but privileges)
    END IF;
    IF (p_detail->'acl' IS NULL AND p_detail->'owner' IS NULL) OR p_definition IS NULL THEN
        RETURN p_definition;
    END IF;
    IF p_detail->'acl' IS NOT NULL THEN
        v_acl := pggit._acl_sql(p_kind, p_identity, p_detail->'acl');
        IF v_acl <> '' AND right(p_definition, length(v_acl)) = v_acl THEN
            p_definition := left(p_definition, length(p_definition) - length(v_acl));
        END IF;
    END IF;
    IF p_detail->'owner' IS NOT NULL THEN
        v_acl := pggit._owner_sql(p_kind, p_detail);
        IF v_acl <> '' AND right(p_definition, length(v_acl)) = v_acl THEN
            p_definition := left(p_definition, length(p_definition) - length(v_acl));
        END IF;
    END IF;
    RETURN p_definition;
END $$;

-- A description with its object's owner and privileges: detail.owner (10_owners.sql) and
-- detail.acl, and the ALTER ... OWNER TO and GRANT/REVOKE statements at the end of the definition
-- (any owner and privileges it held replaced by the live ones).
CREATE FUNCTION pggit._with_acl(p_desc pggit.objdesc) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_acl   jsonb;
    v_owner text;
BEGIN
    IF p_desc IS NULL OR p_desc.identity IS NULL
       OR (pggit._acl_objtype(p_desc.kind) IS NULL AND NOT pggit._owner_kind(p_desc.kind)) THEN
        RETURN p_desc;
    END IF;
    p_desc.definition := pggit._acl_strip(p_desc.kind, p_desc.identity, p_desc.definition, p_desc.detail);
    p_desc.detail := p_desc.detail - 'acl' - 'owner';
    v_owner := pggit._owner(p_desc.classid, p_desc.objid, p_desc.kind);
    IF v_owner IS NOT NULL THEN
        p_desc.detail := p_desc.detail || jsonb_build_object('owner', v_owner);
        p_desc.definition := p_desc.definition || pggit._owner_sql(p_desc.kind, p_desc.detail);
    END IF;
    v_acl := pggit._acl(p_desc.classid, p_desc.objid, p_desc.kind, p_desc.identity);
    IF v_acl IS NOT NULL THEN
        p_desc.definition := p_desc.definition || pggit._acl_sql(p_desc.kind, p_desc.identity, v_acl);
        p_desc.detail := p_desc.detail || jsonb_build_object('acl', v_acl);
    END IF;
    RETURN p_desc;
END $$;

-- The objects HEAD holds whose live privileges differ from what HEAD recorded, and the default
-- privileges entries (every one: few) and the live map's that are gone. GRANT and REVOKE report no
-- object addresses, but the catalog rows they write carry this transaction's id or one of its
-- subtransactions' (which come after it): age(xmin) <= 0. So one pass over each catalog with
-- privileges finds the candidates (rows of transactions that started later and committed are
-- found too, and compared like the rest), and only those are compared with the live map: the
-- cost does not grow with the objects HEAD holds. Drift of privileges made earlier, behind the
-- engine's back, stays drift (pggit.drift()) and is not recorded with this statement.
CREATE FUNCTION pggit._acl_changed(OUT classids oid[], OUT objids oid[], OUT gone_classids oid[], OUT gone_objids oid[])
LANGUAGE plpgsql STABLE SET enable_seqscan = on AS $$
BEGIN
    SELECT array_agg(l.classid), array_agg(l.objid) INTO classids, objids
      FROM (SELECT 'pg_class'::regclass::oid AS classid, c.oid AS objid FROM pg_class c WHERE age(c.xmin) <= 0
            UNION SELECT 'pg_class'::regclass::oid, a.attrelid FROM pg_attribute a WHERE age(a.xmin) <= 0  -- (column privileges)
            UNION SELECT 'pg_proc'::regclass::oid, p.oid FROM pg_proc p WHERE age(p.xmin) <= 0
            UNION SELECT 'pg_type'::regclass::oid, t.oid FROM pg_type t WHERE age(t.xmin) <= 0
            UNION SELECT 'pg_namespace'::regclass::oid, n.oid FROM pg_namespace n WHERE age(n.xmin) <= 0) w
      JOIN pggit.live_objects l ON l.classid = w.classid AND l.objid = w.objid
      JOIN pggit.blobs b ON b.hash = l.hash
     WHERE pggit._acl_objtype(l.kind) IS NOT NULL
       AND pggit._acl(l.classid, l.objid, l.kind, l.identity) IS DISTINCT FROM b.detail->'acl';
    SELECT coalesce(classids, '{}') || coalesce(array_agg(d.classid), '{}'), coalesce(objids, '{}') || coalesce(array_agg(d.objid), '{}')
      INTO classids, objids FROM pggit._default_acl_roots() d;
    SELECT array_agg(l.classid), array_agg(l.objid) INTO gone_classids, gone_objids
      FROM pggit.live_objects l
     WHERE l.kind = 'default privileges'
       AND NOT EXISTS (SELECT 1 FROM pggit._default_acl_roots() d WHERE d.objid = l.objid);
END $$;

-- An object of the live map whose privileges (or owner) changed and nothing else: its recorded
-- description with the live owner and privileges in place of the recorded ones (_with_acl), which
-- costs far less than describing it again. Described in full when the live map does not hold it
-- (a new default privileges entry), its identity changed, or the recorded definition does not end
-- with the privileges and owner its detail records.
CREATE FUNCTION pggit._describe_acl_change(p_classid oid, p_objid oid) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_d pggit.objdesc;
BEGIN
    SELECT l.classid, l.objid, l.kind, l.identity, b.definition, b.detail
      INTO v_d.classid, v_d.objid, v_d.kind, v_d.identity, v_d.definition, v_d.detail
      FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
     WHERE l.classid = p_classid AND l.objid = p_objid;
    IF NOT FOUND OR v_d.kind = 'default privileges'
       OR (SELECT i.identity FROM pggit._ident(p_classid, p_objid) i) IS DISTINCT FROM v_d.identity
       OR ((v_d.detail ? 'acl' OR v_d.detail ? 'owner')
           AND pggit._acl_strip(v_d.kind, v_d.identity, v_d.definition, v_d.detail) = v_d.definition) THEN
        RETURN pggit._describe(p_classid, p_objid);
    END IF;
    RETURN pggit._with_acl(v_d);
END $$;

-- GRANT / REVOKE and ALTER DEFAULT PRIVILEGES (ddl_command_end reports no object addresses for
-- them): what _acl_changed finds takes its live privileges (_describe_acl_change) and is committed
-- as one commit. In absorb mode
-- (the engine's own migrations, which can run many GRANTs) only a flag: _absorb_finish looks once.
-- p_owners (REASSIGN OWNED): the objects whose owner changed too (10_owners.sql).
CREATE FUNCTION pggit._capture_acl(p_mode text, p_owners boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_found   record;
    v_descs   pggit.objdesc[];
    v_changes pggit.change[];
BEGIN
    IF p_mode = 'absorb' THEN
        INSERT INTO pggit.tx_state (xid, key, value) VALUES (pg_current_xact_id(), 'absorb_acl', 'y')
        ON CONFLICT (xid, key) DO NOTHING;
        RETURN;
    END IF;
    v_found := pggit._acl_changed();
    IF p_owners THEN
        SELECT v_found.classids || o.classids, v_found.objids || o.objids INTO v_found.classids, v_found.objids
          FROM pggit._owner_changed() o;
    END IF;
    IF cardinality(v_found.classids) = 0 AND v_found.gone_classids IS NULL THEN
        RETURN;
    END IF;
    SELECT array_agg(d.x) INTO v_descs
      FROM (SELECT DISTINCT ON (u.c, u.o) CASE WHEN p_owners THEN pggit._describe(u.c, u.o) ELSE pggit._describe_acl_change(u.c, u.o) END AS x
              FROM unnest(v_found.classids, v_found.objids) u(c, o)) d
     WHERE (d.x).identity IS NOT NULL;
    -- (only gone default privileges are passed as dropped: an object that no longer describes is
    -- not dropped by a GRANT)
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), '{}', '{}', coalesce(v_found.gone_classids, '{}'),
                                       coalesce(v_found.gone_objids, '{}'));
    IF v_changes IS NULL THEN
        RETURN;
    END IF;
    PERFORM pggit._commit_live(v_changes, coalesce(current_query(), ''), v_started, true);  -- (written by the next reader, after what was captured before)
END $$;

-- Three-way merge of an object whose privileges changed on both sides (or on one side while the
-- rest of it changed on the other): the rest must have changed on at most one side (or the same
-- way on both); privileges merge grantee by grantee and privilege by privilege: the result holds
-- what the base held and neither side revoked, and what either side granted. The result's hash
-- (stored as a blob), or NULL when the rest changed on both sides. The owner (10_owners.sql)
-- merges as one attribute: changed on one side (or the same way on both), or it is a conflict.
CREATE FUNCTION pggit._merge_acl(p_identity text, p_base text, p_source text, p_target text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    b      pggit.blobs;
    s      pggit.blobs;
    t      pggit.blobs;
    v_rest pggit.blobs;
    v_acl  jsonb := '{}';
    v_g    text;
    v_def  text;
    v_hash text;
    v_owner text;
BEGIN
    SELECT * INTO b FROM pggit.blobs x WHERE x.hash = p_base;
    SELECT * INTO s FROM pggit.blobs x WHERE x.hash = p_source;
    SELECT * INTO t FROM pggit.blobs x WHERE x.hash = p_target;
    IF b.hash IS NULL OR s.hash IS NULL OR t.hash IS NULL OR s.kind <> b.kind OR t.kind <> b.kind
       OR (pggit._acl_objtype(b.kind) IS NULL AND NOT pggit._owner_kind(b.kind)) THEN
        RETURN NULL;
    END IF;
    IF s.detail->'owner' IS NOT DISTINCT FROM b.detail->'owner' OR s.detail->'owner' IS NOT DISTINCT FROM t.detail->'owner' THEN
        v_owner := t.detail->>'owner';
    ELSIF t.detail->'owner' IS NOT DISTINCT FROM b.detail->'owner' THEN
        v_owner := s.detail->>'owner';
    ELSE
        RETURN NULL;  -- (the owner changed two ways)
    END IF;
    b.definition := pggit._acl_strip(b.kind, p_identity, b.definition, b.detail); b.detail := b.detail - 'acl' - 'owner';
    s.definition := pggit._acl_strip(s.kind, p_identity, s.definition, s.detail); s.detail := s.detail - 'acl' - 'owner';
    t.definition := pggit._acl_strip(t.kind, p_identity, t.definition, t.detail); t.detail := t.detail - 'acl' - 'owner';
    IF (s.definition, s.detail) = (b.definition, b.detail) OR (s.definition, s.detail) = (t.definition, t.detail) THEN
        v_rest := t;
    ELSIF (t.definition, t.detail) = (b.definition, b.detail) THEN
        v_rest := s;
    ELSE
        RETURN NULL;
    END IF;
    -- (detail.acl of the three, read again from the stored blobs)
    FOR v_g IN SELECT k FROM pggit.blobs x, jsonb_object_keys(coalesce(x.detail->'acl', '{}')) k
                WHERE x.hash IN (p_base, p_source, p_target) GROUP BY k LOOP
        DECLARE
            v_dflt text[] := pggit._acl_default(b.kind, p_identity, v_g);
            bv text[] := coalesce((SELECT array(SELECT jsonb_array_elements_text(x.detail->'acl'->v_g)) FROM pggit.blobs x
                                    WHERE x.hash = p_base AND x.detail->'acl' ? v_g), v_dflt);
            sv text[] := coalesce((SELECT array(SELECT jsonb_array_elements_text(x.detail->'acl'->v_g)) FROM pggit.blobs x
                                    WHERE x.hash = p_source AND x.detail->'acl' ? v_g), v_dflt);
            tv text[] := coalesce((SELECT array(SELECT jsonb_array_elements_text(x.detail->'acl'->v_g)) FROM pggit.blobs x
                                    WHERE x.hash = p_target AND x.detail->'acl' ? v_g), v_dflt);
            rv text[];
        BEGIN
            -- privilege by privilege: what the base had and neither side revoked, and what either granted
            rv := array(SELECT p FROM (SELECT p FROM unnest(bv) p WHERE p = ANY (sv) AND p = ANY (tv)
                                       UNION SELECT p FROM unnest(sv) p WHERE NOT p = ANY (bv)
                                       UNION SELECT p FROM unnest(tv) p WHERE NOT p = ANY (bv)) x
                         ORDER BY p COLLATE "C");
            IF rv IS DISTINCT FROM v_dflt THEN
                v_acl := v_acl || jsonb_build_object(v_g, to_jsonb(rv));
            END IF;
        END;
    END LOOP;
    IF v_acl = '{}' THEN
        v_acl := NULL;
    END IF;
    IF v_owner IS NOT NULL THEN
        v_rest.detail := v_rest.detail || jsonb_build_object('owner', v_owner);
    END IF;
    v_def := v_rest.definition || pggit._owner_sql(b.kind, v_rest.detail) || pggit._acl_sql(b.kind, p_identity, v_acl);
    IF b.kind = 'default privileges' THEN
        v_def := substr(v_def, 2);  -- (as _describe_default_acl writes it: no leading newline)
        v_acl := coalesce(v_acl, '{}');
    END IF;
    v_rest.detail := v_rest.detail || CASE WHEN v_acl IS NULL THEN '{}' ELSE jsonb_build_object('acl', v_acl) END;
    v_hash := pggit._sha256(v_def || E'\n' || v_rest.detail::text);
    INSERT INTO pggit.blobs AS bl (hash, kind, definition, detail) VALUES (v_hash, b.kind, v_def, v_rest.detail)
    ON CONFLICT ON CONSTRAINT blobs_pkey DO NOTHING;
    RETURN v_hash;
END $$;

-- Turn privileges in descriptions on or off for this repository (meta key 'privileges'); the
-- objects whose description changes take the new form in one commit on HEAD (default privileges
-- leave HEAD when turned off; what had drifted before stays drift). Returns how many objects
-- changed.
CREATE FUNCTION pggit.configure_privileges(p_on boolean) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_skip    text[];
    v_descs   pggit.objdesc[];
    v_gone_c  oid[];
    v_gone_o  oid[];
    v_changes pggit.change[];
BEGIN
    IF p_on IS NULL THEN
        RAISE EXCEPTION 'configure_privileges needs true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM pggit.flush();
    IF pggit._privileges_on() = p_on THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(d.identity), '{}') INTO v_skip FROM pggit.drift() d;
    INSERT INTO pggit.meta AS m (key, value) VALUES ('privileges', CASE WHEN p_on THEN 'on' ELSE 'off' END)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    SELECT array_agg(s.d) INTO v_descs
      FROM (SELECT pggit._describe(r.classid, r.objid) AS d FROM pggit._all_roots() r) s
      LEFT JOIN pggit.live_objects l ON l.identity = (s.d).identity
     WHERE (s.d).identity IS NOT NULL AND NOT (s.d).identity = ANY (v_skip)
       AND l.hash IS DISTINCT FROM pggit._sha256((s.d).definition || E'\n' || (s.d).detail::text);
    SELECT array_agg(l.classid), array_agg(l.objid) INTO v_gone_c, v_gone_o
      FROM pggit.live_objects l
     WHERE NOT p_on AND l.kind = 'default privileges' AND NOT l.identity = ANY (v_skip);
    v_changes := pggit._record_changes(coalesce(v_descs, '{}'), '{}', '{}', coalesce(v_gone_c, '{}'), coalesce(v_gone_o, '{}'));
    IF v_changes IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pggit._commit_live(v_changes, CASE WHEN p_on THEN 'Privileges tracked: objects described with their GRANTs'
                                               ELSE 'Privileges not tracked: objects described without their GRANTs' END, v_started);
    RETURN cardinality(v_changes);
END $$;

-- Default privileges (ALTER DEFAULT PRIVILEGES, pg_default_acl) are objects of their own, kind
-- 'default privileges', identity 'default privileges for role r [in schema s] on tables' (on
-- sequences, functions, types, schemas); 'OWNER' is role r. An entry for all schemas is
-- described relative to PostgreSQL's built-in defaults (acldefault), one for a schema relative to
-- nothing (it can only add). Their definition is only the ALTER DEFAULT PRIVILEGES statements.

-- The default privileges entries in tracked schemas (or for all schemas), as catalog addresses.
CREATE FUNCTION pggit._default_acl_roots() RETURNS TABLE (classid oid, objid oid)
LANGUAGE sql STABLE AS $$
    SELECT 'pg_default_acl'::regclass::oid, d.oid
      FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
     WHERE pggit._privileges_on() AND d.defaclobjtype IN ('r', 'S', 'f', 'T', 'n')
       AND (d.defaclnamespace = 0 OR pggit._tracked_schema(n.nspname))
$$;

-- Describe one default privileges entry; NULL when it does not exist, is not tracked or
-- privileges are off.
CREATE FUNCTION pggit._describe_default_acl(p_objid oid) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_ident text;
    v_role  oid;
    v_nsp   text;
    v_acl   jsonb;
BEGIN
    SELECT 'default privileges for role ' || quote_ident(pg_get_userbyid(d.defaclrole))
           || coalesce(' in schema ' || quote_ident(n.nspname), '') || ' on '
           || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                   WHEN 'T' THEN 'types' ELSE 'schemas' END,
           d.defaclrole, n.nspname
      INTO v_ident, v_role, v_nsp
      FROM pggit._default_acl_roots() r JOIN pg_default_acl d ON d.oid = r.objid
      LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
     WHERE r.objid = p_objid;
    IF v_ident IS NULL THEN
        RETURN NULL;
    END IF;
    WITH per AS (
        SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' WHEN x.grantee = v_role THEN 'OWNER'
                    ELSE quote_ident(pg_get_userbyid(x.grantee)) END AS g,
               array_agg(DISTINCT x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END)
                   FILTER (WHERE x.is_grantable OR NOT EXISTS (SELECT 1 FROM pg_default_acl d2 CROSS JOIN LATERAL aclexplode(d2.defaclacl) y
                                                               WHERE d2.oid = p_objid AND y.grantee = x.grantee
                                                                 AND y.privilege_type = x.privilege_type AND y.is_grantable)) AS privs
          FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) x
         WHERE d.oid = p_objid GROUP BY 1
    ),
    g AS (SELECT d.g FROM (VALUES ('OWNER'), ('PUBLIC')) d(g) UNION SELECT per.g FROM per)
    SELECT jsonb_object_agg(g.g, to_jsonb(coalesce((SELECT array_agg(p ORDER BY p COLLATE "C") FROM unnest(per.privs) p), '{}')))
      INTO v_acl
      FROM g LEFT JOIN per ON per.g = g.g
     WHERE coalesce((SELECT array_agg(p ORDER BY p COLLATE "C") FROM unnest(per.privs) p), '{}')
           IS DISTINCT FROM pggit._acl_default('default privileges', v_ident, g.g);
    RETURN ROW('pg_default_acl'::regclass, p_objid, 'default privileges', v_ident,
               substr(pggit._acl_sql('default privileges', v_ident, coalesce(v_acl, '{}')), 2),
               jsonb_strip_nulls(jsonb_build_object('acl', coalesce(v_acl, '{}'),
                                                    'deps', CASE WHEN v_nsp IS NOT NULL THEN jsonb_build_array('schema ' || quote_ident(v_nsp)) END))
              )::pggit.objdesc;
END $$;
