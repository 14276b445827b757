CREATE SCHEMA c;
CREATE FUNCTION c.norm(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(btrim(p)) $$;
CREATE TABLE c.t (id serial PRIMARY KEY, amount bigint, code text CHECK (c.norm(code) <> '')) WITH (fillfactor = 90, autovacuum_enabled = off);
CREATE INDEX t_code_norm_idx ON c.t (c.norm(code));
CREATE VIEW c.v AS SELECT id, amount * 2 AS doubled FROM c.t;
CREATE VIEW c.vv AS SELECT doubled FROM c.v WHERE doubled > 0;
CREATE TABLE c.scratch (id integer);
CREATE TABLE c.p (id integer, d date) PARTITION BY RANGE (d);
CREATE TABLE c.p1 PARTITION OF c.p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE c.p2 PARTITION OF c.p FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE FUNCTION c.trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER p_trg AFTER INSERT ON c.p FOR EACH ROW EXECUTE FUNCTION c.trg();
-- rows: INSERT INTO c.t (amount, code) VALUES (3, 'A'), (4, 'B')
-- rows: INSERT INTO c.p VALUES (1, '2024-03-01')
