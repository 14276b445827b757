-- Foreign data wrappers, servers, user mappings (without their secrets) and foreign tables are
-- objects, made in that order and made again when they change.
CREATE SCHEMA fd;
CREATE FOREIGN DATA WRAPPER fd_plain;
CREATE SERVER fd_one FOREIGN DATA WRAPPER fd_plain OPTIONS (host 'db2', port '5432', dbname 'shop');
COMMENT ON SERVER fd_one IS 'the shop';
CREATE USER MAPPING FOR PUBLIC SERVER fd_one OPTIONS (user 'writer');
CREATE FOREIGN TABLE fd.remote_orders (
    id integer NOT NULL,
    total numeric(12,2) OPTIONS (column_name 'amount'),
    placed date
) SERVER fd_one OPTIONS (table_name 'orders', schema_name 'public');
CREATE TABLE fd.parent (id integer, region text) PARTITION BY LIST (region);
CREATE FOREIGN TABLE fd.parent_eu PARTITION OF fd.parent FOR VALUES IN ('eu') SERVER fd_one OPTIONS (table_name 'eu');
CREATE TABLE fd.local (id integer PRIMARY KEY);
-- rows: INSERT INTO fd.local VALUES (1)
