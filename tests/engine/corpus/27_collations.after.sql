CREATE SCHEMA co;
-- (the same name, another definition: made again, the column moved off it and back)
CREATE COLLATION co.bytewise (provider = libc, locale = 'POSIX');
CREATE COLLATION co.posix_order (provider = libc, lc_collate = 'POSIX', lc_ctype = 'C');
CREATE TABLE co.names (id integer PRIMARY KEY, a text COLLATE co.bytewise, b text COLLATE co.posix_order);
-- rows: INSERT INTO co.names VALUES (1, 'x', 'y')
