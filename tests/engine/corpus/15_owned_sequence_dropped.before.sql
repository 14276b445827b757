-- A sequence owned by a column of a kept table is dropped (or created).
CREATE SCHEMA c;
CREATE TABLE c.t (id integer PRIMARY KEY, n integer);
CREATE SEQUENCE c.s OWNED BY c.t.n;
-- rows: INSERT INTO c.t VALUES (1, 1)
