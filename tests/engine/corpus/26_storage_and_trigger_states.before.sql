-- Column storage and compression, TOAST storage parameters, and a partition's clone of its
-- parent's trigger enabled otherwise than the parent's.
CREATE SCHEMA st;
CREATE TABLE st.t (id integer PRIMARY KEY, a text, b text, c bytea);
ALTER TABLE st.t ALTER COLUMN a SET COMPRESSION pglz;
ALTER TABLE st.t ALTER COLUMN b SET STORAGE EXTERNAL;
ALTER TABLE st.t SET (toast.autovacuum_enabled = false, fillfactor = 70);
CREATE TABLE st.tp (a integer) PARTITION BY RANGE (a);
CREATE TABLE st.tp1 PARTITION OF st.tp FOR VALUES FROM (0) TO (10);
CREATE TABLE st.tp2 PARTITION OF st.tp FOR VALUES FROM (10) TO (20);
CREATE FUNCTION st.trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER tt BEFORE INSERT ON st.tp FOR EACH ROW EXECUTE FUNCTION st.trg();
ALTER TABLE st.tp1 DISABLE TRIGGER tt;
-- rows: INSERT INTO st.t VALUES (1, 'a', 'b', '\x00')
