CREATE SCHEMA co;
CREATE COLLATION co.posix_order (provider = libc, lc_collate = 'POSIX', lc_ctype = 'C');
CREATE TABLE co.names (id integer PRIMARY KEY, a text, b text COLLATE co.posix_order);
-- rows: INSERT INTO co.names VALUES (1, 'x', 'y')
