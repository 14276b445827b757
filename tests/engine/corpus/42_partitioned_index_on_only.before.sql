-- An index made ON ONLY a partitioned table, not valid while a partition lacks its own, is made
-- again that way, with the partitions' indexes attached to it (not for every partition).
CREATE SCHEMA oo;
CREATE TABLE oo.p (a integer, b integer) PARTITION BY RANGE (a);
CREATE TABLE oo.p1 (a integer, b integer);
ALTER TABLE oo.p ATTACH PARTITION oo.p1 FOR VALUES FROM (0) TO (10);
CREATE INDEX p_a_idx ON ONLY oo.p (a);
CREATE TABLE oo.p2 PARTITION OF oo.p FOR VALUES FROM (10) TO (20);
CREATE INDEX p_b_idx ON oo.p (b);
-- rows: INSERT INTO oo.p VALUES (1, 1), (11, 11)
