-- pgGit 0.4.0 -> 0.5.0: fidelity fixes (range constructors belong to their
-- type; indexes absorbed by a constraint or attached to a parent's index leave the live map;
-- columns retyped between user types go through text; more lossless widenings; collations,
-- statistics, rules, event triggers, casts, operators, text search dictionaries and
-- configurations and publications are tracked; aggregates, storage and trigger states described fully; renames kept as renames:
-- descriptions carry their lineage, found by the index below). The installer re-creates the
-- functions from the sources.
CREATE INDEX blobs_lineage_origin ON pggit.blobs ((detail->'lineage'->>'origin')) WHERE detail ? 'lineage';
-- migration() gains a reason per step (a new OUT column: CREATE OR REPLACE cannot add it)
DROP FUNCTION IF EXISTS pggit.migration(text, text);
