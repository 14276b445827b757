CREATE SCHEMA ag;
CREATE FUNCTION ag.cnt_sf(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1';
CREATE AGGREGATE ag.mycount(*) (sfunc = ag.cnt_sf, stype = bigint, initcond = '1');
CREATE FUNCTION ag.vsum(integer, VARIADIC integer[]) RETURNS integer LANGUAGE sql IMMUTABLE
    AS 'SELECT $1 + coalesce((SELECT sum(x)::integer FROM unnest($2) x), 0)';
CREATE AGGREGATE ag.vagg(VARIADIC integer[]) (sfunc = ag.vsum, stype = integer, initcond = '0');
CREATE FUNCTION ag.minus_sf(integer, integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1 - $2';
CREATE FUNCTION ag.plus_sf(integer, integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1 + $2';
CREATE AGGREGATE ag.msum(integer) (sfunc = ag.plus_sf, stype = integer, initcond = '0', msfunc = ag.plus_sf,
    minvfunc = ag.minus_sf, mstype = integer, minitcond = '1');
CREATE AGGREGATE ag.hrank(VARIADIC "any" ORDER BY VARIADIC "any") (sfunc = ordered_set_transition_multi,
    stype = internal, finalfunc = rank_final, finalfunc_extra, hypothetical);
COMMENT ON AGGREGATE ag.mycount(*) IS 'counts rows, from one';
