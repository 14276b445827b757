-- pgGit engine: data branches. A branch made with data (create_branch(..., with_data => true))
-- carries the rows of every tracked table with a primary key as they were when it was made.
--
-- How: nothing is copied. For each table T that a data branch carries, schema pggit_data holds
-- two overlay tables keyed by (branch_id, T's key): b_<oid>, each branch's own rows (what it
-- inserted or updated, and tombstones of what it deleted), and p_<oid>, pre-images (a row of T
-- as it was at a branch's fork, saved when the checked-out side first changes or deletes it
-- afterwards; a key T gained since the fork is saved as absent). One view per table, named
-- like T in schema pggit_data_<schema>, shows for the branch named by the setting
-- pggit.data_branch (its id):
--   T's rows that neither overlay holds + pre-images the branch did not override + the branch's rows,
-- and its INSTEAD OF trigger writes the branch's changes into b_<oid>. Statement triggers on T
-- save pre-images for every data branch that carries it. A connection with that setting and
-- the view schemas first in its search_path works on the branch.
-- The overlays are made when the first data branch carries a table and dropped with the last,
-- so a branch after the first is a few rows: its time does not depend on the data. Making one
-- locks the tables for the instant of the fork (SHARE ROW EXCLUSIVE: writers in flight finish
-- first, later ones see the branch).

CREATE TABLE pggit.data_branches (
    branch      text PRIMARY KEY,
    id          integer NOT NULL UNIQUE,              -- the value of pggit.data_branch that shows it
    fork_commit text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    skipped     text[] NOT NULL DEFAULT '{}'          -- tables without a primary key: not carried
);

-- The overlay of one checked-out table (there while some data branch carries the table).
CREATE TABLE pggit.data_overlays (
    relid       oid PRIMARY KEY,                      -- the checked-out table
    identity    text NOT NULL,                        -- 'table public.orders'
    view_schema text NOT NULL,
    view_name   text NOT NULL,
    key_columns text[] NOT NULL,
    columns     text[] NOT NULL                       -- the columns the view shows, in order
);

-- The tables each data branch carries.
CREATE TABLE pggit.data_tables (
    id    integer NOT NULL REFERENCES pggit.data_branches (id) ON DELETE CASCADE,
    relid oid NOT NULL REFERENCES pggit.data_overlays,
    PRIMARY KEY (id, relid)
);
CREATE INDEX data_tables_relid ON pggit.data_tables (relid);

-- The schema that shows schema p_nsp on data branches (a long name is replaced by its oid).
CREATE FUNCTION pggit._data_view_schema(p_nsp oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'pggit_data_' || CASE WHEN octet_length(n.nspname) <= 48 THEN n.nspname ELSE 'n' || n.oid END
      FROM pg_namespace n WHERE n.oid = p_nsp
$$;

-- A name in double quotes, always (quote_ident leaves out unreserved keywords, which PL/pgSQL
-- does not take as field names: NEW.by).
CREATE FUNCTION pggit._data_q(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT '"' || replace(p_name, '"', '""') || '"' $$;

-- A SQL list of quoted names, each prefixed (e.g. 'n.').
CREATE FUNCTION pggit._data_cols(p_cols text[], p_prefix text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(p_prefix || pggit._data_q(c), ', ' ORDER BY o), '') FROM unnest(p_cols) WITH ORDINALITY u(c, o)
$$;

-- "a.k1 = b.k1 AND a.k2 = b.k2" over the key columns.
CREATE FUNCTION pggit._data_key_match(p_keys text[], p_a text, p_b text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(format('%s.%s = %s.%s', p_a, pggit._data_q(k), p_b, pggit._data_q(k)), ' AND ' ORDER BY o)
      FROM unnest(p_keys) WITH ORDINALITY u(k, o)
$$;

-- Make the overlay of one table: its two tables, its view with the write trigger, and the
-- triggers on the table that save pre-images.
CREATE FUNCTION pggit._data_make_overlay(p_relid oid, p_keys text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_b      text := 'b_' || p_relid;
    v_p      text := 'p_' || p_relid;
    v_w      text := 'w_' || p_relid;
    v_table  text := p_relid::regclass::text;
    v_schema text;
    v_name   text;
    v_owner  text;
    v_cols   text[];
    v_write  text[];   -- the columns a write sets (not generated ones)
    v_nn     text[];
    v_r      record;
    v_keys   text := pggit._data_cols(p_keys);
    v_unique text;
    v_id     text := $b$current_setting('pggit.data_branch')::integer$b$;
BEGIN
    SELECT c.relname, pggit._data_view_schema(c.relnamespace), c.relowner::regrole::text
      INTO v_name, v_schema, v_owner FROM pg_class c WHERE c.oid = p_relid;
    SELECT array_agg(a.attname::text ORDER BY a.attnum),
           array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = ''),
           array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attnotnull AND a.attgenerated = '' AND NOT a.attname = ANY (p_keys))
      INTO v_cols, v_write, v_nn
      FROM pg_attribute a WHERE a.attrelid = p_relid AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', v_schema);

    -- pre-images: plain columns (CREATE TABLE AS keeps no constraint)
    EXECUTE format('CREATE TABLE pggit_data.%I AS SELECT 0 AS branch_id, %s, false AS _absent FROM %s WITH NO DATA',
                   v_p, pggit._data_cols(v_cols), v_table);
    EXECUTE format('ALTER TABLE pggit_data.%I ADD PRIMARY KEY (branch_id, %s)', v_p, v_keys);
    -- the branches' rows: the table's columns, defaults and generated columns; a tombstone
    -- leaves the other columns NULL, so NOT NULL becomes a check on live rows
    EXECUTE format('CREATE TABLE pggit_data.%I (branch_id integer NOT NULL, LIKE %s INCLUDING DEFAULTS INCLUDING GENERATED, '
                   '_deleted boolean NOT NULL DEFAULT false)', v_b, v_table);
    FOR v_r IN SELECT a.attname FROM pg_attribute a
                WHERE a.attrelid = format('pggit_data.%I', v_b)::regclass AND a.attnum > 0 AND a.attnotnull
                  AND NOT a.attname = ANY (p_keys) AND a.attname NOT IN ('_deleted', 'branch_id') LOOP
        EXECUTE format('ALTER TABLE pggit_data.%I ALTER COLUMN %I DROP NOT NULL', v_b, v_r.attname);
    END LOOP;
    IF v_nn IS NOT NULL THEN
        EXECUTE format('ALTER TABLE pggit_data.%I ADD CONSTRAINT %I CHECK (_deleted OR (%s))', v_b, 'not_null',
                       (SELECT string_agg(format('%I IS NOT NULL', c), ' AND ') FROM unnest(v_nn) c));
    END IF;
    EXECUTE format('ALTER TABLE pggit_data.%I ADD PRIMARY KEY (branch_id, %s)', v_b, v_keys);
    -- the table's other b-tree indexes on columns, per branch: a range or a lookup on the branch
    -- finds the overlays' rows the way it finds the table's
    FOR v_r IN SELECT array(SELECT pggit._data_q(a.attname) FROM unnest(i.indkey) WITH ORDINALITY k(attnum, o)
                              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.o) AS cols
                 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
                WHERE i.indrelid = p_relid AND NOT i.indisprimary AND i.indpred IS NULL AND am.amname = 'btree'
                  AND i.indexprs IS NULL AND i.indisvalid LOOP
        EXECUTE format('CREATE INDEX ON pggit_data.%I (branch_id, %s)', v_b, array_to_string(v_r.cols, ', '));
        EXECUTE format('CREATE INDEX ON pggit_data.%I (branch_id, %s)', v_p, array_to_string(v_r.cols, ', '));
    END LOOP;

    -- the view: the branch's rows over the checked-out ones (one anti-join against the keys of
    -- both overlays: a scan of the table probes one hash table, not two)
    EXECUTE format($v$CREATE VIEW %1$I.%2$I AS
    SELECT %3$s FROM %4$s t
     WHERE NOT EXISTS (SELECT 1 FROM (SELECT %13$s FROM pggit_data.%5$I b WHERE b.branch_id = %7$s
                                      UNION ALL SELECT %14$s FROM pggit_data.%6$I p WHERE p.branch_id = %7$s) o
                        WHERE %8$s)
    UNION ALL
    SELECT %10$s FROM pggit_data.%6$I p
     WHERE p.branch_id = %7$s AND NOT p._absent
       AND NOT EXISTS (SELECT 1 FROM pggit_data.%5$I b WHERE b.branch_id = p.branch_id AND %11$s)
    UNION ALL
    SELECT %12$s FROM pggit_data.%5$I b WHERE b.branch_id = %7$s AND NOT b._deleted$v$,
        v_schema, v_name, pggit._data_cols(v_cols, 't.'), v_table, v_b, v_p, v_id,
        pggit._data_key_match(p_keys, 'o', 't'), NULL,
        pggit._data_cols(v_cols, 'p.'), pggit._data_key_match(p_keys, 'b', 'p'), pggit._data_cols(v_cols, 'b.'),
        pggit._data_cols(p_keys, 'b.'), pggit._data_cols(p_keys, 'p.'));
    -- the table's defaults (sequences and identities are shared: keys drawn on a branch never
    -- collide with the checked-out side's)
    FOR v_r IN SELECT a.attname, CASE WHEN a.attidentity <> '' THEN format('nextval(%L::regclass)', pg_get_serial_sequence(v_table, a.attname))
                                      ELSE pg_get_expr(d.adbin, d.adrelid) END AS expr
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid = p_relid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                  AND (d.adbin IS NOT NULL OR a.attidentity <> '') LOOP
        EXECUTE format('ALTER VIEW %I.%I ALTER COLUMN %I SET DEFAULT %s', v_schema, v_name, v_r.attname, v_r.expr);
    END LOOP;

    -- the table's other unique constraints (on columns, without a predicate) hold on the branch
    SELECT coalesce(string_agg(format($u$
    IF TG_OP <> 'DELETE' AND %1$s AND EXISTS (SELECT 1 FROM %2$I.%3$I v WHERE %4$s AND (%5$s) IS DISTINCT FROM (%6$s)) THEN
        RAISE EXCEPTION USING MESSAGE = %7$L, ERRCODE = 'unique_violation';
    END IF;$u$,
            (SELECT string_agg(format('NEW.%s IS NOT NULL', pggit._data_q(c)), ' AND ') FROM unnest(u.cols) c),
            v_schema, v_name,
            (SELECT string_agg(format('v.%1$s = NEW.%1$s', pggit._data_q(c)), ' AND ') FROM unnest(u.cols) c),
            pggit._data_cols(p_keys, 'v.'), pggit._data_cols(p_keys, 'OLD.'),
            format('duplicate key value violates unique constraint %s on %s', quote_ident(u.name), v_table)), ''), '')
      INTO v_unique
      FROM (SELECT i.indexrelid::regclass::text AS name,
                   array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, o)
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.o) AS cols
              FROM pg_index i
             WHERE i.indrelid = p_relid AND i.indisunique AND NOT i.indisprimary AND i.indpred IS NULL
               AND NOT 0 = ANY (i.indkey::int2[])) u;

    -- writes (SECURITY DEFINER: who may write the view writes the overlay through it)
    EXECUTE format($f$CREATE FUNCTION pggit_data.%1$I() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
DECLARE
    v_branch integer := %2$s;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.data_tables d WHERE d.id = v_branch AND d.relid = %3$s) THEN
        RAISE EXCEPTION USING MESSAGE = format('data branch %%s does not carry %%s', v_branch, %4$L),
            ERRCODE = 'PGG13', HINT = 'pggit.data_branches() lists the data branches and their ids';
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (%5$s) IS DISTINCT FROM (%6$s)) THEN
        IF EXISTS (SELECT 1 FROM %7$I.%8$I v WHERE %9$s) THEN
            RAISE EXCEPTION USING MESSAGE = %10$L, ERRCODE = 'unique_violation',
                DETAIL = format(%11$L, concat_ws(', ', %6$s));
        END IF;
    END IF;
%17$s
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (%5$s) IS DISTINCT FROM (%6$s)) THEN
        INSERT INTO pggit_data.%12$I AS b (branch_id, %13$s, _deleted) VALUES (v_branch, %5$s, true)
        ON CONFLICT (branch_id, %13$s) DO UPDATE SET _deleted = true;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
    END IF;
    INSERT INTO pggit_data.%12$I AS b (branch_id, %14$s, _deleted) VALUES (v_branch, %15$s, false)
    ON CONFLICT (branch_id, %13$s) DO UPDATE SET (%14$s, _deleted) = (SELECT %16$s, false);
    RETURN NEW;
END $body$
$f$,
        v_w, v_id, p_relid, v_table,
        pggit._data_cols(p_keys, 'OLD.'), pggit._data_cols(p_keys, 'NEW.'),
        v_schema, v_name, pggit._data_key_match(p_keys, 'v', 'NEW'),
        format('duplicate key value violates the primary key of %s', v_table),
        'Key (' || replace(v_keys, '%', '%%') || ')=(%s) already exists.',
        v_b, v_keys, pggit._data_cols(v_write), pggit._data_cols(v_write, 'NEW.'), pggit._data_cols(v_write, 'EXCLUDED.'),
        v_unique);
    EXECUTE format('REVOKE ALL ON FUNCTION pggit_data.%I() FROM PUBLIC', v_w);
    EXECUTE format('CREATE TRIGGER pggit_write INSTEAD OF INSERT OR UPDATE OR DELETE ON %I.%I FOR EACH ROW EXECUTE FUNCTION pggit_data.%I()',
                   v_schema, v_name, v_w);

    -- the view's privileges are the table's; its owner is the table's owner
    FOR v_r IN SELECT DISTINCT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = p_relid AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE') LOOP
        EXECUTE format('GRANT %s ON %I.%I TO %s', v_r.privilege_type, v_schema, v_name,
                       CASE WHEN v_r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(v_r.grantee::regrole::text) END);
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %s', v_schema,
                       CASE WHEN v_r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(v_r.grantee::regrole::text) END);
    END LOOP;
    EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', v_schema, v_name, v_owner);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', v_schema, v_owner);
    -- (a view reads with its owner's privileges: the table's owner reads the overlays)
    EXECUTE format('GRANT USAGE ON SCHEMA pggit_data TO %I', v_owner);
    EXECUTE format('GRANT SELECT ON pggit_data.%I, pggit_data.%I TO %I', v_b, v_p, v_owner);

    INSERT INTO pggit.data_overlays (relid, identity, view_schema, view_name, key_columns, columns)
    SELECT p_relid, 'table ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname), v_schema, v_name, p_keys, v_cols
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_relid;
    PERFORM pggit._data_fork_triggers(p_relid);
END $$;

-- The triggers on carried table p_relid that keep its data branches' fork: when a row first
-- changes after a fork, its pre-image is saved for each data branch that carries the table,
-- and a key the table gains is saved as absent. An UPDATE that keeps the key (the common case)
-- is kept row by row, with no transition tables to fill; one that changes keys stages its rows
-- in k_<oid>, kept set-wise at the end of the statement (a key that another row of the same
-- statement gave up is not new). INSERT, DELETE and TRUNCATE are kept per statement. Made
-- again by pggit._after_upgrade(), so a new version's form reaches existing overlays.
CREATE FUNCTION pggit._data_fork_triggers(p_relid oid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o     pggit.data_overlays;
    v_table text := p_relid::regclass::text;
    v_p     text := 'p_' || p_relid;
    v_k     text := 'k_' || p_relid;
    v_cols  text;
    v_keys  text;
    v_same  text;   -- the row keeps its key
    v_newk  text;   -- the staged row of a new key: its key columns, the others NULL
BEGIN
    SELECT o.* INTO STRICT v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    v_cols := pggit._data_cols(v_o.columns);
    v_keys := pggit._data_cols(v_o.key_columns);
    v_same := format('(%s) IS NOT DISTINCT FROM (%s)', pggit._data_cols(v_o.key_columns, 'OLD.'),
                     pggit._data_cols(v_o.key_columns, 'NEW.'));
    SELECT string_agg(CASE WHEN c = ANY (v_o.key_columns) THEN 'NEW.' || pggit._data_q(c) ELSE 'NULL' END, ', ' ORDER BY o)
      INTO v_newk FROM unnest(v_o.columns) WITH ORDINALITY u(c, o);
    IF to_regclass(format('pggit_data.%I', v_k)) IS NULL THEN
        -- (rows live for one statement of their own transaction: nothing to keep after a crash)
        EXECUTE format('CREATE UNLOGGED TABLE pggit_data.%I AS SELECT %s, false AS _pggit_new FROM %s WITH NO DATA',
                       v_k, v_cols, v_table);
    END IF;

    -- row by row: UPDATE
    EXECUTE format($f$CREATE OR REPLACE FUNCTION pggit_data.%1$I() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    -- (pgGit data branches: an updated row as it was at each fork)
    IF %2$s THEN
        INSERT INTO pggit_data.%3$I (branch_id, %4$s, _absent)
        SELECT d.id, %5$s, false FROM pggit.data_tables d WHERE d.relid = %6$s
        ON CONFLICT DO NOTHING;
    ELSIF current_setting('session_replication_role') = 'replica' THEN
        -- (a replication apply worker fires no statement triggers: keep the key change here)
        INSERT INTO pggit_data.%3$I (branch_id, %4$s, _absent)
        SELECT d.id, x.* FROM (VALUES (%5$s, false), (%8$s, true)) x CROSS JOIN pggit.data_tables d
         WHERE d.relid = %6$s
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO pggit_data.%7$I VALUES (%5$s, false), (%8$s, true);
    END IF;
    RETURN NULL;
END $body$
$f$, 'r_' || p_relid, v_same, v_p, v_cols, pggit._data_cols(v_o.columns, 'OLD.'), p_relid, v_k, v_newk);

    -- per statement: INSERT, DELETE, TRUNCATE and the staged key changes of an UPDATE
    EXECUTE format($f$CREATE OR REPLACE FUNCTION pggit_data.%1$I() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    -- (pgGit data branches: the rows as they were at each fork; a key the table gains is absent)
    IF TG_OP = 'UPDATE' THEN
        WITH s AS (DELETE FROM pggit_data.%9$I RETURNING *)
        INSERT INTO pggit_data.%2$I (branch_id, %3$s, _absent)
        SELECT d.id, x.* FROM (SELECT %4$s, false FROM s o WHERE NOT o._pggit_new
                               UNION ALL
                               SELECT %10$s, true FROM s n
                                WHERE n._pggit_new AND NOT EXISTS (SELECT 1 FROM s o WHERE NOT o._pggit_new AND %11$s)) x
         CROSS JOIN pggit.data_tables d WHERE d.relid = %5$s
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO pggit_data.%2$I (branch_id, %3$s, _absent)
        SELECT d.id, %4$s, false FROM pggit_old o CROSS JOIN pggit.data_tables d WHERE d.relid = %5$s
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO pggit_data.%2$I (branch_id, %6$s, _absent)
        SELECT d.id, %7$s, true FROM pggit_new n CROSS JOIN pggit.data_tables d WHERE d.relid = %5$s
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'TRUNCATE' THEN
        -- (the table by its oid: it may have been renamed since)
        EXECUTE format(%8$L, TG_RELID::regclass);
    END IF;
    RETURN NULL;
END $body$
$f$, 'm_' || p_relid, v_p, v_cols, pggit._data_cols(v_o.columns, 'o.'), p_relid,
        v_keys, pggit._data_cols(v_o.key_columns, 'n.'),
        replace(format('INSERT INTO pggit_data.%I (branch_id, %s, _absent) SELECT d.id, %s, false FROM ',
                       v_p, v_cols, pggit._data_cols(v_o.columns, 't.')), '%', '%%')
        || '%s t CROSS JOIN pggit.data_tables d WHERE d.relid = ' || p_relid || ' ON CONFLICT DO NOTHING',
        v_k, pggit._data_cols(v_o.columns, 'n.'), pggit._data_key_match(v_o.key_columns, 'o', 'n'));
    EXECUTE format('REVOKE ALL ON FUNCTION pggit_data.%I() FROM PUBLIC', 'm_' || p_relid);
    EXECUTE format('REVOKE ALL ON FUNCTION pggit_data.%I() FROM PUBLIC', 'r_' || p_relid);

    EXECUTE format('DROP TRIGGER IF EXISTS pggit_data_ins ON %1$s; DROP TRIGGER IF EXISTS pggit_data_upd ON %1$s; '
                   'DROP TRIGGER IF EXISTS pggit_data_key ON %1$s; DROP TRIGGER IF EXISTS pggit_data_del ON %1$s; '
                   'DROP TRIGGER IF EXISTS pggit_data_trunc ON %1$s', v_table);
    EXECUTE format('CREATE TRIGGER pggit_data_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS pggit_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION pggit_data.%I()', v_table, 'm_' || p_relid);
    EXECUTE format('CREATE TRIGGER pggit_data_upd AFTER UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION pggit_data.%I()',
                   v_table, 'r_' || p_relid);
    EXECUTE format('CREATE TRIGGER pggit_data_key AFTER UPDATE OF %s ON %s FOR EACH STATEMENT EXECUTE FUNCTION pggit_data.%I()',
                   v_keys, v_table, 'm_' || p_relid);
    EXECUTE format('CREATE TRIGGER pggit_data_del AFTER DELETE ON %s REFERENCING OLD TABLE AS pggit_old '
                   'FOR EACH STATEMENT EXECUTE FUNCTION pggit_data.%I()', v_table, 'm_' || p_relid);
    EXECUTE format('CREATE TRIGGER pggit_data_trunc BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION pggit_data.%I()',
                   v_table, 'm_' || p_relid);
    -- (they fire under session_replication_role = replica too: a bulk load that skips triggers
    -- must not change what a branch sees)
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER pggit_data_ins, ENABLE ALWAYS TRIGGER pggit_data_upd, '
                   'ENABLE ALWAYS TRIGGER pggit_data_key, ENABLE ALWAYS TRIGGER pggit_data_del, '
                   'ENABLE ALWAYS TRIGGER pggit_data_trunc', v_table);
END $$;

-- Drop the overlay of one table (no data branch carries it any more).
CREATE FUNCTION pggit._data_drop_overlay(p_relid oid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o record;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    IF EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = p_relid) THEN
        EXECUTE format('DROP TRIGGER IF EXISTS pggit_data_ins ON %1$s; DROP TRIGGER IF EXISTS pggit_data_upd ON %1$s; '
                       'DROP TRIGGER IF EXISTS pggit_data_key ON %1$s; '
                       'DROP TRIGGER IF EXISTS pggit_data_del ON %1$s; DROP TRIGGER IF EXISTS pggit_data_trunc ON %1$s',
                       p_relid::regclass);
    END IF;
    EXECUTE format('DROP VIEW IF EXISTS %I.%I', v_o.view_schema, v_o.view_name);
    EXECUTE format('DROP FUNCTION IF EXISTS pggit_data.%I(); DROP FUNCTION IF EXISTS pggit_data.%I(); '
                   'DROP FUNCTION IF EXISTS pggit_data.%I(); DROP TABLE IF EXISTS pggit_data.%I; '
                   'DROP TABLE IF EXISTS pggit_data.%I; DROP TABLE IF EXISTS pggit_data.%I',
                   'w_' || p_relid, 'm_' || p_relid, 'r_' || p_relid, 'b_' || p_relid, 'p_' || p_relid, 'k_' || p_relid);
    DELETE FROM pggit.data_overlays WHERE relid = p_relid;
    IF NOT EXISTS (SELECT 1 FROM pggit.data_overlays o WHERE o.view_schema = v_o.view_schema) THEN
        EXECUTE format('DROP SCHEMA IF EXISTS %I', v_o.view_schema);
    END IF;
END $$;

-- Give branch p_branch (just created at HEAD) the data of every tracked table with a primary key.
CREATE FUNCTION pggit._create_data_branch(p_branch text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id      integer;
    v_t       record;
    v_skipped text[];
    v_capture text := coalesce(current_setting('pggit.capture', true), '');
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('pggit data branches'));
    -- (ids are not used again: a connection left on a deleted branch must not see a new one)
    v_id := coalesce((SELECT m.value::integer FROM pggit.meta m WHERE m.key = 'data_branch_id'), 0) + 1;
    INSERT INTO pggit.meta (key, value) VALUES ('data_branch_id', v_id::text)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
    INSERT INTO pggit.data_branches (branch, id, fork_commit)
    VALUES (p_branch, v_id, (SELECT b.head FROM pggit.branches b WHERE b.name = p_branch));
    -- the engine's own objects: nothing made here is a change of the schema
    PERFORM set_config('pggit.capture', 'off', true);
    FOR v_t IN
        SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, o.relid IS NOT NULL AS has_overlay,
               (SELECT array_agg(a.attname::text ORDER BY k.o)
                  FROM pg_constraint x CROSS JOIN LATERAL unnest(x.conkey) WITH ORDINALITY k(attnum, o)
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                 WHERE x.conrelid = c.oid AND x.contype = 'p') AS keys
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pggit.data_overlays o ON o.relid = c.oid
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence = 'p'
           AND pggit._tracked_schema(n.nspname)
         ORDER BY n.nspname, c.relname
    LOOP
        IF v_t.keys IS NULL THEN
            v_skipped := v_skipped || v_t.name;
            CONTINUE;
        END IF;
        -- the fork is one instant: writers in flight finish first, and later ones save pre-images
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', v_t.oid::regclass);
        IF NOT v_t.has_overlay THEN
            CREATE SCHEMA IF NOT EXISTS pggit_data;
            REVOKE ALL ON SCHEMA pggit_data FROM PUBLIC;
            PERFORM pggit._data_make_overlay(v_t.oid, v_t.keys);
        END IF;
        INSERT INTO pggit.data_tables (id, relid) VALUES (v_id, v_t.oid);
    END LOOP;
    IF v_skipped IS NOT NULL THEN
        UPDATE pggit.data_branches SET skipped = v_skipped WHERE branch = p_branch;
        RAISE NOTICE 'data branch %: tables without a primary key are not carried: %', quote_literal(p_branch),
            array_to_string(v_skipped, ', ');
    END IF;
    PERFORM set_config('pggit.capture', v_capture, true);
END $$;

-- Delete the data of branch p_branch: its rows in the overlays, and the overlays no other data
-- branch needs.
CREATE FUNCTION pggit._drop_data_branch(p_branch text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id      integer;
    v_rel     oid;
    v_capture text := coalesce(current_setting('pggit.capture', true), '');
BEGIN
    SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_branch;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('pggit data branches'));
    PERFORM set_config('pggit.capture', 'off', true);
    FOR v_rel IN SELECT t.relid FROM pggit.data_tables t WHERE t.id = v_id LOOP
        DELETE FROM pggit.data_tables t WHERE t.id = v_id AND t.relid = v_rel;
        IF EXISTS (SELECT 1 FROM pggit.data_tables t WHERE t.relid = v_rel) THEN
            EXECUTE format('DELETE FROM pggit_data.%I WHERE branch_id = $1', 'b_' || v_rel) USING v_id;
            EXECUTE format('DELETE FROM pggit_data.%I WHERE branch_id = $1', 'p_' || v_rel) USING v_id;
        ELSE
            PERFORM pggit._data_drop_overlay(v_rel);
        END IF;
    END LOOP;
    DELETE FROM pggit.data_branches WHERE branch = p_branch;
    PERFORM set_config('pggit.capture', v_capture, true);
END $$;

-- Data branches: name, id (the value of the setting pggit.data_branch that shows it), the
-- commit they forked at, the tables they carry, the rows they hold (their own and the
-- pre-images kept for them) and the bytes those take (NULL without p_sizes: they are counted),
-- and the tables they do not carry.
CREATE FUNCTION pggit.data_branches(p_sizes boolean DEFAULT true)
RETURNS TABLE (branch text, id integer, fork_commit text, created_at timestamptz, tables integer, rows bigint, bytes bigint,
               skipped text[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_d record;
    v_t record;
    v_n bigint;
    v_s bigint;
    v_o text;
BEGIN
    FOR v_d IN SELECT d.* FROM pggit.data_branches d ORDER BY d.branch LOOP
        branch := v_d.branch; id := v_d.id; fork_commit := v_d.fork_commit; created_at := v_d.created_at;
        skipped := v_d.skipped; tables := 0; rows := CASE WHEN p_sizes THEN 0 END; bytes := rows;
        FOR v_t IN SELECT t.relid FROM pggit.data_tables t WHERE t.id = v_d.id LOOP
            tables := tables + 1;
            CONTINUE WHEN NOT p_sizes;
            FOREACH v_o IN ARRAY ARRAY['b_', 'p_'] LOOP
                EXECUTE format('SELECT count(*), coalesce(sum(pg_column_size(x.*)), 0) FROM pggit_data.%I x WHERE x.branch_id = $1',
                               v_o || v_t.relid)
                   INTO v_n, v_s USING v_d.id;
                rows := rows + v_n; bytes := bytes + v_s;
            END LOOP;
        END LOOP;
        RETURN NEXT;
    END LOOP;
END $$;

-- The settings under which a connection works on data branch p_branch: pggit.data_branch (its
-- id) and a search_path that puts before each schema of p_path (the application's own
-- search_path; PostgreSQL's default when not given) the schema that shows it on data branches.
CREATE FUNCTION pggit.data_settings(p_branch text, p_path text DEFAULT '"$user", public')
RETURNS TABLE (data_branch integer, search_path text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_out text[] := '{}';
    v_s   text;
    v_nsp oid;
BEGIN
    SELECT d.id INTO data_branch FROM pggit.data_branches d WHERE d.branch = p_branch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % has no data', quote_literal(p_branch)
            USING ERRCODE = 'PGG13', HINT = 'create it with pggit.create_branch(name, with_data => true)';
    END IF;
    FOREACH v_s IN ARRAY string_to_array(coalesce(p_path, ''), ',') LOOP
        v_s := btrim(v_s);
        v_s := CASE WHEN v_s = '"$user"' OR v_s = '$user' THEN session_user::text
                    WHEN v_s LIKE '"%"' THEN replace(substr(v_s, 2, length(v_s) - 2), '""', '"')
                    ELSE lower(v_s) END;
        SELECT n.oid INTO v_nsp FROM pg_namespace n WHERE n.nspname = v_s;
        IF FOUND THEN
            IF EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = pggit._data_view_schema(v_nsp)) THEN
                v_out := v_out || pggit._data_view_schema(v_nsp);
            END IF;
            v_out := v_out || v_s;  -- (what the branch does not show: functions, types, sequences)
        END IF;
    END LOOP;
    search_path := (SELECT string_agg(quote_ident(x), ', ' ORDER BY o) FROM unnest(v_out) WITH ORDINALITY u(x, o));
    RETURN NEXT;
END $$;

-- An overlay of carried table p_relid, qualified: kind 'b' (the branches' rows), 'p' (pre-images)
-- or 'k' (key changes staged for one statement).
CREATE FUNCTION pggit._data_rel(p_relid oid, p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'pggit_data.' || quote_ident(p_kind || '_' || p_relid) $$;

-- The FROM clause of the keys data branch p_id (an SQL expression: a literal or a parameter)
-- changed in table p_relid or that the checked-out side changed since its fork: one row per key
-- (pggit_k) with the checked-out row (pggit_m), the branch's row (pggit_b) and the pre-image
-- (pggit_p), each all NULL where there is none.
CREATE FUNCTION pggit._data_changed_from(p_relid oid, p_id text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_keys text[] := (SELECT o.key_columns FROM pggit.data_overlays o WHERE o.relid = p_relid);
BEGIN
    RETURN format($q$
          FROM (SELECT %1$s FROM %2$s WHERE branch_id = %3$s
                UNION SELECT %1$s FROM %4$s WHERE branch_id = %3$s) pggit_k
          -- (a lookup by key per changed row: as a join the planner may scan the whole table)
          LEFT JOIN LATERAL (SELECT * FROM %5$s pggit_t WHERE %6$s OFFSET 0) pggit_m ON true
          LEFT JOIN %2$s pggit_b ON pggit_b.branch_id = %3$s AND %7$s
          LEFT JOIN %4$s pggit_p ON pggit_p.branch_id = %3$s AND %8$s$q$,
        pggit._data_cols(v_keys), pggit._data_rel(p_relid, 'b'), p_id, pggit._data_rel(p_relid, 'p'), p_relid::regclass,
        pggit._data_key_match(v_keys, 'pggit_t', 'pggit_k'), pggit._data_key_match(v_keys, 'pggit_b', 'pggit_k'),
        pggit._data_key_match(v_keys, 'pggit_p', 'pggit_k'));
END $$;

-- One table's rows that differ between the checked-out side and data branch p_id since its
-- fork, by key: the SQL of a query returning (key jsonb, in_checked_out, in_branch, columns
-- (changed), checked_out jsonb, branch jsonb). Only keys either side changed are read: the
-- branch's rows and the pre-images kept for it.
CREATE FUNCTION pggit._data_diff_sql(p_relid oid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o    record;
    v_k1   text;
    v_cmp  text;
    v_vcol text;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    v_k1 := quote_ident(v_o.key_columns[1]);
    -- each column of the branch's row: its own version, else the pre-image, else the table's
    SELECT string_agg(format('CASE WHEN pggit_b.%1$s IS NOT NULL THEN pggit_b.%2$I WHEN pggit_p.%1$s IS NOT NULL THEN pggit_p.%2$I ELSE pggit_m.%2$I END AS %2$I',
                             v_k1, c), ', ' ORDER BY o)
      INTO v_vcol FROM unnest(v_o.columns) WITH ORDINALITY u(c, o);
    -- per column: the type's own equality where it has one, else the text form (json, point)
    SELECT string_agg(format('CASE WHEN %s THEN %L END',
               CASE WHEN EXISTS (SELECT 1 FROM pg_operator op
                                  WHERE op.oprname = '=' AND op.oprleft = coalesce(nullif(ty.typbasetype, 0), ty.oid)
                                    AND op.oprright = coalesce(nullif(ty.typbasetype, 0), ty.oid))
                    THEN format('pggit_m.%1$I IS DISTINCT FROM pggit_v.%1$I', a.attname)
                    ELSE format('pggit_m.%1$I::text IS DISTINCT FROM pggit_v.%1$I::text', a.attname) END,
               a.attname), ', ' ORDER BY a.attnum)
      INTO v_cmp
      FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
     WHERE a.attrelid = p_relid AND a.attname = ANY (v_o.columns) AND NOT a.attisdropped;
    RETURN format($q$
        SELECT jsonb_build_object(%1$s) AS key, pggit_m.%2$s IS NOT NULL AS in_m,
               CASE WHEN pggit_b.%2$s IS NOT NULL THEN NOT pggit_b._deleted WHEN pggit_p.%2$s IS NOT NULL THEN NOT pggit_p._absent
                    ELSE pggit_m.%2$s IS NOT NULL END AS in_v,
               array_remove(ARRAY[%3$s]::text[], NULL) AS cols, to_jsonb(pggit_m) AS m_row, to_jsonb(pggit_v) AS v_row
          %4$s
          CROSS JOIN LATERAL (SELECT %5$s) pggit_v$q$,
        (SELECT string_agg(format('%L, pggit_k.%I', c, c), ', ' ORDER BY o) FROM unnest(v_o.key_columns) WITH ORDINALITY u(c, o)),
        v_k1, v_cmp, pggit._data_changed_from(p_relid, '$1'), v_vcol);
END $$;

-- Rows that differ between the checked-out tables and a data branch, by primary key: table,
-- key (jsonb), change ('added', 'deleted' or 'changed' going from p_from to p_to), the changed
-- columns, and both rows. One side is a data branch, the other HEAD or the checked-out branch.
CREATE FUNCTION pggit.data_diff(p_from text, p_to text, p_table text DEFAULT NULL)
RETURNS TABLE (table_identity text, key jsonb, change text, columns text[], old_row jsonb, new_row jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id   integer;
    v_flip boolean;
    v_t    record;
BEGIN
    IF (p_from IS NULL OR p_from IN ('HEAD', pggit.current_branch()))
       AND EXISTS (SELECT 1 FROM pggit.data_branches d WHERE d.branch = p_to) THEN
        SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_to;
        v_flip := false;
    ELSIF (p_to IS NULL OR p_to IN ('HEAD', pggit.current_branch()))
       AND EXISTS (SELECT 1 FROM pggit.data_branches d WHERE d.branch = p_from) THEN
        SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_from;
        v_flip := true;
    ELSE
        RAISE EXCEPTION 'data_diff compares a data branch with the checked-out branch, not % and %',
            quote_nullable(p_from), quote_nullable(p_to)
            USING ERRCODE = 'PGG13', HINT = 'pggit.data_branches() lists the branches that carry data';
    END IF;
    FOR v_t IN SELECT o.relid, o.identity FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid
                WHERE t.id = v_id AND (p_table IS NULL OR o.identity IN (p_table, 'table ' || p_table))
                ORDER BY o.identity LOOP
        RETURN QUERY EXECUTE format($q$
            SELECT %1$L::text, d.key,
                   CASE WHEN d.in_m AND d.in_v THEN 'changed' WHEN d.in_v <> %2$L THEN 'added' ELSE 'deleted' END,
                   CASE WHEN d.in_m AND d.in_v THEN d.cols END,
                   CASE WHEN %2$L THEN d.v_row ELSE d.m_row END,
                   CASE WHEN %2$L THEN d.m_row ELSE d.v_row END
              FROM (%3$s) d
             WHERE d.in_m <> d.in_v OR (d.in_m AND d.in_v AND cardinality(d.cols) > 0)
             ORDER BY d.key$q$, v_t.identity, v_flip, pggit._data_diff_sql(v_t.relid))
        USING v_id;
    END LOOP;
END $$;

-- After ALTER TABLE: a table that data branches carry must keep the columns their overlays
-- name (adding columns is fine; PostgreSQL itself refuses to drop or retype a column a view
-- shows). Renaming one would break the triggers that keep the branches' fork.
CREATE FUNCTION pggit._data_check_altered() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_bad text;
BEGIN
    SELECT o.identity INTO v_bad
      FROM pg_event_trigger_ddl_commands() c JOIN pggit.data_overlays o ON o.relid = c.objid
     WHERE c.classid = 'pg_class'::regclass
       AND NOT o.columns <@ array(SELECT a.attname::text FROM pg_attribute a
                                  WHERE a.attrelid = o.relid AND a.attnum > 0 AND NOT a.attisdropped)
     LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'cannot rename a column of %: data branches carry it', v_bad
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'delete its data branches first (SELECT * FROM pggit.data_branches())';
    END IF;
END $$;

-- Three-way data merge of data branch p_id into the checked-out table p_relid, by primary key.
-- Base: the fork (the pre-image where the checked-out side changed a row since, else its row).
-- Source: the branch. Target: the checked-out table. Only keys either side changed are read.
-- Fills temporary table pg_temp.pggit_merge_<relid> with one row per changed key:
--   key (jsonb), action ('insert', 'update', 'delete', 'none' or 'conflict'), conflict (why),
--   columns (the cells changed differently on both sides), base/source/target/merged (jsonb),
--   and the typed merged row (m__<column>), and returns its name.
CREATE FUNCTION pggit._data_merge_table(p_id integer, p_relid oid) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o     record;
    v_tmp   text := 'pggit_merge_' || p_relid;
    v_k1    text;
    v_vals  text;   -- base__c, source__c, target__c per column
    v_same  text;   -- the target kept every cell of the base
    v_noop  text;   -- the merged row is the target's
    v_conf  text;   -- per column: the name when both sides changed it differently
    v_merge text;   -- per column: the merged value
    v_out   text;   -- per column: m__c
    v_types text;
    v_c     record;
    v_eq    text;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    v_k1 := quote_ident(v_o.key_columns[1]);
    v_vals := ''; v_conf := ''; v_merge := ''; v_out := ''; v_same := ''; v_noop := '';
    FOR v_c IN SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type,
                      EXISTS (SELECT 1 FROM pg_type ty JOIN pg_operator op ON op.oprname = '='
                                     AND op.oprleft = coalesce(nullif(ty.typbasetype, 0), ty.oid)
                                     AND op.oprright = coalesce(nullif(ty.typbasetype, 0), ty.oid)
                               WHERE ty.oid = a.atttypid) AS has_eq
                 FROM unnest(v_o.columns) WITH ORDINALITY u(c, o)
                 JOIN pg_attribute a ON a.attrelid = p_relid AND a.attname = u.c AND NOT a.attisdropped
                ORDER BY u.o LOOP
        v_eq := CASE WHEN v_c.has_eq THEN '%1$s IS NOT DISTINCT FROM %2$s' ELSE '%1$s::text IS NOT DISTINCT FROM %2$s::text' END;
        v_vals := v_vals || format(', CASE WHEN pggit_p.%1$s IS NOT NULL THEN pggit_p.%2$I ELSE pggit_m.%2$I END AS %3$I'
                                   ', CASE WHEN pggit_b.%1$s IS NOT NULL THEN pggit_b.%2$I WHEN pggit_p.%1$s IS NOT NULL THEN pggit_p.%2$I ELSE pggit_m.%2$I END AS %4$I'
                                   ', pggit_m.%2$I AS %5$I',
                                   v_k1, v_c.name, 'base__' || v_c.name, 'source__' || v_c.name, 'target__' || v_c.name);
        -- a cell conflicts when the two sides changed it to different values
        v_conf := v_conf || format(', CASE WHEN NOT (%s) AND NOT (r.in_base AND ((%s) OR (%s))) THEN %L END',
                                   format(v_eq, 'r.' || quote_ident('source__' || v_c.name), 'r.' || quote_ident('target__' || v_c.name)),
                                   format(v_eq, 'r.' || quote_ident('source__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)),
                                   format(v_eq, 'r.' || quote_ident('target__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)),
                                   v_c.name);
        -- the merged cell: the source's for a row only it has, else the target's unless only the
        -- source changed it
        v_merge := v_merge || format(', CASE WHEN NOT r.in_tgt OR (r.in_base AND (%s)) THEN r.%I ELSE r.%I END AS %I',
                                     format(v_eq, 'r.' || quote_ident('target__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)),
                                     'source__' || v_c.name, 'target__' || v_c.name, 'm__' || v_c.name);
        v_same := v_same || format(' AND %s', format(v_eq, 'r.' || quote_ident('target__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)));
        -- (the merged cell is the target's: nothing to write)
        v_noop := v_noop || format(' AND ((%s) OR NOT (r.in_base AND (%s)))',
                                   format(v_eq, 'r.' || quote_ident('source__' || v_c.name), 'r.' || quote_ident('target__' || v_c.name)),
                                   format(v_eq, 'r.' || quote_ident('target__' || v_c.name), 'r.' || quote_ident('base__' || v_c.name)));
        v_out := v_out || format(', %I', 'm__' || v_c.name);
    END LOOP;
    EXECUTE format('DROP TABLE IF EXISTS pg_temp.%I', v_tmp);
    EXECUTE format($q$
        CREATE TEMP TABLE %1$I ON COMMIT DROP AS
        WITH r AS (
            SELECT jsonb_build_object(%2$s) AS key,
                   pggit_b.%3$s IS NOT NULL AS src_changed,
                   CASE WHEN pggit_p.%3$s IS NOT NULL THEN NOT pggit_p._absent ELSE pggit_m.%3$s IS NOT NULL END AS in_base,
                   CASE WHEN pggit_b.%3$s IS NOT NULL THEN NOT pggit_b._deleted
                        WHEN pggit_p.%3$s IS NOT NULL THEN NOT pggit_p._absent ELSE pggit_m.%3$s IS NOT NULL END AS in_src,
                   pggit_m.%3$s IS NOT NULL AS in_tgt
                   %4$s
              %5$s
        ),
        c AS (
            SELECT r.*, array_remove(ARRAY[NULL::text %6$s], NULL) AS cols, (true %7$s) AS target_kept_base,
                   (true %9$s) AS noop %8$s
              FROM r
        )
        SELECT c.*,
               CASE WHEN NOT c.src_changed OR (NOT c.in_src AND NOT c.in_tgt) THEN 'none'
                    WHEN NOT c.in_src THEN CASE WHEN c.in_base AND c.target_kept_base THEN 'delete' ELSE 'conflict' END
                    WHEN NOT c.in_tgt THEN CASE WHEN NOT c.in_base THEN 'insert' ELSE 'conflict' END
                    WHEN cardinality(c.cols) > 0 THEN 'conflict'
                    WHEN c.noop THEN 'none'
                    ELSE 'update' END AS action,
               CASE WHEN NOT c.src_changed OR (NOT c.in_src AND NOT c.in_tgt) THEN NULL
                    WHEN NOT c.in_src AND NOT (c.in_base AND c.target_kept_base) THEN 'deleted on the branch, changed on the checked-out side'
                    WHEN c.in_src AND NOT c.in_tgt AND c.in_base THEN 'changed on the branch, deleted on the checked-out side'
                    WHEN c.in_src AND c.in_tgt AND cardinality(c.cols) > 0 THEN
                         CASE WHEN c.in_base THEN 'changed on both sides' ELSE 'added on both sides' END
               END AS conflict
          FROM c$q$,
        v_tmp,
        (SELECT string_agg(format('%L, pggit_k.%I', k, k), ', ' ORDER BY o) FROM unnest(v_o.key_columns) WITH ORDINALITY u(k, o)),
        v_k1, v_vals, pggit._data_changed_from(p_relid, p_id::text), v_conf, v_same, v_merge, v_noop);
    EXECUTE format('CREATE INDEX ON pg_temp.%I (key)', v_tmp);  -- (resolutions find their rows by key)
    RETURN v_tmp;
END $$;

-- jsonb_build_object over the prefixed columns of merge table t: NULL when the side has no row.
CREATE FUNCTION pggit._data_side_json(p_cols text[], p_prefix text, p_present text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('CASE WHEN t.%I THEN jsonb_build_object(%s) END', p_present,
                  string_agg(format('%L, t.%I', c, p_prefix || c), ', ' ORDER BY o))
      FROM unnest(p_cols) WITH ORDINALITY u(c, o)
$$;

-- The rows of one merge table as the merge reports them.
CREATE FUNCTION pggit._data_merge_rows(p_relid oid, p_tmp text)
RETURNS TABLE (table_identity text, key jsonb, action text, conflict text, columns text[], base jsonb, source jsonb,
               target jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o record;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    RETURN QUERY EXECUTE format('SELECT %L::text, t.key, t.action, t.conflict, CASE WHEN t.action = %L THEN t.cols END, %s, %s, %s '
                                'FROM pg_temp.%I t WHERE t.action <> %L ORDER BY t.key',
                                v_o.identity, 'conflict',
                                pggit._data_side_json(v_o.columns, 'base__', 'in_base'),
                                pggit._data_side_json(v_o.columns, 'source__', 'in_src'),
                                pggit._data_side_json(v_o.columns, 'target__', 'in_tgt'),
                                p_tmp, 'none');
END $$;

-- Apply resolutions to one merge table. Each resolution: {"table", "key", "column" (absent: the
-- whole row), "take": "source" | "target" | "base" | "value", "value" (with "value")}.
CREATE FUNCTION pggit._data_resolve(p_relid oid, p_tmp text, p_resolutions jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_o    record;
    v_r    jsonb;
    v_take text;
    v_col  text;
BEGIN
    SELECT o.* INTO v_o FROM pggit.data_overlays o WHERE o.relid = p_relid;
    FOR v_r IN SELECT r FROM jsonb_array_elements(coalesce(p_resolutions, '[]')) r
                WHERE r->>'table' IN (v_o.identity, substr(v_o.identity, 7)) LOOP
        v_take := v_r->>'take';
        v_col := v_r->>'column';
        IF v_take IS NULL OR v_take NOT IN ('source', 'target', 'base', 'value') OR (v_take = 'value' AND v_col IS NULL)
           OR jsonb_typeof(v_r->'key') IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'invalid data resolution %', v_r
                USING ERRCODE = 'PGG07', HINT = 'each needs "table", "key" (an object), "take" (source, target, base or value with "column")';
        END IF;
        IF v_col IS NOT NULL AND NOT v_col = ANY (v_o.columns) THEN
            RAISE EXCEPTION 'table % has no column %', v_o.identity, quote_ident(v_col) USING ERRCODE = 'PGG07';
        END IF;
        IF v_col IS NULL THEN
            -- the whole row from one side
            EXECUTE format('UPDATE pg_temp.%1$I t SET action = CASE
                    WHEN $2 = ''target'' THEN ''none''
                    WHEN NOT (CASE $2 WHEN ''source'' THEN t.in_src ELSE t.in_base END) THEN CASE WHEN t.in_tgt THEN ''delete'' ELSE ''none'' END
                    WHEN t.in_tgt THEN ''update'' ELSE ''insert'' END,
                  cols = ''{}'' %2$s
                 WHERE t.key = $1', p_tmp,
                (SELECT string_agg(format(', %1$I = CASE $2 WHEN ''source'' THEN t.%2$I WHEN ''base'' THEN t.%3$I ELSE t.%1$I END',
                                          'm__' || c, 'source__' || c, 'base__' || c), '')
                   FROM unnest(v_o.columns) c))
            USING v_r->'key', v_take;
        ELSE
            -- one cell
            EXECUTE format('UPDATE pg_temp.%1$I t SET %2$I = CASE $2 WHEN ''source'' THEN t.%3$I WHEN ''target'' THEN t.%4$I
                                   WHEN ''base'' THEN t.%5$I ELSE (jsonb_populate_record(NULL::%6$s, jsonb_build_object($3, $4))).%7$I END,
                                 cols = array_remove(t.cols, $3),
                                 action = CASE WHEN t.action = ''conflict'' AND t.in_src AND t.in_tgt
                                               AND cardinality(array_remove(t.cols, $3)) = 0 THEN ''update'' ELSE t.action END
                             WHERE t.key = $1',
                           p_tmp, 'm__' || v_col, 'source__' || v_col, 'target__' || v_col, 'base__' || v_col,
                           p_relid::regclass, v_col)
            USING v_r->'key', v_take, v_col, v_r->'value';
        END IF;
    END LOOP;
END $$;

-- What merging data branch p_branch into the checked-out tables would do, by primary key:
-- action 'insert', 'update', 'delete' or 'conflict' (with why, and the cells for 'changed on
-- both sides'), and the base, branch and checked-out rows. Changes nothing.
CREATE FUNCTION pggit.data_merge_preview(p_branch text, p_resolutions jsonb DEFAULT '[]')
RETURNS TABLE (table_identity text, key jsonb, action text, conflict text, columns text[], base jsonb, source jsonb,
               target jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id  integer;
    v_t   record;
    v_tmp text;
BEGIN
    SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_branch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % has no data', quote_literal(p_branch) USING ERRCODE = 'PGG13';
    END IF;
    FOR v_t IN SELECT o.relid FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid
                WHERE t.id = v_id ORDER BY o.identity LOOP
        v_tmp := pggit._data_merge_table(v_id, v_t.relid);
        PERFORM pggit._data_resolve(v_t.relid, v_tmp, p_resolutions);
        RETURN QUERY SELECT * FROM pggit._data_merge_rows(v_t.relid, v_tmp);
        EXECUTE format('DROP TABLE pg_temp.%I', v_tmp);
    END LOOP;
END $$;

-- Merge data branch p_branch into the checked-out tables, three-way by primary key, with
-- p_resolutions for its conflicts (see _data_resolve). All or nothing: with a conflict left, or
-- when the merged rows break a constraint (unique, foreign key, check), nothing is applied and
-- the rows in the way are returned (status 'conflicts'); else every table is changed in this
-- transaction (status 'merged', one row per table with the counts) and the branch starts again
-- from the merged rows.
CREATE FUNCTION pggit.merge_data(p_branch text, p_resolutions jsonb DEFAULT '[]')
RETURNS TABLE (status text, table_identity text, key jsonb, action text, conflict text, columns text[], counts jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_id      integer;
    v_t       record;
    v_tmps    jsonb := '{}';
    v_tmp     text;
    v_n       bigint;
    v_counts  jsonb := '{}';
    v_msg     text;
    v_state   text;
    v_table   text;
    v_failed  boolean := false;
BEGIN
    SELECT d.id INTO v_id FROM pggit.data_branches d WHERE d.branch = p_branch FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % has no data', quote_literal(p_branch) USING ERRCODE = 'PGG13';
    END IF;
    -- the checked-out tables hold still while the merge reads and writes them
    FOR v_t IN SELECT o.relid FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid
                WHERE t.id = v_id ORDER BY o.relid LOOP
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', v_t.relid::regclass);
    END LOOP;
    FOR v_t IN SELECT o.relid, o.identity FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid
                WHERE t.id = v_id ORDER BY o.identity LOOP
        v_tmp := pggit._data_merge_table(v_id, v_t.relid);
        PERFORM pggit._data_resolve(v_t.relid, v_tmp, p_resolutions);
        v_tmps := v_tmps || jsonb_build_object(v_t.relid::text, v_tmp);
        RETURN QUERY EXECUTE format('SELECT %L::text, %L::text, t.key, t.action, t.conflict, t.cols, NULL::jsonb FROM pg_temp.%I t '
                                    'WHERE t.action = %L ORDER BY t.key', 'conflicts', v_t.identity, v_tmp, 'conflict');
        IF FOUND THEN
            v_failed := true;
        END IF;
    END LOOP;
    IF v_failed THEN
        PERFORM pggit._audit('merge_data', jsonb_build_object('branch', p_branch, 'status', 'conflicts'), 'refused',
                             'data conflicts', v_started);
        RETURN;
    END IF;
    BEGIN
        SET CONSTRAINTS ALL IMMEDIATE;
        -- deletes from the referencing tables first, then inserts and updates into the referenced ones first
        FOR v_t IN SELECT o.relid, o.identity, o.key_columns, o.columns FROM pggit.data_tables t
                     JOIN pggit.data_overlays o ON o.relid = t.relid WHERE t.id = v_id
                    ORDER BY (SELECT count(*) FROM pg_constraint f WHERE f.conrelid = o.relid AND f.contype = 'f') DESC, o.identity LOOP
            v_table := v_t.identity;
            EXECUTE format('DELETE FROM %s x USING pg_temp.%I t WHERE t.action = %L AND %s',
                           v_t.relid::regclass, v_tmps->>v_t.relid::text, 'delete',
                           (SELECT string_agg(format('x.%I = t.%I', k, 'm__' || k), ' AND ') FROM unnest(v_t.key_columns) k));
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_counts := v_counts || jsonb_build_object(v_t.identity, jsonb_build_object('deleted', v_n));
        END LOOP;
        FOR v_t IN SELECT o.relid, o.identity, o.key_columns, o.columns,
                          array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = o.relid AND a.attname = ANY (o.columns)
                                   AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum) AS writable
                     FROM pggit.data_tables t JOIN pggit.data_overlays o ON o.relid = t.relid WHERE t.id = v_id
                    ORDER BY (SELECT count(*) FROM pg_constraint f WHERE f.conrelid = o.relid AND f.contype = 'f'), o.identity LOOP
            v_table := v_t.identity;
            EXECUTE format('UPDATE %s x SET (%s) = (SELECT %s) FROM pg_temp.%I t WHERE t.action = %L AND %s',
                           v_t.relid::regclass, pggit._data_cols(v_t.writable),
                           (SELECT string_agg(format('t.%I', 'm__' || c), ', ') FROM unnest(v_t.writable) c),
                           v_tmps->>v_t.relid::text, 'update',
                           (SELECT string_agg(format('x.%I = t.%I', k, 'm__' || k), ' AND ') FROM unnest(v_t.key_columns) k));
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_counts := jsonb_set(v_counts, ARRAY[v_t.identity, 'updated'], to_jsonb(v_n));
            EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM pg_temp.%I t WHERE t.action = %L',
                           v_t.relid::regclass, pggit._data_cols(v_t.writable),
                           (SELECT string_agg(format('t.%I', 'm__' || c), ', ') FROM unnest(v_t.writable) c),
                           v_tmps->>v_t.relid::text, 'insert');
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_counts := jsonb_set(v_counts, ARRAY[v_t.identity, 'inserted'], to_jsonb(v_n));
        END LOOP;
    EXCEPTION WHEN integrity_constraint_violation OR check_violation OR not_null_violation OR unique_violation
                   OR foreign_key_violation OR exclusion_violation THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
        PERFORM pggit._audit('merge_data', jsonb_build_object('branch', p_branch, 'status', 'conflicts'), 'refused',
                             v_state || ': ' || v_msg, v_started);
        RETURN QUERY SELECT 'conflicts'::text, v_table, NULL::jsonb, 'conflict'::text,
                            'the merged rows break a constraint: ' || v_msg, NULL::text[], NULL::jsonb;
        RETURN;
    END;
    -- the branch starts again from the merged rows
    FOR v_t IN SELECT t.relid FROM pggit.data_tables t WHERE t.id = v_id LOOP
        EXECUTE format('DELETE FROM pggit_data.%I WHERE branch_id = $1', 'b_' || v_t.relid) USING v_id;
        EXECUTE format('DELETE FROM pggit_data.%I WHERE branch_id = $1', 'p_' || v_t.relid) USING v_id;
        EXECUTE format('DROP TABLE pg_temp.%I', v_tmps->>v_t.relid::text);
    END LOOP;
    PERFORM pggit._audit('merge_data', jsonb_build_object('branch', p_branch, 'status', 'merged', 'tables', v_counts),
                         'ok', NULL, v_started);
    RETURN QUERY SELECT 'merged'::text, e.key, NULL::jsonb, NULL::text, NULL::text, NULL::text[], e.value
                   FROM jsonb_each(v_counts) e ORDER BY e.key;
END $$;
