-- Tables made on their own and attached as partitions keep their own column order, defaults
-- and NOT NULL: they are made again that way and attached, not made with PARTITION OF.
CREATE SCHEMA pa;
CREATE TABLE pa.parent (a integer, b text DEFAULT 'x', c integer) PARTITION BY LIST (a);
CREATE TABLE pa.child (c integer, b text, a integer NOT NULL);
ALTER TABLE pa.parent ATTACH PARTITION pa.child FOR VALUES IN (1);
CREATE TABLE pa.made_as_partition PARTITION OF pa.parent FOR VALUES IN (2);
-- rows: INSERT INTO pa.parent VALUES (1, 'one', 10), (2, 'two', 20)
