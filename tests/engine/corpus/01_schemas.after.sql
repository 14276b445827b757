CREATE SCHEMA c;
COMMENT ON SCHEMA c IS 'corpus schema, reworded';
CREATE SCHEMA "New; One é";
COMMENT ON SCHEMA "New; One é" IS 'a new schema';
CREATE TABLE c.kept (id integer PRIMARY KEY, name text);
CREATE TABLE "New; One é"."select" (id integer);
-- rows: INSERT INTO c.kept VALUES (1, 'a'), (2, 'b')
