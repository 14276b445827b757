CREATE SCHEMA ext;
CREATE EXTENSION citext WITH SCHEMA ext;
COMMENT ON EXTENSION citext IS 'case-insensitive logins';
CREATE SCHEMA c;
CREATE TABLE c.users (id integer PRIMARY KEY, login ext.citext NOT NULL);
-- rows: INSERT INTO c.users VALUES (1, 'Ann')
