-- Functions (SQL, PL/pgSQL, BEGIN ATOMIC, overloads, options), procedures, aggregates.
CREATE SCHEMA c;
CREATE TABLE c.t (id integer PRIMARY KEY, amount numeric);
CREATE FUNCTION c.tax(p numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT p * 1.2 $$;
CREATE FUNCTION c.tax(p integer) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN p * 1.2;
CREATE FUNCTION c.total() RETURNS numeric LANGUAGE sql STABLE BEGIN ATOMIC SELECT sum(amount) FROM c.t; END;
CREATE FUNCTION c.kind(p integer) RETURNS integer LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = c COST 50 AS $$
BEGIN
    RETURN p % 2;
END
$$;
CREATE FUNCTION c.rows_of(p integer) RETURNS SETOF c.t LANGUAGE sql STABLE AS $$ SELECT * FROM c.t WHERE id = p $$;
CREATE PROCEDURE c.add(IN p_id integer, IN p_amount numeric DEFAULT 0) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO c.t VALUES (p_id, p_amount);
END
$$;
CREATE FUNCTION c.join_sfunc(s text, v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(s || ',', '') || v $$;
CREATE AGGREGATE c.join_all(text) (SFUNC = c.join_sfunc, STYPE = text);
CREATE FUNCTION c.gone() RETURNS integer LANGUAGE sql AS 'SELECT 1';
-- rows: INSERT INTO c.t VALUES (1, 10)
