-- Event triggers of users are objects (event trigger name): no event trigger sees them made,
-- altered or dropped, so the engine reads them from the catalog before each captured statement
-- and each read of history. Created after the function they run; their enabled state is kept.
CREATE SCHEMA et;
CREATE FUNCTION et.note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE DEBUG 'ddl: %', tg_tag;
END $$;
CREATE EVENT TRIGGER et_note_tables ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION et.note_ddl();
CREATE EVENT TRIGGER et_note_all ON ddl_command_start EXECUTE FUNCTION et.note_ddl();
ALTER EVENT TRIGGER et_note_all DISABLE;
COMMENT ON EVENT TRIGGER et_note_tables IS 'notes table changes';
CREATE TABLE et.t (id integer PRIMARY KEY);
-- rows: INSERT INTO et.t VALUES (1)
