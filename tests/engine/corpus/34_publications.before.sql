-- Publications are objects (publication name, in no schema): their tables (with columns and row
-- filters), schemas and what they publish; made after the tables, made again when they change or
-- when a table of theirs is made again.
CREATE SCHEMA pb;
CREATE SCHEMA pb_all;
CREATE TABLE pb.orders (id integer PRIMARY KEY, region text, total numeric);
CREATE TABLE pb.customers (id integer PRIMARY KEY, name text);
CREATE TABLE pb_all.events (id integer PRIMARY KEY);
CREATE PUBLICATION pb_orders FOR TABLE pb.orders (id, region) WHERE (region <> 'test'), TABLE pb.customers
    WITH (publish = 'insert, update');
CREATE PUBLICATION pb_schema FOR TABLES IN SCHEMA pb_all;
COMMENT ON PUBLICATION pb_schema IS 'everything in pb_all';
CREATE PUBLICATION pb_nothing_yet;
-- rows: INSERT INTO pb.orders VALUES (1, 'eu', 10)
