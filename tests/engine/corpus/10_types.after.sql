CREATE SCHEMA c;
CREATE TYPE c.status AS ENUM ('new', 'paid', 'refunded', 'shipped', 'cancelled');
CREATE TYPE c.mood AS ENUM ('happy', 'ok', 'sad');
CREATE TYPE c.addr AS (street text, city text, zip character varying(10), country text);
CREATE DOMAIN c.money_pos AS numeric(12,2) DEFAULT 1 CONSTRAINT money_pos_check CHECK (VALUE >= 0) CONSTRAINT money_pos_max CHECK (VALUE < 1000000);
CREATE DOMAIN c.code AS text CONSTRAINT code_upper CHECK (VALUE = upper(VALUE));
CREATE TYPE c.floatrange AS RANGE (subtype = double precision, subtype_diff = float8mi);
CREATE TABLE c.orders (id integer PRIMARY KEY, status c.status NOT NULL DEFAULT 'refunded', mood c.mood,
                       ship_to c.addr, total c.money_pos, code c.code, temp c.floatrange);
COMMENT ON TYPE c.status IS 'order life cycle';
COMMENT ON DOMAIN c.code IS 'upper-case code';
-- rows: INSERT INTO c.orders VALUES (1, 'paid', 'ok', ROW('Main St', 'Oslo', '0150', 'NO'), 10, 'ABCD', '[1,2)')
