-- Operator classes and families are objects (operator class s.name using am): an index using a
-- class is made after it and made again when it is; a family holds the operators and functions
-- added to it on their own.
CREATE SCHEMA oc;
CREATE FUNCTION oc.abs_lt(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT abs($1) < abs($2)';
CREATE FUNCTION oc.abs_le(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT abs($1) <= abs($2)';
CREATE FUNCTION oc.abs_eq(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT abs($1) = abs($2)';
CREATE FUNCTION oc.abs_ge(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT abs($1) >= abs($2)';
CREATE FUNCTION oc.abs_gt(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT abs($1) > abs($2)';
CREATE FUNCTION oc.abs_cmp(integer, integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT CASE WHEN abs($1) < abs($2) THEN -1 WHEN abs($1) > abs($2) THEN 1 ELSE 0 END';
CREATE OPERATOR oc.<# (LEFTARG = integer, RIGHTARG = integer, FUNCTION = oc.abs_lt);
CREATE OPERATOR oc.<=# (LEFTARG = integer, RIGHTARG = integer, FUNCTION = oc.abs_le);
CREATE OPERATOR oc.=# (LEFTARG = integer, RIGHTARG = integer, FUNCTION = oc.abs_eq);
CREATE OPERATOR oc.>=# (LEFTARG = integer, RIGHTARG = integer, FUNCTION = oc.abs_ge);
CREATE OPERATOR oc.># (LEFTARG = integer, RIGHTARG = integer, FUNCTION = oc.abs_gt);
CREATE OPERATOR FAMILY oc.abs_fam USING btree;
CREATE OPERATOR CLASS oc.abs_ops FOR TYPE integer USING btree FAMILY oc.abs_fam AS
    OPERATOR 1 oc.<#, OPERATOR 2 oc.<=#, OPERATOR 3 oc.=#, OPERATOR 4 oc.>=#, OPERATOR 5 oc.>#,
    FUNCTION 1 oc.abs_cmp(integer, integer);
CREATE OPERATOR FAMILY oc.int_fam USING btree;
CREATE OPERATOR CLASS oc.int_plain FOR TYPE integer USING btree FAMILY oc.int_fam AS
    OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 btint4cmp(integer, integer);
ALTER OPERATOR FAMILY oc.int_fam USING btree ADD OPERATOR 3 = (integer, bigint), FUNCTION 1 (integer, bigint) btint48cmp(integer, bigint);
COMMENT ON OPERATOR FAMILY oc.int_fam USING btree IS 'integers';
CREATE OPERATOR CLASS oc.text_hash FOR TYPE text USING hash AS OPERATOR 1 =, FUNCTION 1 hashtext(text);
CREATE TABLE oc.t (id integer PRIMARY KEY, v integer, s text);
CREATE INDEX t_v_abs ON oc.t (v oc.abs_ops);
CREATE INDEX t_v_plain ON oc.t (v oc.int_plain);
-- rows: INSERT INTO oc.t VALUES (1, -3, 'a')
