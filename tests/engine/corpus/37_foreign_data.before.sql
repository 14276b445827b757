CREATE SCHEMA fd;
CREATE FOREIGN DATA WRAPPER fd_plain;
CREATE FOREIGN DATA WRAPPER fd_opts OPTIONS (debug 'true');
CREATE SERVER fd_one FOREIGN DATA WRAPPER fd_plain OPTIONS (host 'db1', port '5432');
CREATE SERVER fd_two TYPE 'archive' VERSION '1.0' FOREIGN DATA WRAPPER fd_opts;
CREATE USER MAPPING FOR PUBLIC SERVER fd_one OPTIONS (user 'reader');
CREATE FOREIGN TABLE fd.remote_orders (
    id integer NOT NULL,
    total numeric(10,2) OPTIONS (column_name 'amount'),
    note text COLLATE "C" DEFAULT 'none',
    CONSTRAINT remote_orders_total_check CHECK (total >= 0)
) SERVER fd_one OPTIONS (table_name 'orders');
COMMENT ON FOREIGN TABLE fd.remote_orders IS 'orders on db1';
COMMENT ON COLUMN fd.remote_orders.note IS 'free text';
CREATE FOREIGN TABLE fd.gone (a integer) SERVER fd_two;
CREATE TABLE fd.local (id integer PRIMARY KEY);
-- rows: INSERT INTO fd.local VALUES (1)
