-- A column that a generated column uses changes type (PostgreSQL refuses ALTER COLUMN TYPE on it).
CREATE SCHEMA c;
CREATE TABLE c.t (id integer PRIMARY KEY, price numeric(10,2), total numeric GENERATED ALWAYS AS (price * 2) STORED);
-- rows: INSERT INTO c.t (id, price) VALUES (1, 2.50)
