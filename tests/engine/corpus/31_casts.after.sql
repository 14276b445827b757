CREATE SCHEMA ca;
CREATE TYPE ca.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE ca.pair AS (a integer, b integer);
CREATE FUNCTION ca.mood_rank(ca.mood) RETURNS integer LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE $1 WHEN 'sad' THEN 0 WHEN 'ok' THEN 1 ELSE 2 END $$;
CREATE FUNCTION ca.mood_of(integer) RETURNS ca.mood LANGUAGE sql IMMUTABLE
    AS $$ SELECT (enum_range(NULL::ca.mood))[$1 + 1] $$;
CREATE CAST (ca.mood AS integer) WITH FUNCTION ca.mood_rank(ca.mood) AS IMPLICIT;
CREATE CAST (integer AS ca.mood) WITH FUNCTION ca.mood_of(integer);
COMMENT ON CAST (integer AS ca.mood) IS 'the mood of a rank';
CREATE TABLE ca.t (id integer PRIMARY KEY, m ca.mood);
-- rows: INSERT INTO ca.t VALUES (1, 'ok')
