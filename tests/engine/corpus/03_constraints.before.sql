-- Constraints: primary key, unique, foreign keys, check, exclusion, NOT VALID, deferrable.
CREATE SCHEMA c;
CREATE TABLE c.parent (
    id integer PRIMARY KEY,
    code text CONSTRAINT parent_code_key UNIQUE,
    region text NOT NULL DEFAULT 'eu'
);
CREATE TABLE c.child (
    id integer PRIMARY KEY,
    parent_id integer REFERENCES c.parent (id),
    qty integer CONSTRAINT child_qty_check CHECK (qty > 0),
    during tsrange,
    CONSTRAINT child_no_overlap EXCLUDE USING gist (during WITH &&)
);
CREATE TABLE c.other (a integer, b integer, CONSTRAINT other_ab_key UNIQUE (a, b));
-- rows: INSERT INTO c.parent VALUES (1, 'A', 'eu'), (2, 'B', 'us')
-- rows: INSERT INTO c.child VALUES (10, 1, 5, '[2025-01-01,2025-02-01)')
-- rows: INSERT INTO c.other VALUES (1, 2)
