-- Views (options, check option, column comments), views on views, materialized views with indexes.
CREATE SCHEMA c;
CREATE TABLE c.t (id integer PRIMARY KEY, name text, amount numeric, active boolean DEFAULT true);
CREATE VIEW c.v_active AS SELECT id, name, amount FROM c.t WHERE active WITH CASCADED CHECK OPTION;
COMMENT ON COLUMN c.v_active.amount IS 'the amount';
CREATE VIEW c.v_big WITH (security_barrier = true) AS SELECT id, name FROM c.v_active WHERE amount > 100;
CREATE VIEW c.v_gone AS SELECT count(*) AS n FROM c.t;
CREATE MATERIALIZED VIEW c.mv_totals AS SELECT active, sum(amount) AS total FROM c.t GROUP BY active WITH NO DATA;
CREATE UNIQUE INDEX mv_totals_active_idx ON c.mv_totals (active);
-- rows: INSERT INTO c.t VALUES (1, 'a', 150, true), (2, 'b', 5, false)
