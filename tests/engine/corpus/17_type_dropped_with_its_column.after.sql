CREATE SCHEMA c;
CREATE TABLE c.t (id integer PRIMARY KEY, name text);
-- rows: INSERT INTO c.t VALUES (1, 'one')
