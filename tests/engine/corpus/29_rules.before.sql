-- Rules other than a view's own are objects of their own (rule name on table): created after
-- what they name, dropped and made again when they change; their enabled state is kept.
CREATE SCHEMA ru;
CREATE TABLE ru.items (id integer PRIMARY KEY, name text);
CREATE TABLE ru.log (id integer, what text);
CREATE RULE items_log AS ON INSERT TO ru.items DO ALSO INSERT INTO ru.log VALUES (NEW.id, 'insert');
CREATE RULE items_no_delete AS ON DELETE TO ru.items DO INSTEAD NOTHING;
ALTER TABLE ru.items DISABLE RULE items_no_delete;
COMMENT ON RULE items_log ON ru.items IS 'audit inserts';
CREATE VIEW ru.named AS SELECT id, name FROM ru.items;
CREATE RULE named_insert AS ON INSERT TO ru.named DO INSTEAD INSERT INTO ru.items VALUES (NEW.id, NEW.name);
-- rows: INSERT INTO ru.items VALUES (1, 'x')
