"""Property test: hostile identifiers (the strategies of test_identifier_fuzz: quotes, spaces,
unicode, semicolons, SQL keywords, up to 63 bytes) as schema, table, column, view and branch
names through branch, switch, merge (union, with a clash resolved by hand) and fast-forward.

Each example, on one live database per server (reused; every example drops what it made):
main gets a schema with two tables (a row in each); branch B (a drawn name) adds a column to each
table, changes a default and adds a view; main adds other columns and changes the same default.
Merging B into main with ``union`` merges the second table column by column and leaves the first
open (the same column's default changed two ways); resolving it with ``source`` completes the
merge. Checked: the open item's identity and error quote the names exactly, the merged trees,
the live columns and rows, the live schema against a replica built by replaying
``migration_script(NULL, 'main')``, and a fast-forward of B that leaves the live schema alone.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from psycopg import sql

import pgtools
from merge_support import Repo, install_engine, run_script
from test_identifier_fuzz import _schema_ok, branch_names, object_names


@st.composite
def merge_name_sets(draw):
    schema = draw(object_names.filter(_schema_ok))
    relations = draw(st.lists(object_names, min_size=3, max_size=3, unique=True))  # table 1, table 2, view
    columns = draw(st.lists(object_names, min_size=4, max_size=4, unique=True))
    branch = draw(branch_names)
    return schema, relations, columns, branch


class FuzzDbs:
    def __init__(self, server: pgtools.PgServer):
        self.server = server
        self.live = server.create_database()
        self.replica = server.create_database()
        install_engine(server, self.live)
        self.repo = Repo(server, self.live)
        self.replica_conn = server.connect(self.replica)

    def close(self):
        self.repo.close()
        self.replica_conn.close()
        self.server.drop_database(self.live)
        self.server.drop_database(self.replica)


@pytest.fixture(scope="module")
def fuzz_dbs(pg_server):
    dbs = FuzzDbs(pg_server)
    yield dbs
    dbs.close()


@settings(
    max_examples=int(os.environ.get("PGGIT_FUZZ_EXAMPLES", "20")),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
@given(names=merge_name_sets())
def test_hostile_identifiers_through_branch_merge_and_resolve(fuzz_dbs, names):
    schema, (t1, t2, view), (c1, c2, c3, c4), branch = names
    dbs, repo = fuzz_dbs, fuzz_dbs.repo
    S, T1, T2, V = (sql.Identifier(schema), sql.Identifier(schema, t1), sql.Identifier(schema, t2),
                    sql.Identifier(schema, view))
    C1, C2, C3, C4 = map(sql.Identifier, (c1, c2, c3, c4))
    pgtools.reset_database(dbs.replica_conn)
    start = repo.head("main")

    def run(*statements):
        for s in statements:
            repo.conn.execute(s)

    try:
        try:
            run(sql.SQL("CREATE SCHEMA {}").format(S))
            for t in (T1, T2):
                run(sql.SQL("CREATE TABLE {} ({} integer PRIMARY KEY, {} text DEFAULT {})").format(t, C1, C2, sql.Literal(c2)))
        except (psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject):
            assume(False)  # a server-generated name (e.g. "<table>_pkey") clashed with a drawn one
        run(*[sql.SQL("INSERT INTO {} ({}, {}) VALUES (1, {})").format(t, C1, C2, sql.Literal(schema)) for t in (T1, T2)])
        repo.create_branch(branch)
        assert repo.switch(branch) == repo.head("main")
        try:
            run(sql.SQL("ALTER TABLE {} ADD COLUMN {} integer").format(T1, C3),
                sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(T1, C2, sql.Literal("source: " + branch)),
                sql.SQL("ALTER TABLE {} ADD COLUMN {} integer").format(T2, C3),
                sql.SQL("CREATE VIEW {} AS SELECT {}, {} FROM {}").format(V, C1, C3, T1))
        except (psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject):
            repo.switch("main", force=True)
            assume(False)
        repo.switch("main", force=True)
        run(sql.SQL("ALTER TABLE {} ADD COLUMN {} text").format(T1, C4),
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(T1, C2, sql.Literal("target: " + t1)),
            sql.SQL("ALTER TABLE {} ADD COLUMN {} text").format(T2, C4),
            sql.SQL("COMMENT ON TABLE {} IS {}").format(T2, sql.Literal(view)))
        main_head, branch_head = repo.head("main"), repo.head(branch)

        id1, id2, idv = repo.q(
            "SELECT 'table ' || quote_ident(%(s)s) || '.' || quote_ident(%(t1)s),"
            "       'table ' || quote_ident(%(s)s) || '.' || quote_ident(%(t2)s),"
            "       'view ' || quote_ident(%(s)s) || '.' || quote_ident(%(v)s)",
            {"s": schema, "t1": t1, "t2": t2, "v": view})[0]
        (qc2,) = repo.q("SELECT quote_ident(%s)", [c2])[0]
        classes = {r["identity"]: r["conflict_type"] for r in repo.dicts(
            "SELECT * FROM pggit.detect_merge_conflicts(%s, 'main')", [branch])}
        assert classes[id1] == classes[id2] == "BOTH_MODIFIED" and classes[idv] == "SOURCE_MODIFIED"

        m = repo.merge(branch, strategy="union")
        assert m["status"] == "conflicts", m
        assert [c["identity"] for c in m["conflicts"]] == [id1]
        assert m["conflicts"][0]["error"] == f"changed on both sides: column {qc2}"
        items = repo.items(m["merge_id"])
        assert items[id2]["resolution"] == "union" and items[idv]["resolution"] == "auto"
        assert repo.head("main") == main_head

        r = repo.resolve(m["merge_id"], id1, "source")
        assert r["status"] == "merged", r
        assert repo.parents(r["commit_id"]) == [main_head, branch_head]
        tree = repo.tree("main")
        assert tree[id1] == repo.tree(branch)[id1] and tree[idv] == repo.tree(branch)[idv]
        assert tree[id2] == items[id2]["result_definition"]
        assert repo.columns(f"{sql.Identifier(schema, t1).as_string(repo.conn)}") == [c1, c2, c3]
        assert repo.columns(f"{sql.Identifier(schema, t2).as_string(repo.conn)}") == [c1, c2, c4, c3]
        for t in (T1, T2):
            assert repo.q(sql.SQL("SELECT {}, {} FROM {}").format(C1, C2, t)) == [(1, schema)]
        run_script(dbs.server, dbs.replica, repo.one("SELECT pggit.migration_script(NULL, 'main')"), "merged main")
        pgtools.assert_same_dump(dbs.server.dump_schema(dbs.replica), repo.dump(), "replayed main", "live")

        # the hostile-named branch takes main by fast-forward; the live schema does not move
        dump = repo.dump()
        ff = repo.merge("main", branch)
        assert ff["status"] == "fast_forward" and repo.head(branch) == r["commit_id"]
        assert repo.dump() == dump and repo.current() == "main"
        assert branch in repo.heads()
    finally:
        repo.conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(S))
        repo.q("SELECT pggit.delete_branch(name, true) FROM pggit.list_branches() WHERE NOT is_head")
    leftover = [r for r in repo.q("SELECT statement FROM pggit.migration(%s, 'main')", [start])
                if not r[0].lstrip().upper().startswith("SET ")]
    assert leftover == [], "the state after the example equals the state before"
