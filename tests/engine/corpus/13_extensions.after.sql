CREATE SCHEMA ext;
CREATE EXTENSION citext WITH SCHEMA ext;
CREATE EXTENSION btree_gist WITH SCHEMA ext;
CREATE SCHEMA c;
CREATE TABLE c.users (id integer PRIMARY KEY, login ext.citext NOT NULL UNIQUE, nick text);
CREATE TABLE c.rooms (room integer, during tsrange,
                      CONSTRAINT rooms_no_double_booking EXCLUDE USING gist (room WITH =, during WITH &&));
COMMENT ON EXTENSION btree_gist IS 'for the exclusion constraint';
-- rows: INSERT INTO c.users VALUES (1, 'Ann', 'a')
