-- (a scenario of test_fidelity only: a cast between built-in types is not in a schema, so the
-- corpus's checkout test, which drops every user schema, would leave it behind.) A cast a user
-- made between built-in types is tracked too; WITHOUT FUNCTION needs binary-compatible types.
CREATE CAST (xid AS integer) WITHOUT FUNCTION AS ASSIGNMENT;
COMMENT ON CAST (xid AS integer) IS 'transaction ids as integers';
CREATE SCHEMA cb;
CREATE FUNCTION cb.half(integer) RETURNS real LANGUAGE sql IMMUTABLE AS $$ SELECT $1 / 2.0 $$;
