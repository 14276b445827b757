-- Objects that depend on a temporary object (directly or through another) are dropped by
-- PostgreSQL with it at the end of the session, where no event trigger sees them go: not state.
CREATE SCHEMA c;
CREATE TABLE c.keep (id integer PRIMARY KEY, note text);
CREATE TEMP TABLE recur1 (f1 integer, f2 text);
CREATE DOMAIN c.d_on_temp AS recur1[];
CREATE DOMAIN c.d_on_d AS c.d_on_temp;
CREATE FUNCTION c.f_on_temp(recur1) RETURNS integer LANGUAGE sql AS 'SELECT $1.f1';
CREATE INDEX recur1_f1_idx ON recur1 (f1);
ALTER TABLE recur1 ADD COLUMN f3 integer;
-- rows: INSERT INTO c.keep (id, note) VALUES (1, 'a')
