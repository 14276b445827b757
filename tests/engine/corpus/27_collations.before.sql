-- Collations made by users are objects: a column can use one, so the rebuild makes it first, and
-- a migration moves columns off a collation before dropping it.
CREATE SCHEMA co;
CREATE COLLATION co.bytewise (provider = libc, locale = 'C');
CREATE TABLE co.names (id integer PRIMARY KEY, a text COLLATE co.bytewise, b text);
COMMENT ON COLLATION co.bytewise IS 'byte order';
-- rows: INSERT INTO co.names VALUES (1, 'x', 'y')
