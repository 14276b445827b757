CREATE SCHEMA rt;
CREATE TYPE rt.e1 AS ENUM ('a', 'b');
CREATE TYPE rt.e2 AS ENUM ('a', 'b', 'c');
CREATE DOMAIN rt.d1 AS integer CHECK (VALUE > 0);
CREATE DOMAIN rt.d2 AS integer CHECK (VALUE > -10);
CREATE TABLE rt.t (x rt.e2, xs rt.e2[], d rt.d2, i text, v text, s bigint);
-- rows: INSERT INTO rt.t VALUES ('a', '{a,b}', 1, '1', 'v', 1)
