-- pgGit 0.4.0 -> 0.5.0: fidelity fixes in functions only (range constructors belong to their
-- type; indexes absorbed by a constraint or attached to a parent's index leave the live map;
-- columns retyped between user types go through text; more lossless widenings; collations are
-- tracked; aggregates, storage and trigger states described fully). No table
-- changes: the installer re-creates the functions from the sources.
SELECT 1;
