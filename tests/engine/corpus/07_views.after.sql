CREATE SCHEMA c;
CREATE TABLE c.t (id integer PRIMARY KEY, name text, amount numeric, active boolean DEFAULT true);
CREATE VIEW c.v_active AS SELECT id, name, amount, active FROM c.t WHERE active WITH LOCAL CHECK OPTION;
COMMENT ON COLUMN c.v_active.amount IS 'the amount, reworded';
CREATE VIEW c.v_big AS SELECT id, name, amount FROM c.v_active WHERE amount > 1000;
CREATE VIEW c.v_new AS SELECT b.id, t.active FROM c.v_big b JOIN c.t t USING (id);
CREATE MATERIALIZED VIEW c.mv_totals AS SELECT active, sum(amount) AS total, count(*) AS n FROM c.t GROUP BY active WITH NO DATA;
CREATE UNIQUE INDEX mv_totals_active_idx ON c.mv_totals (active);
CREATE INDEX mv_totals_n_idx ON c.mv_totals (n);
COMMENT ON MATERIALIZED VIEW c.mv_totals IS 'totals per flag';
-- rows: INSERT INTO c.t VALUES (1, 'a', 150, true), (2, 'b', 5, false)
