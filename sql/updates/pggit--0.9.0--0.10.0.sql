-- pgGit 0.9.0 -> 0.10.0. The installer re-creates the functions from the sources after this
-- script; table, index, type and trigger changes of 0.10.0 are below.
-- object_history pages (p_limit, p_offset) and returns total: a new signature and return type
DROP FUNCTION IF EXISTS pggit.object_history(text, text);
