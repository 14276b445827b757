-- pgGit engine: canonical definition of one tracked object, read from the catalogs.

-- Defaults and NOT NULL of a typed table's columns (CREATE TABLE ... OF type makes them
-- without). p_late: the defaults that call user functions (set once those exist) only.
CREATE FUNCTION pggit._typed_column_sql(p_detail jsonb, p_late boolean) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(x.stmt ORDER BY c.n, x.k), '{}')
      FROM jsonb_array_elements(p_detail->'columns') WITH ORDINALITY c(col, n)
     CROSS JOIN LATERAL (
           SELECT 1 AS k, 'ALTER TABLE ONLY ' || (p_detail->>'qname') || ' ALTER COLUMN ' || quote_ident(c.col->>'name')
                          || ' SET NOT NULL;' AS stmt
            WHERE (c.col->>'notnull')::boolean AND NOT p_late
           UNION ALL
           SELECT 2, 'ALTER TABLE ONLY ' || (p_detail->>'qname') || ' ALTER COLUMN ' || quote_ident(c.col->>'name')
                     || ' SET DEFAULT ' || (c.col->>'default') || ';'
            WHERE c.col ? 'default' AND (c.col ? 'late_default') = p_late) x
$$;

-- The indexes attached to a partitioned index that is not valid, made and attached: each one
-- made for its own partitions too, or, not valid itself, made ON ONLY with its own attached.
CREATE FUNCTION pggit._attached_indexes_sql(p_index oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(
               E'\n' || CASE WHEN c.relkind = 'I' AND NOT x.indisvalid
                             THEN pg_get_indexdef(c.oid) || ';' || pggit._attached_indexes_sql(c.oid)
                             ELSE regexp_replace(pg_get_indexdef(c.oid), ' ON ONLY ', ' ON ') || ';' END
               || E'\nALTER INDEX ' || pggit._qname(pc.relnamespace, pc.relname) || ' ATTACH PARTITION '
               || pggit._qname(c.relnamespace, c.relname) || ';',
               '' ORDER BY c.relnamespace::regnamespace::text, c.relname), '')
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_index x ON x.indexrelid = c.oid
      JOIN pg_class pc ON pc.oid = i.inhparent
     WHERE i.inhparent = p_index
$$;

-- ATTACH PARTITION of a table made on its own and attached (detail "attached"), or NULL.
CREATE FUNCTION pggit._attach_sql(p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'ALTER TABLE ' || (p_detail->>'partition_of') || ' ATTACH PARTITION ' || (p_detail->>'qname') || ' '
           || (p_detail->>'bound') || ';'
     WHERE p_detail ? 'partition_of' AND (p_detail->>'attached')::boolean
$$;

-- The word SET STORAGE takes for an attstorage/typstorage letter.
CREATE FUNCTION pggit._storage_word(p_storage "char") RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_storage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END
$$;

-- SET STORAGE / SET COMPRESSION statements for a table's columns that have them (ONLY: a
-- parent's setting does not reach its children).
CREATE FUNCTION pggit._column_storage_sql(p_detail jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(x.stmt ORDER BY c.n, x.k), '{}')
      FROM jsonb_array_elements(p_detail->'columns') WITH ORDINALITY c(col, n)
     CROSS JOIN LATERAL (
           SELECT 1 AS k, 'ALTER TABLE ONLY ' || (p_detail->>'qname') || ' ALTER COLUMN ' || quote_ident(c.col->>'name')
                          || ' SET STORAGE ' || (c.col->>'storage') || ';' AS stmt
            WHERE c.col ? 'storage'
           UNION ALL
           SELECT 2, 'ALTER TABLE ONLY ' || (p_detail->>'qname') || ' ALTER COLUMN ' || quote_ident(c.col->>'name')
                     || ' SET COMPRESSION ' || (c.col->>'compression') || ';'
            WHERE c.col ? 'compression') x
$$;

-- Is an option of a foreign data wrapper, server or user mapping (or a connection string's
-- keyword) a secret? Those are not stored: password, passwd, secret, token and the like.
CREATE FUNCTION pggit._secret_option(p_name text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(p_name) ~ '(password|passwd|passphrase|secret|token|credential|api_?key|private_?key)'
$$;

-- ' OPTIONS (name 'value', ...)' of a generic options array (name=value items), without the
-- secrets, or ''.
CREATE FUNCTION pggit._options_sql(p_options text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(' OPTIONS (' || string_agg(quote_ident(split_part(o, '=', 1)) || ' '
                                              || quote_literal(substr(o, strpos(o, '=') + 1)), ', ' ORDER BY i) || ')', '')
      FROM unnest(p_options) WITH ORDINALITY u(o, i)
     WHERE NOT pggit._secret_option(split_part(o, '=', 1))
$$;

-- A subscription's connection string without its secrets (password=... in key/value form, the
-- password of a URI and its password parameter).
CREATE FUNCTION pggit._conninfo_without_secrets(p_conninfo text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_conninfo ~* '^postgres(ql)?://'
                THEN regexp_replace(regexp_replace(p_conninfo, '^(postgres(ql)?://[^:@/?]*):[^@/?]*@', '\1@', 'i'),
                                    '([?&])[a-z_]*(password|passwd|secret|token)[a-z_]*=[^&]*&?', '\1', 'gi')
                ELSE btrim(regexp_replace(p_conninfo,
                                          '(^|\s)[a-z_]*(password|passwd|secret|token)[a-z_]*\s*=\s*(''([^''\\]|\\.)*''|\S+)', '', 'gi')) END
$$;

-- A foreign table's definition: columns (type, column options, collation, default, NOT NULL),
-- checks, server and options; inherited or partition of another table.
CREATE FUNCTION pggit._foreign_table_sql(p_objid oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'CREATE FOREIGN TABLE ' || pggit._qname(c.relnamespace, c.relname)
           || CASE WHEN c.relispartition THEN
                  ' PARTITION OF ' || (SELECT pggit._qname(pc.relnamespace, pc.relname) FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                                        WHERE i.inhrelid = c.oid)
                  || ' ' || pg_get_expr(c.relpartbound, c.oid)
              ELSE
                  ' (' || coalesce(E'\n    ' || (
                      SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                                        || pggit._options_sql(a.attfdwoptions)
                                        || CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                                               ' COLLATE ' || (SELECT pggit._qname(co.collnamespace, co.collname) FROM pg_collation co WHERE co.oid = a.attcollation)
                                               ELSE '' END
                                        || coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                                        || CASE WHEN a.attnotnull THEN coalesce(' CONSTRAINT ' || quote_ident(nn.conname), '') || ' NOT NULL' ELSE '' END,
                                        E',\n    ' ORDER BY a.attnum)
                        FROM pg_attribute a
                        JOIN pg_type t ON t.oid = a.atttypid
                        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                        LEFT JOIN pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey = ARRAY[a.attnum]
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attislocal), '')
                  || coalesce((SELECT string_agg(E',\n    CONSTRAINT ' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid), '' ORDER BY con.conname)
                                 FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'c' AND con.conislocal), '')
                  || E'\n)'
                  || coalesce(' INHERITS (' || (SELECT string_agg(pggit._qname(pc.relnamespace, pc.relname), ', ' ORDER BY i.inhseqno)
                                                 FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent WHERE i.inhrelid = c.oid) || ')', '')
              END
           || ' SERVER ' || quote_ident(s.srvname) || pggit._options_sql(ft.ftoptions) || ';'
           -- (a partition's columns are its parent's: their options and defaults come after)
           || CASE WHEN c.relispartition THEN coalesce((
                  SELECT string_agg(E'\nALTER FOREIGN TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ALTER COLUMN ' || quote_ident(a.attname)
                                    || ' OPTIONS (' || substr(pggit._options_sql(a.attfdwoptions), 11), '' ORDER BY a.attnum)
                    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND pggit._options_sql(a.attfdwoptions) <> ''), '')
              ELSE '' END
           || coalesce((SELECT string_agg(pggit._comment_sql('COLUMN ' || pggit._qname(c.relnamespace, c.relname) || '.' || quote_ident(a.attname),
                                                             col_description(a.attrelid, a.attnum)), '' ORDER BY a.attnum)
                          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
      FROM pg_class c
      JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
      JOIN pg_foreign_server s ON s.oid = ft.ftserver
     WHERE c.oid = p_objid
$$;

-- A base type's definition: its shell, its input, output, receive and send functions (which
-- belong to it), then the type with every option pg_dump writes.
CREATE FUNCTION pggit._base_type_sql(p_objid oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'CREATE TYPE ' || pggit._qname(t.typnamespace, t.typname) || ';'
           || coalesce((SELECT string_agg(E'\n' || rtrim(pg_get_functiondef(f.f), E'\n ') || ';'
                                          || pggit._comment_sql('FUNCTION ' || f.f::regprocedure::text, obj_description(f.f, 'pg_proc')),
                                          '' ORDER BY f.i)
                          FROM unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::oid[]) WITH ORDINALITY f(f, i)
                          JOIN pg_proc p ON p.oid = f.f
                         WHERE f.f <> 0 AND p.oid >= 16384 AND t.oid IN (p.prorettype, p.proargtypes[0])
                           AND f.i = (SELECT min(g.i) FROM unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::oid[]) WITH ORDINALITY g(f, i)
                                       WHERE g.f = f.f)), '')
           || E'\nCREATE TYPE ' || pggit._qname(t.typnamespace, t.typname) || ' ('
           || 'INTERNALLENGTH = ' || CASE WHEN t.typlen = -1 THEN 'variable' ELSE t.typlen::text END
           || ', INPUT = ' || t.typinput::regproc::text || ', OUTPUT = ' || t.typoutput::regproc::text
           || CASE WHEN t.typreceive <> 0 THEN ', RECEIVE = ' || t.typreceive::regproc::text ELSE '' END
           || CASE WHEN t.typsend <> 0 THEN ', SEND = ' || t.typsend::regproc::text ELSE '' END
           || CASE WHEN t.typmodin <> 0 THEN ', TYPMOD_IN = ' || t.typmodin::regproc::text ELSE '' END
           || CASE WHEN t.typmodout <> 0 THEN ', TYPMOD_OUT = ' || t.typmodout::regproc::text ELSE '' END
           || CASE WHEN t.typanalyze <> 0 THEN ', ANALYZE = ' || t.typanalyze::regproc::text ELSE '' END
           || CASE WHEN coalesce((j->>'typsubscript')::regproc::oid, 0) <> 0 THEN ', SUBSCRIPT = ' || (j->>'typsubscript')::regproc::text ELSE '' END
           || CASE WHEN t.typbyval THEN ', PASSEDBYVALUE' ELSE '' END
           || ', ALIGNMENT = ' || CASE t.typalign WHEN 'c' THEN 'char' WHEN 's' THEN 'int2' WHEN 'i' THEN 'int4' ELSE 'double' END
           || ', STORAGE = ' || lower(pggit._storage_word(t.typstorage))
           || CASE WHEN t.typcategory <> 'U' THEN ', CATEGORY = ' || quote_literal(t.typcategory::text) ELSE '' END
           || CASE WHEN t.typispreferred THEN ', PREFERRED = true' ELSE '' END
           || coalesce(', DEFAULT = ' || quote_literal(t.typdefault), '')
           || CASE WHEN t.typelem <> 0 THEN ', ELEMENT = ' || format_type(t.typelem, NULL) ELSE '' END
           || CASE WHEN t.typdelim <> ',' THEN ', DELIMITER = ' || quote_literal(t.typdelim::text) ELSE '' END
           || CASE WHEN t.typcollation <> 0 THEN ', COLLATABLE = true' ELSE '' END
           || ');'
      FROM pg_type t, to_jsonb(t) j WHERE t.oid = p_objid
$$;

-- The members of an operator class or family (p_class: those its operator class made, else
-- those added to the family on their own) as CREATE OPERATOR CLASS / ALTER OPERATOR FAMILY
-- items: operators by strategy, then functions by number.
CREATE FUNCTION pggit._opfamily_items(p_classid oid, p_objid oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT string_agg(x.item, ', ' ORDER BY x.k, x.n, x.l, x.r)
      FROM (
        SELECT 1 AS k, ao.amopstrategy::int AS n, format_type(ao.amoplefttype, NULL) AS l, format_type(ao.amoprighttype, NULL) AS r,
               'OPERATOR ' || ao.amopstrategy || ' ' || pggit._operator_name(ao.amopopr)
               || '(' || format_type(ao.amoplefttype, NULL) || ', ' || format_type(ao.amoprighttype, NULL) || ')'
               || CASE WHEN ao.amoppurpose = 'o' THEN ' FOR ORDER BY ' || (SELECT pggit._qname(f.opfnamespace, f.opfname) FROM pg_opfamily f WHERE f.oid = ao.amopsortfamily)
                       ELSE '' END AS item
          FROM pg_amop ao JOIN pg_depend d ON d.classid = 'pg_amop'::regclass AND d.objid = ao.oid
                                          AND d.refclassid = p_classid AND d.refobjid = p_objid AND d.deptype IN ('a', 'i')
        UNION ALL
        SELECT 2, ap.amprocnum::int, format_type(ap.amproclefttype, NULL), format_type(ap.amprocrighttype, NULL),
               'FUNCTION ' || ap.amprocnum || ' (' || format_type(ap.amproclefttype, NULL) || ', ' || format_type(ap.amprocrighttype, NULL) || ') '
               || ap.amproc::regprocedure::text
          FROM pg_amproc ap JOIN pg_depend d ON d.classid = 'pg_amproc'::regclass AND d.objid = ap.oid
                                            AND d.refclassid = p_classid AND d.refobjid = p_objid AND d.deptype IN ('a', 'i')
      ) x
$$;

-- A table's definition text and its CREATE TABLE statement (without late defaults, kept for
-- migrations), rendered from its detail alone: describing a table and merging two versions of
-- one (the union strategy) render the same way.
CREATE FUNCTION pggit._table_text(p_detail jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_q      text := p_detail->>'qname';
    v_create text;
    v_full   text;
    v_head   text;
    v_tail   text;
    v_inh    text := (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(p_detail->'inherits') x);
    v_opts   text := (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(p_detail->'options') x);
    v_unlogged text := CASE WHEN p_detail->>'persistence' = 'u' THEN 'UNLOGGED ' ELSE '' END;
    v_using  text := coalesce(' USING ' || (p_detail->>'access_method'), '');
BEGIN
    IF p_detail ? 'partition_of' AND (p_detail->>'attached')::boolean THEN
        -- a table made on its own and attached as a partition (its columns differ from what
        -- PARTITION OF would give it: order, defaults, NOT NULL): made
        -- again that way, with its own column order, defaults and NOT NULL, then attached
        v_head := 'CREATE ' || v_unlogged || 'TABLE ' || v_q || ' (';
        v_tail := E'\n)' || coalesce(' PARTITION BY ' || (p_detail->>'partition_key'), '')
               || v_using || coalesce(' WITH (' || v_opts || ')', '') || ';';
        SELECT string_agg(pggit._column_sql(c), E',\n    '),
               string_agg(pggit._column_sql(CASE WHEN c ? 'late_default' THEN c - 'default' ELSE c END), E',\n    ')
          INTO v_full, v_create
          FROM jsonb_array_elements(p_detail->'columns') c;
        v_full := v_head || coalesce(E'\n    ' || v_full, '') || v_tail
               || E'\n' || pggit._attach_sql(p_detail);
        v_create := v_head || coalesce(E'\n    ' || v_create, '') || v_tail;
    ELSIF p_detail ? 'of_type' AND NOT p_detail ? 'partition_of' THEN
        -- a typed table: its columns are the type's; their defaults and NOT NULL come after
        v_create := 'CREATE ' || v_unlogged || 'TABLE ' || v_q || ' OF ' || (p_detail->>'of_type')
                 || coalesce(' PARTITION BY ' || (p_detail->>'partition_key'), '')
                 || v_using || coalesce(' WITH (' || v_opts || ')', '') || ';';
        v_full := v_create || coalesce((SELECT string_agg(E'\n' || x, '') FROM unnest(pggit._typed_column_sql(p_detail, false)) x), '');
    ELSIF p_detail ? 'partition_of' THEN
        v_create := 'CREATE ' || v_unlogged || 'TABLE ' || v_q || ' PARTITION OF ' || (p_detail->>'partition_of')
                 || ' ' || (p_detail->>'bound')
                 || coalesce(' PARTITION BY ' || (p_detail->>'partition_key'), '')
                 || v_using || coalesce(' WITH (' || v_opts || ')', '') || ';';
        v_full := v_create;
    ELSE
        v_head := 'CREATE ' || v_unlogged || 'TABLE ' || v_q || ' (';
        v_tail := E'\n)' || coalesce(' INHERITS (' || v_inh || ')', '')
               || coalesce(' PARTITION BY ' || (p_detail->>'partition_key'), '')
               || v_using || coalesce(' WITH (' || v_opts || ')', '') || ';';
        SELECT string_agg(pggit._column_sql(c), E',\n    ') INTO v_full
          FROM jsonb_array_elements(p_detail->'columns') c WHERE (c->>'local')::boolean;
        v_create := v_full;
        IF jsonb_path_exists(p_detail->'columns', '$[*] ? (@.late_default == true)') THEN
            -- (the text that creates the table before functions exist leaves late defaults out)
            SELECT string_agg(pggit._column_sql(CASE WHEN c ? 'late_default' THEN c - 'default' ELSE c END), E',\n    ') INTO v_create
              FROM jsonb_array_elements(p_detail->'columns') c WHERE (c->>'local')::boolean;
        END IF;
        v_full := v_head || coalesce(E'\n    ' || v_full, '') || v_tail;
        v_create := v_head || coalesce(E'\n    ' || v_create, '') || v_tail;
    END IF;
    v_full := v_full
           || coalesce((SELECT string_agg(E'\nALTER TABLE ' || v_q || ' ADD CONSTRAINT ' || quote_ident(c->>'name') || ' ' || (c->>'def') || ';', '')
                          FROM jsonb_array_elements(p_detail->'constraints') c), '')
           || CASE WHEN (p_detail->>'rls')::boolean THEN E'\nALTER TABLE ' || v_q || ' ENABLE ROW LEVEL SECURITY;' ELSE '' END
           || CASE WHEN (p_detail->>'force_rls')::boolean THEN E'\nALTER TABLE ' || v_q || ' FORCE ROW LEVEL SECURITY;' ELSE '' END
           || coalesce((SELECT string_agg(E'\nALTER SEQUENCE ' || (o->>'sequence') || ' OWNED BY ' || v_q || '.' || quote_ident(o->>'column') || ';', '')
                          FROM jsonb_array_elements(p_detail->'owned') o), '')
           || CASE WHEN jsonb_path_exists(p_detail->'columns', '$[*] ? (exists(@.storage) || exists(@.compression))')
                   THEN coalesce((SELECT string_agg(E'\n' || x, '') FROM unnest(pggit._column_storage_sql(p_detail)) x), '')
                   ELSE '' END
           || pggit._comment_sql('TABLE ' || v_q, p_detail->>'comment')
           -- (last: _describe_column_comment replaces this tail of a recorded text)
           || pggit._column_comments_sql(p_detail)
           || pggit._constraint_comments_sql(p_detail);
    RETURN ARRAY[v_full, v_create];
END $$;

-- Describe a table (or partitioned table). (Per column, only what the column has is looked up:
-- a table of 1,000 columns without defaults costs no pg_depend lookup per column.)
CREATE FUNCTION pggit._describe_table(p_objid oid) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_rel    record;
    v_q      text;
    v_ident  text;
    v_cols   jsonb;
    v_cons   jsonb;
    v_owned  jsonb;
    v_parent text;
    v_inh    text[];
    v_sql    text[];
    v_deps   text[];
    v_fkdeps text[];
    v_detail jsonb;
    v_create text;
    v_full   text;
    v_latedeps text[];
    v_head   text;
    v_tail   text;
    v_has_nn boolean := current_setting('server_version_num')::int >= 180000;
    v_attached boolean;
BEGIN
    SELECT c.oid, c.relname, c.relnamespace, c.relkind, c.relpersistence, c.relispartition,
           c.relrowsecurity, c.relforcerowsecurity,
           CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END AS oftype,
           -- the table's storage parameters, then its TOAST table's (as toast.name=value)
           CASE WHEN c.reltoastrelid = 0 THEN c.reloptions
                ELSE (SELECT CASE WHEN tc.reloptions IS NULL THEN c.reloptions
                                  ELSE coalesce(c.reloptions, '{}') || array(SELECT 'toast.' || x FROM unnest(tc.reloptions) x) END
                        FROM pg_class tc WHERE tc.oid = c.reltoastrelid) END AS reloptions,
           pggit._qname(c.relnamespace, c.relname) AS q,
           -- (a table access method other than heap: CREATE TABLE ... USING)
           (SELECT quote_ident(am.amname) FROM pg_am am WHERE am.oid = c.relam AND am.amname <> 'heap') AS am,
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
           CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
           (SELECT d.description FROM pg_description d
             WHERE d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0) AS comment
      INTO v_rel FROM pg_class c WHERE c.oid = p_objid;
    IF NOT FOUND THEN RETURN NULL; END IF;
    v_q := v_rel.q;
    v_ident := 'table ' || v_q;

    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'name', a.attname,
               'type', format_type(a.atttypid, a.atttypmod),
               'collation', CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                   (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                      FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                     WHERE co.oid = a.attcollation) END,
               'notnull', a.attnotnull,
               'notnull_name', CASE WHEN v_has_nn AND a.attnotnull THEN
                   (SELECT nn.conname FROM pg_constraint nn
                     WHERE nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum
                       AND nn.conname <> left(v_rel.relname || '_' || a.attname || '_not_null', 63)) END,
               'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
               -- a default that calls a user function is set after functions exist (the function
               -- may read this very table: a dependency cycle that pg_dump breaks the same way)
               'late_default', CASE WHEN ad.oid IS NOT NULL AND a.attgenerated = '' AND EXISTS (
                   SELECT 1 FROM pg_depend dd WHERE dd.classid = 'pg_attrdef'::regclass AND dd.objid = ad.oid
                      AND dd.refclassid = 'pg_proc'::regclass AND dd.refobjid >= 16384) THEN true END,
               'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
               'generated_kind', nullif(a.attgenerated::text, ''),
               'identity', nullif(a.attidentity::text, ''),
               'identity_options', CASE WHEN a.attidentity <> '' THEN
                   (SELECT 'SEQUENCE NAME ' || pggit._qname(sc.relnamespace, sc.relname) || ' '
                           || pggit._sequence_options(sc.oid, false)
                      FROM pg_depend d JOIN pg_class sc ON sc.oid = d.objid
                     WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
                       AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass
                       AND d.deptype = 'i' AND sc.relkind = 'S') END,
               'comment', dsc.description,
               'local', a.attislocal,
               -- storage and compression other than the type's default (SET STORAGE / COMPRESSION)
               'storage', CASE WHEN a.attstorage <> t.typstorage THEN pggit._storage_word(a.attstorage) END,
               'storage_default', CASE WHEN a.attstorage <> t.typstorage THEN pggit._storage_word(t.typstorage) END,
               'compression', CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END)) ORDER BY a.attnum), '[]'::jsonb)
      INTO v_cols
      FROM pg_attribute a
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      LEFT JOIN pg_description dsc ON dsc.objoid = a.attrelid AND dsc.classoid = 'pg_class'::regclass AND dsc.objsubid = a.attnum
     WHERE a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped;

    SELECT (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                        'name', con.conname, 'type', con.contype::text, 'def', pg_get_constraintdef(con.oid),
                        'comment', (SELECT d.description FROM pg_description d
                                     WHERE d.objoid = con.oid AND d.classoid = 'pg_constraint'::regclass AND d.objsubid = 0)))
                        ORDER BY con.contype = 'f', con.conname), '[]'::jsonb)
              FROM pg_constraint con
             WHERE con.conrelid = p_objid AND con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conislocal),
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'sequence', pggit._qname(sc.relnamespace, sc.relname), 'column', a.attname)
                        ORDER BY sc.relname), '[]'::jsonb)
              FROM pg_depend d
              JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = p_objid AND d.deptype = 'a'),
           (SELECT array_agg(pggit._qname(pc.relnamespace, pc.relname) ORDER BY i.inhseqno)
              FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
             WHERE i.inhrelid = p_objid)
      INTO v_cons, v_owned, v_inh;

    IF v_rel.relispartition THEN
        v_parent := v_inh[1];
        v_inh := NULL;
        -- made on its own and attached: its columns are not what PARTITION OF gives (the
        -- parent's, in the parent's order, with their defaults and NOT NULL)
        -- (and, on PostgreSQL 18, the names of their NOT NULL constraints: PARTITION OF gives
        -- the parent's)
        SELECT bool_or(c.attname IS DISTINCT FROM p.attname OR c.def IS DISTINCT FROM p.def OR c.attnotnull IS DISTINCT FROM p.attnotnull
                       OR c.nn IS DISTINCT FROM p.nn)
          INTO v_attached
          FROM (SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def, row_number() OVER (ORDER BY a.attnum) AS n,
                       CASE WHEN v_has_nn AND a.attnotnull THEN
                           (SELECT nn.conname FROM pg_constraint nn WHERE nn.conrelid = a.attrelid AND nn.contype = 'n'
                               AND nn.conkey[1] = a.attnum) END AS nn
                  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped) c
          FULL JOIN (SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def, row_number() OVER (ORDER BY a.attnum) AS n,
                            CASE WHEN v_has_nn AND a.attnotnull THEN
                                (SELECT nn.conname FROM pg_constraint nn WHERE nn.conrelid = a.attrelid AND nn.contype = 'n'
                                    AND nn.conkey[1] = a.attnum) END AS nn
                       FROM pg_inherits i JOIN pg_attribute a ON a.attrelid = i.inhparent
                       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                      WHERE i.inhrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped) p ON p.n = c.n;
    END IF;
    -- dependencies: of the table, its defaults and non-FK constraints; of its foreign keys apart
    SELECT pggit._deps(array_agg(x.classid) FILTER (WHERE NOT x.fk), array_agg(x.objid) FILTER (WHERE NOT x.fk), v_ident, '{n,a}'),
           CASE WHEN bool_or(x.fk) THEN pggit._deps(array_agg(x.classid) FILTER (WHERE x.fk), array_agg(x.objid) FILTER (WHERE x.fk), v_ident, '{n}')
                ELSE '{}' END
      INTO v_deps, v_fkdeps
      FROM (SELECT 'pg_class'::regclass::oid AS classid, p_objid AS objid, false AS fk
            UNION ALL SELECT 'pg_attrdef'::regclass, ad.oid, false FROM pg_attrdef ad WHERE ad.adrelid = p_objid
                -- late defaults do not order the table after the functions they call
                AND NOT EXISTS (SELECT 1 FROM pg_depend dd WHERE dd.classid = 'pg_attrdef'::regclass AND dd.objid = ad.oid
                                   AND dd.refclassid = 'pg_proc'::regclass AND dd.refobjid >= 16384)
            UNION ALL SELECT 'pg_constraint'::regclass, con.oid, con.contype = 'f' FROM pg_constraint con WHERE con.conrelid = p_objid) x;
    IF jsonb_path_exists(v_cols, '$[*] ? (@.late_default == true)') THEN
        SELECT pggit._deps(array_agg('pg_attrdef'::regclass::oid), array_agg(ad.oid), v_ident, '{n}') INTO v_latedeps
          FROM pg_attrdef ad WHERE ad.adrelid = p_objid;
    END IF;
    IF jsonb_array_length(v_owned) > 0 THEN
        v_deps := array(SELECT DISTINCT x FROM unnest(v_deps || array(
                      SELECT 'sequence ' || (o->>'sequence') FROM jsonb_array_elements(v_owned) o)) x ORDER BY 1);
    END IF;

    v_detail := jsonb_strip_nulls(jsonb_build_object(
        'qname', v_q, 'columns', v_cols, 'constraints', v_cons, 'owned', v_owned,
        'partition_of', v_parent, 'bound', v_rel.bound, 'attached', CASE WHEN v_attached THEN true END,
        'of_type', v_rel.oftype,
        'partition_key', v_rel.partkey,
        'inherits', to_jsonb(v_inh), 'persistence', v_rel.relpersistence::text,
        'options', to_jsonb(v_rel.reloptions), 'rls', v_rel.relrowsecurity, 'force_rls', v_rel.relforcerowsecurity,
        'comment', v_rel.comment, 'deps', to_jsonb(v_deps), 'fk_deps', to_jsonb(v_fkdeps), 'late_deps', to_jsonb(v_latedeps),
        'access_method', v_rel.am));
    v_sql := pggit._table_text(v_detail);
    v_detail := v_detail || jsonb_build_object('create', v_sql[2]);
    RETURN ROW('pg_class'::regclass, p_objid, 'table', v_ident, v_sql[1], v_detail)::pggit.objdesc;
END $$;

-- The comment statements at the end of a table's definition (_table_text renders them last): its
-- columns' comments, in column order, then its constraints'. (What COMMENT ON COLUMN changes in
-- the text is only the first part.)
CREATE FUNCTION pggit._column_comments_sql(p_detail jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- (the commented columns picked by a path query: a 1,000-column table has few)
    RETURN coalesce((SELECT string_agg(pggit._comment_sql('COLUMN ' || (p_detail->>'qname') || '.' || quote_ident(e.c->>'name'), e.c->>'comment'), '' ORDER BY e.i)
                       FROM jsonb_path_query(p_detail->'columns', '$[*] ? (exists(@.comment))') WITH ORDINALITY e(c, i)), '');
END $$;

-- The comment statements of a table's constraints, last in its definition (see _table_text).
CREATE FUNCTION pggit._constraint_comments_sql(p_detail jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN coalesce((SELECT string_agg(pggit._comment_sql('CONSTRAINT ' || quote_ident(e.c->>'name') || ' ON ' || (p_detail->>'qname'), e.c->>'comment'), '' ORDER BY e.i)
                       FROM jsonb_array_elements(p_detail->'constraints') WITH ORDINALITY e(c, i) WHERE e.c ? 'comment'), '');
END $$;

-- A table after COMMENT ON COLUMN: the description the live map holds with that column's comment
-- replaced, rendered as _describe_table renders it (the same text, detail and hash), without
-- reading the other columns again: a comment on a 1,000-column table costs what changed. NULL
-- when the live map has no description of the table at this address (then describe it whole).
-- The definition is the recorded one with its columns' comment statements replaced (_table_text
-- puts them last, before the owner and privileges _with_acl appends: a column's comment shows
-- nowhere else), not rendered again from every column; where the recorded text does not end that
-- way, rendered. The owner and privileges are the live ones, as _with_acl gives them (kept as
-- recorded when they are the same: the jsonb detail of a wide table is costly to copy).
-- (Whatever was done to the table with capture off is not folded into this commit; it stays
-- drift, as it would on a table the statement did not touch.)
CREATE FUNCTION pggit._describe_column_comment(p_objid oid, p_attnum int2) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_ident   text;
    v_detail  jsonb;
    v_def     text;
    v_sfx     text;
    v_name    name;
    v_comment text;
    v_i       int;
    v_tail    text;
    v_cons    text;
BEGIN
    SELECT i.identity INTO v_ident FROM pggit._ident('pg_class'::regclass, p_objid) i WHERE i.kind = 'table';
    IF v_ident IS NULL THEN RETURN NULL; END IF;
    SELECT b.detail, b.definition INTO v_detail, v_def FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash
     WHERE l.identity = v_ident AND l.classid = 'pg_class'::regclass AND l.objid = p_objid AND l.kind = 'table';
    IF NOT FOUND THEN RETURN NULL; END IF;
    SELECT a.attname, d.description INTO v_name, v_comment
      FROM pg_attribute a
      LEFT JOIN pg_description d ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
     WHERE a.attrelid = p_objid AND a.attnum = p_attnum AND NOT a.attisdropped;
    IF v_name IS NULL THEN RETURN NULL; END IF;
    SELECT e.i - 1 INTO v_i FROM jsonb_array_elements(v_detail->'columns') WITH ORDINALITY e(c, i)
     WHERE e.c->>'name' = v_name;
    IF v_i IS NULL THEN RETURN NULL; END IF;
    -- the recorded text ends with its comment statements, then the owner and privileges
    -- _with_acl appended: those of the columns are replaced, the rest is kept
    v_sfx := pggit._owner_sql('table', v_detail)
          || (CASE WHEN v_detail->'acl' IS NULL THEN '' ELSE pggit._acl_sql('table', v_ident, v_detail->'acl') END);
    v_cons := pggit._constraint_comments_sql(v_detail);
    v_tail := pggit._column_comments_sql(v_detail) || v_cons;
    IF right(v_def, length(v_tail || v_sfx)) <> v_tail || v_sfx OR NOT v_detail ? 'qname' THEN
        v_def := NULL;  -- (not as _table_text and _with_acl end it: rendered again below)
    END IF;
    v_detail := jsonb_set(v_detail, ARRAY['columns', v_i::text],
                          CASE WHEN v_comment IS NULL THEN (v_detail->'columns'->v_i) - 'comment'
                               ELSE (v_detail->'columns'->v_i) || jsonb_build_object('comment', v_comment) END);
    IF v_def IS NOT NULL
       AND pggit._owner('pg_class'::regclass, p_objid, 'table') IS NOT DISTINCT FROM v_detail->>'owner'
       AND pggit._acl('pg_class'::regclass, p_objid, 'table', v_ident) IS NOT DISTINCT FROM v_detail->'acl' THEN
        -- (the live owner and privileges are the recorded ones: _with_acl would give the same
        -- suffix and detail back, at the cost of copying the detail three times)
        RETURN ROW('pg_class'::regclass, p_objid, 'table', v_ident,
                   left(v_def, length(v_def) - length(v_tail || v_sfx)) || pggit._column_comments_sql(v_detail) || v_cons || v_sfx,
                   v_detail)::pggit.objdesc;
    END IF;
    RETURN pggit._with_acl(ROW('pg_class'::regclass, p_objid, 'table', v_ident,
                               CASE WHEN v_def IS NULL THEN (pggit._table_text(v_detail))[1]
                                    ELSE left(v_def, length(v_def) - length(v_tail || v_sfx)) || pggit._column_comments_sql(v_detail) || v_cons END,
                               v_detail - 'acl' - 'owner')::pggit.objdesc);
END $$;

-- Describe any tracked root object; NULL when it does not exist.
CREATE FUNCTION pggit._describe(p_classid oid, p_objid oid) RETURNS pggit.objdesc
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_kind    text;
    v_ident   text;
    v_q       text;
    v_sql     text;
    v_target  text;
    v_comment text;
    v_deps    text[];
    v_detail  jsonb := '{}';
    v_r       record;
    v_num     int;
    v_num_text text;
BEGIN
    IF p_classid = 'pg_default_acl'::regclass THEN
        RETURN pggit._describe_default_acl(p_objid);  -- (10_privileges.sql)
    END IF;
    SELECT i.kind, i.identity INTO v_kind, v_ident FROM pggit._ident(p_classid, p_objid) i;
    IF v_ident IS NULL THEN RETURN NULL; END IF;
    IF v_kind = 'table' THEN
        RETURN pggit._with_acl(pggit._describe_table(p_objid));
    END IF;
    v_q := substr(v_ident, length(v_kind) + 2);

    IF v_kind = 'index' THEN
        -- an index of a partitioned table is made for its partitions too (ON ONLY dropped), unless
        -- it is not valid (made ON ONLY, some partitions without theirs): then made ON ONLY, with
        -- the partitions' indexes attached to it
        SELECT CASE WHEN c.relkind = 'I' AND NOT x.indisvalid
                    THEN pg_get_indexdef(c.oid) || ';' || pggit._attached_indexes_sql(c.oid)
                    ELSE regexp_replace(pg_get_indexdef(c.oid), ' ON ONLY ', ' ON ') || ';' END,
               obj_description(c.oid, 'pg_class')
          INTO v_sql, v_comment FROM pg_class c JOIN pg_index x ON x.indexrelid = c.oid WHERE c.oid = p_objid;
        v_target := 'INDEX ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind = 'sequence' THEN
        SELECT 'CREATE ' || CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END || 'SEQUENCE ' || v_q || ' '
               || pggit._sequence_options(c.oid, true) || ';',
               obj_description(c.oid, 'pg_class')
          INTO v_sql, v_comment FROM pg_class c WHERE c.oid = p_objid;
        v_detail := jsonb_build_object('options', pggit._sequence_options(p_objid, true));
        v_target := 'SEQUENCE ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind IN ('view', 'materialized view') THEN
        SELECT 'CREATE ' || upper(v_kind) || ' ' || v_q
               || coalesce(' WITH (' || array_to_string(c.reloptions, ', ') || ')', '')
               || E' AS\n' || rtrim(rtrim(pg_get_viewdef(c.oid), E'\n '), ';')
               || CASE WHEN v_kind = 'materialized view' THEN E'\n WITH DATA;' ELSE ';' END,
               obj_description(c.oid, 'pg_class')
          INTO v_sql, v_comment FROM pg_class c WHERE c.oid = p_objid;
        v_target := upper(v_kind) || ' ' || v_q;
        SELECT v_sql || coalesce(string_agg(pggit._comment_sql('COLUMN ' || v_q || '.' || quote_ident(a.attname),
                                            col_description(a.attrelid, a.attnum)), '' ORDER BY a.attnum), '')
          INTO v_sql FROM pg_attribute a WHERE a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped;
        v_deps := pggit._deps(
            ARRAY[p_classid] || array(SELECT 'pg_rewrite'::regclass::oid FROM pg_rewrite WHERE ev_class = p_objid),
            ARRAY[p_objid] || array(SELECT oid FROM pg_rewrite WHERE ev_class = p_objid),
            v_ident, '{n}');

    ELSIF v_kind IN ('function', 'procedure') THEN
        SELECT rtrim(pg_get_functiondef(p.oid), E'\n ') || ';', obj_description(p.oid, 'pg_proc')
          INTO v_sql, v_comment FROM pg_proc p WHERE p.oid = p_objid;
        v_detail := jsonb_build_object('result', (SELECT pg_get_function_result(p_objid)));
        v_target := upper(v_kind) || ' ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'aggregate' THEN
        -- every option pg_dump writes; (*) for an aggregate without arguments, and the argument
        -- list as PostgreSQL prints it (VARIADIC, ORDER BY of ordered-set aggregates)
        SELECT 'CREATE AGGREGATE ' || pggit._qname(p.pronamespace, p.proname)
               || '(' || CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_get_function_arguments(p.oid) END || ') ('
               || 'SFUNC = ' || a.aggtransfn::regproc::text
               || ', STYPE = ' || format_type(a.aggtranstype, NULL)
               || CASE WHEN a.aggtransspace <> 0 THEN ', SSPACE = ' || a.aggtransspace ELSE '' END
               || CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC = ' || a.aggfinalfn::regproc::text ELSE '' END
               || CASE WHEN a.aggfinalextra THEN ', FINALFUNC_EXTRA' ELSE '' END
               || CASE WHEN a.aggfinalmodify <> CASE WHEN a.aggkind = 'n' THEN 'r' ELSE 'w' END
                       THEN ', FINALFUNC_MODIFY = ' || CASE a.aggfinalmodify WHEN 'r' THEN 'READ_ONLY'
                                                         WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END
                       ELSE '' END
               || CASE WHEN a.aggcombinefn <> 0 THEN ', COMBINEFUNC = ' || a.aggcombinefn::regproc::text ELSE '' END
               || CASE WHEN a.aggserialfn <> 0 THEN ', SERIALFUNC = ' || a.aggserialfn::regproc::text ELSE '' END
               || CASE WHEN a.aggdeserialfn <> 0 THEN ', DESERIALFUNC = ' || a.aggdeserialfn::regproc::text ELSE '' END
               || CASE WHEN a.agginitval IS NOT NULL THEN ', INITCOND = ' || quote_literal(a.agginitval) ELSE '' END
               || CASE WHEN a.aggmtransfn <> 0 THEN ', MSFUNC = ' || a.aggmtransfn::regproc::text
                       || ', MINVFUNC = ' || a.aggminvtransfn::regproc::text
                       || ', MSTYPE = ' || format_type(a.aggmtranstype, NULL) ELSE '' END
               || CASE WHEN a.aggmtransspace <> 0 THEN ', MSSPACE = ' || a.aggmtransspace ELSE '' END
               || CASE WHEN a.aggmfinalfn <> 0 THEN ', MFINALFUNC = ' || a.aggmfinalfn::regproc::text ELSE '' END
               || CASE WHEN a.aggmfinalextra THEN ', MFINALFUNC_EXTRA' ELSE '' END
               || CASE WHEN a.aggmtransfn <> 0 AND a.aggmfinalmodify <> CASE WHEN a.aggkind = 'n' THEN 'r' ELSE 'w' END
                       THEN ', MFINALFUNC_MODIFY = ' || CASE a.aggmfinalmodify WHEN 'r' THEN 'READ_ONLY'
                                                          WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END
                       ELSE '' END
               || CASE WHEN a.aggminitval IS NOT NULL THEN ', MINITCOND = ' || quote_literal(a.aggminitval) ELSE '' END
               || CASE WHEN a.aggsortop <> 0 THEN ', SORTOP = ' || (SELECT 'OPERATOR(' || quote_ident(n.nspname) || '.' || o.oprname || ')'
                                                                    FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
                                                                   WHERE o.oid = a.aggsortop) ELSE '' END
               || CASE WHEN a.aggkind = 'h' THEN ', HYPOTHETICAL' ELSE '' END
               || CASE p.proparallel WHEN 's' THEN ', PARALLEL = SAFE' WHEN 'r' THEN ', PARALLEL = RESTRICTED' ELSE '' END
               || ');',
               obj_description(p.oid, 'pg_proc'),
               'AGGREGATE ' || pggit._qname(p.pronamespace, p.proname)
               || '(' || CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_get_function_identity_arguments(p.oid) END || ')'
          INTO v_sql, v_comment, v_target
          FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE a.aggfnoid = p_objid;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'trigger' THEN
        SELECT pg_get_triggerdef(t.oid) || ';'
               || CASE t.tgenabled WHEN 'D' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' DISABLE TRIGGER ' || quote_ident(t.tgname) || ';'
                                   WHEN 'R' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ENABLE REPLICA TRIGGER ' || quote_ident(t.tgname) || ';'
                                   WHEN 'A' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ENABLE ALWAYS TRIGGER ' || quote_ident(t.tgname) || ';'
                                   ELSE '' END
               || coalesce((
                   -- partitions whose clone of this trigger is enabled otherwise than its parent's
                   WITH RECURSIVE clone(oid, tgrelid, tgenabled, parent_enabled, depth) AS (
                       SELECT k.oid, k.tgrelid, k.tgenabled, t.tgenabled, 1 FROM pg_trigger k WHERE k.tgparentid = t.oid
                       UNION ALL
                       SELECT k.oid, k.tgrelid, k.tgenabled, clone.tgenabled, clone.depth + 1
                         FROM clone JOIN pg_trigger k ON k.tgparentid = clone.oid WHERE clone.depth < 32
                   )
                   SELECT string_agg(E'\nALTER TABLE ONLY ' || pggit._qname(pc.relnamespace, pc.relname)
                                     || CASE clone.tgenabled WHEN 'D' THEN ' DISABLE' WHEN 'R' THEN ' ENABLE REPLICA'
                                                             WHEN 'A' THEN ' ENABLE ALWAYS' ELSE ' ENABLE' END
                                     || ' TRIGGER ' || quote_ident(t.tgname) || ';', '' ORDER BY clone.depth, pc.relnamespace::regnamespace::text, pc.relname)
                     FROM clone JOIN pg_class pc ON pc.oid = clone.tgrelid
                    WHERE clone.tgenabled <> clone.parent_enabled), ''),
               obj_description(t.oid, 'pg_trigger'),
               'TRIGGER ' || quote_ident(t.tgname) || ' ON ' || pggit._qname(c.relnamespace, c.relname)
          INTO v_sql, v_comment, v_target
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.oid = p_objid;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind = 'policy' THEN
        SELECT 'CREATE POLICY ' || quote_ident(p.polname) || ' ON ' || pggit._qname(c.relnamespace, c.relname)
               || ' AS ' || CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END
               || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                            WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
               || ' TO ' || (SELECT string_agg(CASE WHEN r.rid = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.rid)) END, ', ' ORDER BY CASE WHEN r.rid = 0 THEN '' ELSE pg_get_userbyid(r.rid)::text END)
                               FROM unnest(p.polroles) r(rid))
               || coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
               || coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '') || ';',
               obj_description(p.oid, 'pg_policy'),
               'POLICY ' || quote_ident(p.polname) || ' ON ' || pggit._qname(c.relnamespace, c.relname)
          INTO v_sql, v_comment, v_target
          FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = p_objid;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind IN ('type', 'domain') THEN
        SELECT t.*, obj_description(t.oid, 'pg_type') AS comment INTO v_r FROM pg_type t WHERE t.oid = p_objid;
        v_comment := v_r.comment;
        v_target := upper(v_kind) || ' ' || v_q;
        IF v_r.typtype = 'e' THEN
            SELECT jsonb_build_object('enum', coalesce(jsonb_agg(e.enumlabel ORDER BY e.enumsortorder), '[]')),
                   'CREATE TYPE ' || v_q || ' AS ENUM (' || coalesce(string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder), '') || ');'
              INTO v_detail, v_sql FROM pg_enum e WHERE e.enumtypid = p_objid;
        ELSIF v_r.typtype = 'c' THEN
            SELECT 'CREATE TYPE ' || v_q || ' AS (' || coalesce(string_agg(
                       quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                       || CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                              ' COLLATE ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                                FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                               WHERE co.oid = a.attcollation) ELSE '' END,
                       ', ' ORDER BY a.attnum), '') || ');'
                   || coalesce(string_agg(pggit._comment_sql('COLUMN ' || v_q || '.' || quote_ident(a.attname),
                                          col_description(a.attrelid, a.attnum)), '' ORDER BY a.attnum), ''),
                   jsonb_build_object('attributes', coalesce(jsonb_agg(jsonb_build_object(
                       'name', a.attname,
                       'type', format_type(a.atttypid, a.atttypmod)
                               || CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                                      ' COLLATE ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                                        FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                                       WHERE co.oid = a.attcollation) ELSE '' END,
                       'comment', col_description(a.attrelid, a.attnum)) ORDER BY a.attnum), '[]'))
              INTO v_sql, v_detail
              FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = v_r.typrelid AND a.attnum > 0 AND NOT a.attisdropped;
        ELSIF v_r.typtype = 'd' THEN
            SELECT 'CREATE DOMAIN ' || v_q || ' AS ' || format_type(v_r.typbasetype, v_r.typtypmod)
                   || CASE WHEN v_r.typcollation <> bt.typcollation AND v_r.typcollation <> 0 THEN
                          ' COLLATE ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                            FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                           WHERE co.oid = v_r.typcollation) ELSE '' END
                   || coalesce(' DEFAULT ' || v_r.typdefault, '')
                   || CASE WHEN v_r.typnotnull THEN ' NOT NULL' ELSE '' END
                   || coalesce((SELECT string_agg(' CONSTRAINT ' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid), '' ORDER BY con.conname)
                                  FROM pg_constraint con WHERE con.contypid = p_objid AND con.contype = 'c'), '')
                   || ';',
                   jsonb_build_object('domain', jsonb_strip_nulls(jsonb_build_object(
                       'base', format_type(v_r.typbasetype, v_r.typtypmod) || ' ' || v_r.typcollation,
                       'default', v_r.typdefault, 'notnull', v_r.typnotnull,
                       'constraints', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', con.conname, 'def', pg_get_constraintdef(con.oid))
                                                                 ORDER BY con.conname), '[]')
                                         FROM pg_constraint con WHERE con.contypid = p_objid AND con.contype = 'c'))))
              INTO v_sql, v_detail FROM pg_type bt WHERE bt.oid = v_r.typbasetype;
        ELSIF v_r.typtype = 'r' THEN
            SELECT 'CREATE TYPE ' || v_q || ' AS RANGE (SUBTYPE = ' || format_type(rg.rngsubtype, NULL)
                   || CASE WHEN NOT oc.opcdefault THEN ', SUBTYPE_OPCLASS = ' || quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) ELSE '' END
                   || CASE WHEN rg.rngcollation <> 0 AND rg.rngcollation <> st.typcollation THEN
                          ', COLLATION = ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                                                 FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                                WHERE co.oid = rg.rngcollation) ELSE '' END
                   || CASE WHEN rg.rngcanonical <> 0 THEN ', CANONICAL = ' || rg.rngcanonical::regproc::text ELSE '' END
                   || CASE WHEN rg.rngsubdiff <> 0 THEN ', SUBTYPE_DIFF = ' || rg.rngsubdiff::regproc::text ELSE '' END
                   || ', MULTIRANGE_TYPE_NAME = ' || pggit._qname(mt.typnamespace, mt.typname)
                   || ');'
              INTO v_sql
              FROM pg_range rg
              JOIN pg_type st ON st.oid = rg.rngsubtype
              JOIN pg_opclass oc ON oc.oid = rg.rngsubopc
              JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
              JOIN pg_type mt ON mt.oid = rg.rngmultitypid
             WHERE rg.rngtypid = p_objid;
        ELSIF v_r.typtype = 'b' THEN
            v_sql := pggit._base_type_sql(p_objid);
            v_detail := jsonb_build_object('base', true);
        ELSE
            RETURN NULL;
        END IF;
        v_deps := pggit._deps(
            ARRAY[p_classid] || CASE WHEN v_r.typrelid <> 0 THEN ARRAY['pg_class'::regclass::oid] ELSE '{}' END
                || array(SELECT 'pg_constraint'::regclass::oid FROM pg_constraint WHERE contypid = p_objid)
                -- (a base type's own I/O functions, which belong to it)
                || array(SELECT 'pg_proc'::regclass::oid FROM unnest(ARRAY[v_r.typinput, v_r.typoutput, v_r.typreceive, v_r.typsend]::oid[]) f
                          WHERE v_r.typtype = 'b' AND f <> 0),
            ARRAY[p_objid] || CASE WHEN v_r.typrelid <> 0 THEN ARRAY[v_r.typrelid] ELSE '{}' END
                || array(SELECT oid FROM pg_constraint WHERE contypid = p_objid)
                || array(SELECT f FROM unnest(ARRAY[v_r.typinput, v_r.typoutput, v_r.typreceive, v_r.typsend]::oid[]) f
                          WHERE v_r.typtype = 'b' AND f <> 0),
            v_ident, '{n}');

    ELSIF v_kind = 'schema' THEN
        -- (public exists in every new database: created only where it was dropped)
        v_sql := 'CREATE SCHEMA ' || CASE WHEN v_q = 'public' THEN 'IF NOT EXISTS ' ELSE '' END || v_q || ';';
        v_comment := obj_description(p_objid, 'pg_namespace');
        v_target := 'SCHEMA ' || v_q;
        v_deps := '{}';

    ELSIF v_kind = 'extension' THEN
        SELECT 'CREATE EXTENSION IF NOT EXISTS ' || v_q || ' WITH SCHEMA ' || quote_ident(n.nspname) || ';',
               obj_description(e.oid, 'pg_extension')
          INTO v_sql, v_comment
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.oid = p_objid;
        v_target := 'EXTENSION ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'collation' THEN
        -- (read through to_jsonb: the locale columns differ between server versions)
        SELECT 'CREATE COLLATION ' || v_q || ' (provider = '
               || CASE co.collprovider WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END
               || CASE WHEN NOT co.collisdeterministic THEN ', deterministic = false' ELSE '' END
               || CASE WHEN co.collprovider IN ('i', 'b')
                       THEN ', locale = ' || quote_literal(coalesce(j->>'colllocale', j->>'colliculocale', j->>'collcollate'))
                       WHEN j->>'collcollate' = j->>'collctype' THEN ', locale = ' || quote_literal(j->>'collcollate')
                       ELSE ', lc_collate = ' || quote_literal(j->>'collcollate') || ', lc_ctype = ' || quote_literal(j->>'collctype') END
               || coalesce(', rules = ' || quote_literal(j->>'collicurules'), '')
               || ');',
               obj_description(co.oid, 'pg_collation')
          INTO v_sql, v_comment
          FROM pg_collation co, to_jsonb(co) j WHERE co.oid = p_objid;
        v_target := 'COLLATION ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'statistics' THEN
        -- the statistics target other than the default (-1 before PostgreSQL 17, NULL since; read
        -- through to_jsonb: its type differs between server versions)
        SELECT pg_get_statisticsobjdef(s.oid) || ';', nullif((j->>'stxstattarget')::int, -1), obj_description(s.oid, 'pg_statistic_ext')
          INTO v_sql, v_num, v_comment
          FROM pg_statistic_ext s, to_jsonb(s) j WHERE s.oid = p_objid;
        v_detail := jsonb_strip_nulls(jsonb_build_object('create', v_sql, 'target', v_num));
        IF v_detail ? 'target' THEN
            v_sql := v_sql || E'\nALTER STATISTICS ' || v_q || ' SET STATISTICS ' || (v_detail->>'target') || ';';
        END IF;
        v_target := 'STATISTICS ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind = 'rule' THEN
        SELECT rtrim(pg_get_ruledef(r.oid), E'\n ;') || ';'
               || CASE r.ev_enabled WHEN 'D' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' DISABLE RULE ' || quote_ident(r.rulename) || ';'
                                    WHEN 'R' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ENABLE REPLICA RULE ' || quote_ident(r.rulename) || ';'
                                    WHEN 'A' THEN E'\nALTER TABLE ' || pggit._qname(c.relnamespace, c.relname) || ' ENABLE ALWAYS RULE ' || quote_ident(r.rulename) || ';'
                                    ELSE '' END,
               obj_description(r.oid, 'pg_rewrite'),
               'RULE ' || quote_ident(r.rulename) || ' ON ' || pggit._qname(c.relnamespace, c.relname)
          INTO v_sql, v_comment, v_target
          FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = p_objid;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n,a}');

    ELSIF v_kind = 'event trigger' THEN
        SELECT 'CREATE EVENT TRIGGER ' || v_q || ' ON ' || quote_ident(e.evtevent)
               || coalesce(' WHEN TAG IN (' || (SELECT string_agg(quote_literal(t), ', ' ORDER BY i) FROM unnest(e.evttags) WITH ORDINALITY u(t, i)) || ')', '')
               || ' EXECUTE FUNCTION ' || e.evtfoid::regproc::text || '();'
               || CASE e.evtenabled WHEN 'D' THEN E'\nALTER EVENT TRIGGER ' || v_q || ' DISABLE;'
                                    WHEN 'R' THEN E'\nALTER EVENT TRIGGER ' || v_q || ' ENABLE REPLICA;'
                                    WHEN 'A' THEN E'\nALTER EVENT TRIGGER ' || v_q || ' ENABLE ALWAYS;'
                                    ELSE '' END,
               obj_description(e.oid, 'pg_event_trigger')
          INTO v_sql, v_comment
          FROM pg_event_trigger e WHERE e.oid = p_objid;
        v_target := 'EVENT TRIGGER ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'cast' THEN
        SELECT 'CREATE CAST ' || v_q
               || CASE c.castmethod WHEN 'f' THEN ' WITH FUNCTION ' || c.castfunc::regprocedure::text
                                    WHEN 'i' THEN ' WITH INOUT' ELSE ' WITHOUT FUNCTION' END
               || CASE c.castcontext WHEN 'a' THEN ' AS ASSIGNMENT' WHEN 'i' THEN ' AS IMPLICIT' ELSE '' END || ';',
               obj_description(c.oid, 'pg_cast')
          INTO v_sql, v_comment
          FROM pg_cast c WHERE c.oid = p_objid;
        v_target := 'CAST ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'operator' THEN
        SELECT 'CREATE OPERATOR ' || pggit._operator_name(o.oid) || ' (FUNCTION = ' || o.oprcode::regproc::text
               || CASE WHEN o.oprleft <> 0 THEN ', LEFTARG = ' || format_type(o.oprleft, NULL) ELSE '' END
               || ', RIGHTARG = ' || format_type(o.oprright, NULL)
               || CASE WHEN o.oprcom <> 0 THEN ', COMMUTATOR = OPERATOR(' || pggit._operator_name(o.oprcom) || ')' ELSE '' END
               || CASE WHEN o.oprnegate <> 0 THEN ', NEGATOR = OPERATOR(' || pggit._operator_name(o.oprnegate) || ')' ELSE '' END
               || CASE WHEN o.oprrest <> 0 THEN ', RESTRICT = ' || o.oprrest::regproc::text ELSE '' END
               || CASE WHEN o.oprjoin <> 0 THEN ', JOIN = ' || o.oprjoin::regproc::text ELSE '' END
               || CASE WHEN o.oprcanhash THEN ', HASHES' ELSE '' END
               || CASE WHEN o.oprcanmerge THEN ', MERGES' ELSE '' END || ');',
               obj_description(o.oid, 'pg_operator')
          INTO v_sql, v_comment
          FROM pg_operator o WHERE o.oid = p_objid;
        v_target := 'OPERATOR ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'text search dictionary' THEN
        SELECT 'CREATE TEXT SEARCH DICTIONARY ' || v_q || ' (TEMPLATE = ' || pggit._qname(t.tmplnamespace, t.tmplname)
               || coalesce(', ' || d.dictinitoption, '') || ');',
               obj_description(d.oid, 'pg_ts_dict')
          INTO v_sql, v_comment
          FROM pg_ts_dict d JOIN pg_ts_template t ON t.oid = d.dicttemplate WHERE d.oid = p_objid;
        v_target := 'TEXT SEARCH DICTIONARY ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'text search configuration' THEN
        -- the parser, then the dictionaries of each token type in order
        SELECT 'CREATE TEXT SEARCH CONFIGURATION ' || v_q || ' (PARSER = ' || pggit._qname(p.prsnamespace, p.prsname) || ');'
               || coalesce((SELECT string_agg(E'\nALTER TEXT SEARCH CONFIGURATION ' || v_q || ' ADD MAPPING FOR ' || quote_ident(tt.alias)
                                              || ' WITH ' || m.dicts || ';', '' ORDER BY m.maptokentype)
                              FROM (SELECT mp.maptokentype, string_agg(pggit._qname(d.dictnamespace, d.dictname), ', ' ORDER BY mp.mapseqno) AS dicts
                                      FROM pg_ts_config_map mp JOIN pg_ts_dict d ON d.oid = mp.mapdict
                                     WHERE mp.mapcfg = c.oid GROUP BY mp.maptokentype) m
                              JOIN ts_token_type(c.cfgparser) tt ON tt.tokid = m.maptokentype), ''),
               obj_description(c.oid, 'pg_ts_config')
          INTO v_sql, v_comment
          FROM pg_ts_config c JOIN pg_ts_parser p ON p.oid = c.cfgparser WHERE c.oid = p_objid;
        v_target := 'TEXT SEARCH CONFIGURATION ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'publication' THEN
        -- its tables (with their columns and row filters) and schemas, in name order; what it
        -- publishes. (The columns of PostgreSQL 15 and later read through to_jsonb.)
        SELECT '{}'::oid[] AS f1, '{}'::oid[] AS f2, '{}'::text[] AS f3 INTO v_r;
        IF to_regclass('pg_catalog.pg_publication_namespace') IS NOT NULL THEN
            EXECUTE 'SELECT coalesce(array_agg(''pg_catalog.pg_publication_namespace''::regclass::oid), ''{}'') AS f1, coalesce(array_agg(pn.oid), ''{}'') AS f2,
                            coalesce(array_agg(''TABLES IN SCHEMA '' || quote_ident(n.nspname) ORDER BY n.nspname), ''{}'') AS f3
                       FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid
                      WHERE pn.pnpubid = $1'
               INTO v_r USING p_objid;
        END IF;
        SELECT 'CREATE PUBLICATION ' || v_q
               || CASE WHEN p.puballtables THEN ' FOR ALL TABLES'
                       ELSE coalesce(' FOR ' || nullif(array_to_string(
                                (SELECT array_agg('TABLE ONLY ' || pggit._qname(c.relnamespace, c.relname)
                                                  || coalesce(' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i)
                                                                         FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(j->'prattrs') = 'array' THEN j->'prattrs' ELSE '[]' END)
                                                                              WITH ORDINALITY k(n, i)
                                                                         JOIN pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.n::int2) || ')', '')
                                                  || coalesce(' WHERE (' || (SELECT pg_get_expr(pr2.prqual, pr2.prrelid)
                                                                              FROM pg_publication_rel pr2 WHERE pr2.oid = pr.oid AND j ? 'prqual') || ')', '')
                                                  ORDER BY c.relnamespace::regnamespace::text, c.relname)
                                   FROM pg_publication_rel pr, to_jsonb(pr) j, pg_class c
                                  WHERE pr.prpubid = p.oid AND c.oid = pr.prrelid)
                                || coalesce(v_r.f3, '{}'), ', '), ''), '') END
               || ' WITH (publish = ' || quote_literal(concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                                                                  CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END))
               || ', publish_via_partition_root = ' || CASE WHEN p.pubviaroot THEN 'true' ELSE 'false' END || ');',
               obj_description(p.oid, 'pg_publication')
          INTO v_sql, v_comment
          FROM pg_publication p WHERE p.oid = p_objid;
        v_target := 'PUBLICATION ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid] || array(SELECT 'pg_publication_rel'::regclass::oid FROM pg_publication_rel WHERE prpubid = p_objid)
                                              || coalesce(v_r.f1, '{}'),
                              ARRAY[p_objid] || array(SELECT oid FROM pg_publication_rel WHERE prpubid = p_objid) || coalesce(v_r.f2, '{}'),
                              v_ident, '{n,a}');

    ELSIF v_kind = 'foreign table' THEN
        v_sql := pggit._foreign_table_sql(p_objid);
        v_comment := obj_description(p_objid, 'pg_class');
        v_target := 'FOREIGN TABLE ' || v_q;
        v_deps := pggit._deps(
            ARRAY[p_classid] || array(SELECT 'pg_attrdef'::regclass::oid FROM pg_attrdef WHERE adrelid = p_objid)
                || array(SELECT 'pg_constraint'::regclass::oid FROM pg_constraint WHERE conrelid = p_objid),
            ARRAY[p_objid] || array(SELECT oid FROM pg_attrdef WHERE adrelid = p_objid)
                || array(SELECT oid FROM pg_constraint WHERE conrelid = p_objid),
            v_ident, '{n,a}');

    ELSIF v_kind = 'operator family' THEN
        -- the family, then the operators and functions added to it on their own (those of its
        -- operator classes are theirs)
        SELECT pggit._qname(f.opfnamespace, f.opfname) || ' USING ' || quote_ident(a.amname), obj_description(f.oid, 'pg_opfamily')
          INTO v_target, v_comment
          FROM pg_opfamily f JOIN pg_am a ON a.oid = f.opfmethod WHERE f.oid = p_objid;
        v_target := 'OPERATOR FAMILY ' || v_target;
        v_sql := 'CREATE ' || v_target || ';'
                 || coalesce(E'\nALTER ' || v_target || ' ADD ' || pggit._opfamily_items('pg_opfamily'::regclass, p_objid) || ';', '');
        v_deps := pggit._deps(
            ARRAY[p_classid] || array(SELECT 'pg_amop'::regclass::oid FROM pg_amop WHERE amopfamily = p_objid)
                || array(SELECT 'pg_amproc'::regclass::oid FROM pg_amproc WHERE amprocfamily = p_objid),
            ARRAY[p_objid] || array(SELECT oid FROM pg_amop WHERE amopfamily = p_objid)
                || array(SELECT oid FROM pg_amproc WHERE amprocfamily = p_objid),
            v_ident, '{n}');

    ELSIF v_kind = 'operator class' THEN
        -- (FAMILY only when the family has another name: CREATE OPERATOR CLASS uses the family of
        -- its own name, making it when it does not exist)
        SELECT 'OPERATOR CLASS ' || pggit._qname(c.opcnamespace, c.opcname) || ' USING ' || quote_ident(a.amname),
               'CREATE OPERATOR CLASS ' || pggit._qname(c.opcnamespace, c.opcname) || CASE WHEN c.opcdefault THEN ' DEFAULT' ELSE '' END
               || ' FOR TYPE ' || format_type(c.opcintype, NULL) || ' USING ' || quote_ident(a.amname)
               || CASE WHEN (f.opfnamespace, f.opfname) IS DISTINCT FROM (c.opcnamespace, c.opcname)
                       THEN ' FAMILY ' || pggit._qname(f.opfnamespace, f.opfname) ELSE '' END
               || ' AS ' || concat_ws(', ', CASE WHEN c.opckeytype <> 0 THEN 'STORAGE ' || format_type(c.opckeytype, NULL) END,
                                      pggit._opfamily_items('pg_opclass'::regclass, c.oid)) || ';',
               obj_description(c.oid, 'pg_opclass')
          INTO v_target, v_sql, v_comment
          FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod JOIN pg_opfamily f ON f.oid = c.opcfamily
         WHERE c.oid = p_objid;
        v_deps := pggit._deps(
            ARRAY[p_classid] || array(SELECT d.classid FROM pg_depend d WHERE d.refclassid = p_classid AND d.refobjid = p_objid
                                                                          AND d.classid IN ('pg_amop'::regclass, 'pg_amproc'::regclass)),
            ARRAY[p_objid] || array(SELECT d.objid FROM pg_depend d WHERE d.refclassid = p_classid AND d.refobjid = p_objid
                                                                        AND d.classid IN ('pg_amop'::regclass, 'pg_amproc'::regclass)),
            v_ident, '{n,a}');

    ELSIF v_kind = 'access method' THEN
        SELECT 'CREATE ACCESS METHOD ' || v_q || ' TYPE ' || CASE a.amtype WHEN 't' THEN 'TABLE' ELSE 'INDEX' END
               || ' HANDLER ' || a.amhandler::regproc::text || ';',
               obj_description(a.oid, 'pg_am')
          INTO v_sql, v_comment FROM pg_am a WHERE a.oid = p_objid;
        v_target := 'ACCESS METHOD ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'transform' THEN
        SELECT 'TRANSFORM FOR ' || format_type(t.trftype, NULL) || ' LANGUAGE ' || quote_ident(l.lanname),
               obj_description(t.oid, 'pg_transform'),
               concat_ws(', ', CASE WHEN t.trffromsql <> 0 THEN 'FROM SQL WITH FUNCTION ' || t.trffromsql::regprocedure::text END,
                               CASE WHEN t.trftosql <> 0 THEN 'TO SQL WITH FUNCTION ' || t.trftosql::regprocedure::text END)
          INTO v_target, v_comment, v_sql
          FROM pg_transform t JOIN pg_language l ON l.oid = t.trflang WHERE t.oid = p_objid;
        v_sql := 'CREATE ' || v_target || ' (' || v_sql || ');';
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'text search parser' THEN
        SELECT 'CREATE TEXT SEARCH PARSER ' || v_q || ' (START = ' || p.prsstart::regproc::text || ', GETTOKEN = ' || p.prstoken::regproc::text
               || ', END = ' || p.prsend::regproc::text || ', LEXTYPES = ' || p.prslextype::regproc::text
               || CASE WHEN p.prsheadline <> 0 THEN ', HEADLINE = ' || p.prsheadline::regproc::text ELSE '' END || ');',
               obj_description(p.oid, 'pg_ts_parser')
          INTO v_sql, v_comment FROM pg_ts_parser p WHERE p.oid = p_objid;
        v_target := 'TEXT SEARCH PARSER ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'text search template' THEN
        SELECT 'CREATE TEXT SEARCH TEMPLATE ' || v_q || ' ('
               || CASE WHEN t.tmplinit <> 0 THEN 'INIT = ' || t.tmplinit::regproc::text || ', ' ELSE '' END
               || 'LEXIZE = ' || t.tmpllexize::regproc::text || ');',
               obj_description(t.oid, 'pg_ts_template')
          INTO v_sql, v_comment FROM pg_ts_template t WHERE t.oid = p_objid;
        v_target := 'TEXT SEARCH TEMPLATE ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'foreign data wrapper' THEN
        -- (options that are secrets are not stored)
        SELECT 'CREATE FOREIGN DATA WRAPPER ' || v_q
               || CASE WHEN w.fdwhandler <> 0 THEN ' HANDLER ' || w.fdwhandler::regproc::text ELSE '' END
               || CASE WHEN w.fdwvalidator <> 0 THEN ' VALIDATOR ' || w.fdwvalidator::regproc::text ELSE '' END
               || pggit._options_sql(w.fdwoptions) || ';',
               obj_description(w.oid, 'pg_foreign_data_wrapper')
          INTO v_sql, v_comment FROM pg_foreign_data_wrapper w WHERE w.oid = p_objid;
        v_target := 'FOREIGN DATA WRAPPER ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'server' THEN
        SELECT 'CREATE SERVER ' || v_q || coalesce(' TYPE ' || quote_literal(s.srvtype), '') || coalesce(' VERSION ' || quote_literal(s.srvversion), '')
               || ' FOREIGN DATA WRAPPER ' || quote_ident(w.fdwname) || pggit._options_sql(s.srvoptions) || ';',
               obj_description(s.oid, 'pg_foreign_server')
          INTO v_sql, v_comment
          FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE s.oid = p_objid;
        v_target := 'SERVER ' || v_q;
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'user mapping' THEN
        -- (its password and other secrets are not stored)
        SELECT 'USER MAPPING FOR ' || CASE WHEN um.umuser = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END || ' SERVER ' || quote_ident(s.srvname),
               pggit._options_sql(um.umoptions)
          INTO v_target, v_sql
          FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver LEFT JOIN pg_roles r ON r.oid = um.umuser
         WHERE um.oid = p_objid;
        v_sql := 'CREATE ' || v_target || v_sql || ';';
        v_deps := pggit._deps(ARRAY[p_classid], ARRAY[p_objid], v_ident, '{n}');

    ELSIF v_kind = 'subscription' THEN
        -- without the connection string's password; made without connecting and disabled
        -- (connect = false, as pg_dump does): whether it is enabled is not part of its state, so
        -- that no replay (a checkout, the shadow database) starts replicating. Dropped without
        -- the publisher: its slot is let go first (slot_name = NONE), and stays on the publisher.
        -- (Columns read through to_jsonb: they differ between server versions.)
        SELECT 'CREATE SUBSCRIPTION ' || v_q || ' CONNECTION ' || quote_literal(pggit._conninfo_without_secrets(s.subconninfo))
               || ' PUBLICATION ' || (SELECT string_agg(quote_ident(p), ', ' ORDER BY i) FROM unnest(s.subpublications) WITH ORDINALITY u(p, i))
               || ' WITH (connect = false, slot_name = ' || coalesce(quote_literal(s.subslotname::text), 'NONE')
               || CASE WHEN s.subbinary THEN ', binary = true' ELSE '' END
               || CASE WHEN j->>'substream' IN ('t', 'true') THEN ', streaming = on' WHEN j->>'substream' = 'p' THEN ', streaming = parallel' ELSE '' END
               || CASE WHEN j->>'subtwophasestate' <> 'd' THEN ', two_phase = on' ELSE '' END
               || CASE WHEN (j->>'subdisableonerr')::boolean THEN ', disable_on_error = true' ELSE '' END
               || CASE WHEN NOT coalesce((j->>'subpasswordrequired')::boolean, true) THEN ', password_required = false' ELSE '' END
               || CASE WHEN (j->>'subrunasowner')::boolean THEN ', run_as_owner = true' ELSE '' END
               || CASE WHEN coalesce(j->>'suborigin', 'any') <> 'any' THEN ', origin = ' || quote_literal(j->>'suborigin') ELSE '' END
               || CASE WHEN (j->>'subfailover')::boolean THEN ', failover = true' ELSE '' END
               || CASE WHEN s.subsynccommit <> 'off' THEN ', synchronous_commit = ' || quote_literal(s.subsynccommit) ELSE '' END
               || ');',
               obj_description(s.oid, 'pg_subscription'),
               CASE WHEN s.subslotname IS NULL THEN 'DROP SUBSCRIPTION IF EXISTS ' || v_q || ';'
                    ELSE 'ALTER SUBSCRIPTION ' || v_q || ' DISABLE; ALTER SUBSCRIPTION ' || v_q || ' SET (slot_name = NONE); DROP SUBSCRIPTION '
                         || v_q || ';' END
          INTO v_sql, v_comment, v_num_text
          FROM pg_subscription s, to_jsonb(s) j WHERE s.oid = p_objid;
        v_detail := jsonb_build_object('drop', v_num_text);
        v_target := 'SUBSCRIPTION ' || v_q;
        v_deps := '{}';
    ELSE
        RETURN NULL;
    END IF;

    v_sql := v_sql || pggit._comment_sql(v_target, v_comment);
    v_detail := v_detail || jsonb_strip_nulls(jsonb_build_object(
        'deps', to_jsonb(v_deps), 'comment_on', v_target, 'comment', v_comment));
    -- (and its privileges: 10_privileges.sql)
    RETURN pggit._with_acl(ROW(p_classid, p_objid, v_kind, v_ident, v_sql, v_detail)::pggit.objdesc);
END $$;

-- Every tracked root object in the database, as catalog addresses.
CREATE FUNCTION pggit._all_roots() RETURNS TABLE (classid oid, objid oid)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT r.classid, r.objid
      FROM (
        SELECT 'pg_class'::regclass::oid AS c, c.oid AS o FROM pg_class c
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'c', 'f') AND c.oid >= 16384
        UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t
         WHERE t.oid >= 16384 AND (t.typtype IN ('e', 'd', 'r')
                                   -- (base types; not the array types of every type, which belong to theirs)
                                   OR (t.typtype = 'b' AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid)))
        UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p WHERE p.oid >= 16384
        UNION ALL SELECT 'pg_trigger'::regclass, t.oid FROM pg_trigger t WHERE t.oid >= 16384
        UNION ALL SELECT 'pg_policy'::regclass, p.oid FROM pg_policy p
        UNION ALL SELECT 'pg_namespace'::regclass, n.oid FROM pg_namespace n WHERE n.oid >= 16384 OR n.nspname = 'public'
        UNION ALL SELECT 'pg_extension'::regclass, e.oid FROM pg_extension e WHERE e.oid >= 16384
        UNION ALL SELECT 'pg_collation'::regclass, co.oid FROM pg_collation co WHERE co.oid >= 16384
        UNION ALL SELECT 'pg_statistic_ext'::regclass, s.oid FROM pg_statistic_ext s
        UNION ALL SELECT 'pg_rewrite'::regclass, r.oid FROM pg_rewrite r WHERE r.oid >= 16384 AND r.rulename <> '_RETURN'
        UNION ALL SELECT 'pg_event_trigger'::regclass, e.oid FROM pg_event_trigger e WHERE e.oid >= 16384
        UNION ALL SELECT 'pg_cast'::regclass, c.oid FROM pg_cast c WHERE c.oid >= 16384
        UNION ALL SELECT 'pg_operator'::regclass, o.oid FROM pg_operator o WHERE o.oid >= 16384
        UNION ALL SELECT 'pg_ts_dict'::regclass, d.oid FROM pg_ts_dict d WHERE d.oid >= 16384
        UNION ALL SELECT 'pg_ts_config'::regclass, c.oid FROM pg_ts_config c WHERE c.oid >= 16384
        UNION ALL SELECT 'pg_publication'::regclass, p.oid FROM pg_publication p WHERE p.oid >= 16384
        UNION ALL SELECT 'pg_opfamily'::regclass, f.oid FROM pg_opfamily f WHERE f.oid >= 16384
        UNION ALL SELECT 'pg_opclass'::regclass, c.oid FROM pg_opclass c WHERE c.oid >= 16384
        UNION ALL SELECT 'pg_am'::regclass, a.oid FROM pg_am a WHERE a.oid >= 16384
        UNION ALL SELECT 'pg_transform'::regclass, t.oid FROM pg_transform t WHERE t.oid >= 16384
        UNION ALL SELECT 'pg_ts_parser'::regclass, p.oid FROM pg_ts_parser p WHERE p.oid >= 16384
        UNION ALL SELECT 'pg_ts_template'::regclass, t.oid FROM pg_ts_template t WHERE t.oid >= 16384
        UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, w.oid FROM pg_foreign_data_wrapper w WHERE w.oid >= 16384
        UNION ALL SELECT 'pg_foreign_server'::regclass, s.oid FROM pg_foreign_server s WHERE s.oid >= 16384
        UNION ALL SELECT 'pg_user_mapping'::regclass, um.oid FROM pg_user_mapping um WHERE um.oid >= 16384
        UNION ALL SELECT 'pg_subscription'::regclass, s.oid FROM pg_subscription s WHERE s.oid >= 16384
      ) a(c, o)
     CROSS JOIN LATERAL pggit._root(a.c, a.o) r
     WHERE r.objid IS NOT NULL
    UNION ALL SELECT d.classid, d.objid FROM pggit._default_acl_roots() d  -- (10_privileges.sql)
$$;
