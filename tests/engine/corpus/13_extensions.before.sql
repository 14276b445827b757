-- Extensions in schemas of their own, and objects using their types and operator classes.
CREATE SCHEMA ext;
CREATE EXTENSION citext WITH SCHEMA ext;
CREATE EXTENSION hstore WITH SCHEMA ext;
CREATE SCHEMA c;
CREATE TABLE c.users (id integer PRIMARY KEY, login ext.citext NOT NULL UNIQUE);
CREATE DOMAIN c.login AS ext.citext CHECK (length(VALUE::text) > 2);
CREATE TABLE c.profiles (id integer PRIMARY KEY, attrs ext.hstore);
-- rows: INSERT INTO c.users VALUES (1, 'Ann')
