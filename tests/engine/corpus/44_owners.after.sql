-- Owners are part of each object's state: the objects of 44_owners.before.sql given to
-- predefined roles (a table's serial sequence goes with its table), one left to the database's
-- owner, and one column more (pg_dump --no-owner shows no owner).
CREATE SCHEMA ow;
ALTER SCHEMA ow OWNER TO pg_read_all_data;
CREATE TABLE ow.t (id integer PRIMARY KEY, v text, w text);
ALTER TABLE ow.t OWNER TO pg_monitor;
CREATE TABLE ow.s (id serial PRIMARY KEY);
ALTER TABLE ow.s OWNER TO pg_read_all_stats;
CREATE SEQUENCE ow.seq;
ALTER SEQUENCE ow.seq OWNER TO pg_monitor;
CREATE VIEW ow.v AS SELECT id, v FROM ow.t;
ALTER VIEW ow.v OWNER TO pg_monitor;
CREATE MATERIALIZED VIEW ow.mv AS SELECT id FROM ow.t;
ALTER MATERIALIZED VIEW ow.mv OWNER TO pg_monitor;
CREATE TYPE ow.mood AS ENUM ('sad', 'ok');
ALTER TYPE ow.mood OWNER TO pg_read_all_stats;
CREATE TYPE ow.pair AS (a integer, b text);
ALTER TYPE ow.pair OWNER TO pg_read_all_stats;
CREATE DOMAIN ow.pos AS integer CHECK (VALUE > 0);
ALTER DOMAIN ow.pos OWNER TO pg_read_all_stats;
CREATE FUNCTION ow.f(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x';
ALTER FUNCTION ow.f(integer) OWNER TO pg_monitor;
CREATE PROCEDURE ow.p() LANGUAGE sql AS 'SELECT 1';
ALTER PROCEDURE ow.p() OWNER TO pg_monitor;
CREATE AGGREGATE ow.total(integer) (SFUNC = int4pl, STYPE = integer);
ALTER AGGREGATE ow.total(integer) OWNER TO pg_monitor;
CREATE COLLATION ow.coll (provider = libc, locale = 'C');
ALTER COLLATION ow.coll OWNER TO pg_monitor;
CREATE FUNCTION ow.eq(integer, ow.pos) RETURNS boolean LANGUAGE sql AS 'SELECT $1 = $2::integer';
CREATE OPERATOR ow.=== (LEFTARG = integer, RIGHTARG = ow.pos, FUNCTION = ow.eq);
ALTER OPERATOR ow.=== (integer, ow.pos) OWNER TO pg_monitor;
CREATE TEXT SEARCH DICTIONARY ow.dict (TEMPLATE = simple);
ALTER TEXT SEARCH DICTIONARY ow.dict OWNER TO pg_monitor;
CREATE TEXT SEARCH CONFIGURATION ow.cfg (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION ow.cfg OWNER TO pg_monitor;
CREATE STATISTICS ow.st ON id, v FROM ow.t;
ALTER STATISTICS ow.st OWNER TO pg_monitor;
