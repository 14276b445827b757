-- A column retyped from one enum (or domain) to another goes through text; widenings keep rows.
CREATE SCHEMA rt;
CREATE TYPE rt.e1 AS ENUM ('a', 'b');
CREATE TYPE rt.e2 AS ENUM ('a', 'b', 'c');
CREATE DOMAIN rt.d1 AS integer CHECK (VALUE > 0);
CREATE DOMAIN rt.d2 AS integer CHECK (VALUE > -10);
CREATE TABLE rt.t (x rt.e1, xs rt.e1[], d rt.d1, i integer, v varchar(10), s smallint);
-- rows: INSERT INTO rt.t VALUES ('a', '{a,b}', 1, 1, 'v', 1)
