-- pgGit 0.2.0 -> 0.3.0: new functions pggit.drift(), migration_review(), object_history(), commit_info() and
-- ahead_behind() (the web app's reads, without granting it the engine's tables).
-- Functions are re-created from the sources by the installer; no table changes.
SELECT 1;
