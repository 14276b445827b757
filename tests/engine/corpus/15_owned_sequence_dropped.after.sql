CREATE SCHEMA c;
CREATE TABLE c.t (id integer PRIMARY KEY, n integer);
-- rows: INSERT INTO c.t VALUES (1, 1)
