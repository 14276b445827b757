-- REINDEX ... CONCURRENTLY gives indexes new addresses under the same names; dropping them
-- afterwards must be recorded (table, index and schema forms).
CREATE SCHEMA c;
CREATE SCHEMA rs;
CREATE TABLE c.t (id integer PRIMARY KEY, v text);
CREATE INDEX t_v_idx ON c.t (v);
CREATE TABLE c.gone (id integer, v text);
CREATE INDEX gone_v_idx ON c.gone (v);
REINDEX TABLE CONCURRENTLY c.gone;
DROP TABLE c.gone;
CREATE INDEX t_v_lower_idx ON c.t (lower(v));
REINDEX INDEX CONCURRENTLY c.t_v_lower_idx;
DROP INDEX c.t_v_lower_idx;
CREATE TABLE rs.u (a integer, b text);
CREATE INDEX u_a_idx ON rs.u (a);
CREATE INDEX u_b_idx ON rs.u (b);
REINDEX SCHEMA CONCURRENTLY rs;
DROP INDEX rs.u_a_idx;
REINDEX TABLE CONCURRENTLY c.t;
-- rows: INSERT INTO c.t (id, v) VALUES (1, 'a')
