-- Base types are objects with their input, output, receive and send functions, made as pg_dump
-- makes them (the shell, the functions, the type); transforms are objects (transform for type
-- language lang), made after their functions.
CREATE SCHEMA bt;
CREATE TYPE bt.label;
CREATE FUNCTION bt.label_in(cstring) RETURNS bt.label LANGUAGE internal IMMUTABLE STRICT AS 'textin';
CREATE FUNCTION bt.label_out(bt.label) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'textout';
CREATE FUNCTION bt.label_recv(internal) RETURNS bt.label LANGUAGE internal IMMUTABLE STRICT AS 'textrecv';
CREATE FUNCTION bt.label_send(bt.label) RETURNS bytea LANGUAGE internal IMMUTABLE STRICT AS 'textsend';
CREATE TYPE bt.label (INPUT = bt.label_in, OUTPUT = bt.label_out, RECEIVE = bt.label_recv, SEND = bt.label_send,
                      LIKE = text, CATEGORY = 'S', COLLATABLE = true, DEFAULT = 'none');
COMMENT ON FUNCTION bt.label_in(cstring) IS 'reads a label';
CREATE FUNCTION bt.label_from_sql(internal) RETURNS internal LANGUAGE internal IMMUTABLE STRICT AS 'int4recv';
CREATE TRANSFORM FOR bt.label LANGUAGE sql (FROM SQL WITH FUNCTION bt.label_from_sql(internal));
COMMENT ON TRANSFORM FOR bt.label LANGUAGE sql IS 'one way';
CREATE TABLE bt.t (id integer PRIMARY KEY, l bt.label);
CREATE TABLE bt.kept (id integer PRIMARY KEY);
-- rows: INSERT INTO bt.kept VALUES (1)
