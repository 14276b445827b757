-- pgGit engine: reading schema objects from the catalogs as canonical definitions.
--
-- Search path rule: entry points (the public API, event trigger and trigger functions) run with
-- SET search_path = pg_catalog, pg_temp. Internal helpers (names starting with _) carry no SET
-- clause, so that the small SQL ones inline and none pays a search_path switch per call; they
-- run only under an entry point's search path, where every catalog text they read (format_type,
-- pg_get_*def) is schema-qualified the same way.

-- One described object: its catalog address, identity and canonical definition.
CREATE TYPE pggit.objdesc AS (
    classid    oid,
    objid      oid,
    kind       text,
    identity   text,
    definition text,
    detail     jsonb
);

-- The engine's schemas of data branches (50_data.sql): pggit_data and pggit_data_<schema>.
CREATE FUNCTION pggit._data_schema(p_nspname text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_nspname ~ '^pggit_data(_|$)'
$$;

-- Is this schema tracked? Never pggit, system, toast or temporary schemas, nor the schemas of
-- data branches.
CREATE FUNCTION pggit._tracked_schema(p_nspname text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT p_nspname IS NOT NULL
       AND p_nspname NOT IN ('pggit', 'information_schema')
       AND p_nspname !~ '^pg_'
       AND NOT pggit._data_schema(p_nspname)
       AND NOT EXISTS (SELECT 1 FROM pggit.untracked_schemas u WHERE u.schema_name = p_nspname)
    );
END $$;

-- Helpers that query tables are PL/pgSQL, whose plans are cached per session; SQL-language
-- helpers are single expressions that the planner inlines.

-- sha256 of a text, as hex.
CREATE FUNCTION pggit._sha256(p_text text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(p_text, 'UTF8')), 'hex')
$$;

-- Qualified, quoted name of an object in a namespace.
CREATE FUNCTION pggit._qname(p_nsp oid, p_name name) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT p_nsp::regnamespace::text || '.' || quote_ident(p_name)
$$;

-- A definition in the form PostgreSQL prints after it is run again. The server does not print
-- every expression as a fixpoint: `v IN ('a', 'b')` on a varchar column prints as
-- `((ARRAY['a'::character varying, ...])::text[])`, which, run again, prints as
-- `(ARRAY[('a'::character varying)::text, ...])`. Definitions are compared in the second form.
CREATE FUNCTION pggit._canon(p_text text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := p_text;
    m text[];
    n int := 0;
BEGIN
    IF v IS NULL OR strpos(v, '])::') = 0 THEN
        RETURN v;
    END IF;
    LOOP
        m := regexp_match(v, $re$\(\(ARRAY\[((?:'(?:[^']|'')*'::[a-z][a-z0-9_ ]*(?:\([0-9, ]+\))?(?:, )?)+)\]\)::([a-z][a-z0-9_ ]*)\[\]\)$re$);
        EXIT WHEN m IS NULL OR n >= 1000;
        n := n + 1;
        v := replace(v, '((ARRAY[' || m[1] || '])::' || m[2] || '[])',
                     '(ARRAY[' || regexp_replace(m[1], $re$('(?:[^']|'')*'::[a-z][a-z0-9_ ]*(?:\([0-9, ]+\))?)$re$, '(\1)::' || m[2], 'g') || '])');
    END LOOP;
    RETURN v;
END $$;

-- Map any catalog object to the tracked object it belongs to (a column to its table, a
-- constraint index to its table, an identity sequence to its table...). NULLs when untracked.
CREATE FUNCTION pggit._root(p_classid oid, p_objid oid, OUT classid oid, OUT objid oid)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_kind "char";
    v_nsp  oid;
    v_oid  oid;
    v_part boolean;
    v_type oid;
    v_len  int2;
BEGIN
    IF p_classid = 'pg_default_acl'::regclass THEN
        -- (default privileges: 10_privileges.sql)
        SELECT d.classid, d.objid INTO classid, objid FROM pggit._default_acl_roots() d WHERE d.objid = p_objid;
        RETURN;
    END IF;
    -- an object that belongs to an extension stands for its extension
    IF p_classid <> 'pg_extension'::regclass THEN
        SELECT d.refobjid INTO v_oid FROM pg_depend d
         WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e' LIMIT 1;
        IF FOUND THEN
            IF pggit._tracked_oid('pg_extension'::regclass, v_oid) THEN
                classid := 'pg_extension'::regclass; objid := v_oid;
            END IF;
            RETURN;
        END IF;
    END IF;
    IF p_classid = 'pg_class'::regclass THEN
        SELECT c.relkind, c.relnamespace, c.relispartition, c.reltype INTO v_kind, v_nsp, v_part, v_type
          FROM pg_class c WHERE c.oid = p_objid;
        IF NOT FOUND THEN RETURN; END IF;
        IF v_kind IN ('r', 'p', 'v', 'm', 'f') THEN
            classid := p_classid; objid := p_objid;
        ELSIF v_kind IN ('i', 'I') THEN
            SELECT con.conrelid INTO v_oid FROM pg_constraint con
             WHERE con.conrelid = (SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = p_objid)  -- (pg_constraint has no index on conindid)
               AND con.conindid = p_objid AND con.contype IN ('p', 'u', 'x') AND con.conrelid <> 0
             LIMIT 1;
            IF FOUND THEN
                classid := p_classid; objid := v_oid;
            ELSIF v_part THEN
                -- an index attached to a partitioned index belongs to it (made by it, or listed in
                -- its definition while it is not valid: see _attached_indexes_sql)
                SELECT i.inhparent INTO v_oid FROM pg_inherits i WHERE i.inhrelid = p_objid LIMIT 1;
                IF FOUND THEN
                    SELECT r.classid, r.objid INTO classid, objid FROM pggit._root(p_classid, v_oid) r;
                END IF;
                RETURN;
            ELSE
                classid := p_classid; objid := p_objid;
            END IF;
        ELSIF v_kind = 'S' THEN
            SELECT d.refobjid INTO v_oid FROM pg_depend d
             WHERE d.classid = 'pg_class'::regclass AND d.objid = p_objid AND d.deptype = 'i' LIMIT 1;
            classid := p_classid; objid := coalesce(v_oid, p_objid);
        ELSIF v_kind = 'c' THEN
            classid := 'pg_type'::regclass; objid := v_type;
        ELSE
            RETURN;
        END IF;
    ELSIF p_classid = 'pg_attrdef'::regclass THEN
        SELECT 'pg_class'::regclass, a.adrelid INTO classid, objid FROM pg_attrdef a WHERE a.oid = p_objid;
    ELSIF p_classid = 'pg_constraint'::regclass THEN
        SELECT CASE WHEN c.conrelid <> 0 THEN 'pg_class'::regclass ELSE 'pg_type'::regclass END,
               CASE WHEN c.conrelid <> 0 THEN c.conrelid ELSE c.contypid END
          INTO classid, objid FROM pg_constraint c WHERE c.oid = p_objid;
        IF objid = 0 THEN classid := NULL; objid := NULL; RETURN; END IF;
        IF classid = 'pg_class'::regclass THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root(classid, objid) r;
            RETURN;
        END IF;
    ELSIF p_classid = 'pg_type'::regclass THEN
        SELECT t.typtype, t.typrelid, t.typelem, t.typlen INTO v_kind, v_oid, v_type, v_len
          FROM pg_type t WHERE t.oid = p_objid;
        IF NOT FOUND THEN RETURN; END IF;
        IF v_kind = 'c' THEN
            IF (SELECT c.relkind FROM pg_class c WHERE c.oid = v_oid) = 'c' THEN
                classid := p_classid; objid := p_objid;
            ELSE
                SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_class'::regclass, v_oid) r;
                RETURN;
            END IF;
        ELSIF v_kind IN ('e', 'd', 'r') THEN
            classid := p_classid; objid := p_objid;
        ELSIF v_kind = 'm' THEN
            SELECT 'pg_type'::regclass, rg.rngtypid INTO classid, objid FROM pg_range rg WHERE rg.rngmultitypid = p_objid;
        ELSIF v_kind = 'b' AND v_type <> 0 AND v_len = -1
              AND EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = v_type AND e.typarray = p_objid) THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_type'::regclass, v_type) r;
            RETURN;
        ELSIF v_kind = 'b' AND p_objid >= 16384 THEN
            -- a base type made with its own I/O functions (CREATE TYPE name (INPUT = ...))
            classid := p_classid; objid := p_objid;
        ELSE
            RETURN;
        END IF;
    ELSIF p_classid = 'pg_proc'::regclass THEN
        -- the constructors CREATE TYPE ... AS RANGE makes belong to the range type
        SELECT d.refobjid INTO v_oid FROM pg_depend d
         WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'i'
           AND d.refclassid = 'pg_type'::regclass LIMIT 1;
        IF FOUND THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_type'::regclass, v_oid) r;
            RETURN;
        END IF;
        -- the input, output, receive and send functions of a base type belong to it (made between
        -- its shell and its full definition; their signatures name it)
        SELECT t.oid INTO v_oid FROM pg_proc p JOIN pg_type t ON t.oid IN (p.prorettype, p.proargtypes[0])
         WHERE p.oid = p_objid AND t.typtype = 'b' AND p_objid IN (t.typinput, t.typoutput, t.typreceive, t.typsend) LIMIT 1;
        IF FOUND THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_type'::regclass, v_oid) r;
            RETURN;
        END IF;
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_trigger'::regclass THEN
        SELECT t.tgparentid INTO v_oid FROM pg_trigger t WHERE t.oid = p_objid AND (NOT t.tgisinternal OR t.tgparentid <> 0);
        IF v_oid <> 0 THEN
            -- a partition's clone of its parent's trigger belongs to that trigger (which shows
            -- the clones' ENABLE / DISABLE states that differ)
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root(p_classid, v_oid) r;
            RETURN;
        ELSIF v_oid = 0 THEN
            classid := p_classid; objid := p_objid;
        END IF;
    ELSIF p_classid = 'pg_policy'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_rewrite'::regclass THEN
        -- a view's _RETURN rule is the view; any other rule is an object of its own
        IF EXISTS (SELECT 1 FROM pg_rewrite rw WHERE rw.oid = p_objid AND rw.rulename <> '_RETURN') THEN
            classid := p_classid; objid := p_objid;
        ELSE
            SELECT r.classid, r.objid INTO classid, objid
              FROM pg_rewrite rw, pggit._root('pg_class'::regclass, rw.ev_class) r
             WHERE rw.oid = p_objid AND rw.rulename = '_RETURN';
            RETURN;
        END IF;
    ELSIF p_classid = 'pg_namespace'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_extension'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_collation'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_statistic_ext'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_event_trigger'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_cast'::regclass THEN
        -- (the cast CREATE TYPE ... AS RANGE makes to the multirange belongs to the range type)
        SELECT d.refobjid INTO v_oid FROM pg_depend d
         WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'i'
           AND d.refclassid = 'pg_type'::regclass LIMIT 1;
        IF FOUND THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root('pg_type'::regclass, v_oid) r;
            RETURN;
        END IF;
        classid := p_classid; objid := p_objid;
    ELSIF p_classid IN ('pg_ts_dict'::regclass, 'pg_ts_config'::regclass) THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_ts_config_map'::regclass THEN
        RETURN;  -- (mappings are not addressed on their own)
    ELSIF p_classid = 'pg_operator'::regclass THEN
        -- (a shell operator, made by naming it as another's COMMUTATOR or NEGATOR before it
        -- exists, is not an object until CREATE OPERATOR defines it)
        IF EXISTS (SELECT 1 FROM pg_operator o WHERE o.oid = p_objid AND o.oprcode <> 0) THEN
            classid := p_classid; objid := p_objid;
        END IF;
    ELSIF p_classid IN ('pg_opclass'::regclass, 'pg_opfamily'::regclass, 'pg_am'::regclass, 'pg_transform'::regclass,
                        'pg_ts_parser'::regclass, 'pg_ts_template'::regclass, 'pg_foreign_data_wrapper'::regclass,
                        'pg_foreign_server'::regclass, 'pg_user_mapping'::regclass, 'pg_subscription'::regclass) THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid IN ('pg_amop'::regclass, 'pg_amproc'::regclass) THEN
        -- an operator or function of an operator family belongs to the operator class that made it,
        -- or (ALTER OPERATOR FAMILY ... ADD) to the family
        SELECT d.refclassid, d.refobjid INTO v_type, v_oid FROM pg_depend d
         WHERE d.classid = p_classid AND d.objid = p_objid AND d.refclassid IN ('pg_opclass'::regclass, 'pg_opfamily'::regclass)
         ORDER BY d.refclassid = 'pg_opclass'::regclass DESC LIMIT 1;
        IF FOUND THEN
            SELECT r.classid, r.objid INTO classid, objid FROM pggit._root(v_type, v_oid) r;
        END IF;
        RETURN;
    ELSIF p_classid = 'pg_publication'::regclass THEN
        classid := p_classid; objid := p_objid;
    ELSIF p_classid = 'pg_publication_rel'::regclass THEN
        -- a table of a publication is part of the publication
        SELECT 'pg_publication'::regclass, pr.prpubid INTO classid, objid FROM pg_publication_rel pr WHERE pr.oid = p_objid;
    ELSIF p_classid = to_regclass('pg_catalog.pg_publication_namespace') THEN
        -- (PostgreSQL 15 and later: TABLES IN SCHEMA)
        EXECUTE 'SELECT pn.pnpubid FROM pg_catalog.pg_publication_namespace pn WHERE pn.oid = $1' INTO v_oid USING p_objid;
        IF v_oid IS NOT NULL THEN
            classid := 'pg_publication'::regclass; objid := v_oid;
        END IF;
    ELSE
        RETURN;
    END IF;
    IF objid IS NOT NULL AND NOT pggit._tracked_oid(classid, objid) THEN
        classid := NULL; objid := NULL;
    END IF;
END $$;

-- Does this object depend on a temporary object, directly or through objects that do (a domain
-- over a temporary table's row type, a function taking one)? PostgreSQL drops it with the
-- temporary object when the session ends, and no event trigger sees that drop: not state.
CREATE FUNCTION pggit._on_temp(p_classid oid, p_objid oid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    WITH RECURSIVE dep(classid, objid, depth) AS (
            SELECT p_classid, p_objid, 0
            UNION
            SELECT d.refclassid, d.refobjid, dep.depth + 1
              FROM dep JOIN pg_depend d ON d.classid = dep.classid AND d.objid = dep.objid
             WHERE d.deptype = 'n' AND d.refobjid >= 16384 AND dep.depth < 16
        )
        SELECT EXISTS (
            SELECT 1 FROM dep JOIN pg_namespace n ON n.oid = CASE dep.classid
                       WHEN 'pg_class'::regclass THEN (SELECT c.relnamespace FROM pg_class c WHERE c.oid = dep.objid)
                       WHEN 'pg_type'::regclass THEN (SELECT t.typnamespace FROM pg_type t WHERE t.oid = dep.objid)
                       WHEN 'pg_proc'::regclass THEN (SELECT p.pronamespace FROM pg_proc p WHERE p.oid = dep.objid)
                       END
             WHERE dep.depth > 0 AND n.nspname LIKE 'pg\_temp\_%'));
END $$;

-- Is this (root) object in a tracked schema, not a member of an extension, and not dependent on
-- a temporary object?
CREATE FUNCTION pggit._tracked_oid(p_classid oid, p_objid oid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_nsp  oid;
    v_kind "char";
BEGIN
    -- (one small key lookup per kind, in an IF chain: a single CASE over every catalog made the
    -- executor start a sub-plan for each kind at every call, and this runs several times for
    -- every captured statement)
    IF p_classid = 'pg_class'::regclass THEN
        SELECT c.relnamespace, c.relkind INTO v_nsp, v_kind FROM pg_class c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_type'::regclass THEN
        SELECT t.typnamespace INTO v_nsp FROM pg_type t WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_proc'::regclass THEN
        SELECT p.pronamespace INTO v_nsp FROM pg_proc p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_trigger'::regclass THEN
        -- (a data branch's triggers on a checked-out table run functions of schema pggit_data:
        -- they are the engine's, not the table's)
        SELECT CASE WHEN p.pronamespace = c.relnamespace THEN c.relnamespace
                    WHEN (SELECT n.nspname FROM pg_namespace n WHERE n.oid = p.pronamespace) = 'pggit_data' THEN p.pronamespace
                    ELSE c.relnamespace END
          INTO v_nsp FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_policy'::regclass THEN
        SELECT c.relnamespace INTO v_nsp FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_namespace'::regclass THEN
        v_nsp := p_objid;
    ELSIF p_classid = 'pg_extension'::regclass THEN
        SELECT e.extnamespace INTO v_nsp FROM pg_extension e WHERE e.oid = p_objid;
    ELSIF p_classid = 'pg_collation'::regclass THEN
        SELECT co.collnamespace INTO v_nsp FROM pg_collation co WHERE co.oid = p_objid AND co.oid >= 16384;
    ELSIF p_classid = 'pg_statistic_ext'::regclass THEN
        SELECT s.stxnamespace INTO v_nsp FROM pg_statistic_ext s WHERE s.oid = p_objid;
    ELSIF p_classid = 'pg_rewrite'::regclass THEN
        SELECT c.relnamespace INTO v_nsp FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = p_objid;
    ELSIF p_classid = 'pg_event_trigger'::regclass THEN
        -- (an event trigger is in no schema: it is tracked when the function it runs is, which
        -- leaves out the engine's own, whose functions are in pggit)
        SELECT p.pronamespace INTO v_nsp FROM pg_event_trigger e JOIN pg_proc p ON p.oid = e.evtfoid
         WHERE e.oid = p_objid AND e.oid >= 16384;
    ELSIF p_classid = 'pg_operator'::regclass THEN
        SELECT o.oprnamespace INTO v_nsp FROM pg_operator o WHERE o.oid = p_objid;
    ELSIF p_classid = 'pg_ts_dict'::regclass THEN
        SELECT d.dictnamespace INTO v_nsp FROM pg_ts_dict d WHERE d.oid = p_objid AND d.oid >= 16384;
    ELSIF p_classid = 'pg_ts_config'::regclass THEN
        SELECT t.cfgnamespace INTO v_nsp FROM pg_ts_config t WHERE t.oid = p_objid AND t.oid >= 16384;
    ELSIF p_classid = 'pg_ts_parser'::regclass THEN
        SELECT t.prsnamespace INTO v_nsp FROM pg_ts_parser t WHERE t.oid = p_objid AND t.oid >= 16384;
    ELSIF p_classid = 'pg_ts_template'::regclass THEN
        SELECT t.tmplnamespace INTO v_nsp FROM pg_ts_template t WHERE t.oid = p_objid AND t.oid >= 16384;
    ELSIF p_classid = 'pg_opclass'::regclass THEN
        SELECT o.opcnamespace INTO v_nsp FROM pg_opclass o WHERE o.oid = p_objid AND o.oid >= 16384;
    ELSIF p_classid = 'pg_opfamily'::regclass THEN
        SELECT o.opfnamespace INTO v_nsp FROM pg_opfamily o WHERE o.oid = p_objid AND o.oid >= 16384;
    ELSIF p_classid = 'pg_transform'::regclass THEN
        -- (a transform is in no schema: tracked when its type, or else its functions, are in a
        -- tracked schema)
        SELECT x.nsp INTO v_nsp FROM pg_transform tr
         CROSS JOIN LATERAL (SELECT 1, t.typnamespace FROM pg_type t WHERE t.oid = tr.trftype
                             UNION ALL SELECT 2, p.pronamespace FROM pg_proc p WHERE p.oid IN (tr.trffromsql, tr.trftosql)) x(k, nsp)
          JOIN pg_namespace n ON n.oid = x.nsp
         WHERE tr.oid = p_objid AND tr.oid >= 16384 AND n.nspname <> 'pg_catalog'
         ORDER BY x.k, n.nspname LIMIT 1;
        IF v_nsp IS NULL THEN
            -- a transform between built-in types and functions made by a user
            RETURN p_objid >= 16384
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
        END IF;
    ELSIF p_classid IN ('pg_am'::regclass, 'pg_foreign_data_wrapper'::regclass, 'pg_foreign_server'::regclass) THEN
        -- (in no schema: every one made by a user, not by an extension, is tracked)
        RETURN p_objid >= 16384
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
    ELSIF p_classid = 'pg_user_mapping'::regclass THEN
        -- (a user mapping goes with its server)
        RETURN coalesce((SELECT pggit._tracked_oid('pg_foreign_server'::regclass, um.umserver) FROM pg_user_mapping um WHERE um.oid = p_objid), false);
    ELSIF p_classid = 'pg_subscription'::regclass THEN
        -- (subscriptions are in no schema and shared by the cluster's catalog: those of this database)
        RETURN EXISTS (SELECT 1 FROM pg_subscription s JOIN pg_database db ON db.oid = s.subdbid
                        WHERE s.oid = p_objid AND db.datname = current_database());
    ELSIF p_classid = 'pg_publication'::regclass THEN
        -- (a publication is in no schema: every one made by a user is tracked)
        RETURN EXISTS (SELECT 1 FROM pg_publication p WHERE p.oid = p_objid AND p.oid >= 16384)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
    ELSIF p_classid = 'pg_cast'::regclass THEN
        -- (a cast is in no schema either: one made by a user is tracked when those of its source
        -- type, target type and function that are not built in are in tracked schemas; the
        -- schema of one not tracked comes first)
        SELECT x.nsp INTO v_nsp FROM pg_cast c
         CROSS JOIN LATERAL (SELECT t.typnamespace FROM pg_type t WHERE t.oid = c.castsource
                             UNION ALL SELECT t.typnamespace FROM pg_type t WHERE t.oid = c.casttarget
                             UNION ALL SELECT p.pronamespace FROM pg_proc p WHERE p.oid = c.castfunc) x(nsp)
          JOIN pg_namespace n ON n.oid = x.nsp
         WHERE c.oid = p_objid AND c.oid >= 16384 AND n.nspname <> 'pg_catalog'
         ORDER BY pggit._tracked_schema(n.nspname), n.nspname LIMIT 1;
        IF v_nsp IS NULL THEN
            -- a cast made by a user between built-in types (its own oid)
            RETURN EXISTS (SELECT 1 FROM pg_cast c WHERE c.oid = p_objid AND c.oid >= 16384)
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
        END IF;
    END IF;
    IF v_nsp IS NULL OR NOT coalesce((
           SELECT n.nspname NOT IN ('pggit', 'information_schema') AND left(n.nspname, 3) <> 'pg_'
                  AND NOT pggit._data_schema(n.nspname)
                  AND NOT EXISTS (SELECT 1 FROM pggit.untracked_schemas u WHERE u.schema_name = n.nspname)
             FROM pg_namespace n WHERE n.oid = v_nsp), false) THEN
        RETURN false;
    END IF;
    IF p_classid <> 'pg_extension'::regclass
       AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e') THEN
        RETURN false;
    END IF;
    -- (only types, composite types and functions can depend on a temporary object and stay
    -- permanent: a view over a temporary table becomes temporary itself, and a table or index
    -- is never checked, so the common statements pay nothing for this)
    IF p_classid IN ('pg_type'::regclass, 'pg_proc'::regclass) OR v_kind = 'c' THEN
        RETURN NOT pggit._on_temp(p_classid, p_objid);
    END IF;
    RETURN true;
END $$;

-- Identities of the tracked objects that the given catalog objects depend on.
CREATE FUNCTION pggit._deps(p_classids oid[], p_objids oid[], p_self text, p_deptypes "char"[]) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- one query: the addresses' dependencies (an equality lookup per address, kept from being
    -- flattened into a join that could scan pg_depend whole), each distinct one rooted once
    RETURN array(
        SELECT DISTINCT x.identity
          FROM (SELECT DISTINCT d.refclassid, d.refobjid
                  FROM unnest(p_classids, p_objids) u(classid, objid)
                 CROSS JOIN LATERAL (SELECT d.refclassid, d.refobjid FROM pg_depend d
                                      WHERE d.classid = u.classid AND d.objid = u.objid
                                        AND d.deptype = ANY (p_deptypes) AND d.refobjid >= 16384
                                        AND d.refobjid <> ALL (p_objids)  -- a table's own constraints and defaults point back at it
                                     OFFSET 0) d) dep
         CROSS JOIN LATERAL pggit._root(dep.refclassid, dep.refobjid) r
         CROSS JOIN LATERAL pggit._ident(r.classid, r.objid) x
         WHERE r.objid IS NOT NULL AND x.identity IS NOT NULL AND x.identity <> p_self
         ORDER BY 1);
END $$;

-- Schema-qualified name of an operator (operator names are not quoted: schema.===).
CREATE FUNCTION pggit._operator_name(p_oid oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT o.oprnamespace::regnamespace::text || '.' || o.oprname FROM pg_operator o WHERE o.oid = p_oid
$$;

-- Kind and identity of a root object (cheap: no definition).
CREATE FUNCTION pggit._ident(p_classid oid, p_objid oid, OUT kind text, OUT identity text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_classid = 'pg_class'::regclass THEN
        SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                              WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'index' END,
               pggit._qname(c.relnamespace, c.relname)
          INTO kind, identity FROM pg_class c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_type'::regclass THEN
        SELECT CASE WHEN t.typtype = 'd' THEN 'domain' ELSE 'type' END, pggit._qname(t.typnamespace, t.typname)
          INTO kind, identity FROM pg_type t WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_proc'::regclass THEN
        SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
               pggit._qname(p.pronamespace, p.proname) || '(' || oidvectortypes(p.proargtypes) || ')'
          INTO kind, identity FROM pg_proc p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_trigger'::regclass THEN
        SELECT 'trigger', quote_ident(t.tgname) || ' on ' || pggit._qname(c.relnamespace, c.relname)
          INTO kind, identity FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_policy'::regclass THEN
        SELECT 'policy', quote_ident(p.polname) || ' on ' || pggit._qname(c.relnamespace, c.relname)
          INTO kind, identity FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_namespace'::regclass THEN
        SELECT 'schema', quote_ident(n.nspname) INTO kind, identity FROM pg_namespace n WHERE n.oid = p_objid;
    ELSIF p_classid = 'pg_extension'::regclass THEN
        SELECT 'extension', quote_ident(e.extname) INTO kind, identity FROM pg_extension e WHERE e.oid = p_objid;
    ELSIF p_classid = 'pg_collation'::regclass THEN
        SELECT 'collation', pggit._qname(c.collnamespace, c.collname) INTO kind, identity FROM pg_collation c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_statistic_ext'::regclass THEN
        SELECT 'statistics', pggit._qname(s.stxnamespace, s.stxname) INTO kind, identity FROM pg_statistic_ext s WHERE s.oid = p_objid;
    ELSIF p_classid = 'pg_publication'::regclass THEN
        SELECT 'publication', quote_ident(p.pubname) INTO kind, identity FROM pg_publication p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_ts_dict'::regclass THEN
        SELECT 'text search dictionary', pggit._qname(d.dictnamespace, d.dictname) INTO kind, identity FROM pg_ts_dict d WHERE d.oid = p_objid;
    ELSIF p_classid = 'pg_ts_config'::regclass THEN
        SELECT 'text search configuration', pggit._qname(c.cfgnamespace, c.cfgname) INTO kind, identity FROM pg_ts_config c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_operator'::regclass THEN
        SELECT 'operator', pggit._operator_name(o.oid) || '(' || CASE WHEN o.oprleft = 0 THEN 'NONE' ELSE format_type(o.oprleft, NULL) END
                           || ', ' || format_type(o.oprright, NULL) || ')'
          INTO kind, identity FROM pg_operator o WHERE o.oid = p_objid;
    ELSIF p_classid = 'pg_cast'::regclass THEN
        SELECT 'cast', '(' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) || ')'
          INTO kind, identity FROM pg_cast c WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_event_trigger'::regclass THEN
        SELECT 'event trigger', quote_ident(e.evtname) INTO kind, identity FROM pg_event_trigger e WHERE e.oid = p_objid;
    ELSIF p_classid = 'pg_opclass'::regclass THEN
        SELECT 'operator class', pggit._qname(c.opcnamespace, c.opcname) || ' using ' || quote_ident(a.amname)
          INTO kind, identity FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod WHERE c.oid = p_objid;
    ELSIF p_classid = 'pg_opfamily'::regclass THEN
        SELECT 'operator family', pggit._qname(f.opfnamespace, f.opfname) || ' using ' || quote_ident(a.amname)
          INTO kind, identity FROM pg_opfamily f JOIN pg_am a ON a.oid = f.opfmethod WHERE f.oid = p_objid;
    ELSIF p_classid = 'pg_am'::regclass THEN
        SELECT 'access method', quote_ident(a.amname) INTO kind, identity FROM pg_am a WHERE a.oid = p_objid;
    ELSIF p_classid = 'pg_transform'::regclass THEN
        SELECT 'transform', 'for ' || format_type(t.trftype, NULL) || ' language ' || quote_ident(l.lanname)
          INTO kind, identity FROM pg_transform t JOIN pg_language l ON l.oid = t.trflang WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_ts_parser'::regclass THEN
        SELECT 'text search parser', pggit._qname(p.prsnamespace, p.prsname) INTO kind, identity FROM pg_ts_parser p WHERE p.oid = p_objid;
    ELSIF p_classid = 'pg_ts_template'::regclass THEN
        SELECT 'text search template', pggit._qname(t.tmplnamespace, t.tmplname) INTO kind, identity FROM pg_ts_template t WHERE t.oid = p_objid;
    ELSIF p_classid = 'pg_foreign_data_wrapper'::regclass THEN
        SELECT 'foreign data wrapper', quote_ident(w.fdwname) INTO kind, identity FROM pg_foreign_data_wrapper w WHERE w.oid = p_objid;
    ELSIF p_classid = 'pg_foreign_server'::regclass THEN
        SELECT 'server', quote_ident(s.srvname) INTO kind, identity FROM pg_foreign_server s WHERE s.oid = p_objid;
    ELSIF p_classid = 'pg_user_mapping'::regclass THEN
        SELECT 'user mapping', 'for ' || CASE WHEN um.umuser = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END || ' server ' || quote_ident(s.srvname)
          INTO kind, identity
          FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver LEFT JOIN pg_roles r ON r.oid = um.umuser
         WHERE um.oid = p_objid;
    ELSIF p_classid = 'pg_subscription'::regclass THEN
        SELECT 'subscription', quote_ident(s.subname) INTO kind, identity FROM pg_subscription s WHERE s.oid = p_objid;
    ELSIF p_classid = 'pg_rewrite'::regclass THEN
        SELECT 'rule', quote_ident(r.rulename) || ' on ' || pggit._qname(c.relnamespace, c.relname)
          INTO kind, identity FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = p_objid AND r.rulename <> '_RETURN';
    END IF;
    IF identity IS NOT NULL THEN
        identity := kind || ' ' || identity;
    END IF;
END $$;

-- COMMENT ON statement for an object, or '' when it has none.
CREATE FUNCTION pggit._comment_sql(p_target text, p_comment text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_comment IS NULL THEN '' ELSE E'\nCOMMENT ON ' || p_target || ' IS ' || quote_literal(p_comment) || ';' END
$$;

-- Render one column definition from its jsonb description.
CREATE FUNCTION pggit._column_sql(p_col jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT quote_ident(p_col->>'name') || ' ' || (p_col->>'type')
        || coalesce(' COLLATE ' || (p_col->>'collation'), '')
        || CASE WHEN p_col->>'generated' IS NOT NULL
                THEN ' GENERATED ALWAYS AS (' || (p_col->>'generated') || ')'
                     || CASE WHEN p_col->>'generated_kind' = 'v' THEN ' VIRTUAL' ELSE ' STORED' END
                ELSE '' END
        || coalesce(' DEFAULT ' || (p_col->>'default'), '')
        || CASE WHEN p_col->>'identity' IS NOT NULL
                THEN ' GENERATED ' || CASE WHEN p_col->>'identity' = 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END
                     || ' AS IDENTITY (' || (p_col->>'identity_options') || ')'
                ELSE '' END
        || CASE WHEN (p_col->>'notnull')::boolean
                THEN coalesce(' CONSTRAINT ' || quote_ident(p_col->>'notnull_name'), '') || ' NOT NULL'
                ELSE '' END
$$;

-- Sequence parameters as written after CREATE/ALTER SEQUENCE.
CREATE FUNCTION pggit._sequence_options(p_seq oid, p_with_type boolean) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT CASE WHEN p_with_type THEN 'AS ' || format_type(s.seqtypid, NULL) || ' ' ELSE '' END
        || 'START WITH ' || s.seqstart || ' INCREMENT BY ' || s.seqincrement
        || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' CACHE ' || s.seqcache
        || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END
      FROM pg_sequence s WHERE s.seqrelid = p_seq
    );
END $$;
