-- Owners are part of each object's state (docs/engine.md, "Owners"): objects the database's
-- owner owns record no owner; these are given to PostgreSQL's predefined roles (they exist on
-- every server, so the corpus needs no roles of its own). pg_dump --no-owner leaves owners out
-- of the dumps these tests compare; checkout's final check and the merged tree do not.
CREATE SCHEMA ow;
CREATE TABLE ow.t (id integer PRIMARY KEY, v text);
CREATE TABLE ow.s (id serial PRIMARY KEY);
CREATE SEQUENCE ow.seq;
CREATE VIEW ow.v AS SELECT id, v FROM ow.t;
CREATE MATERIALIZED VIEW ow.mv AS SELECT id FROM ow.t;
CREATE TYPE ow.mood AS ENUM ('sad', 'ok');
CREATE TYPE ow.pair AS (a integer, b text);
CREATE DOMAIN ow.pos AS integer CHECK (VALUE > 0);
CREATE FUNCTION ow.f(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x';
CREATE PROCEDURE ow.p() LANGUAGE sql AS 'SELECT 1';
CREATE AGGREGATE ow.total(integer) (SFUNC = int4pl, STYPE = integer);
CREATE COLLATION ow.coll (provider = libc, locale = 'C');
CREATE FUNCTION ow.eq(integer, ow.pos) RETURNS boolean LANGUAGE sql AS 'SELECT $1 = $2::integer';
CREATE OPERATOR ow.=== (LEFTARG = integer, RIGHTARG = ow.pos, FUNCTION = ow.eq);
CREATE TEXT SEARCH DICTIONARY ow.dict (TEMPLATE = simple);
CREATE TEXT SEARCH CONFIGURATION ow.cfg (COPY = pg_catalog.simple);
CREATE STATISTICS ow.st ON id, v FROM ow.t;
-- rows: INSERT INTO ow.t VALUES (1, 'x')
