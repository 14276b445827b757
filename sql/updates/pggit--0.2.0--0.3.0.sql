-- pgGit 0.2.0 -> 0.3.0: new function pggit.drift() (live catalog compared with HEAD's tree).
-- Functions are re-created from the sources by the installer; no table changes.
SELECT 1;
