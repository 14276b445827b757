"""What the engine records must rebuild the schema exactly (issue 10, section 2): after each
scenario (a corpus file loaded with psql, one captured statement at a time, in one session that
then ends), HEAD's tree holds no object that is gone, ``drift()`` is empty, the live schema is the
fresh load's (without the engine), and ``migration_script(NULL, 'main')`` replayed into an empty
database gives the same ``pg_dump --schema-only``.

* Objects that depend on a temporary object (a domain over a temporary table's row type, a
  function taking one, a domain over such a domain) are dropped by PostgreSQL with it when the
  session ends, with no event trigger to see it: they are never recorded.
* ``REINDEX ... CONCURRENTLY`` (of a table, an index, a schema) gives indexes new addresses under
  the same identities; a later ``DROP`` of them (or of their table) is recorded.

The same files are corpus pairs (``corpus/21_*``, ``corpus/22_*``) for checkout and merge.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pgtools
from merge_support import Repo, install_engine, run_script

CORPUS = Path(__file__).with_name("corpus")

# scenario file -> identities (as tree() lists them) that must not be in HEAD afterwards
SCENARIOS = {
    "21_temp_dependents.before.sql": ["domain c.d_on_temp", "domain c.d_on_d"],
    "21_temp_dependents.after.sql": [],
    "22_reindex_concurrently.before.sql": ["table c.gone", "index c.gone_v_idx", "index c.t_v_lower_idx",
                                           "index rs.u_a_idx"],
    "22_reindex_concurrently.after.sql": ["index rs.u_b_idx"],
    "23_owned_indexes_and_range_constructors.before.sql": ["index oi.t_a_idx", "index oi.t_b_idx", "index oi.p1_b_idx",
                                                           "function oi.floatrange(double precision, double precision)"],
    "23_owned_indexes_and_range_constructors.after.sql": ["index oi.t_b_idx", "index oi.p1_b_idx", "index oi.p1_a_idx"],
    "25_aggregates.before.sql": [],
    "25_aggregates.after.sql": [],
    "26_storage_and_trigger_states.before.sql": [],
    "26_storage_and_trigger_states.after.sql": [],
    "27_collations.before.sql": [],
    "27_collations.after.sql": [],
    "28_statistics.before.sql": [],
    "28_statistics.after.sql": [],
    "29_rules.before.sql": [],
    "29_rules.after.sql": [],
    "30_event_triggers.before.sql": [],
    "30_event_triggers.after.sql": [],
    "31_casts.before.sql": [],
    "31_casts.after.sql": [],
    "31_casts_between_built_in_types.sql": [],
    "32_operators.before.sql": [],
    "32_operators.after.sql": [],
    "33_text_search.before.sql": [],
    "33_text_search.after.sql": [],
    "34_publications.before.sql": [],
    "34_publications.after.sql": [],
    "35_operator_classes.before.sql": [],
    "35_operator_classes.after.sql": [],
    "36_base_types_and_transforms.before.sql": ["function bt.label_in(cstring)", "function bt.label_out(bt.label)",
                                                "function bt.small_in(cstring)", "function bt.small_out(bt.small)"],
    "36_base_types_and_transforms.after.sql": ["function bt.label_in(cstring)", "function bt.label_recv(internal)"],
    "37_foreign_data.before.sql": [],
    "37_foreign_data.after.sql": [],
    "38_subscriptions_access_methods_parsers.before.sql": [],
    "38_subscriptions_access_methods_parsers.after.sql": [],
    "40_partitions_made_then_attached.before.sql": [],
    "40_partitions_made_then_attached.after.sql": [],
    "41_typed_tables.before.sql": [],
    "41_typed_tables.after.sql": [],
    "42_partitioned_index_on_only.before.sql": [],
    "42_partitioned_index_on_only.after.sql": [],
    "43_privileges.before.sql": [],
    "43_privileges.after.sql": [],
}


def fresh_dump(server: pgtools.PgServer, make_db, path: Path) -> str:
    db = make_db()
    server.psql_file(db, path)
    return server.dump_schema(db)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_leaves_no_stale_object_and_rebuilds_exactly(pg_server, make_db, name):
    path = CORPUS / name
    expected = fresh_dump(pg_server, make_db, path)
    db = make_db()
    install_engine(pg_server, db)
    repo = Repo(pg_server, db)
    try:
        pg_server.psql_file(db, path)
        live = repo.dump()
        pgtools.assert_same_dump(expected, live, f"fresh load of {name}", "live with the engine")

        tree = repo.tree("main")
        for gone in SCENARIOS[name]:
            assert gone not in tree, f"{gone} is still in HEAD"
        for identity in tree:
            assert "on_temp" not in identity and "recur" not in identity, f"{identity}: depends on a temporary object"
        assert repo.q("SELECT identity, kind, change FROM pggit.drift()") == []

        (script,) = repo.q("SELECT pggit.migration_script(NULL, 'main')")[0]
        target = make_db()
        run_script(pg_server, target, script or "", f"migration_script(NULL, 'main') of {name}")
        pgtools.assert_same_dump(live, pg_server.dump_schema(target), "live", "replayed migration(NULL, 'main')")
    finally:
        repo.close()


def test_objects_on_a_temporary_table_are_not_recorded_while_the_session_lasts(pg_server, make_db):
    """Within the session, the temporary table and what depends on it exist, yet none of it is
    in HEAD nor shows as drift; objects that merely share the session are recorded."""
    db = make_db()
    install_engine(pg_server, db)
    repo = Repo(pg_server, db)
    try:
        repo.ddl("CREATE TEMP TABLE recur1 (f1 integer, f2 text)",
                 "CREATE DOMAIN public.d AS recur1[]",
                 "CREATE FUNCTION public.f(recur1) RETURNS integer LANGUAGE sql AS 'SELECT $1.f1'",
                 "CREATE FUNCTION public.g(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1'",
                 "CREATE DOMAIN public.pos AS integer CHECK (VALUE > 0)")
        tree = repo.tree("main")
        assert "function public.g(integer)" in tree and "domain public.pos" in tree
        assert not [i for i in tree if i in ("domain public.d", "function public.f(recur1)") or "recur1" in i]
        assert repo.q("SELECT identity FROM pggit.drift()") == []
        repo.ddl("DROP TABLE recur1 CASCADE")
        assert repo.q("SELECT identity FROM pggit.drift()") == []
        assert set(repo.tree("main")) == set(tree)
    finally:
        repo.close()


def test_drop_after_reindex_concurrently_is_recorded(pg_server, make_db):
    """REINDEX CONCURRENTLY (table, index, schema) then DROP: each drop removes the index from
    HEAD, in the same commit as the statement that dropped it."""
    db = make_db()
    install_engine(pg_server, db)
    repo = Repo(pg_server, db)
    try:
        repo.ddl("CREATE SCHEMA s", "CREATE TABLE s.t (a integer, b integer, c integer)",
                 "CREATE INDEX t_a ON s.t (a)", "CREATE INDEX t_b ON s.t (b)", "CREATE INDEX t_c ON s.t (c)",
                 "CREATE TABLE s.x (a integer)", "CREATE INDEX x_a ON s.x (a)")
        assert {"index s.t_a", "index s.t_b", "index s.t_c", "index s.x_a"} <= set(repo.tree("main"))
        for reindex, drop, gone in (
            ("REINDEX INDEX CONCURRENTLY s.t_a", "DROP INDEX s.t_a", {"index s.t_a"}),
            ("REINDEX TABLE CONCURRENTLY s.t", "DROP INDEX s.t_b", {"index s.t_b"}),
            ("REINDEX SCHEMA CONCURRENTLY s", "DROP TABLE s.t", {"index s.t_c", "table s.t"}),
            ("REINDEX TABLE CONCURRENTLY s.x", "ALTER INDEX s.x_a RENAME TO x_a2", {"index s.x_a"}),
        ):
            repo.ddl(reindex)
            assert repo.q("SELECT identity FROM pggit.drift()") == [], reindex
            before = repo.commits()
            repo.ddl(drop)
            assert repo.commits() == before + 1, drop
            assert not gone & set(repo.tree("main")), f"{reindex}; {drop}: {gone & set(repo.tree('main'))} still in HEAD"
            assert repo.q("SELECT identity FROM pggit.drift()") == [], drop
        assert "index s.x_a2" in repo.tree("main")
        # the live map follows the index's address: dropping it later is recorded too
        repo.ddl("DROP INDEX s.x_a2")
        assert "index s.x_a2" not in repo.tree("main")
        assert repo.q("SELECT identity FROM pggit.drift()") == []
    finally:
        repo.close()
