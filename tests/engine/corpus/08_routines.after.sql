CREATE SCHEMA c;
CREATE TABLE c.t (id integer PRIMARY KEY, amount numeric);
CREATE FUNCTION c.tax(p numeric) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT p * 1.25 $$;
CREATE FUNCTION c.total() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM c.t; END;
CREATE FUNCTION c.kind(p integer) RETURNS integer LANGUAGE plpgsql STRICT SET search_path = c COST 10 AS $$
BEGIN
    RETURN p % 3;
END
$$;
CREATE FUNCTION c.rows_of(p integer) RETURNS SETOF c.t LANGUAGE sql STABLE AS $$ SELECT * FROM c.t WHERE id >= p $$;
CREATE PROCEDURE c.add(IN p_id integer, IN p_amount numeric DEFAULT 1) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO c.t VALUES (p_id, p_amount * 2);
END
$$;
CREATE FUNCTION c.join_sfunc(s text, v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(s || ';', '') || v $$;
CREATE AGGREGATE c.join_all(text) (SFUNC = c.join_sfunc, STYPE = text, INITCOND = '');
CREATE FUNCTION c.added(VARIADIC p integer[]) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT array_length(p, 1) $$;
COMMENT ON FUNCTION c.added(integer[]) IS 'counts its arguments';
-- rows: INSERT INTO c.t VALUES (1, 10)
