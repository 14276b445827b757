-- Indexes that become part of another object (a primary key or unique constraint made USING
-- INDEX, a partition's index attached to its parent's by ATTACH PARTITION) no longer stand for
-- themselves; the functions CREATE TYPE ... AS RANGE makes belong to the type.
CREATE SCHEMA oi;
CREATE TYPE oi.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE TABLE oi.t (a integer NOT NULL, b integer, r oi.floatrange);
CREATE UNIQUE INDEX t_a_idx ON oi.t (a);
ALTER TABLE oi.t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_a_idx;
CREATE UNIQUE INDEX t_b_idx ON oi.t (b);
ALTER TABLE oi.t ADD CONSTRAINT t_b_key UNIQUE USING INDEX t_b_idx;
CREATE TABLE oi.p (a integer, b integer) PARTITION BY RANGE (a);
CREATE TABLE oi.p1 (a integer, b integer);
CREATE INDEX p1_b_idx ON oi.p1 (b);
CREATE INDEX p_b_idx ON oi.p (b);
ALTER TABLE oi.p ATTACH PARTITION oi.p1 FOR VALUES FROM (0) TO (10);
CREATE TABLE oi.p2 PARTITION OF oi.p FOR VALUES FROM (10) TO (20);
-- rows: INSERT INTO oi.t (a, b, r) VALUES (1, 2, '[1,2)')
