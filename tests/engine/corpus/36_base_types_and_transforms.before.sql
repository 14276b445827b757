CREATE SCHEMA bt;
CREATE TYPE bt.label;
CREATE FUNCTION bt.label_in(cstring) RETURNS bt.label LANGUAGE internal IMMUTABLE STRICT AS 'textin';
CREATE FUNCTION bt.label_out(bt.label) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'textout';
CREATE TYPE bt.label (INPUT = bt.label_in, OUTPUT = bt.label_out, LIKE = text);
COMMENT ON TYPE bt.label IS 'a text of its own';
CREATE TYPE bt.small;
CREATE FUNCTION bt.small_in(cstring) RETURNS bt.small LANGUAGE internal IMMUTABLE STRICT AS 'int4in';
CREATE FUNCTION bt.small_out(bt.small) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'int4out';
CREATE TYPE bt.small (INPUT = bt.small_in, OUTPUT = bt.small_out, INTERNALLENGTH = 4, PASSEDBYVALUE, ALIGNMENT = int4);
CREATE FUNCTION bt.label_from_sql(internal) RETURNS internal LANGUAGE internal IMMUTABLE STRICT AS 'int4recv';
CREATE FUNCTION bt.label_to_sql(internal) RETURNS bt.label LANGUAGE internal IMMUTABLE STRICT AS 'textrecv';
CREATE TRANSFORM FOR bt.label LANGUAGE sql (FROM SQL WITH FUNCTION bt.label_from_sql(internal), TO SQL WITH FUNCTION bt.label_to_sql(internal));
CREATE TABLE bt.t (id integer PRIMARY KEY, l bt.label, s bt.small);
CREATE TABLE bt.kept (id integer PRIMARY KEY);
-- rows: INSERT INTO bt.kept VALUES (1)
