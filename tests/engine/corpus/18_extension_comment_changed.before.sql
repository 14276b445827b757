-- Only the comment of an extension whose type a table uses changes.
CREATE SCHEMA ext;
CREATE EXTENSION citext WITH SCHEMA ext;
CREATE SCHEMA c;
CREATE TABLE c.users (id integer PRIMARY KEY, login ext.citext NOT NULL);
-- rows: INSERT INTO c.users VALUES (1, 'Ann')
