-- Schemas: created, dropped, commented; objects moving between schemas.
CREATE SCHEMA c;
COMMENT ON SCHEMA c IS 'corpus schema';
CREATE SCHEMA "Old ""One""";
CREATE TABLE c.kept (id integer PRIMARY KEY, name text);
CREATE TABLE "Old ""One""".gone (id integer);
-- rows: INSERT INTO c.kept VALUES (1, 'a'), (2, 'b')
