CREATE SCHEMA pa;
CREATE TABLE pa.parent (a integer, b text DEFAULT 'x', c integer) PARTITION BY LIST (a);
CREATE TABLE pa.child (c integer, b text, a integer NOT NULL);
ALTER TABLE pa.parent ATTACH PARTITION pa.child FOR VALUES IN (1);
CREATE TABLE pa.made_as_partition PARTITION OF pa.parent FOR VALUES IN (2);
CREATE TABLE pa.late (b text DEFAULT 'late', a integer, c integer);
ALTER TABLE pa.parent ATTACH PARTITION pa.late FOR VALUES IN (3);
-- (PostgreSQL 18: NOT NULL constraint names of their own, or the parent's through PARTITION OF)
CREATE TABLE pa.np (a integer CONSTRAINT np_a_named NOT NULL, b integer NOT NULL, c integer) PARTITION BY LIST (a);
CREATE TABLE pa.np1 PARTITION OF pa.np FOR VALUES IN (1);
CREATE TABLE pa.np2 (a integer CONSTRAINT np2_own_a NOT NULL, b integer CONSTRAINT np2_own_b NOT NULL, c integer);
ALTER TABLE pa.np ATTACH PARTITION pa.np2 FOR VALUES IN (2);
-- rows: INSERT INTO pa.parent VALUES (1, 'one', 10), (2, 'two', 20)
