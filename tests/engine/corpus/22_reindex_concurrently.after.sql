CREATE SCHEMA c;
CREATE SCHEMA rs;
CREATE TABLE c.t (id integer PRIMARY KEY, v text);
CREATE TABLE rs.u (a integer, b text);
CREATE INDEX u_b_idx ON rs.u (b);
REINDEX SCHEMA CONCURRENTLY rs;
CREATE INDEX u_a_idx ON rs.u (a DESC);
REINDEX TABLE CONCURRENTLY rs.u;
ALTER TABLE rs.u ALTER COLUMN a TYPE bigint;
DROP INDEX rs.u_b_idx;
-- rows: INSERT INTO c.t (id, v) VALUES (1, 'a')
