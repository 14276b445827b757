CREATE SCHEMA op;
CREATE TYPE op.pt AS (x integer, y integer);
CREATE FUNCTION op.pt_eq(op.pt, op.pt) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1.x = $2.x AND $1.y = $2.y $$;
CREATE FUNCTION op.pt_ne(op.pt, op.pt) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT NOT ($1.x = $2.x AND $1.y = $2.y) $$;
CREATE FUNCTION op.pt_lt(op.pt, op.pt) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1.x < $2.x $$;
CREATE OPERATOR op.=== (LEFTARG = op.pt, RIGHTARG = op.pt, FUNCTION = op.pt_eq, COMMUTATOR = OPERATOR(op.===),
                        RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE OPERATOR op.!== (LEFTARG = op.pt, RIGHTARG = op.pt, FUNCTION = op.pt_ne, COMMUTATOR = OPERATOR(op.!==));
CREATE OPERATOR op.<<< (LEFTARG = op.pt, RIGHTARG = op.pt, FUNCTION = op.pt_lt, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR op.<<< (op.pt, op.pt) IS 'left of';
CREATE VIEW op.same AS SELECT ROW(1, 2)::op.pt OPERATOR(op.===) ROW(1, 2)::op.pt AS same;
CREATE TABLE op.t (id integer PRIMARY KEY, p op.pt);
-- rows: INSERT INTO op.t VALUES (1, ROW(1, 2))
