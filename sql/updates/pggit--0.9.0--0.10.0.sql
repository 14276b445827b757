-- pgGit 0.9.0 -> 0.10.0. The installer re-creates the functions from the sources after this
-- script; table, index, type and trigger changes of 0.10.0 are below.
-- object_history pages (p_limit, p_offset) and returns total: a new signature and return type
DROP FUNCTION IF EXISTS pggit.object_history(text, text);

-- Blobs are compressed with lz4 where the server has it (a wide table's description is large, and
-- every statement on the table writes one; lz4 writes it several times faster than pglz). Blobs
-- written before keep their compression; both are read alike.
DO $$
BEGIN
    ALTER TABLE pggit.blobs ALTER COLUMN definition SET COMPRESSION lz4, ALTER COLUMN detail SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;  -- (a server built without lz4 keeps pglz)
END $$;
