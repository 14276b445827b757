-- Operators are objects (operator schema.name(left, right)): created after their function and
-- types, dropped and made again when they change. An operator naming another as COMMUTATOR or
-- NEGATOR before it exists makes a shell, defined by the later CREATE OPERATOR.
CREATE SCHEMA op;
CREATE TYPE op.pt AS (x integer, y integer);
CREATE FUNCTION op.pt_eq(op.pt, op.pt) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1.x = $2.x AND $1.y = $2.y $$;
CREATE FUNCTION op.pt_ne(op.pt, op.pt) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT NOT ($1.x = $2.x AND $1.y = $2.y) $$;
CREATE FUNCTION op.pt_neg(op.pt) RETURNS op.pt LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(-$1.x, -$1.y)::op.pt $$;
CREATE OPERATOR op.=== (LEFTARG = op.pt, RIGHTARG = op.pt, FUNCTION = op.pt_eq, COMMUTATOR = OPERATOR(op.===),
                        NEGATOR = OPERATOR(op.!==), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR op.!== (LEFTARG = op.pt, RIGHTARG = op.pt, FUNCTION = op.pt_ne, COMMUTATOR = OPERATOR(op.!==),
                        NEGATOR = OPERATOR(op.===), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR op.~~~ (RIGHTARG = op.pt, FUNCTION = op.pt_neg);
COMMENT ON OPERATOR op.=== (op.pt, op.pt) IS 'same point';
CREATE VIEW op.same AS SELECT ROW(1, 2)::op.pt OPERATOR(op.===) ROW(1, 2)::op.pt AS same;
CREATE TABLE op.t (id integer PRIMARY KEY, p op.pt);
-- rows: INSERT INTO op.t VALUES (1, ROW(1, 2))
