-- Comments on every kind that takes one.
CREATE SCHEMA c;
COMMENT ON SCHEMA c IS 'schema comment';
CREATE TYPE c.e AS ENUM ('a');
COMMENT ON TYPE c.e IS 'enum comment';
CREATE DOMAIN c.d AS integer;
CREATE SEQUENCE c.s;
COMMENT ON SEQUENCE c.s IS 'sequence comment';
CREATE TABLE c.t (id integer CONSTRAINT t_pkey PRIMARY KEY, a text CONSTRAINT t_a_check CHECK (a <> ''));
COMMENT ON TABLE c.t IS 'table comment';
COMMENT ON COLUMN c.t.a IS 'column comment';
COMMENT ON CONSTRAINT t_a_check ON c.t IS 'constraint comment';
CREATE INDEX t_a_idx ON c.t (a);
COMMENT ON INDEX c.t_a_idx IS 'index comment';
CREATE VIEW c.v AS SELECT id, a FROM c.t;
COMMENT ON VIEW c.v IS 'view comment';
CREATE MATERIALIZED VIEW c.mv AS SELECT id FROM c.t WITH NO DATA;
CREATE FUNCTION c.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
COMMENT ON FUNCTION c.f() IS 'function comment';
CREATE TRIGGER tr BEFORE INSERT ON c.t FOR EACH ROW EXECUTE FUNCTION c.f();
ALTER TABLE c.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON c.t USING (true);
CREATE PROCEDURE c.pr() LANGUAGE sql AS $$ SELECT 1 $$;
-- rows: INSERT INTO c.t VALUES (1, 'x')
