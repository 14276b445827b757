-- Casts whose source type, target type or function is the user's are objects (cast (a AS b)),
-- created after their types and function, dropped and made again when they change.
CREATE SCHEMA ca;
CREATE TYPE ca.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE ca.pair AS (a integer, b integer);
CREATE FUNCTION ca.mood_rank(ca.mood) RETURNS integer LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE $1 WHEN 'sad' THEN 0 WHEN 'ok' THEN 1 ELSE 2 END $$;
CREATE CAST (ca.mood AS integer) WITH FUNCTION ca.mood_rank(ca.mood) AS ASSIGNMENT;
COMMENT ON CAST (ca.mood AS integer) IS 'rank of a mood';
CREATE CAST (ca.pair AS text) WITH INOUT;
CREATE TABLE ca.t (id integer PRIMARY KEY, m ca.mood);
-- rows: INSERT INTO ca.t VALUES (1, 'ok')
