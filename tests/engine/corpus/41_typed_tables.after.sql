CREATE SCHEMA ty;
CREATE TYPE ty.person AS (name text, age integer, email text);
CREATE TABLE ty.people OF ty.person (PRIMARY KEY (name), email WITH OPTIONS DEFAULT 'none');
CREATE TABLE ty.plain_people (name text, age integer, email text);
ALTER TABLE ty.plain_people OF ty.person;
-- rows: INSERT INTO ty.people VALUES ('Ann', 30)
