CREATE SCHEMA pb;
CREATE SCHEMA pb_all;
CREATE TABLE pb.orders (id integer PRIMARY KEY, region text, total numeric);
CREATE TABLE pb.customers (id integer PRIMARY KEY, name text);
CREATE TABLE pb_all.events (id integer PRIMARY KEY);
CREATE PUBLICATION pb_orders FOR TABLE pb.orders WITH (publish = 'insert, update, delete', publish_via_partition_root = true);
CREATE PUBLICATION pb_schema FOR TABLES IN SCHEMA pb_all, TABLE pb.customers;
CREATE PUBLICATION pb_nothing_yet;
ALTER PUBLICATION pb_nothing_yet ADD TABLE pb.customers;
-- rows: INSERT INTO pb.orders VALUES (1, 'eu', 10)
