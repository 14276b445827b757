-- Types: enums (labels added, reordered), composite types, domains, range types.
CREATE SCHEMA c;
CREATE TYPE c.status AS ENUM ('new', 'paid', 'shipped');
CREATE TYPE c.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE c.addr AS (street text, city text, zip character varying(10));
CREATE DOMAIN c.money_pos AS numeric(12,2) NOT NULL DEFAULT 0 CONSTRAINT money_pos_check CHECK (VALUE >= 0);
CREATE DOMAIN c.code AS text CONSTRAINT code_len CHECK (length(VALUE) = 4);
CREATE TYPE c.floatrange AS RANGE (subtype = double precision, subtype_diff = float8mi);
CREATE TYPE c.gone_type AS ENUM ('x');
CREATE TABLE c.orders (id integer PRIMARY KEY, status c.status NOT NULL DEFAULT 'new', mood c.mood,
                       ship_to c.addr, total c.money_pos, code c.code, temp c.floatrange);
-- rows: INSERT INTO c.orders VALUES (1, 'paid', 'ok', ROW('Main St', 'Oslo', '0150'), 10, 'ABCD', '[1,2)')
