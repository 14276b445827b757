"""Renames are renames (issue 10, section 4): capture records what an object was called before
(its lineage), and a migration between any two states renames instead of dropping and adding, so
rows are kept: chains of renames, swaps of two names, renames then drops, columns, enum labels,
schemas and SET SCHEMA. Each case checks out both ways on live data and compares the live schema
with a fresh build of the target state.
"""

from __future__ import annotations

import pytest

from merge_support import Repo, install_engine


@pytest.fixture
def repo(pg_server, make_db):
    db = make_db()
    install_engine(pg_server, db)
    r = Repo(pg_server, db)
    yield r
    r.close()


def steps(repo: Repo, a: str, b: str) -> list[str]:
    return [s for (s,) in repo.q("SELECT statement FROM pggit.migration(%s::text, %s::text) ORDER BY step", [a, b])]


def lineage(repo: Repo, identity: str, ref: str = "main"):
    return repo.one("SELECT b.detail->'lineage' FROM pggit.tree(%s::text) t JOIN pggit.blobs b ON b.hash = t.hash"
                    " WHERE t.identity = %s", [ref, identity])


def test_capture_records_lineage_and_drift_ignores_it(repo):
    repo.ddl("CREATE TABLE public.t (id int PRIMARY KEY, name text)",
             "CREATE TYPE public.st AS ENUM ('new', 'paid')",
             "ALTER TABLE public.t RENAME COLUMN name TO full_name",
             "ALTER TABLE public.t RENAME TO clients",
             "ALTER TABLE public.clients RENAME COLUMN full_name TO nm",
             "ALTER TYPE public.st RENAME VALUE 'paid' TO 'settled'",
             "CREATE SCHEMA s2",
             "ALTER TABLE public.clients SET SCHEMA s2",
             "COMMENT ON COLUMN s2.clients.nm IS 'the name'")
    assert lineage(repo, "table s2.clients") == {"origin": "table public.t", "columns": {"nm": "name"}}
    assert lineage(repo, "type public.st") == {"labels": {"settled": "paid"}}
    assert repo.q("SELECT * FROM pggit.drift()") == []


def test_table_column_and_label_renamed_keep_rows_both_ways(repo, make_db):
    repo.ddl("CREATE TYPE public.st AS ENUM ('new', 'paid')",
             "CREATE TABLE public.c (id int PRIMARY KEY, name text NOT NULL, s public.st)",
             "CREATE INDEX c_name_idx ON public.c (name)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE public.c RENAME COLUMN name TO full_name",
            "ALTER TABLE public.c RENAME TO clients",
            "ALTER TYPE public.st RENAME VALUE 'paid' TO 'settled'")
    repo.ddl("INSERT INTO public.c VALUES (1, 'Ann', 'paid')")
    forward = steps(repo, "main", "dev")
    assert not any(s.startswith(("DROP TABLE", "CREATE TABLE")) or "DROP COLUMN" in s for s in forward), forward
    assert "ALTER TABLE public.c RENAME TO clients;" in forward
    repo.switch("dev")  # no force: nothing is lost
    repo.assert_live_is("dev", make_db)
    assert repo.q("SELECT id, full_name, s::text FROM public.clients") == [(1, "Ann", "settled")]
    repo.switch("main")
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT id, name, s::text FROM public.c") == [(1, "Ann", "paid")]


def test_a_chain_of_renames_is_one_rename(repo, make_db):
    repo.ddl("CREATE TABLE public.a (id int PRIMARY KEY, x int)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE public.a RENAME TO b", "ALTER TABLE public.b RENAME COLUMN x TO y",
            "ALTER TABLE public.b RENAME TO c", "ALTER TABLE public.c RENAME COLUMN y TO z")
    repo.ddl("INSERT INTO public.a VALUES (1, 10)")
    assert [s for s in steps(repo, "main", "dev") if not s.startswith("SET ")] == [
        "ALTER TABLE public.a RENAME TO c;", "ALTER TABLE public.c RENAME COLUMN x TO z;"]
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    assert repo.q("SELECT id, z FROM public.c") == [(1, 10)]


def test_two_tables_and_two_columns_that_swap_names(repo, make_db):
    repo.ddl("CREATE TABLE public.t1 (id int PRIMARY KEY, a text, b text)", "CREATE TABLE public.t2 (id int PRIMARY KEY, note text)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE public.t1 RENAME TO tmp", "ALTER TABLE public.t2 RENAME TO t1", "ALTER TABLE public.tmp RENAME TO t2",
            "ALTER TABLE public.t2 RENAME COLUMN a TO c", "ALTER TABLE public.t2 RENAME COLUMN b TO a",
            "ALTER TABLE public.t2 RENAME COLUMN c TO b")
    repo.ddl("INSERT INTO public.t1 VALUES (1, 'A', 'B')", "INSERT INTO public.t2 VALUES (2, 'N')")
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    assert repo.q("SELECT id, a, b FROM public.t2") == [(1, "B", "A")]
    assert repo.q("SELECT id, note FROM public.t1") == [(2, "N")]
    repo.switch("main")
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT id, a, b FROM public.t1") == [(1, "A", "B")]


def test_renamed_then_dropped_is_a_drop(repo, make_db):
    repo.ddl("CREATE TABLE public.keep (id int)", "CREATE TABLE public.gone (id int)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE public.gone RENAME TO going", "DROP TABLE public.going")
    assert [s for s in steps(repo, "main", "dev") if not s.startswith("SET ")] == ["DROP TABLE IF EXISTS public.gone;"]
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)


def test_schema_renamed_and_table_moved_keep_rows(repo, make_db):
    repo.ddl("CREATE SCHEMA sales", "CREATE TABLE sales.orders (id int PRIMARY KEY, total numeric)",
             "CREATE INDEX orders_total_idx ON sales.orders (total)",
             "CREATE TABLE public.notes (id int PRIMARY KEY, body text)")
    repo.create_branch("dev")
    repo.on("dev", 'ALTER SCHEMA sales RENAME TO "Ventes été"', 'ALTER TABLE public.notes SET SCHEMA "Ventes été"')
    repo.ddl("INSERT INTO sales.orders VALUES (1, 9.5)", "INSERT INTO public.notes VALUES (1, 'n')")
    forward = steps(repo, "main", "dev")
    assert 'ALTER SCHEMA sales RENAME TO "Ventes été";' in forward
    assert not any(s.startswith(("DROP TABLE", "CREATE TABLE")) for s in forward), forward
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    assert repo.q('SELECT id, total FROM "Ventes été".orders') == [(1, 9.5)]
    assert repo.q('SELECT id, body FROM "Ventes été".notes') == [(1, "n")]
    repo.switch("main")
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT id, body FROM public.notes") == [(1, "n")]


def test_a_new_object_under_a_renamed_objects_old_name_is_a_new_object(repo, make_db):
    repo.ddl("CREATE TABLE public.t (id int PRIMARY KEY)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE public.t RENAME TO archived", "CREATE TABLE public.t (id int PRIMARY KEY, v text)")
    repo.ddl("INSERT INTO public.t VALUES (7)")
    repo.switch("dev", force=True)
    repo.assert_live_is("dev", make_db)
    # the rows stay with the table they were in; what took its old name is a new, empty table
    assert repo.q("SELECT id FROM public.archived") == [(7,)]
    assert repo.q("SELECT count(*) FROM public.t") == [(0,)]


def test_objects_of_kinds_not_renamed_follow_their_renamed_schema(repo, make_db):
    """Statistics, operators, casts and text search objects are dropped and created again, not
    renamed: after the schema's rename they are dropped under its new name (they moved with it)."""
    repo.ddl("CREATE SCHEMA a", "CREATE TABLE a.t (x int, y int)", "CREATE STATISTICS a.s ON x, y FROM a.t",
             "CREATE TYPE a.pt AS (x int)",
             "CREATE FUNCTION a.pt_eq(a.pt, a.pt) RETURNS boolean LANGUAGE sql AS $$ SELECT $1.x = $2.x $$",
             "CREATE OPERATOR a.=== (LEFTARG = a.pt, RIGHTARG = a.pt, FUNCTION = a.pt_eq)",
             "CREATE FUNCTION a.pt_int(a.pt) RETURNS int LANGUAGE sql AS $$ SELECT $1.x $$",
             "CREATE CAST (a.pt AS integer) WITH FUNCTION a.pt_int(a.pt)",
             "CREATE TEXT SEARCH DICTIONARY a.d (TEMPLATE = simple)",
             "CREATE TEXT SEARCH CONFIGURATION a.c (PARSER = default)",
             "ALTER TEXT SEARCH CONFIGURATION a.c ADD MAPPING FOR word WITH a.d")
    repo.create_branch("dev")
    repo.on("dev", 'ALTER SCHEMA a RENAME TO "z z"')
    forward = steps(repo, "main", "dev")
    assert 'DROP OPERATOR IF EXISTS "z z".===("z z".pt, "z z".pt);' in forward
    assert 'DROP STATISTICS IF EXISTS "z z".s;' in forward
    for _ in range(2):
        repo.switch("dev")
        repo.assert_live_is("dev", make_db)
        repo.switch("main")
        repo.assert_live_is("main", make_db)
    assert repo.q("SELECT identity FROM pggit.drift()") == []


# --------------------------------------------------------------------------- three-way merges


def test_merge_takes_a_rename_made_on_the_source_and_keeps_rows(repo, make_db):
    repo.ddl("CREATE TABLE public.c (id int PRIMARY KEY, name text)", "INSERT INTO public.c VALUES (1, 'Ann')")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE public.c RENAME TO clients", "ALTER TABLE public.clients RENAME COLUMN name TO full_name")
    repo.ddl("CREATE TABLE public.other (id int)")  # main moves on elsewhere
    m = repo.merge("dev", "main")
    assert m["status"] == "merged", m
    tree = repo.tree("main")
    assert "table public.clients" in tree and "table public.c" not in tree and "table public.other" in tree
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT id, full_name FROM public.clients") == [(1, "Ann")]


def test_union_merge_follows_a_column_renamed_on_one_side_and_changed_on_the_other(repo, make_db):
    repo.ddl("CREATE TABLE public.c (id int PRIMARY KEY, name varchar(20), note text)",
             "INSERT INTO public.c VALUES (1, 'Ann', 'x')")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE public.c RENAME COLUMN name TO full_name", "ALTER TABLE public.c ADD COLUMN email text")
    repo.ddl("ALTER TABLE public.c ALTER COLUMN name TYPE varchar(80)", "ALTER TABLE public.c ADD COLUMN phone text")
    m = repo.merge("dev", "main", strategy="union")
    assert m["status"] == "merged", m
    repo.assert_live_is("main", make_db)
    cols = dict(repo.q("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                       " WHERE attrelid = 'public.c'::regclass AND attnum > 0 AND NOT attisdropped"))
    assert cols == {"id": "integer", "full_name": "character varying(80)", "note": "text", "phone": "text", "email": "text"}
    assert repo.q("SELECT id, full_name, note FROM public.c") == [(1, "Ann", "x")]


def test_the_same_table_renamed_two_ways_is_a_conflict(repo):
    repo.ddl("CREATE TABLE public.c (id int PRIMARY KEY)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE public.c RENAME TO clients")
    repo.ddl("ALTER TABLE public.c RENAME TO customers")
    before = repo.snapshot()
    m = repo.merge("dev", "main")
    assert m["status"] == "conflicts", m
    items = repo.items(m["merge_id"])
    assert {i for i, r in items.items() if r["resolution"] is None} == {"table public.clients", "table public.customers"}
    assert repo.heads() == before.heads and repo.dump() == before.dump
