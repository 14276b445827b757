-- The same objects with other privileges, a table made under the schema's default privileges
-- with one of them revoked, and a new column (so that the dumps differ).
CREATE SCHEMA pv;
ALTER DEFAULT PRIVILEGES IN SCHEMA pv GRANT SELECT, INSERT ON TABLES TO PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA pv GRANT USAGE ON SEQUENCES TO PUBLIC;
CREATE TABLE pv.t (id integer PRIMARY KEY, "a b" text, secret text, note text);
REVOKE SELECT ON pv.t FROM PUBLIC;
GRANT SELECT (id, "a b"), UPDATE (note) ON pv.t TO PUBLIC;
CREATE SEQUENCE pv.s;
CREATE FUNCTION pv.f(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x';
CREATE TYPE pv.mood AS ENUM ('sad', 'ok');
CREATE VIEW pv.v AS SELECT id, "a b" FROM pv.t;
GRANT SELECT ON pv.v TO PUBLIC;
CREATE TABLE pv.u (x integer);
REVOKE INSERT ON pv.u FROM PUBLIC;
-- rows: INSERT INTO pv.t VALUES (1, 'x', 'y', 'z')
