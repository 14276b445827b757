-- Privileges are part of each object's state (docs/engine.md, "Privileges, default privileges and
-- owners"): grants to PUBLIC (no roles needed), column privileges, defaults revoked (EXECUTE on a
-- function, USAGE on a type), a right revoked from the owner, default privileges for a schema.
-- pg_dump --no-privileges leaves them out of the dumps these tests compare; drift() and the
-- merged tree do not, and tests/engine/test_privileges.py checks the catalog.
CREATE SCHEMA pv;
ALTER DEFAULT PRIVILEGES IN SCHEMA pv GRANT SELECT, INSERT ON TABLES TO PUBLIC;
CREATE TABLE pv.t (id integer PRIMARY KEY, "a b" text, secret text);
REVOKE SELECT ON pv.t FROM PUBLIC;
GRANT SELECT (id) ON pv.t TO PUBLIC;
GRANT UPDATE ("a b") ON pv.t TO PUBLIC;
REVOKE TRUNCATE ON pv.t FROM CURRENT_USER;
CREATE SEQUENCE pv.s;
GRANT USAGE ON SEQUENCE pv.s TO PUBLIC;
CREATE FUNCTION pv.f(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x';
REVOKE EXECUTE ON FUNCTION pv.f(integer) FROM PUBLIC;
CREATE TYPE pv.mood AS ENUM ('sad', 'ok');
REVOKE USAGE ON TYPE pv.mood FROM PUBLIC;
CREATE VIEW pv.v AS SELECT id, "a b" FROM pv.t;
GRANT USAGE ON SCHEMA pv TO PUBLIC;
-- rows: INSERT INTO pv.t VALUES (1, 'x', 'y')
