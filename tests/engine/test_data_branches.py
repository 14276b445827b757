"""Data branches: a branch that carries the rows of the tracked tables as they were at its fork,
worked on through a connection string, isolated both ways from the checked-out tables, compared
by primary key (``pggit.data_diff``), and deleted with its storage."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from pggit import Client
from pggit.errors import NoBranchData, WrongBranch

REPO_ROOT = Path(__file__).resolve().parents[2]

HOSTILE = "Ordér \"lines\"; DROP"  # a table name with quotes, unicode, a space and SQL


@pytest.fixture
def data_repo(repo):
    server, db, client = repo
    with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
        conn.execute("CREATE TABLE public.orders (id serial PRIMARY KEY, name text NOT NULL, qty int DEFAULT 1, "
                     "total numeric GENERATED ALWAYS AS (qty * 2) STORED, doc jsonb, tags text[])")
        conn.execute(f'CREATE TABLE public."{HOSTILE.replace(chr(34), chr(34) * 2)}" '
                     '(a int, "k ey" text, v float8, PRIMARY KEY (a, "k ey"))')
        conn.execute("CREATE TABLE public.nokey (x int)")
        conn.execute("INSERT INTO public.orders (name, qty, doc, tags) "
                     "SELECT 'o' || g, g, jsonb_build_object('n', g), ARRAY['t' || g] FROM generate_series(1, 50) g")
    return server, db, client


def _rows(dsn: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _run(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for s in statements:
            conn.execute(s)


def test_branch_with_data_sees_the_fork_and_writes_only_its_own_rows(data_repo):
    server, db, client = data_repo
    main = server.dsn_for(db)
    before = _rows(main, "SELECT * FROM public.orders ORDER BY id")
    client.create_branch("feature", with_data=True)
    branch = client.data_dsn("feature")
    assert _rows(branch, "SELECT * FROM orders ORDER BY id") == before

    # the branch's writes stay on the branch
    _run(branch, "UPDATE orders SET name = 'on branch', qty = 7 WHERE id = 1",
         "DELETE FROM orders WHERE id = 2",
         "INSERT INTO orders (name) VALUES ('branch new')")
    assert _rows(main, "SELECT * FROM public.orders ORDER BY id") == before
    assert _rows(branch, "SELECT name, qty, total FROM orders WHERE id = 1") == [("on branch", 7, 14)]
    assert _rows(branch, "SELECT count(*) FROM orders WHERE id = 2") == [(0,)]
    [(new_id,)] = _rows(branch, "SELECT id FROM orders WHERE name = 'branch new'")
    assert new_id > 50  # drawn from the table's own sequence

    # the checked-out side's writes after the fork never show on the branch
    _run(main, "UPDATE public.orders SET name = 'on main' WHERE id IN (1, 3)",
         "DELETE FROM public.orders WHERE id = 4",
         "INSERT INTO public.orders (name) VALUES ('main new')",
         "UPDATE public.orders SET qty = qty + 100 WHERE id > 40")
    branch_rows = dict(_rows(branch, "SELECT id, name FROM orders"))
    assert branch_rows[1] == "on branch" and branch_rows[3] == "o3" and branch_rows[4] == "o4"
    assert "main new" not in branch_rows.values()
    assert _rows(branch, "SELECT qty FROM orders WHERE id = 45") == [(45,)]
    assert _rows(main, "SELECT name FROM public.orders WHERE id = 1") == [("on main",)]

    # a truncate of the checked-out table leaves the branch whole
    _run(main, "TRUNCATE public.orders")
    assert len(_rows(branch, "SELECT id FROM orders")) == 50  # 50 - 1 deleted + 1 inserted
    assert _rows(main, "SELECT count(*) FROM public.orders") == [(0,)]


def test_branch_enforces_the_primary_key_and_not_null(data_repo):
    server, db, client = data_repo
    client.create_branch("feature", with_data=True)
    branch = client.data_dsn("feature")
    with pytest.raises(psycopg.errors.UniqueViolation, match="primary key of public.orders"):
        _run(branch, "INSERT INTO orders (id, name) VALUES (5, 'dup')")
    with pytest.raises(psycopg.errors.IntegrityError):
        _run(branch, "INSERT INTO orders (id, name) VALUES (9999, NULL)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        _run(branch, "UPDATE orders SET id = 6 WHERE id = 7")
    _run(branch, "UPDATE orders SET id = 1000 WHERE id = 7")  # a new key: the old one is gone
    assert _rows(branch, "SELECT id FROM orders WHERE id IN (7, 1000)") == [(1000,)]
    assert _rows(server.dsn_for(db), "SELECT id FROM public.orders WHERE id IN (7, 1000)") == [(7,)]


def test_copy_returning_and_hostile_names_work_on_the_branch(data_repo):
    server, db, client = data_repo
    client.create_branch("feature", with_data=True)
    branch = client.data_dsn("feature")
    quoted = '"' + HOSTILE.replace('"', '""') + '"'
    with psycopg.connect(branch, autocommit=True) as conn:
        with conn.cursor().copy("COPY orders (name, qty) FROM STDIN") as copy:
            copy.write_row(("copied", 5))
        assert conn.execute("SELECT total FROM orders WHERE name = 'copied'").fetchone() == (10,)
        assert conn.execute("INSERT INTO orders (name) VALUES ('r') RETURNING name").fetchone() == ("r",)
        conn.execute(f"INSERT INTO {quoted} VALUES (1, 'it''s', 'NaN')")
        assert conn.execute(f'SELECT "k ey", v::text FROM {quoted}').fetchall() == [("it's", "NaN")]
    assert _rows(server.dsn_for(db), f"SELECT count(*) FROM public.{quoted}") == [(0,)]


def test_data_diff_lists_rows_by_key_with_changed_columns(data_repo):
    server, db, client = data_repo
    client.create_branch("feature", with_data=True)
    branch = client.data_dsn("feature")
    _run(branch, "UPDATE orders SET name = 'x', doc = '{\"n\": 1, \"new\": true}' WHERE id = 1",
         "UPDATE orders SET tags = tags WHERE id = 2",  # written, not changed
         "DELETE FROM orders WHERE id = 3",
         "INSERT INTO orders (id, name) VALUES (500, 'added')")
    diff = client.data_diff("HEAD", "feature")
    by_key = {(d["table_identity"], d["key"]["id"]): d for d in diff}
    assert set(by_key) == {("table public.orders", 1), ("table public.orders", 3), ("table public.orders", 500)}
    assert by_key[("table public.orders", 1)]["change"] == "changed"
    assert by_key[("table public.orders", 1)]["columns"] == ["name", "doc"]
    assert by_key[("table public.orders", 1)]["old_row"]["name"] == "o1"
    assert by_key[("table public.orders", 1)]["new_row"]["name"] == "x"
    assert by_key[("table public.orders", 3)]["change"] == "deleted"
    assert by_key[("table public.orders", 500)]["change"] == "added"
    # the other way round, the other words
    back = {d["key"]["id"]: d["change"] for d in client.data_diff("feature", "main")}
    assert back == {1: "changed", 3: "added", 500: "deleted"}
    with pytest.raises(NoBranchData):
        client.data_diff("main", "main")


def test_tables_without_a_primary_key_are_listed_and_not_carried(data_repo):
    server, db, client = data_repo
    client.create_branch("feature", with_data=True)
    [info] = client.data_branches()
    assert info["branch"] == "feature" and info["skipped"] == ["public.nokey"] and info["tables"] == 2


def test_a_data_branch_starts_at_head(data_repo):
    server, db, client = data_repo
    _run(server.dsn_for(db), "CREATE TABLE public.later (id int PRIMARY KEY)")
    first = client.log("HEAD", 3)[-1]["commit_id"]
    with pytest.raises(WrongBranch):
        client.create_branch("old", first, with_data=True)
    assert "old" not in [b["name"] for b in client.branches()]


def test_engine_objects_of_data_branches_are_not_history_or_drift(data_repo):
    server, db, client = data_repo
    head = client.resolve("HEAD")
    client.create_branch("feature", with_data=True)
    client.create_branch("second", with_data=True)
    assert client.resolve("HEAD") == head
    with psycopg.connect(server.dsn_for(db), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pggit.drift()").fetchone() == (0,)
        # the checked-out table's definition is unchanged by the branch's triggers
        assert conn.execute("SELECT count(*) FROM pggit.diff('HEAD', NULL)").fetchone()[0] >= 0
    assert [c["identity"] for c in client.diff("HEAD", "feature")] == []


def test_deleting_a_data_branch_frees_its_rows_and_the_last_one_its_objects(data_repo):
    server, db, client = data_repo
    main = server.dsn_for(db)
    client.create_branch("one", with_data=True)
    client.create_branch("two", with_data=True)
    _run(client.data_dsn("one"), "UPDATE orders SET name = 'one'")
    _run(client.data_dsn("two"), "DELETE FROM orders WHERE id < 10")
    sizes = {b["branch"]: b for b in client.data_branches()}
    assert sizes["one"]["rows"] == 50 and sizes["one"]["bytes"] > 0 and sizes["two"]["rows"] == 9
    client.delete_branch("one", force=True)
    assert [b["branch"] for b in client.data_branches()] == ["two"]
    oid = _rows(main, "SELECT 'public.orders'::regclass::oid")[0][0]
    assert _rows(main, f"SELECT count(*) FROM pggit_data.b_{oid}") == [(9,)]
    assert len(_rows(client.data_dsn("two"), "SELECT id FROM orders")) == 41
    client.delete_branch("two", force=True)
    assert _rows(main, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pggit_data%'") == [(0,)]
    assert _rows(main, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pggit_data_%'") == []
    assert _rows(main, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'pggit_data'") == [(0,)]
    # the checked-out table can change freely again
    _run(main, "ALTER TABLE public.orders DROP COLUMN tags")


def test_a_connection_on_a_deleted_branch_cannot_write(data_repo):
    server, db, client = data_repo
    client.create_branch("one", with_data=True)
    client.create_branch("two", with_data=True)
    stale = client.data_dsn("one")
    client.delete_branch("one", force=True)
    with pytest.raises(psycopg.Error, match="does not carry"):
        _run(stale, "UPDATE orders SET name = 'lost' WHERE id = 1")


def test_concurrent_writers_on_both_sides_stay_isolated(data_repo):
    server, db, client = data_repo
    main = server.dsn_for(db)
    snapshot = dict(_rows(main, "SELECT id, qty FROM public.orders"))
    client.create_branch("feature", with_data=True)
    branch = client.data_dsn("feature")
    errors: list[BaseException] = []

    def writer(dsn: str, table: str, delta: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for i in range(1, 51):
                    conn.execute(f"UPDATE {table} SET qty = qty + %s WHERE id = %s", (delta, i))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(main, "public.orders", 1000)),
               threading.Thread(target=writer, args=(branch, "orders", 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert dict(_rows(branch, "SELECT id, qty FROM orders")) == {k: v + 1 for k, v in snapshot.items()}
    assert dict(_rows(main, "SELECT id, qty FROM public.orders")) == {k: v + 1000 for k, v in snapshot.items()}


def test_cli_makes_connects_and_diffs_a_data_branch(data_repo):
    server, db, client = data_repo
    dsn = server.dsn_for(db)

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "pggit", "--dsn", dsn, *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "with data" in cli("branch", "feature", "--data")
    branch_dsn = cli("connect", "feature").strip()
    _run(branch_dsn, "UPDATE orders SET name = 'cli' WHERE id = 1")
    out = cli("data-diff", "HEAD", "feature")
    assert out.splitlines() == ['changed  table public.orders  {"id": 1}  (name)']
    _run(dsn, "UPDATE public.orders SET name = 'main' WHERE id = 1")
    done = subprocess.run([sys.executable, "-m", "pggit", "--dsn", dsn, "merge-data", "feature"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "changed on both sides" in done.stdout and '{"id": 1}  (name)' in done.stdout
    resolution = '[{"table": "public.orders", "key": {"id": 1}, "column": "name", "take": "source"}]'
    done = subprocess.run([sys.executable, "-m", "pggit", "--dsn", dsn, "merge-data", "feature", "--resolutions", "-"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, input=resolution)
    assert done.returncode == 0, done.stderr
    assert 'merged   table public.orders  {"deleted": 0, "inserted": 0, "updated": 1}' in done.stdout.splitlines()
    assert _rows(dsn, "SELECT name FROM public.orders WHERE id = 1") == [("cli",)]


def test_the_checked_out_table_keeps_working_under_ddl_while_branches_exist(data_repo):
    server, db, client = data_repo
    main = server.dsn_for(db)
    client.create_branch("feature", with_data=True)
    branch = client.data_dsn("feature")
    _run(main, "ALTER TABLE public.orders ADD COLUMN note text DEFAULT 'n'",
         "UPDATE public.orders SET note = 'changed', name = 'main' WHERE id = 1",
         "ALTER TABLE public.orders RENAME TO orders_renamed")
    _run(main, "TRUNCATE public.orders_renamed")
    assert _rows(branch, "SELECT name FROM orders WHERE id = 1") == [("o1",)]
    assert len(_rows(branch, "SELECT id FROM orders")) == 50
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="data branches carry it"):
        _run(main, "ALTER TABLE public.orders_renamed RENAME COLUMN name TO title")
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        _run(main, "ALTER TABLE public.orders_renamed DROP COLUMN qty")
    assert _rows(main, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders_renamed' "
                       "AND column_name IN ('name', 'qty')") == [(2,)]


def test_checked_out_key_changes_keep_the_fork_however_the_rows_are_written(repo):
    """An UPDATE that keeps the key is kept row by row; one that changes keys (a swap under a
    deferrable key, a key moved to a new value, under replication's role too) is kept set-wise
    at the end of its statement. The branch sees the fork throughout, and the diff names
    exactly what the checked-out side changed."""
    server, db, client = repo
    main = server.dsn_for(db)
    _run(main, "CREATE TABLE public.s (id int PRIMARY KEY DEFERRABLE INITIALLY IMMEDIATE, v text)",
         "INSERT INTO public.s SELECT g, 'v' || g FROM generate_series(1, 8) g")
    fork = _rows(main, "SELECT * FROM public.s ORDER BY id")
    client.create_branch("f", with_data=True)
    branch = client.data_dsn("f")
    _run(main, "UPDATE public.s SET id = 3 - id WHERE id IN (1, 2)",    # a swap: no key is new
         "UPDATE public.s SET id = 30 WHERE id = 3",                   # a new key, an old one gone
         "UPDATE public.s SET v = 'main' WHERE id = 4",                # the key kept
         "UPDATE public.s SET v = 'again' WHERE id = 4",               # the pre-image is the fork's
         "UPDATE public.s SET id = id, v = v || '!' WHERE id = 6")     # the key in SET, unchanged
    with psycopg.connect(main) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("UPDATE public.s SET id = 50 WHERE id = 5")
    assert _rows(branch, "SELECT * FROM s ORDER BY id") == fork
    oid = _rows(main, "SELECT 'public.s'::regclass::oid")[0][0]
    assert _rows(main, f"SELECT count(*) FROM pggit_data.k_{oid}") == [(0,)]  # nothing staged is left
    diff = {(r[0]["id"], r[1]) for r in _rows(main, "SELECT key, change FROM pggit.data_diff('f', 'HEAD', 'public.s')")}
    assert diff == {(1, "changed"), (2, "changed"), (3, "deleted"), (30, "added"), (4, "changed"),
                    (5, "deleted"), (50, "added"), (6, "changed")}
    # a rolled-back key change leaves nothing behind
    with psycopg.connect(main) as conn:
        conn.execute("UPDATE public.s SET id = 70 WHERE id = 7")
        conn.rollback()
    assert _rows(branch, "SELECT * FROM s ORDER BY id") == fork
    assert _rows(main, f"SELECT count(*) FROM pggit_data.p_{oid} WHERE id IN (7, 70)") == [(0,)]


# three-way data merge -------------------------------------------------------------------------

@pytest.fixture
def diverged(repo):
    """Table public.t (10 rows) and a data branch 'f'; both sides then change it: every case of
    the three-way table once."""
    server, db, client = repo
    main = server.dsn_for(db)
    _run(main, "CREATE TABLE public.t (id int PRIMARY KEY, a text, b int, c float8)",
         "INSERT INTO public.t SELECT g, 'a' || g, g, g / 3.0 FROM generate_series(1, 10) g")
    client.create_branch("f", with_data=True)
    _run(client.data_dsn("f"),
         "UPDATE t SET a = 'B1' WHERE id = 1",        # branch only: applied
         "UPDATE t SET a = 'B2' WHERE id = 2",        # both, different cells: merged cell by cell
         "UPDATE t SET a = 'B3' WHERE id = 3",        # both, the same cell: conflict
         "DELETE FROM t WHERE id = 4",                # branch delete: applied
         "DELETE FROM t WHERE id = 5",                # branch delete, changed on main: conflict
         "UPDATE t SET a = 'B6' WHERE id = 6",        # branch change, deleted on main: conflict
         "UPDATE t SET c = 'NaN' WHERE id = 7",       # branch only, a float NaN
         "UPDATE t SET b = 8 WHERE id = 8",           # written, unchanged: nothing
         "INSERT INTO t VALUES (100, 'new', 1, 1)",   # branch insert: applied
         "INSERT INTO t VALUES (101, 'bx', 1, 1)",    # added on both sides differently: conflict
         "INSERT INTO t VALUES (102, 'same', 1, 1)")  # added on both sides the same: nothing
    _run(main, "UPDATE public.t SET b = 222 WHERE id = 2", "UPDATE public.t SET a = 'M3' WHERE id = 3",
         "UPDATE public.t SET b = 555 WHERE id = 5", "DELETE FROM public.t WHERE id = 6",
         "UPDATE public.t SET a = 'M9' WHERE id = 9",  # main only: stays
         "INSERT INTO public.t VALUES (101, 'mx', 1, 1), (102, 'same', 1, 1)")
    return server, db, client


def test_data_merge_preview_classifies_every_case(diverged):
    server, db, client = diverged
    before = _rows(server.dsn_for(db), "SELECT * FROM public.t ORDER BY id")
    rows = {r["key"]["id"]: r for r in client.data_merge_preview("f")}
    assert {k: (r["action"], r["conflict"]) for k, r in rows.items() if r["action"] != "update"} == {
        3: ("conflict", "changed on both sides"),
        4: ("delete", None),
        5: ("conflict", "deleted on the branch, changed on the checked-out side"),
        6: ("conflict", "changed on the branch, deleted on the checked-out side"),
        100: ("insert", None),
        101: ("conflict", "added on both sides"),
    }
    assert rows[3]["columns"] == ["a"] and rows[101]["columns"] == ["a"]
    assert (rows[3]["base"]["a"], rows[3]["source"]["a"], rows[3]["target"]["a"]) == ("a3", "B3", "M3")
    assert rows[1]["action"] == rows[2]["action"] == rows[7]["action"] == "update"
    assert 8 not in rows and 9 not in rows and 102 not in rows  # nothing to do
    assert _rows(server.dsn_for(db), "SELECT * FROM public.t ORDER BY id") == before  # nothing changed


def test_merge_with_conflicts_changes_nothing_then_resolved_merges_cell_by_cell(diverged):
    server, db, client = diverged
    main = server.dsn_for(db)
    before = _rows(main, "SELECT * FROM public.t ORDER BY id")
    result = client.merge_data("f")
    assert {r["key"]["id"] for r in result if r["status"] == "conflicts"} == {3, 5, 6, 101}
    assert _rows(main, "SELECT * FROM public.t ORDER BY id") == before
    result = client.merge_data("f", [
        {"table": "public.t", "key": {"id": 3}, "column": "a", "take": "value", "value": "R3 ✓ 'q'"},
        {"table": "table public.t", "key": {"id": 5}, "take": "source"},
        {"table": "public.t", "key": {"id": 6}, "take": "target"},
        {"table": "public.t", "key": {"id": 101}, "column": "a", "take": "base"},  # no base: NULL
    ])
    assert [r["status"] for r in result] == ["merged"]
    assert result[0]["counts"] == {"deleted": 2, "updated": 5, "inserted": 1}  # not 8 nor 102: unchanged
    got = {r[0]: r[1:] for r in _rows(main, "SELECT id, a, b, c::text FROM public.t")}
    assert got[1] == ("B1", 1, "0.3333333333333333")
    assert got[2] == ("B2", 222, "0.6666666666666666")  # both sides' cells
    assert got[3][0] == "R3 ✓ 'q'"
    assert 4 not in got and 5 not in got and 6 not in got
    assert got[7][2] == "NaN" and got[9][0] == "M9" and got[100] == ("new", 1, "1") and got[101][0] is None
    # the branch starts again from the merged rows
    assert (_rows(client.data_dsn("f"), "SELECT id, a, b, c::text FROM t ORDER BY id")
            == _rows(main, "SELECT id, a, b, c::text FROM public.t ORDER BY id"))
    assert client.data_merge_preview("f") == []
    audit = [a for a in client.audit(limit=5) if a["operation"] == "merge_data"]
    assert [a["outcome"] for a in audit[:2]] == ["ok", "refused"]


def test_a_merged_result_that_breaks_a_constraint_is_a_conflict_and_changes_nothing(repo):
    server, db, client = repo
    main = server.dsn_for(db)
    _run(main, "CREATE TABLE public.parent (id int PRIMARY KEY)",
         "CREATE TABLE public.child (id int PRIMARY KEY, parent int REFERENCES public.parent, code text UNIQUE)",
         "INSERT INTO public.parent VALUES (1), (2)", "INSERT INTO public.child VALUES (1, 1, 'x')")
    client.create_branch("f", with_data=True)
    _run(client.data_dsn("f"), "INSERT INTO parent VALUES (3)", "INSERT INTO child VALUES (2, 3, 'y')",
         "UPDATE child SET code = 'z' WHERE id = 1")
    _run(main, "INSERT INTO public.child VALUES (3, 2, 'z')")  # the same code: unique
    before = (_rows(main, "SELECT * FROM public.parent ORDER BY id"), _rows(main, "SELECT * FROM public.child ORDER BY id"))
    [conflict] = client.merge_data("f")
    assert conflict["status"] == "conflicts" and "unique" in conflict["conflict"] and conflict["table_identity"] == "table public.child"
    assert (_rows(main, "SELECT * FROM public.parent ORDER BY id"), _rows(main, "SELECT * FROM public.child ORDER BY id")) == before
    # resolved by keeping the checked-out row's code: the parent is inserted before its child
    result = client.merge_data("f", [{"table": "public.child", "key": {"id": 1}, "column": "code", "take": "target"}])
    assert {r["status"] for r in result} == {"merged"}
    assert _rows(main, "SELECT * FROM public.child ORDER BY id") == [(1, 1, "x"), (2, 3, "y"), (3, 2, "z")]


def test_an_invalid_resolution_is_refused(diverged):
    server, db, client = diverged
    from pggit.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        client.merge_data("f", [{"table": "public.t", "key": {"id": 3}, "take": "mine"}])
    with pytest.raises(InvalidArgument, match="no column"):
        client.merge_data("f", [{"table": "public.t", "key": {"id": 3}, "column": "nope; DROP", "take": "source"}])


def test_an_unchanged_django_app_works_on_the_branch_through_its_connection_string(repo):
    """An ORM pointed at ``pggit connect``'s string: creates, bulk inserts, updates, deletes,
    a unique violation, joins and aggregates see the branch; the checked-out tables do not move."""
    server, db, client = repo
    main = server.dsn_for(db)
    _run(main, "CREATE TABLE public.customers (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE)",
         "CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES public.customers,"
         " item text NOT NULL, qty int NOT NULL, placed timestamptz NOT NULL, data jsonb NOT NULL)",
         "INSERT INTO public.customers (name) VALUES ('Bo')",
         "INSERT INTO public.orders (customer_id, item, qty, placed, data) "
         "VALUES (1, 'first', 1, now(), '{}'), (1, 'second', 2, now(), '{}')")
    before = _rows(main, "SELECT * FROM public.orders ORDER BY id")
    client.create_branch("orm", with_data=True)
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "orm_branch" / "run.py"), client.data_dsn("orm")],
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    import json

    seen = json.loads(done.stdout)
    assert seen == {"before": 2, "after": 5, "get_or_create_found": True, "duplicate_refused": True,
                    "per_customer": {"Ann": 4, "Bo": 1}, "qty_total": 1 + 2 + 3 + 9 + 42, "first_qty": 42,
                    "gift": {"gift": True}}
    assert _rows(main, "SELECT * FROM public.orders ORDER BY id") == before
    assert _rows(main, "SELECT name FROM public.customers") == [("Bo",)]
