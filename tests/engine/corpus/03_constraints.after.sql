CREATE SCHEMA c;
CREATE TABLE c.parent (
    id integer PRIMARY KEY,
    code text,
    region text NOT NULL DEFAULT 'eu',
    CONSTRAINT parent_code_region_key UNIQUE (code, region)
);
CREATE TABLE c.child (
    id integer,
    parent_id integer,
    qty integer CONSTRAINT child_qty_nonneg CHECK (qty >= 0),
    during tsrange,
    CONSTRAINT child_pkey PRIMARY KEY (id),
    CONSTRAINT child_parent_fkey FOREIGN KEY (parent_id) REFERENCES c.parent (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE c.child ADD CONSTRAINT child_during_check CHECK (NOT isempty(during)) NOT VALID;
CREATE TABLE c.other (a integer, b integer, CONSTRAINT other_pkey PRIMARY KEY (a, b));
CREATE TABLE c.grandchild (
    id integer PRIMARY KEY,
    a integer, b integer,
    CONSTRAINT grandchild_other_fkey FOREIGN KEY (a, b) REFERENCES c.other (a, b) ON UPDATE CASCADE ON DELETE SET NULL
);
COMMENT ON CONSTRAINT child_qty_nonneg ON c.child IS 'zero allowed now';
-- rows: INSERT INTO c.parent VALUES (1, 'A', 'eu'), (2, 'B', 'us')
-- rows: INSERT INTO c.child VALUES (10, 1, 5, '[2025-01-01,2025-02-01)')
-- rows: INSERT INTO c.other VALUES (1, 2)
