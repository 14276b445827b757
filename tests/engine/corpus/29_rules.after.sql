CREATE SCHEMA ru;
CREATE TABLE ru.items (id integer PRIMARY KEY, name text);
CREATE TABLE ru.log (id integer, what text);
CREATE RULE items_log AS ON INSERT TO ru.items DO ALSO INSERT INTO ru.log VALUES (NEW.id, 'insert: ' || NEW.name);
CREATE RULE items_no_update AS ON UPDATE TO ru.items WHERE OLD.id = 0 DO INSTEAD NOTHING;
ALTER TABLE ru.items ENABLE ALWAYS RULE items_no_update;
CREATE VIEW ru.named AS SELECT id, name FROM ru.items;
CREATE RULE named_insert AS ON INSERT TO ru.named DO INSTEAD INSERT INTO ru.items VALUES (NEW.id, NEW.name);
COMMENT ON RULE named_insert ON ru.named IS 'the view takes inserts';
-- rows: INSERT INTO ru.items VALUES (1, 'x')
