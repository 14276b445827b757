-- Access methods (and the one a table is made with), text search parsers and templates, and subscriptions (without the
-- connection's password; made disabled, without connecting) are objects.
CREATE SCHEMA sa;
CREATE ACCESS METHOD sa_heap TYPE TABLE HANDLER heap_tableam_handler;
CREATE ACCESS METHOD sa_index TYPE INDEX HANDLER hashhandler;
CREATE TEXT SEARCH PARSER sa.words (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype,
                                    HEADLINE = prsd_headline);
COMMENT ON TEXT SEARCH PARSER sa.words IS 'the default parser again';
CREATE TEXT SEARCH TEMPLATE sa.simple_tpl (LEXIZE = dsimple_lexize);
CREATE TEXT SEARCH DICTIONARY sa.plain (TEMPLATE = sa.simple_tpl);
CREATE TEXT SEARCH CONFIGURATION sa.cfg (PARSER = sa.words);
ALTER TEXT SEARCH CONFIGURATION sa.cfg ADD MAPPING FOR word, asciiword WITH sa.plain;
CREATE SUBSCRIPTION sa_sub CONNECTION 'host=publisher.invalid dbname=shop user=replicator' PUBLICATION orders_out, refunds_out
    WITH (connect = false, slot_name = 'sa_sub_slot', binary = true);
CREATE SUBSCRIPTION sa_other CONNECTION 'host=publisher.invalid dbname=shop' PUBLICATION p WITH (connect = false, slot_name = NONE);
CREATE TABLE sa.t (id integer PRIMARY KEY);
CREATE TABLE sa.h (id integer);
CREATE TABLE sa.h2 (id integer) USING sa_heap;
-- rows: INSERT INTO sa.t VALUES (1)
-- rows: INSERT INTO sa.h VALUES (1)
