CREATE SCHEMA et;
CREATE FUNCTION et.note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE DEBUG 'ddl: %', tg_tag;
END $$;
CREATE FUNCTION et.note_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE DEBUG 'dropped by %', tg_tag;
END $$;
CREATE TABLE et.t (id integer PRIMARY KEY);
CREATE EVENT TRIGGER et_note_tables ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'DROP TABLE')
    EXECUTE FUNCTION et.note_ddl();
CREATE EVENT TRIGGER et_note_drops ON sql_drop EXECUTE FUNCTION et.note_drop();
ALTER EVENT TRIGGER et_note_drops ENABLE ALWAYS;
-- rows: INSERT INTO et.t VALUES (1)
