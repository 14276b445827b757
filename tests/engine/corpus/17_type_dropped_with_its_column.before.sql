-- A type is dropped together with the column of a kept table that used it (the table is
-- altered, not recreated: its rows stay).
CREATE SCHEMA c;
CREATE TYPE c.pair AS (a integer, b integer);
CREATE TABLE c.t (id integer PRIMARY KEY, name text, p c.pair);
-- rows: INSERT INTO c.t VALUES (1, 'one', ROW(1, 2))
