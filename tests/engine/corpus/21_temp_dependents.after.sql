CREATE SCHEMA c;
CREATE TABLE c.keep (id integer PRIMARY KEY, note text, more integer);
CREATE TEMP TABLE recur2 (f1 integer);
CREATE FUNCTION c.f2_on_temp(recur2[]) RETURNS integer LANGUAGE sql AS 'SELECT 1';
CREATE DOMAIN c.d_kept AS integer CHECK (VALUE > 0);
-- rows: INSERT INTO c.keep (id, note) VALUES (1, 'a')
