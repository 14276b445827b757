-- Typed tables (CREATE TABLE ... OF type) stay typed: their columns follow the type's
-- attributes (ALTER TYPE ... CASCADE), their defaults and NOT NULL are their own.
CREATE SCHEMA ty;
CREATE TYPE ty.person AS (name text, age integer);
CREATE TABLE ty.people OF ty.person (PRIMARY KEY (name), age WITH OPTIONS DEFAULT 3);
CREATE TABLE ty.plain_people (name text, age integer);
-- rows: INSERT INTO ty.people VALUES ('Ann', 30)
