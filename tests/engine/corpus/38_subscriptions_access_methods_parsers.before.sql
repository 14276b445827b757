CREATE SCHEMA sa;
CREATE ACCESS METHOD sa_heap TYPE TABLE HANDLER heap_tableam_handler;
CREATE ACCESS METHOD sa_index TYPE INDEX HANDLER bthandler;
COMMENT ON ACCESS METHOD sa_index IS 'a btree by another name';
CREATE TEXT SEARCH PARSER sa.words (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype);
CREATE TEXT SEARCH TEMPLATE sa.simple_tpl (INIT = dsimple_init, LEXIZE = dsimple_lexize);
CREATE TEXT SEARCH DICTIONARY sa.plain (TEMPLATE = sa.simple_tpl);
CREATE TEXT SEARCH CONFIGURATION sa.cfg (PARSER = sa.words);
ALTER TEXT SEARCH CONFIGURATION sa.cfg ADD MAPPING FOR word WITH sa.plain;
CREATE SUBSCRIPTION sa_sub CONNECTION 'host=publisher.invalid dbname=shop' PUBLICATION orders_out
    WITH (connect = false, slot_name = NONE);
CREATE TABLE sa.t (id integer PRIMARY KEY);
CREATE TABLE sa.h (id integer) USING sa_heap;
-- rows: INSERT INTO sa.t VALUES (1)
-- rows: INSERT INTO sa.h VALUES (1)
