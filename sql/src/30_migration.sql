-- pgGit engine: migrations, the ordered DDL that turns one state into another.

-- Order of kinds when dependencies do not decide.
CREATE FUNCTION pggit._kind_rank(p_kind text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'schema' THEN 0 WHEN 'extension' THEN 1 WHEN 'collation' THEN 1 WHEN 'type' THEN 2 WHEN 'domain' THEN 3
                       WHEN 'function' THEN 4 WHEN 'procedure' THEN 4 WHEN 'aggregate' THEN 5 WHEN 'cast' THEN 5 WHEN 'operator' THEN 5
                       WHEN 'text search dictionary' THEN 5 WHEN 'text search configuration' THEN 5
                       WHEN 'access method' THEN 5 WHEN 'text search parser' THEN 5 WHEN 'text search template' THEN 5
                       WHEN 'transform' THEN 5 WHEN 'operator family' THEN 5 WHEN 'operator class' THEN 5
                       WHEN 'foreign data wrapper' THEN 5 WHEN 'server' THEN 5 WHEN 'user mapping' THEN 6 WHEN 'foreign table' THEN 7
                       WHEN 'subscription' THEN 12
                       WHEN 'sequence' THEN 6 WHEN 'table' THEN 7 WHEN 'view' THEN 8
                       WHEN 'materialized view' THEN 9 WHEN 'index' THEN 10 WHEN 'statistics' THEN 10 WHEN 'trigger' THEN 11 WHEN 'rule' THEN 11
                       WHEN 'policy' THEN 12 WHEN 'event trigger' THEN 12 WHEN 'publication' THEN 12 ELSE 13 END
$$;

-- The SQL object word and name after DROP/COMMENT ON for an object (e.g. 'TRIGGER t ON s.x').
CREATE FUNCTION pggit._target(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_kind = 'table' THEN 'TABLE ' || (p_detail->>'qname') ELSE p_detail->>'comment_on' END
$$;

-- DROP statement for an object.
CREATE FUNCTION pggit._drop_sql(p_kind text, p_detail jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_detail ? 'drop' THEN rtrim(p_detail->>'drop', ';')  -- (subscriptions)
                -- a base type goes with its I/O functions (which name it)
                WHEN p_kind = 'type' AND p_detail ? 'base' THEN 'DROP TYPE IF EXISTS ' || substr(pggit._target(p_kind, p_detail), 6) || ' CASCADE'
                WHEN p_kind IN ('operator class', 'operator family', 'access method', 'transform', 'text search parser', 'text search template',
                                'foreign data wrapper', 'server', 'user mapping', 'foreign table') THEN
                    regexp_replace(pggit._target(p_kind, p_detail),
                                   '^(OPERATOR CLASS|OPERATOR FAMILY|ACCESS METHOD|TRANSFORM|TEXT SEARCH PARSER|TEXT SEARCH TEMPLATE|FOREIGN DATA WRAPPER|SERVER|USER MAPPING|FOREIGN TABLE) ',
                                   'DROP \1 IF EXISTS ')
                WHEN p_kind IN ('trigger', 'policy', 'rule') THEN
                    regexp_replace(pggit._target(p_kind, p_detail), '^(TRIGGER|POLICY|RULE) ', 'DROP \1 IF EXISTS ')
                ELSE regexp_replace(pggit._target(p_kind, p_detail),
                                    '^(MATERIALIZED VIEW|TABLE|INDEX|SEQUENCE|VIEW|FUNCTION|PROCEDURE|AGGREGATE|TYPE|DOMAIN|SCHEMA|EXTENSION|COLLATION|STATISTICS|EVENT TRIGGER|CAST|OPERATOR|TEXT SEARCH DICTIONARY|TEXT SEARCH CONFIGURATION|PUBLICATION) ',
                                    'DROP \1 IF EXISTS ') END || ';'
$$;

-- Generated columns of table o that must be dropped and added again to turn it into n: those
-- (kept, generated in both) whose expression may name a column whose type or collation changes
-- (PostgreSQL refuses ALTER COLUMN TYPE on a column a generated column uses). The match is
-- textual, so it may take a generated column that does not use the column: harmless, they hold
-- only derived data.
CREATE FUNCTION pggit._generated_rebuild(o jsonb, n jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    WITH retyped AS (
        SELECT oc->>'name' AS name
          FROM jsonb_array_elements(o->'columns') oc, jsonb_array_elements(n->'columns') nc
         WHERE nc->>'name' = oc->>'name' AND (oc->>'local')::boolean AND (nc->>'local')::boolean
           AND ((oc->>'type') <> (nc->>'type') OR (oc->>'collation') IS DISTINCT FROM (nc->>'collation'))
    )
    SELECT coalesce(array_agg(nc->>'name' ORDER BY x.n), '{}')
      FROM jsonb_array_elements(n->'columns') WITH ORDINALITY x(nc, n)
     WHERE (nc->>'generated') IS NOT NULL AND (nc->>'local')::boolean
       AND EXISTS (SELECT 1 FROM jsonb_array_elements(o->'columns') oc
                    WHERE oc->>'name' = nc->>'name' AND (oc->>'generated') IS NOT NULL AND (oc->>'local')::boolean)
       AND EXISTS (SELECT 1 FROM retyped r
                    WHERE r.name <> nc->>'name'
                      AND (nc->>'generated') ~ ('(^|[^[:alnum:]_$])'
                                                || regexp_replace(quote_ident(r.name), '([^[:alnum:]_ ])', '\\\1', 'g')
                                                || '($|[^[:alnum:]_$])'))
$$;

-- Does changing table o into table n need a drop and create (instead of ALTERs)?
CREATE FUNCTION pggit._table_needs_recreate(o jsonb, n jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_kept_old text[];
    v_kept_new text[];
    v_new      text[];
    v_gen      text[];
    v_tail     text[];
BEGIN
    IF (o->>'partition_key') IS DISTINCT FROM (n->>'partition_key')
       OR (o->'inherits') IS DISTINCT FROM (n->'inherits') OR (o->>'persistence') IS DISTINCT FROM (n->>'persistence') THEN
        RETURN true;
    END IF;
    -- ALTER TABLE can only append columns: kept columns must keep their order, new ones come last
    v_new := array(SELECT c->>'name' FROM jsonb_array_elements(n->'columns') c);
    v_kept_old := array(SELECT c->>'name' FROM jsonb_array_elements(o->'columns') c WHERE c->>'name' = ANY (v_new));
    v_kept_new := v_new[1:cardinality(v_kept_old)];
    IF v_kept_old IS DISTINCT FROM v_kept_new THEN
        RETURN true;
    END IF;
    -- generated columns dropped and added again around a type change come back last: they must
    -- be the last columns of n
    v_gen := pggit._generated_rebuild(o, n);
    IF cardinality(v_gen) = 0 THEN
        RETURN false;
    END IF;
    v_tail := array(SELECT x FROM unnest(v_new) WITH ORDINALITY u(x, i) WHERE x = ANY (v_gen) OR NOT x = ANY (v_kept_old) ORDER BY i);
    RETURN v_new[cardinality(v_new) - cardinality(v_tail) + 1:] IS DISTINCT FROM v_tail;
END $$;

-- RENAME CONSTRAINT statements that give the NOT NULL constraints of table q (PostgreSQL 18)
-- the names n has (their default name when n has none), from those of o (after SET NOT NULL:
-- the default name); with p_local, only of columns local on both sides.
CREATE FUNCTION pggit._notnull_renames(q text, o jsonb, n jsonb, p_local boolean) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg('ALTER TABLE ' || q || ' RENAME CONSTRAINT ' || quote_ident(x.f) || ' TO ' || quote_ident(x.t) || ';'
                              ORDER BY x.t), '{}')
      FROM (SELECT CASE WHEN (a->>'notnull')::boolean THEN coalesce(a->>'notnull_name', left((parse_ident(q))[2] || '_' || (a->>'name') || '_not_null', 63))
                        ELSE left((parse_ident(q))[2] || '_' || (a->>'name') || '_not_null', 63) END AS f,
                   coalesce(b->>'notnull_name', left((parse_ident(q))[2] || '_' || (b->>'name') || '_not_null', 63)) AS t
              FROM jsonb_array_elements(o->'columns') a, jsonb_array_elements(n->'columns') b
             WHERE b->>'name' = a->>'name' AND (b->>'notnull')::boolean AND (a ? 'notnull_name' OR b ? 'notnull_name')
               AND (NOT p_local OR ((a->>'local')::boolean AND (b->>'local')::boolean))) x
     WHERE x.f <> x.t
$$;

-- The ALTER statements that turn table o into table n (no constraint drops, no foreign keys:
-- those run in their own phases).
CREATE FUNCTION pggit._alter_table_sql(o jsonb, n jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    q     text := n->>'qname';
    v_out text[] := '{}';
    oc    jsonb;
    nc    jsonb;
    v_col text;
    v_opt text;
    v_gen text[];
    v_readd text[] := '{}';
BEGIN
    -- a partition attached to another parent or bound (the DETACH ran in the first phase); a
    -- partition may hold only its parent's columns
    IF n->>'partition_of' IS NOT NULL AND ((o->>'partition_of') IS DISTINCT FROM (n->>'partition_of') OR (o->>'bound') IS DISTINCT FROM (n->>'bound')) THEN
        SELECT v_out || coalesce(array_agg('ALTER TABLE ' || q || ' DROP COLUMN ' || quote_ident(c->>'name') || ';'), '{}') INTO v_out
          FROM jsonb_array_elements(o->'columns') c
         WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n->'columns') x WHERE x->>'name' = c->>'name');
        -- (a partition keeps the names of its NOT NULL constraints: renamed before)
        v_out := v_out || pggit._notnull_renames(q, o, n, false)
                       || ('ALTER TABLE ' || (n->>'partition_of') || ' ATTACH PARTITION ' || q || ' ' || (n->>'bound') || ';');
    END IF;
    -- (a typed table leaving its type did so in the first phase: NOT OF)
    IF n ? 'of_type' AND (o->>'of_type') IS NOT DISTINCT FROM (n->>'of_type') THEN
        -- a typed table's columns come and go, and change type, with its type's attributes
        -- (ALTER TYPE ... CASCADE): only their defaults and NOT NULL are the table's
        o := jsonb_set(o, '{columns}', coalesce((
                 SELECT jsonb_agg(coalesce((SELECT y.c || jsonb_build_object('type', x.c->'type')
                                              FROM jsonb_array_elements(o->'columns') y(c) WHERE y.c->>'name' = x.c->>'name'),
                                           (x.c - 'default' - 'notnull' - 'late_default') || '{"notnull": false}') ORDER BY x.i)
                   FROM jsonb_array_elements(n->'columns') WITH ORDINALITY x(c, i)), '[]'));
    END IF;
    IF o->>'partition_of' IS NOT NULL THEN
        -- a detached partition keeps its columns, which become its own
        o := jsonb_set(o, '{columns}', coalesce((SELECT jsonb_agg(c || '{"local": true}') FROM jsonb_array_elements(o->'columns') c), '[]'));
    END IF;
    IF n->>'partition_of' IS NULL THEN
        -- generated columns using a column whose type changes: dropped first, added again (last,
        -- as the new state has them) with the constraints that name them
        v_gen := pggit._generated_rebuild(o, n);
        IF cardinality(v_gen) > 0 THEN
            FOREACH v_col IN ARRAY v_gen LOOP
                v_out := v_out || ('ALTER TABLE ' || q || ' DROP COLUMN ' || quote_ident(v_col) || ';');
            END LOOP;
            v_readd := array(SELECT c->>'name' FROM jsonb_array_elements(o->'constraints') c, unnest(v_gen) g
                              WHERE (c->>'def') ~ ('(^|[^[:alnum:]_$])' || regexp_replace(quote_ident(g), '([^[:alnum:]_ ])', '\\\1', 'g')
                                                   || '($|[^[:alnum:]_$])'));
            o := jsonb_set(o, '{columns}', coalesce((SELECT jsonb_agg(c) FROM jsonb_array_elements(o->'columns') c
                                                      WHERE NOT (c->>'name') = ANY (v_gen)), '[]'));
            o := jsonb_set(o, '{constraints}', coalesce((SELECT jsonb_agg(c) FROM jsonb_array_elements(o->'constraints') c
                                                          WHERE NOT (c->>'name') = ANY (v_readd)), '[]'));
        END IF;
        -- columns dropped
        FOR oc IN SELECT c FROM jsonb_array_elements(o->'columns') c
                   WHERE (c->>'local')::boolean
                     AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n->'columns') x WHERE x->>'name' = c->>'name' AND (x->>'local')::boolean) LOOP
            v_out := v_out || ('ALTER TABLE ' || q || ' DROP COLUMN ' || quote_ident(oc->>'name') || ';');
        END LOOP;
        FOR nc IN SELECT c FROM jsonb_array_elements(n->'columns') c WHERE (c->>'local')::boolean LOOP
            v_col := quote_ident(nc->>'name');
            SELECT c INTO oc FROM jsonb_array_elements(o->'columns') c WHERE c->>'name' = nc->>'name' AND (c->>'local')::boolean;
            IF oc IS NULL THEN
                -- (late defaults are set in their own phase, once the functions they call exist)
                v_out := v_out || ('ALTER TABLE ' || q || ' ADD COLUMN '
                                   || pggit._column_sql(CASE WHEN nc ? 'late_default' THEN nc - 'default' ELSE nc END) || ';');
                CONTINUE;
            END IF;
            IF (oc - 'comment') = (nc - 'comment') THEN
                NULL;
            ELSIF (oc->>'generated') IS DISTINCT FROM (nc->>'generated') OR (oc->>'generated_kind') IS DISTINCT FROM (nc->>'generated_kind') THEN
                v_out := v_out || ('ALTER TABLE ' || q || ' DROP COLUMN ' || v_col || ';')
                               || ('ALTER TABLE ' || q || ' ADD COLUMN ' || pggit._column_sql(nc) || ';');
                CONTINUE;
            ELSE
                IF (oc->>'identity') IS NOT NULL AND ((nc->>'identity') IS NULL OR (oc->>'identity') <> (nc->>'identity')
                                                      OR (oc->>'identity_options') <> (nc->>'identity_options')) THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' DROP IDENTITY;');
                END IF;
                IF (oc->>'default') IS NOT NULL AND (nc->>'default') IS NULL THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' DROP DEFAULT;');
                END IF;
                IF (oc->>'type') <> (nc->>'type') OR (oc->>'collation') IS DISTINCT FROM (nc->>'collation') THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' TYPE ' || (nc->>'type')
                                       || coalesce(' COLLATE ' || (nc->>'collation'), '')
                                       || ' USING ' || v_col
                                       -- between two types of users (enums, domains, composites) there is
                                       -- rarely a cast: through their text forms
                                       || CASE WHEN (oc->>'type') ~ '\.' AND (nc->>'type') ~ '\.'
                                               THEN '::text' || CASE WHEN (nc->>'type') LIKE '%[]' THEN '[]' ELSE '' END
                                               ELSE '' END
                                       || '::' || (nc->>'type') || ';');
                END IF;
                IF (nc->>'default') IS NOT NULL AND (oc->>'default') IS DISTINCT FROM (nc->>'default') AND NOT nc ? 'late_default' THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' SET DEFAULT ' || (nc->>'default') || ';');
                END IF;
                IF (oc->>'notnull')::boolean AND NOT (nc->>'notnull')::boolean THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' DROP NOT NULL;');
                ELSIF NOT (oc->>'notnull')::boolean AND (nc->>'notnull')::boolean THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' SET NOT NULL;');
                END IF;
                IF (nc->>'identity') IS NOT NULL AND ((oc->>'identity') IS NULL OR (oc->>'identity') <> (nc->>'identity')
                                                      OR (oc->>'identity_options') <> (nc->>'identity_options')) THEN
                    v_out := v_out || ('ALTER TABLE ' || q || ' ALTER COLUMN ' || v_col || ' ADD GENERATED '
                                       || CASE WHEN nc->>'identity' = 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END
                                       || ' AS IDENTITY (' || (nc->>'identity_options') || ');');
                END IF;
            END IF;
        END LOOP;
    END IF;
    -- NOT NULL constraint names (PostgreSQL 18): a detached partition keeps its parent's, SET NOT
    -- NULL gives the default one
    IF n->>'partition_of' IS NULL THEN
        v_out := v_out || pggit._notnull_renames(q, o, n, true);
    END IF;
    -- constraints added or changed (their old versions were dropped in an earlier phase); a
    -- detached partition keeps the constraints it had from its parent, under the same names
    SELECT v_out || coalesce(array_agg(CASE WHEN (o ? 'partition_of' AND NOT n ? 'partition_of') OR (c->>'name') = ANY (v_readd)
                                            THEN 'ALTER TABLE ' || q || ' DROP CONSTRAINT IF EXISTS ' || quote_ident(c->>'name') || '; '
                                            ELSE '' END
                                       || 'ALTER TABLE ' || q || ' ADD CONSTRAINT ' || quote_ident(c->>'name') || ' ' || (c->>'def') || ';'
                                       ORDER BY c->>'name'), '{}')
      INTO v_out
      FROM jsonb_array_elements(n->'constraints') c
     WHERE c->>'type' <> 'f' AND NOT (o->'constraints') @> jsonb_build_array(c - 'comment');
    -- storage options
    IF (o->'options') IS DISTINCT FROM (n->'options') THEN
        SELECT string_agg(split_part(x, '=', 1), ', ') INTO v_opt
          FROM jsonb_array_elements_text(coalesce(o->'options', '[]')) x
         WHERE split_part(x, '=', 1) NOT IN (SELECT split_part(y, '=', 1) FROM jsonb_array_elements_text(coalesce(n->'options', '[]')) y);
        IF v_opt IS NOT NULL THEN
            v_out := v_out || ('ALTER TABLE ' || q || ' RESET (' || v_opt || ');');
        END IF;
        IF jsonb_array_length(coalesce(n->'options', '[]')) > 0 THEN
            v_out := v_out || ('ALTER TABLE ' || q || ' SET (' || (SELECT string_agg(y, ', ') FROM jsonb_array_elements_text(n->'options') y) || ');');
        END IF;
    END IF;
    -- column storage and compression (a column retyped above took its new type's defaults)
    SELECT v_out || coalesce(array_agg(x ORDER BY c.n), '{}') INTO v_out
      FROM jsonb_array_elements(n->'columns') WITH ORDINALITY c(col, n)
      JOIN LATERAL (SELECT y FROM jsonb_array_elements(o->'columns') y WHERE y->>'name' = c.col->>'name') oc(col) ON true
     CROSS JOIN LATERAL unnest(ARRAY[
           CASE WHEN (c.col->>'storage') IS DISTINCT FROM (oc.col->>'storage') OR (c.col->>'type') <> (oc.col->>'type') THEN
               'ALTER TABLE ONLY ' || q || ' ALTER COLUMN ' || quote_ident(c.col->>'name') || ' SET STORAGE '
               || coalesce(c.col->>'storage', CASE WHEN (c.col->>'type') = (oc.col->>'type') THEN oc.col->>'storage_default' END) || ';' END,
           CASE WHEN (c.col->>'compression') IS DISTINCT FROM (oc.col->>'compression') THEN
               'ALTER TABLE ONLY ' || q || ' ALTER COLUMN ' || quote_ident(c.col->>'name') || ' SET COMPRESSION '
               || coalesce(c.col->>'compression', 'default') || ';' END]) x
     WHERE x IS NOT NULL;
    IF (o->>'access_method') IS DISTINCT FROM (n->>'access_method') THEN
        v_out := v_out || ('ALTER TABLE ' || q || ' SET ACCESS METHOD ' || coalesce(n->>'access_method', 'heap') || ';');
    END IF;
    IF (o->'rls') IS DISTINCT FROM (n->'rls') THEN
        v_out := v_out || ('ALTER TABLE ' || q || CASE WHEN (n->>'rls')::boolean THEN ' ENABLE' ELSE ' DISABLE' END || ' ROW LEVEL SECURITY;');
    END IF;
    IF (o->'force_rls') IS DISTINCT FROM (n->'force_rls') THEN
        v_out := v_out || ('ALTER TABLE ' || q || CASE WHEN (n->>'force_rls')::boolean THEN ' FORCE' ELSE ' NO FORCE' END || ' ROW LEVEL SECURITY;');
    END IF;
    -- sequences owned by columns
    SELECT v_out || coalesce(array_agg('ALTER SEQUENCE ' || (x->>'sequence') || ' OWNED BY NONE;'), '{}') INTO v_out
      FROM jsonb_array_elements(o->'owned') x WHERE NOT (n->'owned') @> jsonb_build_array(x)
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n->'owned') y WHERE y->>'sequence' = x->>'sequence');
    SELECT v_out || coalesce(array_agg('ALTER SEQUENCE ' || (x->>'sequence') || ' OWNED BY ' || q || '.' || quote_ident(x->>'column') || ';'), '{}') INTO v_out
      FROM jsonb_array_elements(n->'owned') x WHERE NOT (o->'owned') @> jsonb_build_array(x);
    -- comments
    IF (o->>'comment') IS DISTINCT FROM (n->>'comment') THEN
        v_out := v_out || ('COMMENT ON TABLE ' || q || ' IS ' || coalesce(quote_literal(n->>'comment'), 'NULL') || ';');
    END IF;
    SELECT v_out || coalesce(array_agg('COMMENT ON COLUMN ' || q || '.' || quote_ident(c->>'name') || ' IS '
                                       || coalesce(quote_literal(c->>'comment'), 'NULL') || ';'), '{}')
      INTO v_out
      FROM jsonb_array_elements(n->'columns') c
     WHERE (c->>'comment') IS DISTINCT FROM (SELECT x->>'comment' FROM jsonb_array_elements(o->'columns') x WHERE x->>'name' = c->>'name')
       AND ((c->>'comment') IS NOT NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(o->'columns') x WHERE x->>'name' = c->>'name'));
    -- constraint comments (constraints added later carry theirs in the foreign-key phase)
    SELECT v_out || coalesce(array_agg('COMMENT ON CONSTRAINT ' || quote_ident(c->>'name') || ' ON ' || q || ' IS '
                                       || coalesce(quote_literal(c->>'comment'), 'NULL') || ';'), '{}')
      INTO v_out
      FROM jsonb_array_elements(n->'constraints') c
     WHERE c->>'type' <> 'f'
       AND (c->>'comment') IS DISTINCT FROM (SELECT x->>'comment' FROM jsonb_array_elements(o->'constraints') x
                                             WHERE x->>'name' = c->>'name' AND x->>'def' = c->>'def');
    IF (n->>'of_type') IS NOT NULL AND (o->>'of_type') IS DISTINCT FROM (n->>'of_type') THEN
        v_out := v_out || ('ALTER TABLE ' || q || ' OF ' || (n->>'of_type') || ';');
    END IF;
    RETURN v_out;
END $$;

-- Statements that create a table from its description (foreign keys excluded).
CREATE FUNCTION pggit._create_table_sql(n jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[n->>'create']
        || CASE WHEN (n->>'attached')::boolean THEN ARRAY[pggit._attach_sql(n)] ELSE '{}' END
        || CASE WHEN n ? 'of_type' AND NOT n ? 'partition_of' THEN pggit._typed_column_sql(n, false) ELSE '{}' END
        || coalesce((SELECT array_agg('ALTER TABLE ' || (n->>'qname') || ' ADD CONSTRAINT ' || quote_ident(c->>'name') || ' ' || (c->>'def') || ';'
                                      ORDER BY c->>'name')
                       FROM jsonb_array_elements(n->'constraints') c WHERE c->>'type' <> 'f'), '{}')
        || CASE WHEN jsonb_path_exists(n->'columns', '$[*] ? (exists(@.storage) || exists(@.compression))')
                THEN pggit._column_storage_sql(n) ELSE '{}' END
        || CASE WHEN (n->>'rls')::boolean THEN ARRAY['ALTER TABLE ' || (n->>'qname') || ' ENABLE ROW LEVEL SECURITY;'] ELSE '{}' END
        || CASE WHEN (n->>'force_rls')::boolean THEN ARRAY['ALTER TABLE ' || (n->>'qname') || ' FORCE ROW LEVEL SECURITY;'] ELSE '{}' END
        || coalesce((SELECT array_agg('ALTER SEQUENCE ' || (x->>'sequence') || ' OWNED BY ' || (n->>'qname') || '.' || quote_ident(x->>'column') || ';')
                       FROM jsonb_array_elements(n->'owned') x), '{}')
        || CASE WHEN n->>'comment' IS NOT NULL THEN ARRAY['COMMENT ON TABLE ' || (n->>'qname') || ' IS ' || quote_literal(n->>'comment') || ';'] ELSE '{}' END
        || coalesce((SELECT array_agg('COMMENT ON COLUMN ' || (n->>'qname') || '.' || quote_ident(c->>'name') || ' IS ' || quote_literal(c->>'comment') || ';')
                       FROM jsonb_array_elements(n->'columns') c WHERE c->>'comment' IS NOT NULL), '{}')
        || coalesce((SELECT array_agg('COMMENT ON CONSTRAINT ' || quote_ident(c->>'name') || ' ON ' || (n->>'qname') || ' IS ' || quote_literal(c->>'comment') || ';')
                       FROM jsonb_array_elements(n->'constraints') c WHERE c->>'type' <> 'f' AND c->>'comment' IS NOT NULL), '{}')
$$;

-- ALTER TYPE statements that turn composite attributes o into n, or NULL when only a recreate can
-- (kept attributes must keep their order: ADD ATTRIBUTE appends).
CREATE FUNCTION pggit._composite_alter_sql(p_q text, o jsonb, n jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_out    text[] := '{}';
    v_old    text[] := array(SELECT a->>'name' FROM jsonb_array_elements(o) a);
    v_new    text[] := array(SELECT a->>'name' FROM jsonb_array_elements(n) a);
    v_prefix int := 0;
    v_a      jsonb;
    v_b      jsonb;
    i        int;
BEGIN
    -- attributes keep their place up to the first difference in order; after it, ADD ATTRIBUTE
    -- (which appends) can only rebuild the tail: drop it and add it again in the new order
    WHILE v_prefix < least(cardinality(v_old), cardinality(v_new)) AND v_old[v_prefix + 1] = v_new[v_prefix + 1] LOOP
        v_prefix := v_prefix + 1;
    END LOOP;
    FOR i IN v_prefix + 1 .. coalesce(cardinality(v_old), 0) LOOP
        IF NOT v_old[i] = ANY (v_new[1:v_prefix]) THEN
            v_out := v_out || ('ALTER TYPE ' || p_q || ' DROP ATTRIBUTE ' || quote_ident(v_old[i]) || ' CASCADE;');
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(cardinality(v_new), 0) LOOP
        v_a := n->(i - 1);
        v_b := o->(i - 1);
        IF i > v_prefix THEN
            v_out := v_out || ('ALTER TYPE ' || p_q || ' ADD ATTRIBUTE ' || quote_ident(v_a->>'name') || ' ' || (v_a->>'type') || ' CASCADE;');
        ELSIF (v_b->>'type') <> (v_a->>'type') THEN
            v_out := v_out || ('ALTER TYPE ' || p_q || ' ALTER ATTRIBUTE ' || quote_ident(v_a->>'name') || ' TYPE ' || (v_a->>'type') || ' CASCADE;');
        END IF;
        IF (i > v_prefix AND v_a ? 'comment') OR (i <= v_prefix AND (v_b->>'comment') IS DISTINCT FROM (v_a->>'comment')) THEN
            v_out := v_out || ('COMMENT ON COLUMN ' || p_q || '.' || quote_ident(v_a->>'name') || ' IS '
                               || coalesce(quote_literal(v_a->>'comment'), 'NULL') || ';');
        END IF;
    END LOOP;
    RETURN v_out;
END $$;

-- ALTER DOMAIN statements that turn domain o into n (same base type).
CREATE FUNCTION pggit._domain_alter_sql(p_q text, o jsonb, n jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_out text[] := '{}';
BEGIN
    SELECT v_out || coalesce(array_agg('ALTER DOMAIN ' || p_q || ' DROP CONSTRAINT ' || quote_ident(c->>'name') || ';' ORDER BY c->>'name'), '{}')
      INTO v_out FROM jsonb_array_elements(o->'constraints') c WHERE NOT (n->'constraints') @> jsonb_build_array(c);
    IF (o->>'default') IS DISTINCT FROM (n->>'default') THEN
        v_out := v_out || ('ALTER DOMAIN ' || p_q || coalesce(' SET DEFAULT ' || (n->>'default'), ' DROP DEFAULT') || ';');
    END IF;
    IF (o->>'notnull')::boolean IS DISTINCT FROM (n->>'notnull')::boolean THEN
        v_out := v_out || ('ALTER DOMAIN ' || p_q || CASE WHEN (n->>'notnull')::boolean THEN ' SET' ELSE ' DROP' END || ' NOT NULL;');
    END IF;
    SELECT v_out || coalesce(array_agg('ALTER DOMAIN ' || p_q || ' ADD CONSTRAINT ' || quote_ident(c->>'name') || ' ' || (c->>'def') || ';' ORDER BY c->>'name'), '{}')
      INTO v_out FROM jsonb_array_elements(n->'constraints') c WHERE NOT (o->'constraints') @> jsonb_build_array(c);
    RETURN v_out;
END $$;

-- ADD VALUE statements that turn enum labels o into n, or NULL when only a recreate can.
CREATE FUNCTION pggit._enum_add_sql(p_q text, o jsonb, n jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_old text[] := array(SELECT jsonb_array_elements_text(o));
    v_new text[] := array(SELECT jsonb_array_elements_text(n));
    v_out text[] := '{}';
    i     int;
BEGIN
    IF array(SELECT x FROM unnest(v_new) x WHERE x = ANY (v_old)) IS DISTINCT FROM v_old THEN
        RETURN NULL;  -- a label was removed or reordered
    END IF;
    FOR i IN 1 .. cardinality(v_new) LOOP
        CONTINUE WHEN v_new[i] = ANY (v_old);
        v_out := v_out || ('ALTER TYPE ' || p_q || ' ADD VALUE ' || quote_literal(v_new[i])
                           || CASE WHEN i > 1 THEN ' AFTER ' || quote_literal(v_new[i - 1])
                                   WHEN cardinality(v_old) > 0 THEN ' BEFORE ' || quote_literal(v_old[1]) ELSE '' END || ';');
    END LOOP;
    RETURN v_out;
END $$;

-- Replace enum type p_type by its new definition and convert the columns that use it: rename
-- the old type away, create the new one, convert each column through text, drop the old type.
CREATE FUNCTION pggit._enum_swap_sql(p_type text, p_def text, p_new jsonb, p_old jsonb, p_recreate text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_q    text := substr(p_type, 6);
    v_name text := (parse_ident(v_q))[2];
    v_tmp  text := quote_ident(left(v_name, 40) || '__pggit_old');
    v_out  text[];
    v_r    record;
BEGIN
    v_out := ARRAY['ALTER TYPE ' || v_q || ' RENAME TO ' || v_tmp || ';', p_def];
    FOR v_r IN
        SELECT t.value->'detail'->>'qname' AS tq, c AS col
          FROM jsonb_each(p_new) t, jsonb_array_elements(t.value->'detail'->'columns') c
         WHERE (t.value->>'kind') = 'table' AND p_old ? t.key AND NOT t.key = ANY (p_recreate)
           AND (c->>'type') IN (v_q, v_q || '[]')
           -- a column of its own at this point (a partition's columns follow its parent's)
           AND EXISTS (SELECT 1 FROM jsonb_array_elements(p_old->t.key->'detail'->'columns') oc
                        WHERE oc->>'name' = c->>'name'
                          AND ((oc->>'local')::boolean  -- or a partition detached in the first phase
                               OR (p_old->t.key->'detail' ? 'partition_of' AND NOT t.value->'detail' ? 'partition_of')))
         ORDER BY t.key, c->>'name'
    LOOP
        v_out := v_out
            || ('ALTER TABLE ' || v_r.tq || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name') || ' DROP DEFAULT;')
            || ('ALTER TABLE ' || v_r.tq || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name') || ' TYPE ' || (v_r.col->>'type')
                || ' USING ' || quote_ident(v_r.col->>'name') || '::text' || CASE WHEN (v_r.col->>'type') LIKE '%[]' THEN '[]' ELSE '' END
                || '::' || (v_r.col->>'type') || ';')
            || CASE WHEN v_r.col ? 'default' THEN
                   ARRAY['ALTER TABLE ' || v_r.tq || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name') || ' SET DEFAULT ' || (v_r.col->>'default') || ';']
               ELSE '{}' END;
    END LOOP;
    RETURN v_out || ('DROP TYPE ' || quote_ident((parse_ident(v_q))[1]) || '.' || v_tmp || ';');
END $$;

-- Dependency levels of a set of objects (identity -> {detail: {deps}} in p_state): 0 for an object
-- depending on none of the others, else 1 + the highest level among those it depends on (capped
-- at 64, so a cycle ends). Edges are joined by hash, one level at a time: linear in the set's
-- size times its depth. (p_state is looked up once per object: pass an in-memory value, not one
-- read from a table, which would be detoasted at every lookup.)
CREATE FUNCTION pggit._dep_levels(p_keys text[], p_state jsonb) RETURNS TABLE (k text, level int)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE s AS MATERIALIZED (
        SELECT DISTINCT x AS k FROM unnest(p_keys) x
    ),
    e AS MATERIALIZED (
        SELECT s.k, d AS dep FROM s, jsonb_array_elements_text(p_state->s.k->'detail'->'deps') d
         WHERE d IN (SELECT s2.k FROM s s2)
    ),
    lv(k, level) AS (
        SELECT s.k, 0 FROM s
        UNION
        SELECT e.k, lv.level + 1 FROM lv JOIN e ON e.dep = lv.k WHERE lv.level < 64
    )
    SELECT lv.k, max(lv.level) FROM lv GROUP BY lv.k
$$;

-- Is table u (entries {kind, hash, detail} of the old and new states) altered rather than
-- recreated although it used object p_dep, which is dropped or recreated? Yes when its new
-- definition no longer uses it, the table needs no recreate anyway, and no column that stays
-- changes type away from it (the columns that used p_dep are dropped, in the drop phase, before
-- it; a retype runs in phase 3, after). Objects other than types and domains a column can use
-- (extensions) count any retype.
CREATE FUNCTION pggit._table_leaves(o jsonb, n jsonb, p_dep text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(
        (o->>'kind') = 'table' AND (n->>'kind') = 'table'
        -- (a collation recreated under its name: the columns using it move off it before the drop
        -- and back on after, see _collation_leaves)
        AND (split_part(p_dep, ' ', 1) = 'collation' OR NOT coalesce(n->'detail'->'deps', '[]') ? p_dep)
        AND (o->'detail'->>'partition_of') IS NOT DISTINCT FROM (n->'detail'->>'partition_of')
        AND NOT pggit._table_needs_recreate(o->'detail', n->'detail')
        -- (a column of a type or domain that goes keeps it until phase 3: it must not stay)
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(o->'detail'->'columns') oc, jsonb_array_elements(n->'detail'->'columns') nc
                         WHERE nc->>'name' = oc->>'name' AND (oc->>'type') <> (nc->>'type')
                           AND (split_part(p_dep, ' ', 1) NOT IN ('type', 'domain')
                                OR regexp_replace(oc->>'type', '(\[\])+$', '') = substr(p_dep, strpos(p_dep, ' ') + 1))), false)
$$;

-- Columns of a kept table o -> n that keep their type but leave a collation in p_gone (dropped
-- or recreated by the migration): (name, statement) of the ALTER that moves each to its new
-- collation, run before the collation is dropped.
CREATE FUNCTION pggit._collation_leaves(o jsonb, n jsonb, p_gone text[])
RETURNS TABLE (name text, statement text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT nc->>'name', 'ALTER TABLE ' || (n->>'qname') || ' ALTER COLUMN ' || quote_ident(nc->>'name') || ' TYPE ' || (nc->>'type')
                        || CASE WHEN ('collation ' || (nc->>'collation')) = ANY (p_gone) THEN ''
                                ELSE coalesce(' COLLATE ' || (nc->>'collation'), '') END || ';'
      FROM jsonb_array_elements(o->'columns') oc
      JOIN jsonb_array_elements(n->'columns') nc ON nc->>'name' = oc->>'name'
     WHERE (oc->>'local')::boolean AND (nc->>'local')::boolean AND (oc->>'type') = (nc->>'type')
       AND ('collation ' || (oc->>'collation')) = ANY (p_gone)
$$;

-- DETACH PARTITION (statement p_detach) of table p_q (qualified, quoted), which then drops what
-- the table had from its parent: the constraints and indexes attached to the parent's (those the
-- target holds are added again later). They are read from the catalog before the detach.
CREATE FUNCTION pggit._detach_sql(p_q text, p_detach text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'DO ' || quote_literal(format($body$
DECLARE
    v_q   text := %L;
    v_con text[];
    v_idx text[];
    x     text;
BEGIN
    SELECT coalesce(array_agg(c.conname::text), '{}') INTO v_con FROM pg_catalog.pg_constraint c
     WHERE c.conrelid = v_q::regclass AND c.contype <> 'n' AND (c.conparentid <> 0 OR c.coninhcount > 0);
    SELECT coalesce(array_agg(pg_catalog.quote_ident(s.nspname) || '.' || pg_catalog.quote_ident(r.relname)), '{}') INTO v_idx
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_inherits h ON h.inhrelid = i.indexrelid
      JOIN pg_catalog.pg_class r ON r.oid = i.indexrelid JOIN pg_catalog.pg_namespace s ON s.oid = r.relnamespace
     WHERE i.indrelid = v_q::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid);
    EXECUTE %L;
    FOREACH x IN ARRAY v_con LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %%s DROP CONSTRAINT IF EXISTS %%I', v_q, x);
    END LOOP;
    FOREACH x IN ARRAY v_idx LOOP
        EXECUTE pg_catalog.format('DROP INDEX IF EXISTS %%s', x);
    END LOOP;
END$body$, p_q, p_detach)) || ';'
$$;

-- ALTER EXTENSION statements that turn extension p_name (quoted) defined by p_old into p_new
-- (comments apart): an extension on both sides is never dropped (what uses it would go with it).
CREATE FUNCTION pggit._extension_alter_sql(p_name text, p_old text, p_new text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_out text[] := '{}';
    v_re  text := ' WITH SCHEMA ("(?:[^"]|"")*"|[^ ;]+)';
    v_ver text := ' VERSION (''(?:[^'']|'''')*''|"(?:[^"]|"")*"|[^ ;]+)';
    v_os  text := substring(split_part(p_old, E'\n', 1) FROM v_re);
    v_ns  text := substring(split_part(p_new, E'\n', 1) FROM v_re);
    v_ov  text := substring(split_part(p_old, E'\n', 1) FROM v_ver);
    v_nv  text := substring(split_part(p_new, E'\n', 1) FROM v_ver);
BEGIN
    IF v_ns IS NOT NULL AND v_os IS DISTINCT FROM v_ns THEN
        v_out := v_out || ('ALTER EXTENSION ' || p_name || ' SET SCHEMA ' || v_ns || ';');
    END IF;
    IF v_nv IS NOT NULL AND v_ov IS DISTINCT FROM v_nv THEN
        v_out := v_out || ('ALTER EXTENSION ' || p_name || ' UPDATE TO ' || v_nv || ';');
    END IF;
    RETURN v_out;
END $$;

-- Kinds a migration renames (the others are dropped and created: they hold no data).
CREATE FUNCTION pggit._rename_keyword(p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'table' THEN 'TABLE' WHEN 'view' THEN 'VIEW' WHEN 'materialized view' THEN 'MATERIALIZED VIEW'
                       WHEN 'index' THEN 'INDEX' WHEN 'sequence' THEN 'SEQUENCE' WHEN 'type' THEN 'TYPE'
                       WHEN 'domain' THEN 'DOMAIN' WHEN 'function' THEN 'FUNCTION' WHEN 'procedure' THEN 'PROCEDURE'
                       WHEN 'aggregate' THEN 'AGGREGATE' WHEN 'collation' THEN 'COLLATION' WHEN 'schema' THEN 'SCHEMA' END
$$;

-- Renames between two states, from the lineage the descriptions keep (see pggit._with_lineage):
-- an object of one state and one of the other with the same kind and the same first identity
-- ("origin", or the identity itself) are one object. One row per object that changed in a way
-- a rename explains: its old and new identity (equal when only columns or labels were renamed),
-- and {old name: new name} of its renamed columns and enum labels. Ambiguous matches (two
-- objects claiming one origin) are left out: they migrate as a drop and an add.
CREATE FUNCTION pggit._renames(p_from text, p_to text)
RETURNS TABLE (old_identity text, new_identity text, kind text, columns jsonb, labels jsonb)
LANGUAGE sql STABLE AS $$
    WITH o AS MATERIALIZED (SELECT s.identity, s.kind, s.hash FROM pggit._state(p_from) s),
         n AS MATERIALIZED (SELECT s.identity, s.kind, s.hash FROM pggit._state(p_to) s),
         og AS MATERIALIZED (
             SELECT x.identity, x.kind, b.detail, coalesce(b.detail->'lineage'->>'origin', x.identity) AS key
               FROM (SELECT * FROM o EXCEPT SELECT * FROM n) x JOIN pggit.blobs b ON b.hash = x.hash
              WHERE pggit._rename_keyword(x.kind) IS NOT NULL),
         nc AS MATERIALIZED (
             SELECT x.identity, x.kind, b.detail, coalesce(b.detail->'lineage'->>'origin', x.identity) AS key
               FROM (SELECT * FROM n EXCEPT SELECT * FROM o) x JOIN pggit.blobs b ON b.hash = x.hash
              WHERE pggit._rename_keyword(x.kind) IS NOT NULL),
         cand AS (
             SELECT og.identity AS oi, nc.identity AS ni, og.kind, og.detail AS od, nc.detail AS nd,
                    count(*) OVER (PARTITION BY og.identity) AS n_of_old, count(*) OVER (PARTITION BY nc.identity) AS n_of_new,
                    bool_or(og.identity = nc.identity) OVER (PARTITION BY og.identity) AS old_self,
                    bool_or(og.identity = nc.identity) OVER (PARTITION BY nc.identity) AS new_self
               FROM og JOIN nc ON nc.key = og.key AND nc.kind = og.kind),
         pairs0 AS (
             SELECT * FROM cand
              WHERE oi = ni OR (NOT old_self AND NOT new_self AND n_of_old = 1 AND n_of_new = 1)),
         -- (a new name still held by an object of the old state that is not renamed away: a drop
         -- and an add, the rename could not run before that object is dropped)
         pairs AS (
             SELECT * FROM pairs0 p
              WHERE p.oi = p.ni
                 OR NOT EXISTS (SELECT 1 FROM o WHERE o.identity = p.ni
                                   AND NOT EXISTS (SELECT 1 FROM pairs0 q WHERE q.oi = p.ni AND q.ni <> q.oi)))
    SELECT p.oi, p.ni, p.kind,
           coalesce((SELECT jsonb_object_agg(oc->>'name', nc->>'name')
                       FROM jsonb_array_elements(p.od->'columns') oc, jsonb_array_elements(p.nd->'columns') nc
                      WHERE coalesce(p.od->'lineage'->'columns'->>(oc->>'name'), oc->>'name')
                            = coalesce(p.nd->'lineage'->'columns'->>(nc->>'name'), nc->>'name')
                        AND oc->>'name' <> nc->>'name'
                        -- (a column of the same name and origin on the other side is that column)
                        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p.nd->'columns') x WHERE x->>'name' = oc->>'name'
                                          AND coalesce(p.nd->'lineage'->'columns'->>(x->>'name'), x->>'name')
                                              = coalesce(p.od->'lineage'->'columns'->>(oc->>'name'), oc->>'name'))
                        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p.od->'columns') x WHERE x->>'name' = nc->>'name'
                                          AND coalesce(p.od->'lineage'->'columns'->>(x->>'name'), x->>'name')
                                              = coalesce(p.nd->'lineage'->'columns'->>(nc->>'name'), nc->>'name'))), '{}'),
           coalesce((SELECT jsonb_object_agg(ol, nl)
                       FROM jsonb_array_elements_text(p.od->'enum') ol, jsonb_array_elements_text(p.nd->'enum') nl
                      WHERE coalesce(p.od->'lineage'->'labels'->>ol, ol) = coalesce(p.nd->'lineage'->'labels'->>nl, nl)
                        AND ol <> nl
                        AND NOT (p.nd->'enum') ? ol AND NOT (p.od->'enum') ? nl), '{}')
      FROM pairs p
     WHERE p.oi <> p.ni OR p.od ? 'lineage' OR p.nd ? 'lineage'
$$;

-- The statements that rename objects (p_ren: old identity -> {new, kind, columns, labels}), in
-- order: schemas; objects whose new name another renamed object still holds, to a temporary
-- name; the others; the temporary names to their final ones; then columns and enum labels.
CREATE FUNCTION pggit._rename_sql(p_ren jsonb)
RETURNS TABLE (kind text, identity text, statement text)
LANGUAGE plpgsql IMMUTABLE AS $$
#variable_conflict use_column
DECLARE
    v_r       record;
    v_schemas jsonb := '{}';
    v_old     text[];
    v_new     text[];
    v_args    text;
    v_cur     text;
    v_kw      text;
    v_tmp     jsonb := '{}';
    v_n       int := 0;
    v_pass    int;
    v_col     record;
BEGIN
    FOR v_r IN SELECT e.key AS oi, e.value->>'new' AS ni FROM jsonb_each(p_ren) e
                WHERE e.value->>'kind' = 'schema' AND e.key <> e.value->>'new' ORDER BY e.key LOOP
        v_schemas := v_schemas || jsonb_build_object(substr(v_r.oi, 8), substr(v_r.ni, 8));
        kind := 'schema'; identity := v_r.ni;
        statement := 'ALTER SCHEMA ' || substr(v_r.oi, 8) || ' RENAME TO ' || substr(v_r.ni, 8) || ';';
        RETURN NEXT;
    END LOOP;
    FOR v_pass IN 1 .. 3 LOOP
        FOR v_r IN SELECT e.key AS oi, e.value->>'new' AS ni, e.value->>'kind' AS k,
                          p_ren ? (e.value->>'new') AND (p_ren->(e.value->>'new')->>'new') <> (e.value->>'new') AS held
                     FROM jsonb_each(p_ren) e
                    WHERE e.value->>'kind' <> 'schema' AND e.key <> e.value->>'new'
                    ORDER BY CASE e.value->>'kind' WHEN 'table' THEN 0 WHEN 'sequence' THEN 1 WHEN 'index' THEN 3 ELSE 2 END, e.key LOOP
            CONTINUE WHEN (v_pass = 1 AND NOT v_r.held) OR (v_pass = 2 AND v_r.held) OR (v_pass = 3 AND NOT v_r.held);
            v_kw := pggit._rename_keyword(v_r.k);
            -- [schema, name] of each side, and the argument list of a routine
            v_old := parse_ident(substr(v_r.oi, length(v_r.k) + 2), false);
            v_new := parse_ident(substr(v_r.ni, length(v_r.k) + 2), false);
            v_args := substr(substr(v_r.oi, length(v_r.k) + 2), length(quote_ident(v_old[1]) || '.' || quote_ident(v_old[2])) + 1);
            IF v_r.k = 'aggregate' AND v_args = '()' THEN v_args := '(*)'; END IF;
            IF v_pass = 3 THEN
                v_cur := quote_ident(v_new[1]) || '.' || quote_ident(v_tmp->>v_r.oi) || v_args;
                kind := v_r.k; identity := v_r.ni;
                statement := 'ALTER ' || v_kw || ' ' || v_cur || ' RENAME TO ' || quote_ident(v_new[2]) || ';';
                RETURN NEXT;
                CONTINUE;
            END IF;
            v_cur := coalesce(v_schemas->>quote_ident(v_old[1]), quote_ident(v_old[1])) || '.' || quote_ident(v_old[2]) || v_args;
            IF coalesce(v_schemas->>quote_ident(v_old[1]), quote_ident(v_old[1])) <> quote_ident(v_new[1])
               AND v_r.k NOT IN ('index', 'sequence') THEN
                -- (indexes, and sequences owned by a table, move with their table)
                kind := v_r.k; identity := v_r.ni;
                statement := 'ALTER ' || v_kw || ' ' || v_cur || ' SET SCHEMA ' || quote_ident(v_new[1]) || ';';
                RETURN NEXT;
                v_cur := quote_ident(v_new[1]) || '.' || quote_ident(v_old[2]) || v_args;
            ELSIF v_r.k IN ('index', 'sequence') THEN
                v_cur := quote_ident(v_new[1]) || '.' || quote_ident(v_old[2]) || v_args;
            END IF;
            IF v_pass = 1 THEN
                v_n := v_n + 1;
                v_tmp := v_tmp || jsonb_build_object(v_r.oi, left(v_old[2], 40) || '__pggit_renaming_' || v_n);
                kind := v_r.k; identity := v_r.ni;
                statement := 'ALTER ' || v_kw || ' ' || v_cur || ' RENAME TO ' || quote_ident(v_tmp->>v_r.oi) || ';';
                RETURN NEXT;
            ELSIF v_old[2] <> v_new[2] THEN
                kind := v_r.k; identity := v_r.ni;
                statement := 'ALTER ' || v_kw || ' ' || v_cur || ' RENAME TO ' || quote_ident(v_new[2]) || ';';
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
    -- columns (a swap of two names goes through a temporary one) and enum labels
    FOR v_r IN SELECT e.value->>'new' AS ni, e.value->>'kind' AS k, e.value->'columns' AS cols, e.value->'labels' AS labels
                 FROM jsonb_each(p_ren) e
                WHERE coalesce(e.value->'columns', '{}') <> '{}' OR coalesce(e.value->'labels', '{}') <> '{}'
                ORDER BY e.value->>'new' LOOP
        FOR v_col IN SELECT c.key AS o, c.value #>> '{}' AS n, v_r.cols ? (c.value #>> '{}') AS held
                       FROM jsonb_each(coalesce(v_r.cols, '{}')) c ORDER BY 3 DESC, 1 LOOP
            kind := v_r.k; identity := v_r.ni;
            IF v_col.held THEN
                statement := 'ALTER TABLE ' || substr(v_r.ni, 7) || ' RENAME COLUMN ' || quote_ident(v_col.o)
                             || ' TO ' || quote_ident(left(v_col.o, 40) || '__pggit_renaming') || ';';
            ELSE
                statement := 'ALTER TABLE ' || substr(v_r.ni, 7) || ' RENAME COLUMN ' || quote_ident(v_col.o) || ' TO ' || quote_ident(v_col.n) || ';';
            END IF;
            RETURN NEXT;
        END LOOP;
        FOR v_col IN SELECT c.key AS o, c.value #>> '{}' AS n FROM jsonb_each(coalesce(v_r.cols, '{}')) c
                      WHERE v_r.cols ? (c.value #>> '{}') ORDER BY 1 LOOP
            kind := v_r.k; identity := v_r.ni;
            statement := 'ALTER TABLE ' || substr(v_r.ni, 7) || ' RENAME COLUMN ' || quote_ident(left(v_col.o, 40) || '__pggit_renaming')
                         || ' TO ' || quote_ident(v_col.n) || ';';
            RETURN NEXT;
        END LOOP;
        FOR v_col IN SELECT c.key AS o, c.value #>> '{}' AS n FROM jsonb_each(coalesce(v_r.labels, '{}')) c ORDER BY 1 LOOP
            kind := v_r.k; identity := v_r.ni;
            statement := 'ALTER TYPE ' || substr(v_r.ni, 6) || ' RENAME VALUE ' || quote_literal(v_col.o) || ' TO ' || quote_literal(v_col.n) || ';';
            RETURN NEXT;
        END LOOP;
    END LOOP;
END $$;

-- An old state's description seen after the migration's renames ran (p_ren: old identity ->
-- {new, kind, columns, labels}; p_new_detail: the object's description in the new state, for
-- the names it now goes by): its own name and renamed columns and labels, and the objects it
-- names (parent, inherited tables, owned sequences, dependencies).
CREATE FUNCTION pggit._renamed_detail(p_detail jsonb, p_ren jsonb, p_self jsonb, p_new_detail jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d jsonb := p_detail;
    v_qmap jsonb;
    v_key  text;
    v_m    text[];
BEGIN
    -- qualified names of renamed relations: old -> new
    SELECT coalesce(jsonb_object_agg(substr(r.key, length(r.value->>'kind') + 2), substr(r.value->>'new', length(r.value->>'kind') + 2)), '{}')
      INTO v_qmap FROM jsonb_each(p_ren) r
     WHERE r.value->>'kind' IN ('table', 'sequence', 'view', 'materialized view') AND r.key <> r.value->>'new';
    IF p_self IS NULL AND v_qmap <> '{}' THEN
        -- a trigger, policy or rule names its table; an index moves with its table to another schema
        v_m := regexp_match(d->>'comment_on', '^(TRIGGER|POLICY|RULE) (.*) ON (.*)$');
        IF v_m IS NOT NULL AND v_qmap ? v_m[3] THEN
            d := jsonb_set(d, '{comment_on}', to_jsonb(v_m[1] || ' ' || v_m[2] || ' ON ' || (v_qmap->>v_m[3])));
        ELSIF d->>'comment_on' LIKE 'INDEX %' THEN
            SELECT 'INDEX ' || quote_ident(nt[1]) || '.' || quote_ident(ni[2]) INTO v_key
              FROM jsonb_array_elements_text(d->'deps') x,
                   parse_ident(substr(d->>'comment_on', 7)) ni,
                   parse_ident(substr(p_ren->x->>'new', 7)) nt
             WHERE p_ren->x->>'kind' = 'table' AND nt[1] <> ni[1]
             LIMIT 1;
            IF v_key IS NOT NULL THEN
                d := jsonb_set(d, '{comment_on}', to_jsonb(v_key));
            END IF;
        END IF;
    END IF;
    IF p_self IS NULL AND d->>'comment_on' ~ '^(STATISTICS|OPERATOR|CAST|TEXT SEARCH DICTIONARY|TEXT SEARCH CONFIGURATION|TEXT SEARCH PARSER|TEXT SEARCH TEMPLATE|FOREIGN TABLE|TRANSFORM) ' THEN
        -- kinds not renamed themselves whose names (and argument types) name a renamed schema:
        -- dropped under the schema's new name
        FOR v_m IN SELECT ARRAY[substr(r.key, 8), substr(r.value->>'new', 8)] FROM jsonb_each(p_ren) r
                    WHERE r.value->>'kind' = 'schema' AND r.key <> r.value->>'new' LOOP
            d := jsonb_set(d, '{comment_on}', to_jsonb(regexp_replace(
                     d->>'comment_on', '([ (,])' || regexp_replace(v_m[1], '([^[:alnum:]_ ])', '\\\1', 'g') || '\.',
                     '\1' || replace(v_m[2], '\', '\\') || '.', 'g')));
        END LOOP;
    END IF;
    IF p_self IS NOT NULL AND d ? 'qname' AND p_new_detail ? 'qname' AND current_setting('server_version_num')::int >= 180000 THEN
        -- (PostgreSQL 18 names NOT NULL constraints after the table and column, and a rename of
        -- either keeps the name: the renamed table holds the old default names)
        d := jsonb_set(d, '{columns}', (
            SELECT coalesce(jsonb_agg(CASE WHEN (c->>'notnull')::boolean AND NOT c ? 'notnull_name'
                                                AND left((parse_ident(d->>'qname'))[2] || '_' || (c->>'name') || '_not_null', 63)
                                                    <> left((parse_ident(p_new_detail->>'qname'))[2] || '_'
                                                            || coalesce(p_self->'columns'->>(c->>'name'), c->>'name') || '_not_null', 63)
                                           THEN c || jsonb_build_object('notnull_name',
                                                         left((parse_ident(d->>'qname'))[2] || '_' || (c->>'name') || '_not_null', 63))
                                           ELSE c END ORDER BY i), '[]')
              FROM jsonb_array_elements(d->'columns') WITH ORDINALITY x(c, i)));
    END IF;
    IF p_self IS NOT NULL THEN
        IF p_new_detail ? 'qname' THEN d := jsonb_set(d, '{qname}', p_new_detail->'qname'); END IF;
        IF p_new_detail ? 'comment_on' THEN d := jsonb_set(d, '{comment_on}', p_new_detail->'comment_on'); END IF;
        IF coalesce(p_self->'columns', '{}') <> '{}' AND d ? 'columns' THEN
            d := jsonb_set(d, '{columns}', (SELECT coalesce(jsonb_agg(CASE WHEN p_self->'columns' ? (c->>'name')
                                                                          THEN jsonb_set(c, '{name}', p_self->'columns'->(c->>'name')) ELSE c END
                                                                     ORDER BY i), '[]')
                                              FROM jsonb_array_elements(d->'columns') WITH ORDINALITY x(c, i)));
        END IF;
        IF coalesce(p_self->'labels', '{}') <> '{}' AND d ? 'enum' THEN
            d := jsonb_set(d, '{enum}', (SELECT coalesce(jsonb_agg(coalesce(p_self->'labels'->>l, l) ORDER BY i), '[]')
                                           FROM jsonb_array_elements_text(d->'enum') WITH ORDINALITY x(l, i)));
        END IF;
    END IF;
    IF v_qmap <> '{}' THEN
        IF v_qmap ? (d->>'partition_of') THEN d := jsonb_set(d, '{partition_of}', v_qmap->(d->>'partition_of')); END IF;
        IF d ? 'inherits' THEN
            d := jsonb_set(d, '{inherits}', (SELECT jsonb_agg(coalesce(v_qmap->>x, x) ORDER BY i)
                                               FROM jsonb_array_elements_text(d->'inherits') WITH ORDINALITY y(x, i)));
        END IF;
        IF jsonb_array_length(coalesce(d->'owned', '[]')) > 0 THEN
            d := jsonb_set(d, '{owned}', (SELECT jsonb_agg(CASE WHEN v_qmap ? (o->>'sequence')
                                                                THEN jsonb_set(o, '{sequence}', v_qmap->(o->>'sequence')) ELSE o END
                                                           ORDER BY i)
                                            FROM jsonb_array_elements(d->'owned') WITH ORDINALITY y(o, i)));
        END IF;
    END IF;
    FOREACH v_key IN ARRAY ARRAY['deps', 'fk_deps', 'late_deps'] LOOP
        IF d ? v_key THEN
            d := jsonb_set(d, ARRAY[v_key], (SELECT coalesce(jsonb_agg(coalesce(p_ren->x->>'new', x) ORDER BY i), '[]')
                                               FROM jsonb_array_elements_text(d->v_key) WITH ORDINALITY y(x, i)));
        END IF;
    END LOOP;
    RETURN d;
END $$;

-- Every entry of an old state's map (identity -> {kind, hash, detail}) seen after the renames.
CREATE FUNCTION pggit._renamed_state(p_old jsonb, p_new jsonb, p_ren jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(e.key, jsonb_set(e.value, '{detail}',
               pggit._renamed_detail(e.value->'detail', p_ren,
                                     (SELECT r.value FROM jsonb_each(p_ren) r WHERE r.value->>'new' = e.key),
                                     p_new->e.key->'detail'))), '{}')
      FROM jsonb_each(p_old) e
$$;

-- The ordered DDL that turns the state of p_from (NULL = empty database) into the state of
-- p_to (NULL = HEAD). Phases: drop changed constraints; drop removed and recreated objects in
-- reverse dependency order; create and alter in dependency order; add foreign keys last.
--
-- Works from the objects that differ, plus what the migration must touch because of them
-- (dependents recreated with them, tables whose foreign keys or late defaults reach them): only
-- those objects' descriptions are loaded. The rest of the old state is read once, for its
-- references (deps, fk_deps, late_deps, partition parents, owned sequences).
-- Generic plans: the maps can be large jsonb values (a whole state for migration(NULL, x)),
-- which a custom plan would take in as constants and copy at every planning of every statement
-- that names them. JIT off: the estimates of the jsonb set functions pass jit_above_cost, and
-- compiling costs more than the statements take.
CREATE FUNCTION pggit.migration(p_from text, p_to text DEFAULT NULL)
RETURNS TABLE (step integer, kind text, identity text, statement text, reason text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan SET jit = off AS $$
#variable_conflict use_column
DECLARE
    v_flushed int := pggit.flush();  -- queued captures first: HEAD must be current
    -- identity -> {kind, hash, detail} in the old state, for the objects the migration touches
    v_old     jsonb;
    -- identity -> {kind, hash, detail, def} in the new state, for the same objects
    v_new     jsonb;
    -- identity -> [old kind, old hash, new kind, new hash] of the objects that differ
    v_changed jsonb;
    -- in the old state: 'd identity', 'f identity', 'l identity' -> JSON text [[user, kind, hash], ...]
    -- of the objects that name it in deps, fk_deps or late_deps
    v_users   jsonb;
    -- identities the old state references (deps, fk_deps, late_deps, parents, owned sequences) that
    -- the new state lacks
    v_absent  text[];
    v_extra   jsonb;
    v_recreate text[];
    v_emit    text[];
    v_r       record;
    v_stmts   text[];
    v_s       text;
    v_o       jsonb;
    v_n       jsonb;
    -- parent (qualified, quoted) -> its detail in the new state, for the tables attached to it
    v_parent  jsonb := '{}';
    v_swap    text[];
    v_prealter text[];
    v_od      jsonb;
    v_late    text[] := '{}';
    v_fk_dropped text[] := '{}';
    o_kind    text[] := '{}';
    o_ident   text[] := '{}';
    o_stmt    text[] := '{}';
    -- old identity -> {new, kind, columns, labels}: the objects renamed between the states (the
    -- old state is then read under the new names; the renames run first)
    v_ren     jsonb;
    v_why     jsonb;
    -- identity -> {kind, old, new}: objects whose only change is their privileges (detail.acl)
    v_acl_only jsonb := '{}';
    v_acl     jsonb;
    -- grantees named by the default privileges of either state (NULL until needed)
    v_dp_grantees text[];
    -- the role writing the migration is not the database's owner (10_owners.sql)
    v_not_dbo boolean;
BEGIN
    SELECT coalesce(jsonb_object_agg(r.old_identity, jsonb_build_object('new', r.new_identity, 'kind', r.kind,
                                                                        'columns', r.columns, 'labels', r.labels)), '{}')
      INTO v_ren FROM pggit._renames(p_from, coalesce(p_to, 'HEAD')) r;
    -- the two states: what differs, and the old state's references
    WITH o AS MATERIALIZED (SELECT coalesce(v_ren->s.identity->>'new', s.identity) AS identity, s.kind, s.hash
                              FROM pggit._state(p_from) s),
         n AS MATERIALIZED (SELECT s.identity, s.kind, s.hash FROM pggit._state(coalesce(p_to, 'HEAD')) s),
         -- (set operations and the "C" sort below: hashing, or sorts without collation work)
         gone AS (SELECT * FROM o EXCEPT ALL SELECT * FROM n),
         came AS (SELECT * FROM n EXCEPT ALL SELECT * FROM o),
         refs AS MATERIALIZED (
             SELECT r.rel, coalesce(v_ren->r.target->>'new', r.target) AS target, o.identity AS u, o.kind AS ukind, o.hash AS uhash
               FROM o JOIN pggit.blobs b ON b.hash = o.hash
              CROSS JOIN LATERAL (
                  SELECT 'd' AS rel, x AS target FROM jsonb_array_elements_text(b.detail->'deps') x
                  UNION ALL SELECT 'f', x FROM jsonb_array_elements_text(b.detail->'fk_deps') x
                  UNION ALL SELECT 'l', x FROM jsonb_array_elements_text(b.detail->'late_deps') x
                  -- (named only to know whether the new state has them: parents, owned sequences)
                  UNION ALL SELECT 'x', 'table ' || (b.detail->>'partition_of') WHERE b.detail ? 'partition_of'
                  UNION ALL SELECT 'x', 'sequence ' || (x->>'sequence') FROM jsonb_array_elements(b.detail->'owned') x) r)
    SELECT (SELECT coalesce(jsonb_object_agg(coalesce(g.identity, c.identity), jsonb_build_array(g.kind, g.hash, c.kind, c.hash)), '{}')
              FROM gone g FULL JOIN came c ON c.identity = g.identity),
           -- (values as JSON text, parsed only for the few keys read: far cheaper to build)
           (SELECT coalesce(jsonb_object(array_agg(g.key), array_agg(g.users)), '{}')
              FROM (SELECT (refs.rel || ' ' || refs.target) COLLATE "C" AS key, json_agg(json_build_array(refs.u, refs.ukind, refs.uhash))::text AS users
                      FROM refs WHERE refs.rel <> 'x' GROUP BY 1) g),
           array(SELECT DISTINCT refs.target FROM refs WHERE NOT EXISTS (SELECT 1 FROM n WHERE n.identity = refs.target))
      INTO v_changed, v_users, v_absent;
    IF v_changed = '{}' THEN
        RETURN;
    END IF;

    -- the changed objects' descriptions (and new definitions)
    SELECT coalesce(jsonb_object_agg(c.key, jsonb_build_object('kind', c.value->>0, 'hash', c.value->>1, 'detail', b.detail)), '{}')
      INTO v_old FROM jsonb_each(v_changed) c JOIN pggit.blobs b ON b.hash = c.value->>1;
    SELECT coalesce(jsonb_object_agg(c.key, jsonb_build_object('kind', c.value->>2, 'hash', c.value->>3, 'detail', b.detail,
                                                               'def', b.definition)), '{}')
      INTO v_new FROM jsonb_each(v_changed) c JOIN pggit.blobs b ON b.hash = c.value->>3;
    IF v_ren <> '{}' THEN
        v_old := pggit._renamed_state(v_old, v_new, v_ren);
    END IF;

    -- objects whose only change is their privileges are not altered or rebuilt: they get the
    -- GRANTs and REVOKEs of the difference at the end (10_privileges.sql)
    -- (and so are objects whose only change is their owner: 10_owners.sql)
    SELECT coalesce(jsonb_object_agg(k, jsonb_build_object('kind', v_new->k->'kind', 'old', v_old->k->'detail'->'acl',
                                                            'new', v_new->k->'detail'->'acl',
                                                            'old_owner', v_old->k->'detail'->'owner',
                                                            'detail', v_new->k->'detail')), '{}')
      INTO v_acl_only
      FROM jsonb_object_keys(v_new) k JOIN pggit.blobs ob ON ob.hash = v_old->k->>'hash'
     WHERE (pggit._acl_objtype(v_new->k->>'kind') IS NOT NULL OR pggit._owner_kind(v_new->k->>'kind'))
       AND (v_old->k->>'kind') = (v_new->k->>'kind')
       AND ((v_old->k->'detail'->'acl') IS DISTINCT FROM (v_new->k->'detail'->'acl')
            OR (v_old->k->'detail'->'owner') IS DISTINCT FROM (v_new->k->'detail'->'owner'))
       AND ((v_old->k->'detail') - 'acl' - 'owner') = ((v_new->k->'detail') - 'acl' - 'owner')
       AND pggit._acl_strip(ob.kind, k, ob.definition, ob.detail)
           = pggit._acl_strip(v_new->k->>'kind', k, v_new->k->>'def', v_new->k->'detail');
    IF v_acl_only <> '{}' THEN
        v_changed := v_changed - array(SELECT jsonb_object_keys(v_acl_only));
        v_old := v_old - array(SELECT jsonb_object_keys(v_acl_only));
        v_new := v_new - array(SELECT jsonb_object_keys(v_acl_only));
    END IF;

    -- Enums whose labels change. Added labels go in with ALTER TYPE ... ADD VALUE, unless the
    -- migration itself uses a new label (PostgreSQL refuses that in the same transaction) or
    -- labels were removed or reordered: then the type is swapped for a new one and its columns
    -- converted, all in one transaction.
    v_swap := array(
        SELECT k FROM jsonb_object_keys(v_old) k
         WHERE v_new ? k AND (v_new->k->>'hash') <> (v_old->k->>'hash')
           AND v_new->k->'detail' ? 'enum' AND v_old->k->'detail' ? 'enum'
           AND (pggit._enum_add_sql(substr(k, 6), v_old->k->'detail'->'enum', v_new->k->'detail'->'enum') IS NULL
                OR EXISTS (
                    SELECT 1 FROM jsonb_array_elements_text(v_new->k->'detail'->'enum') l, jsonb_each(v_new) x
                     WHERE NOT (v_old->k->'detail'->'enum') ? l AND x.key <> k
                       AND (v_old->x.key->>'hash') IS DISTINCT FROM (x.value->>'hash')
                       AND strpos(x.value->>'def', quote_literal(l) || '::' || substr(k, 6)) > 0)));
    IF cardinality(v_swap) > 0 THEN
        -- (rare) a swap converts every column of the type, in tables that may not change: load the
        -- whole of both states
        SELECT v_old || pggit._renamed_state(coalesce(jsonb_object_agg(coalesce(v_ren->s.identity->>'new', s.identity),
                                                                     jsonb_build_object('kind', s.kind, 'hash', s.hash, 'detail', b.detail)), '{}'),
                                             '{}', v_ren)
          INTO v_old FROM pggit._state(p_from) s JOIN pggit.blobs b ON b.hash = s.hash
         WHERE NOT v_changed ? coalesce(v_ren->s.identity->>'new', s.identity);
        SELECT v_new || coalesce(jsonb_object_agg(s.identity, jsonb_build_object('kind', s.kind, 'hash', s.hash, 'detail', b.detail,
                                                                                  'def', b.definition)), '{}')
          INTO v_new FROM pggit._state(coalesce(p_to, 'HEAD')) s JOIN pggit.blobs b ON b.hash = s.hash WHERE NOT v_changed ? s.identity;
    END IF;

    -- objects dropped and created again: deleted ones, changed ones no ALTER can reach, and
    -- (transitively) whatever depends on them in the old state
    WITH RECURSIVE changed AS (
        SELECT c.key AS k, v_old->c.key AS o, v_new->c.key AS n FROM jsonb_each(v_changed) c WHERE v_old ? c.key
    ),
    seed AS (
        -- a table that survives an object it used no longer uses it: it is altered, not recreated
        SELECT k, 'nontable' AS how FROM changed
         WHERE n IS NULL AND (o->>'kind') IN ('function', 'procedure', 'aggregate', 'sequence')
        UNION
        SELECT k, 'all' AS how FROM changed
         WHERE (n IS NULL AND (o->>'kind') NOT IN ('function', 'procedure', 'aggregate', 'sequence'))
            OR (o->>'kind') <> (n->>'kind')
            OR (n->>'kind') IN ('view', 'materialized view', 'index', 'trigger', 'policy', 'aggregate', 'rule', 'event trigger', 'cast', 'operator', 'collation',
                                'text search dictionary', 'text search configuration', 'publication',
                                'operator class', 'operator family', 'access method', 'transform', 'text search parser', 'text search template',
                                'foreign data wrapper', 'server', 'user mapping', 'foreign table', 'subscription')
            OR ((n->>'kind') = 'domain' AND (o->'detail'->'domain'->>'base') IS DISTINCT FROM (n->'detail'->'domain'->>'base'))
            OR ((n->>'kind') = 'type' AND NOT (n->'detail' ? 'enum' AND o->'detail' ? 'enum')
                AND NOT (n->'detail' ? 'attributes' AND o->'detail' ? 'attributes'))
            OR ((n->>'kind') IN ('function', 'procedure') AND (o->'detail'->>'result') IS DISTINCT FROM (n->'detail'->>'result'))
            OR ((n->>'kind') = 'table' AND pggit._table_needs_recreate(o->'detail', n->'detail'))
            -- kinds described with their CREATE statement apart ('create'): recreated when it changes
            OR ((n->>'kind') IN ('statistics') AND (o->'detail'->>'create') IS DISTINCT FROM (n->'detail'->>'create'))
        UNION
        -- enums swapped for a new type: what uses the type (functions, views...) is recreated
        SELECT k, 'nontable' FROM unnest(v_swap) k
        UNION
        -- tables losing or retyping columns: their dependents must go first
        SELECT k, 'nontable' FROM changed
         WHERE (n->>'kind') = 'table' AND EXISTS (
             SELECT 1 FROM jsonb_array_elements(o->'detail'->'columns') oc
              WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n->'detail'->'columns') nc
                                 WHERE nc->>'name' = oc->>'name' AND nc->>'type' = oc->>'type'
                                   AND (nc->>'generated') IS NOT DISTINCT FROM (oc->>'generated')))
    ),
    closure AS (
        SELECT k, how, 0 AS depth, NULL::jsonb AS ent, NULL::text AS via FROM seed
        UNION
        SELECT u->>0, 'all', c.depth + 1, u, c.k
          FROM closure c, jsonb_array_elements((v_users->>('d ' || c.k))::jsonb) u
         WHERE c.depth < 32 AND (c.how = 'all' OR (u->>1) <> 'table')
           -- an index of a table that loses or retypes columns is not in the way: ALTER COLUMN
           -- TYPE rebuilds it, DROP COLUMN drops it (and then the new state changed it anyway)
           AND NOT (c.how = 'nontable' AND c.depth = 0 AND (u->>1) = 'index' AND (v_old->c.k->>'kind') = 'table')
           -- a table whose new definition no longer uses the object is altered, not recreated
           -- (the columns that used it are dropped before it, in the drop phase)
           AND NOT ((u->>1) = 'table' AND pggit._table_leaves(v_old->(u->>0), v_new->(u->>0), c.k))
    ),
    recreated AS (
        SELECT DISTINCT k FROM closure WHERE how = 'all' OR depth > 0
    )
    SELECT array_agg(k),
           -- the unchanged ones among them: identity -> [identity, kind, hash]
           (SELECT jsonb_object_agg(c.k, c.ent) FROM (SELECT DISTINCT ON (k) k, ent FROM closure
                                                      WHERE ent IS NOT NULL AND NOT v_changed ? k ORDER BY k) c),
           -- why each is rebuilt: the object it depends on that goes first (the nearest)
           (SELECT jsonb_object_agg(c.k, c.via) FROM (SELECT DISTINCT ON (k) k, via FROM closure
                                                      WHERE via IS NOT NULL ORDER BY k, depth) c)
      INTO v_recreate, v_extra, v_why FROM recreated;
    v_recreate := coalesce(v_recreate, '{}');
    -- tables kept and altered whose old definition uses an object dropped (or recreated) that the
    -- new one does not: their dropped columns go in the drop phase, before that object
    v_prealter := array(
        SELECT DISTINCT u->>0
          FROM unnest(v_recreate || array(SELECT x FROM jsonb_object_keys(v_changed) x WHERE v_changed->x->>2 IS NULL)) t,
               jsonb_array_elements((v_users->>('d ' || t))::jsonb) u
         WHERE (u->>1) = 'table' AND NOT (u->>0) = ANY (v_recreate)
           AND pggit._table_leaves(v_old->(u->>0), v_new->(u->>0), t));

    -- unchanged tables whose foreign keys or late defaults reach a recreated or vanished object
    -- are touched too
    SELECT coalesce(v_extra, '{}') || coalesce(jsonb_object_agg(u->>0, u), '{}') INTO v_extra
      FROM unnest(v_recreate || v_absent) t, unnest(ARRAY['f ', 'l ']) rel, jsonb_array_elements((v_users->>(rel || t))::jsonb) u
     WHERE NOT v_changed ? (u->>0);
    -- load the unchanged objects touched (the same in both states)
    SELECT coalesce(jsonb_object_agg(e.key, jsonb_build_object('kind', e.value->>1, 'hash', b.hash, 'detail', b.detail)), '{}'),
           coalesce(jsonb_object_agg(e.key, jsonb_build_object('kind', e.value->>1, 'hash', b.hash, 'detail', b.detail,
                                                               'def', b.definition)), '{}')
      INTO v_o, v_n FROM jsonb_each(v_extra) e JOIN pggit.blobs b ON b.hash = e.value->>2
     WHERE NOT v_old ? e.key;
    IF v_ren <> '{}' THEN
        v_o := pggit._renamed_state(v_o, v_n, v_ren);
    END IF;
    v_old := v_old || v_o;
    v_new := v_new || v_n;
    -- (what creates an object is its definition without its owner and privileges: those come at the end)
    SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN e.value->'detail' ? 'acl' OR e.value->'detail' ? 'owner'
                                                 THEN jsonb_set(e.value, '{def}', to_jsonb(pggit._acl_strip(e.value->>'kind', e.key, e.value->>'def', e.value->'detail')))
                                                 ELSE e.value END), '{}')
      INTO v_new FROM jsonb_each(v_new) e;

    -- the new parents of the tables attached as partitions (ATTACH wants their CHECK constraints)
    IF EXISTS (SELECT 1 FROM jsonb_each(v_new) t
                WHERE (t.value->>'kind') = 'table' AND t.value->'detail' ? 'partition_of' AND v_old ? t.key
                  AND ((v_old->t.key->'detail'->>'partition_of') IS DISTINCT FROM (t.value->'detail'->>'partition_of')
                       OR (v_old->t.key->'detail'->>'bound') IS DISTINCT FROM (t.value->'detail'->>'bound'))) THEN
        SELECT coalesce(jsonb_object_agg(substr(s.identity, 7), b.detail), '{}') INTO v_parent
          FROM pggit._state(coalesce(p_to, 'HEAD')) s JOIN pggit.blobs b ON b.hash = s.hash
         WHERE s.kind = 'table' AND s.identity IN (SELECT 'table ' || (t.value->'detail'->>'partition_of') FROM jsonb_each(v_new) t
                                                    WHERE (t.value->>'kind') = 'table' AND t.value->'detail' ? 'partition_of');
    END IF;

    -- phase 0: renames (schemas first; an object whose new name another object still holds goes
    -- through a temporary name, or after the drops when that one is dropped)
    IF v_ren <> '{}' THEN
        SELECT o_kind || coalesce(array_agg(x.kind), '{}'), o_ident || coalesce(array_agg(x.identity), '{}'),
               o_stmt || coalesce(array_agg(x.statement), '{}')
          INTO o_kind, o_ident, o_stmt
          FROM pggit._rename_sql(v_ren) x;
    END IF;

    -- typed tables leaving their type, before the type changes (ALTER TYPE ... CASCADE would
    -- change them with it)
    SELECT o_kind || coalesce(array_agg('table'::text ORDER BY t.key), '{}'), o_ident || coalesce(array_agg(t.key ORDER BY t.key), '{}'),
           o_stmt || coalesce(array_agg('ALTER TABLE ' || (t.value->'detail'->>'qname') || ' NOT OF;' ORDER BY t.key), '{}')
      INTO o_kind, o_ident, o_stmt
      FROM jsonb_each(v_old) t
     WHERE (t.value->>'kind') = 'table' AND t.value->'detail' ? 'of_type' AND v_new ? t.key AND NOT t.key = ANY (v_recreate)
       AND (t.value->'detail'->>'of_type') IS DISTINCT FROM (v_new->t.key->'detail'->>'of_type');

    -- phase 1: drop constraints that change or go away, and foreign keys into recreated tables
    FOR v_r IN
        SELECT t.key AS k, c AS con, (c->>'type') = 'f' AS fk
          FROM jsonb_each(v_old) t, jsonb_array_elements(t.value->'detail'->'constraints') c
         WHERE (t.value->>'kind') = 'table'
           AND (CASE WHEN NOT v_new ? t.key OR t.key = ANY (v_recreate)
                     -- tables about to be dropped lose their foreign keys first, so that drop order
                     -- never depends on references between tables (or their partitions)
                     THEN (c->>'type') = 'f'
                     -- a table about to be attached as a partition keeps what ATTACH checks for
                     WHEN v_new->t.key->'detail' ? 'partition_of' AND NOT t.value->'detail' ? 'partition_of'
                     THEN (c->>'type') = 'f'
                          -- and its CHECK constraints that are neither its own in the new state nor, same
                          -- name and definition, its new parent's (those ATTACH merges, the rest would clash)
                          OR ((c->>'type') = 'c' AND NOT (v_new->t.key->'detail'->'constraints') @> jsonb_build_array(c - 'comment')
                              AND NOT coalesce(v_parent->(v_new->t.key->'detail'->>'partition_of')->'constraints', '[]')
                                      @> jsonb_build_array(jsonb_build_object('name', c->>'name', 'type', 'c', 'def', c->>'def')))
                     ELSE (v_new->t.key->>'hash') <> (t.value->>'hash') AND NOT (v_new->t.key->'detail'->'constraints') @> jsonb_build_array(c - 'comment')
                          OR ((c->>'type') = 'f' AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.value->'detail'->'fk_deps') f
                                                               WHERE f = ANY (v_recreate) OR f = ANY (v_absent))) END)
         ORDER BY (c->>'type') = 'f' DESC, t.key, c->>'name'
    LOOP
        kind := 'table'; identity := v_r.k; step := step + 1;
        statement := 'ALTER TABLE ' || (v_old->v_r.k->'detail'->>'qname') || ' DROP CONSTRAINT IF EXISTS ' || quote_ident(v_r.con->>'name') || ';';
        v_fk_dropped := v_fk_dropped || (v_r.k || ' ' || (v_r.con->>'name'));
        o_kind := o_kind || kind; o_ident := o_ident || identity; o_stmt := o_stmt || statement;
    END LOOP;

    -- partitions leaving their parent or changing bounds are detached first (attached again in phase 3)
    FOR v_r IN
        SELECT t.key AS k FROM jsonb_each(v_old) t
         WHERE (t.value->>'kind') = 'table' AND t.value->'detail' ? 'partition_of' AND v_new ? t.key
           AND NOT t.key = ANY (v_recreate)
           AND ((v_new->t.key->'detail'->>'partition_of') IS DISTINCT FROM (t.value->'detail'->>'partition_of')
                OR (v_new->t.key->'detail'->>'bound') IS DISTINCT FROM (t.value->'detail'->>'bound'))
         ORDER BY t.key
    LOOP
        o_kind := o_kind || 'table'::text; o_ident := o_ident || v_r.k;
        v_s := 'ALTER TABLE ' || (v_old->v_r.k->'detail'->>'partition_of') || ' DETACH PARTITION ' || (v_old->v_r.k->'detail'->>'qname') || ';';
        o_stmt := o_stmt || CASE WHEN (v_new->v_r.k->'detail'->>'partition_of') IS NOT DISTINCT FROM (v_old->v_r.k->'detail'->>'partition_of')
                                 THEN v_s  -- attached again to the same parent, whose constraints and indexes it keeps
                                 ELSE pggit._detach_sql(v_old->v_r.k->'detail'->>'qname', v_s) END;
    END LOOP;

    -- defaults calling functions that are about to be dropped go first (set again in phase 4)
    FOR v_r IN
        SELECT t.key AS k, c AS col
          FROM jsonb_each(v_old) t, jsonb_array_elements(t.value->'detail'->'columns') c
         WHERE (t.value->>'kind') = 'table'
           AND c ? 'late_default'  -- partitions too: each has its own copy of the default
           AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.value->'detail'->'late_deps') f WHERE f = ANY (v_recreate) OR f = ANY (v_absent))
         ORDER BY t.key, c->>'name'
    LOOP
        o_kind := o_kind || 'table'::text; o_ident := o_ident || v_r.k;
        o_stmt := o_stmt || ('ALTER TABLE ' || (v_old->v_r.k->'detail'->>'qname') || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name') || ' DROP DEFAULT;');
        IF v_new ? v_r.k THEN
            v_late := v_late || v_r.k;
        END IF;
    END LOOP;

    -- phase 2: drop in reverse dependency order (old state)
    FOR v_r IN
        SELECT lv.k FROM pggit._dep_levels(v_recreate || v_prealter || array(SELECT x FROM jsonb_object_keys(v_old) x WHERE NOT v_new ? x), v_old) lv
         ORDER BY lv.level DESC, pggit._kind_rank(v_old->lv.k->>'kind') DESC, lv.k DESC
    LOOP
        kind := v_old->v_r.k->>'kind'; identity := v_r.k;
        IF v_r.k = ANY (v_prealter) THEN
            -- kept table: its dropped columns go now (the rest of its ALTERs come in phase 3)
            FOR v_s IN SELECT c->>'name' FROM jsonb_array_elements(v_old->v_r.k->'detail'->'columns') c
                        WHERE (c->>'local')::boolean
                          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_new->v_r.k->'detail'->'columns') x
                                           WHERE x->>'name' = c->>'name' AND (x->>'local')::boolean) LOOP
                o_kind := o_kind || kind; o_ident := o_ident || identity;
                o_stmt := o_stmt || ('ALTER TABLE ' || (v_old->v_r.k->'detail'->>'qname') || ' DROP COLUMN ' || quote_ident(v_s) || ';');
            END LOOP;
            -- and its columns leave the collations that go
            FOR v_s IN SELECT l.statement FROM pggit._collation_leaves(v_old->v_r.k->'detail', v_new->v_r.k->'detail',
                                                                     v_recreate || array(SELECT x FROM jsonb_object_keys(v_old) x WHERE NOT v_new ? x)) l LOOP
                o_kind := o_kind || kind; o_ident := o_ident || identity; o_stmt := o_stmt || v_s;
            END LOOP;
            CONTINUE;
        END IF;
        IF kind = 'table' THEN
            -- a sequence owned by the table would go with it: detach the ones that stay
            FOR v_s IN SELECT x->>'sequence' FROM jsonb_array_elements(v_old->v_r.k->'detail'->'owned') x
                        WHERE NOT ('sequence ' || (x->>'sequence')) = ANY (v_absent) AND NOT ('sequence ' || (x->>'sequence')) = ANY (v_recreate)
            LOOP
                o_kind := o_kind || kind; o_ident := o_ident || identity; o_stmt := o_stmt || ('ALTER SEQUENCE ' || v_s || ' OWNED BY NONE;');
            END LOOP;
        END IF;
        IF kind = 'table' AND v_old->v_r.k->'detail' ? 'partition_of'
           AND NOT ('table ' || (v_old->v_r.k->'detail'->>'partition_of')) = ANY (v_absent)
           AND NOT ('table ' || (v_old->v_r.k->'detail'->>'partition_of')) = ANY (v_recreate) THEN
            -- detached first: foreign keys into the parent reach into its partitions
            o_kind := o_kind || kind; o_ident := o_ident || identity;
            o_stmt := o_stmt || ('ALTER TABLE ' || (v_old->v_r.k->'detail'->>'partition_of') || ' DETACH PARTITION '
                                 || (v_old->v_r.k->'detail'->>'qname') || ';');
        END IF;
        o_kind := o_kind || kind; o_ident := o_ident || identity;
        o_stmt := o_stmt || CASE WHEN kind = 'sequence' AND NOT v_new ? v_r.k
                                 -- column defaults that call it go with it (the tables' new
                                 -- definitions no longer have them)
                                 THEN rtrim(pggit._drop_sql(kind, v_old->v_r.k->'detail'), ';') || ' CASCADE;'
                                 -- (default privileges go back to PostgreSQL's: 10_privileges.sql)
                                 WHEN kind = 'default privileges'
                                 THEN array_to_string(array(SELECT pggit._default_acl_guard(v_r.k, x)
                                                              FROM unnest(pggit._acl_diff_sql(kind, v_r.k, v_old->v_r.k->'detail'->'acl', NULL)) x), E'\n')
                                 ELSE pggit._drop_sql(kind, v_old->v_r.k->'detail') END;
    END LOOP;

    -- phase 3: create, recreate and alter in dependency order (new state)
    v_emit := array(SELECT x FROM jsonb_object_keys(v_new) x
                     WHERE (v_old->x->>'hash') IS DISTINCT FROM (v_new->x->>'hash') OR x = ANY (v_recreate));
    FOR v_r IN
        SELECT lv.k FROM pggit._dep_levels(v_emit, v_new) lv
         ORDER BY lv.level, pggit._kind_rank(v_new->lv.k->>'kind'), lv.k
    LOOP
        v_n := v_new->v_r.k;
        v_o := CASE WHEN v_r.k = ANY (v_recreate) THEN NULL ELSE v_old->v_r.k END;
        kind := v_n->>'kind'; identity := v_r.k;
        IF v_o IS NULL THEN
            v_stmts := CASE WHEN kind = 'table' THEN pggit._create_table_sql(v_n->'detail')
                            -- an index of a detached partition was its parent's, untracked until now
                            WHEN kind = 'index' AND NOT v_old ? v_r.k THEN ARRAY[pggit._drop_sql(kind, v_n->'detail'), v_n->>'def']
                            ELSE ARRAY[v_n->>'def'] END;
        ELSIF kind = 'table' THEN
            v_od := v_o->'detail';
            IF v_r.k = ANY (v_prealter) THEN
                -- (its dropped columns went in phase 2)
                v_od := jsonb_set(v_od, '{columns}', coalesce((
                    SELECT jsonb_agg(c ORDER BY i) FROM jsonb_array_elements(v_od->'columns') WITH ORDINALITY y(c, i)
                     WHERE NOT (c->>'local')::boolean
                        OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_n->'detail'->'columns') x
                                    WHERE x->>'name' = c->>'name' AND (x->>'local')::boolean)), '[]'));
                -- (and the collations its columns left went there too)
                v_od := jsonb_set(v_od, '{columns}', coalesce((
                    SELECT jsonb_agg(CASE WHEN l.name IS NULL THEN c
                                          ELSE (c - 'collation') || coalesce((SELECT jsonb_build_object('collation', x->'collation')
                                                                                 FROM jsonb_array_elements(v_n->'detail'->'columns') x
                                                                                WHERE x->>'name' = c->>'name' AND x ? 'collation'
                                                                                  AND NOT ('collation ' || (x->>'collation')) = ANY (
                                                                                      v_recreate || array(SELECT y FROM jsonb_object_keys(v_old) y
                                                                                                           WHERE NOT v_new ? y))), '{}') END
                                     ORDER BY i)
                      FROM jsonb_array_elements(v_od->'columns') WITH ORDINALITY y(c, i)
                      LEFT JOIN pggit._collation_leaves(v_o->'detail', v_n->'detail',
                                                        v_recreate || array(SELECT x FROM jsonb_object_keys(v_old) x WHERE NOT v_new ? x)) l
                             ON l.name = c->>'name'), '[]'));
            END IF;
            IF v_od ? 'owned' THEN
                -- sequences dropped in phase 2 are no longer owned by anything
                v_od := jsonb_set(v_od, '{owned}', coalesce((
                    SELECT jsonb_agg(x) FROM jsonb_array_elements(v_od->'owned') x
                     WHERE NOT ('sequence ' || (x->>'sequence')) = ANY (v_absent)
                       AND NOT ('sequence ' || (x->>'sequence')) = ANY (v_recreate)), '[]'));
            END IF;
            v_stmts := pggit._alter_table_sql(v_od, v_n->'detail');
            IF v_n->'detail' ? 'partition_of'
               AND ((v_od->>'partition_of') IS DISTINCT FROM (v_n->'detail'->>'partition_of')
                    OR (v_od->>'bound') IS DISTINCT FROM (v_n->'detail'->>'bound')) THEN
                -- a table attached as a partition first gets the CHECK constraints of its parent it
                -- lacks, under their names (ATTACH merges them into the parent's): it has those of
                -- its own it kept in phase 1 and, detached from the same parent, those the parent kept
                v_s := v_n->'detail'->>'partition_of';
                v_stmts := array(
                    SELECT 'ALTER TABLE ' || (v_n->'detail'->>'qname') || ' ADD CONSTRAINT ' || quote_ident(p->>'name') || ' ' || (p->>'def') || ';'
                      FROM jsonb_array_elements(v_parent->v_s->'constraints') p
                     WHERE (p->>'type') = 'c'
                       AND NOT (CASE WHEN v_od ? 'partition_of'
                                     THEN (v_od->>'partition_of') = v_s
                                          AND coalesce(v_old->('table ' || v_s)->'detail', v_parent->v_s)->'constraints'
                                              @> jsonb_build_array(p - 'comment')
                                     ELSE (v_od->'constraints') @> jsonb_build_array(p - 'comment') END)
                     ORDER BY p->>'name') || v_stmts;
            END IF;
        ELSIF kind = 'sequence' THEN
            v_stmts := ARRAY['ALTER SEQUENCE ' || substr(v_r.k, 10) || ' ' || (v_n->'detail'->>'options') || ';'];
        ELSIF kind = 'type' AND v_r.k = ANY (v_swap) THEN
            v_stmts := pggit._enum_swap_sql(v_r.k, v_n->>'def', v_new, v_old, v_recreate);
        ELSIF kind = 'type' AND v_n->'detail' ? 'enum' THEN
            v_stmts := pggit._enum_add_sql(substr(v_r.k, 6), v_o->'detail'->'enum', v_n->'detail'->'enum');
        ELSIF kind = 'type' AND v_n->'detail' ? 'attributes' THEN
            v_stmts := pggit._composite_alter_sql(substr(v_r.k, 6), v_o->'detail'->'attributes', v_n->'detail'->'attributes');
        ELSIF kind = 'extension' THEN
            v_stmts := pggit._extension_alter_sql(substr(v_r.k, 11), (SELECT b.definition FROM pggit.blobs b WHERE b.hash = v_o->>'hash'),
                                                  v_n->>'def');
        ELSIF kind = 'domain' THEN
            v_stmts := pggit._domain_alter_sql(substr(v_r.k, 8), v_o->'detail'->'domain', v_n->'detail'->'domain');
        ELSIF kind IN ('function', 'procedure') THEN
            v_stmts := ARRAY[regexp_replace(v_n->>'def', E'\nCOMMENT ON .*$', '')];
        ELSIF kind = 'statistics' THEN
            v_stmts := CASE WHEN (v_o->'detail'->>'target') IS DISTINCT FROM (v_n->'detail'->>'target')
                            THEN ARRAY['ALTER STATISTICS ' || substr(v_r.k, 12) || ' SET STATISTICS '
                                       || coalesce(v_n->'detail'->>'target', '-1') || ';'] ELSE '{}' END;
        ELSE
            v_stmts := '{}';
        END IF;
        IF v_o IS NOT NULL AND kind <> 'table' AND (v_o->'detail'->>'comment') IS DISTINCT FROM (v_n->'detail'->>'comment') THEN
            v_stmts := v_stmts || ('COMMENT ON ' || (v_n->'detail'->>'comment_on') || ' IS '
                                   || coalesce(quote_literal(v_n->'detail'->>'comment'), 'NULL') || ';');
        END IF;
        FOREACH v_s IN ARRAY v_stmts LOOP
            CONTINUE WHEN v_s = '';  -- (an object that is only privileges: they come in phase 6)
            o_kind := o_kind || CASE WHEN kind = 'type' AND v_s LIKE 'ALTER TYPE % ADD VALUE %' THEN 'enum value' ELSE kind END;
            o_ident := o_ident || identity; o_stmt := o_stmt || v_s;
        END LOOP;
    END LOOP;

    -- phase 4: defaults that call user functions, now that every function exists
    FOR v_r IN
        SELECT k, c AS col
          FROM unnest(v_emit || v_late) k, jsonb_array_elements(v_new->k->'detail'->'columns') c
         WHERE (v_new->k->>'kind') = 'table' AND c ? 'late_default'
           AND (k = ANY (v_recreate) OR NOT v_old ? k OR k = ANY (v_late)
                OR (c->>'default') IS DISTINCT FROM (SELECT x->>'default' FROM jsonb_array_elements(v_old->k->'detail'->'columns') x
                                                     WHERE x->>'name' = c->>'name'))
         ORDER BY k, c->>'name'
    LOOP
        o_kind := o_kind || 'table'::text; o_ident := o_ident || v_r.k;
        o_stmt := o_stmt || ('ALTER TABLE ' || (v_new->v_r.k->'detail'->>'qname') || ' ALTER COLUMN ' || quote_ident(v_r.col->>'name')
                             || ' SET DEFAULT ' || (v_r.col->>'default') || ';');
    END LOOP;

    -- phase 5: foreign keys
    FOR v_r IN
        SELECT t.key AS k, c AS con
          FROM jsonb_each(v_new) t, jsonb_array_elements(t.value->'detail'->'constraints') c
         WHERE (t.value->>'kind') = 'table' AND (c->>'type') = 'f'
           AND (NOT v_old ? t.key OR t.key = ANY (v_recreate)
                OR NOT (v_old->t.key->'detail'->'constraints') @> jsonb_build_array(c - 'comment')
                OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.value->'detail'->'fk_deps') f WHERE f = ANY (v_recreate))
                OR (t.key || ' ' || (c->>'name')) = ANY (v_fk_dropped))
         ORDER BY t.key, c->>'name'
    LOOP
        kind := 'table'; identity := v_r.k; step := step + 1;
        statement := CASE WHEN v_old->v_r.k->'detail' ? 'partition_of' AND NOT v_new->v_r.k->'detail' ? 'partition_of'
                          THEN 'ALTER TABLE ' || (v_new->v_r.k->'detail'->>'qname') || ' DROP CONSTRAINT IF EXISTS ' || quote_ident(v_r.con->>'name') || '; '
                          ELSE '' END
                     || 'ALTER TABLE ' || (v_new->v_r.k->'detail'->>'qname') || ' ADD CONSTRAINT ' || quote_ident(v_r.con->>'name') || ' ' || (v_r.con->>'def') || ';';
        o_kind := o_kind || kind; o_ident := o_ident || identity; o_stmt := o_stmt || statement;
        IF v_r.con ? 'comment' THEN
            o_kind := o_kind || kind; o_ident := o_ident || identity;
            o_stmt := o_stmt || ('COMMENT ON CONSTRAINT ' || quote_ident(v_r.con->>'name') || ' ON ' || (v_new->v_r.k->'detail'->>'qname')
                                 || ' IS ' || quote_literal(v_r.con->>'comment') || ';');
        END IF;
    END LOOP;

    -- phase 6: privileges. Objects created (or rebuilt) get theirs from the owner's default, the
    -- others the difference; column privileges of columns that are gone went with them
    FOR v_r IN
        SELECT x.k FROM (SELECT y AS k FROM unnest(v_emit) y UNION SELECT jsonb_object_keys(v_acl_only)) x
         ORDER BY x.k COLLATE "C"
    LOOP
        kind := coalesce(v_new->v_r.k->>'kind', v_acl_only->v_r.k->>'kind');
        CONTINUE WHEN pggit._acl_objtype(kind) IS NULL;
        v_acl := CASE WHEN v_r.k = ANY (v_recreate) OR NOT (v_old ? v_r.k OR v_acl_only ? v_r.k) THEN NULL
                      WHEN v_acl_only ? v_r.k THEN v_acl_only->v_r.k->'old'
                      ELSE v_old->v_r.k->'detail'->'acl' END;
        IF kind = 'table' AND v_acl IS NOT NULL AND v_new ? v_r.k THEN
            SELECT jsonb_object_agg(g.key, (SELECT coalesce(jsonb_agg(p), '[]') FROM jsonb_array_elements_text(g.value) p
                                             WHERE p NOT LIKE '%(%' OR substring(rtrim(p, '*') FROM '^[A-Z ]+\((.*)\)$') IN (
                                                 SELECT quote_ident(c->>'name') FROM jsonb_array_elements(v_new->v_r.k->'detail'->'columns') c)))
              INTO v_acl FROM jsonb_each(v_acl) g;
        END IF;
        IF v_acl IS NULL AND kind <> 'default privileges' THEN
            -- a new object got what default privileges in effect grant (or revoke): back to the
            -- owner's default first
            IF v_dp_grantees IS NULL THEN
                SELECT coalesce(array_agg(DISTINCT g ORDER BY g), '{}') INTO v_dp_grantees
                  FROM (SELECT s.hash FROM pggit._state(p_from) s WHERE s.kind = 'default privileges'
                        UNION SELECT s.hash FROM pggit._state(coalesce(p_to, 'HEAD')) s WHERE s.kind = 'default privileges') x
                  JOIN pggit.blobs b ON b.hash = x.hash
                 CROSS JOIN LATERAL jsonb_object_keys(b.detail->'acl') g;
            END IF;
            IF cardinality(v_dp_grantees) > 0 THEN
                FOREACH v_s IN ARRAY pggit._acl_reset_sql(kind, v_r.k, v_dp_grantees) LOOP
                    o_kind := o_kind || kind; o_ident := o_ident || v_r.k; o_stmt := o_stmt || v_s;
                END LOOP;
            END IF;
        END IF;
        FOREACH v_s IN ARRAY pggit._acl_diff_sql(kind, v_r.k, v_acl,
                                                 CASE WHEN v_acl_only ? v_r.k THEN v_acl_only->v_r.k->'new'
                                                      ELSE v_new->v_r.k->'detail'->'acl' END) LOOP
            o_kind := o_kind || kind; o_ident := o_ident || v_r.k;
            o_stmt := o_stmt || CASE WHEN kind = 'default privileges' THEN pggit._default_acl_guard(v_r.k, v_s) ELSE v_s END;
        END LOOP;
    END LOOP;

    -- phase 7: owners (10_owners.sql), after the privileges, which are relative to the owner
    -- (ALTER ... OWNER TO moves the owner's rights with it). An object a migration creates belongs
    -- to the role that runs it: it is given the owner its state records, or, when none is
    -- recorded (the database's owner) and the role writing the migration is not the database's
    -- owner, given to the database's owner. Kept objects get their new owner. Steps of kind
    -- 'owner' (a shadow database's replay leaves them out: its role owns everything there).
    IF pggit._owners_on() THEN
        SELECT d.datdba <> current_user::regrole INTO v_not_dbo FROM pg_database d WHERE d.datname = current_database();
        FOR v_r IN
            SELECT x.k FROM (SELECT y AS k FROM unnest(v_emit) y UNION SELECT jsonb_object_keys(v_acl_only)) x
             ORDER BY x.k COLLATE "C"
        LOOP
            -- (an object whose only change is its owner or privileges may still be rebuilt for
            -- another's sake, from the old state's description: its new one is in v_acl_only)
            v_od := CASE WHEN v_acl_only ? v_r.k THEN v_acl_only->v_r.k->'detail' ELSE v_new->v_r.k->'detail' END;
            kind := coalesce(v_acl_only->v_r.k->>'kind', v_new->v_r.k->>'kind');
            CONTINUE WHEN NOT pggit._owner_kind(kind);
            IF v_r.k = ANY (v_recreate) OR NOT (v_old ? v_r.k OR v_acl_only ? v_r.k) THEN
                v_s := CASE WHEN v_od ? 'owner' THEN pggit._owner_stmt(kind, v_od, v_od->>'owner')
                            WHEN v_not_dbo THEN pggit._owner_reset_stmt(kind, v_od) END;
            ELSIF (CASE WHEN v_acl_only ? v_r.k THEN v_acl_only->v_r.k->>'old_owner' ELSE v_old->v_r.k->'detail'->>'owner' END)
                  IS DISTINCT FROM v_od->>'owner' THEN
                v_s := CASE WHEN v_od ? 'owner' THEN pggit._owner_stmt(kind, v_od, v_od->>'owner')
                            ELSE pggit._owner_reset_stmt(kind, v_od) END;
            ELSE
                v_s := NULL;
            END IF;
            IF v_s IS NOT NULL THEN
                o_kind := o_kind || 'owner'::text; o_ident := o_ident || v_r.k; o_stmt := o_stmt || v_s;
            END IF;
        END LOOP;
    END IF;

    -- Output. New enum labels come first: PostgreSQL refuses to use a label in the transaction
    -- that added it, so a caller runs the leading 'enum value' steps and commits them first.
    IF cardinality(o_stmt) = 0 THEN
        RETURN;
    END IF;
    step := 1; kind := 'setting'; identity := NULL; statement := 'SET check_function_bodies = false;';
    reason := 'bodies of routines are checked when they run, not when they are made';
    RETURN NEXT;
    FOR v_r IN SELECT o.k, o.i, o.s FROM unnest(o_kind, o_ident, o_stmt) WITH ORDINALITY o(k, i, s, n)
                ORDER BY o.k = 'enum value' DESC, o.n LOOP
        step := step + 1; kind := v_r.k; identity := v_r.i; statement := v_r.s;
        -- why the step is there: what changed, or what it is rebuilt for
        reason := CASE
            WHEN v_r.k = 'enum value' THEN 'label added'
            WHEN v_r.k = 'owner' THEN CASE WHEN v_old ? v_r.i AND NOT v_r.i = ANY (v_recreate) OR v_acl_only ? v_r.i
                                           THEN 'owner changed' ELSE 'owner set' END
            WHEN v_r.s ~ '^ALTER [A-Z ]+ RENAME (TO|COLUMN|VALUE) ' OR v_r.s ~ ' SET SCHEMA [^;]*;$' THEN 'renamed'
            WHEN v_r.i = ANY (v_recreate) AND v_why ? v_r.i
                THEN 'rebuilt: it depends on ' || (v_why->>v_r.i) || ', which '
                     || CASE WHEN (v_why->>v_r.i) = ANY (v_recreate) THEN 'is rebuilt'
                             WHEN NOT v_new ? (v_why->>v_r.i) THEN 'is dropped'
                             ELSE 'changes in a way that needs it out of the way' END
            WHEN v_r.i = ANY (v_recreate) AND v_old ? v_r.i AND v_new ? v_r.i THEN 'rebuilt: it changed in a way no ALTER can make'
            WHEN v_r.i IS NULL THEN NULL
            WHEN v_acl_only ? v_r.i THEN 'privileges changed'
            WHEN NOT v_old ? v_r.i THEN 'added'
            WHEN NOT v_new ? v_r.i THEN 'dropped'
            ELSE 'changed' END;
        RETURN NEXT;
    END LOOP;
END $$;

-- The migration as one executable script.
CREATE FUNCTION pggit.migration_script(p_from text, p_to text DEFAULT NULL) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(string_agg(m.statement, E'\n' ORDER BY m.step), '') FROM pggit.migration(p_from, p_to) m
$$;
