"""Checkout, revert and reset in SQL (docs/merge.md): switch_branch migrates the live schema to
the branch's state (compared by normalized pg_dump with a fresh database built by replaying
migration_script(NULL, branch)), the data-loss guard refuses what would lose rows or values
(PGG10) unless forced and lets widenings through, data_loss_steps only lists, revert makes a
commit undoing one (a merge commit against its first parent; PGG09 when changed again), and
reset_branch moves heads (migrating the live schema on HEAD only)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

import pgtools
from merge_support import Repo, install_engine

RICH_SCHEMA = Path(__file__).with_name("rich_schema.sql")


@pytest.fixture
def repo(pg_server, make_db):
    db = make_db()
    install_engine(pg_server, db)
    r = Repo(pg_server, db)
    yield r
    r.close()


def refused(fn) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as info:
        fn()
    return info.value


# --------------------------------------------------------------------------- switch_branch

# Changes made on branch dev on top of the rich schema: columns, constraints, views, functions,
# enum labels, sequences, partitions, drops and additions.
DEV_CHANGES = [
    "ALTER TABLE inventory.warehouses ALTER COLUMN name TYPE text",
    "ALTER TABLE inventory.warehouses ALTER COLUMN capacity SET DEFAULT 100",
    "ALTER TABLE public.orders ADD COLUMN channel text NOT NULL DEFAULT 'web'",
    "ALTER TABLE public.customers ADD CONSTRAINT customers_score_range CHECK (score >= 0 AND score <= 100)",
    "ALTER TABLE inventory.products DROP CONSTRAINT products_weight_check",
    "ALTER SEQUENCE inventory.sku_seq INCREMENT BY 10 MAXVALUE 5000000",
    "ALTER TYPE public.order_status ADD VALUE 'refunded' BEFORE 'cancelled'",
    "ALTER DOMAIN public.positive_money SET DEFAULT 1",
    "COMMENT ON VIEW public.order_summary IS 'Orders, customers and taxed totals'",
    "DROP INDEX public.events_happened_brin",
    "DROP MATERIALIZED VIEW inventory.product_stock",
    "CREATE TABLE public.orders_2026 PARTITION OF public.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
    "CREATE SCHEMA audit",
    "CREATE TABLE audit.changes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz DEFAULT now())",
    "CREATE INDEX changes_at_idx ON audit.changes (at DESC)",
    "CREATE FUNCTION audit.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.at := now(); RETURN NEW; END$$",
    "CREATE TRIGGER changes_touch BEFORE UPDATE ON audit.changes FOR EACH ROW EXECUTE FUNCTION audit.touch()",
]


def test_switch_branch_migrates_the_live_schema_both_ways(repo, make_db):
    server = repo.server
    server.psql_file(repo.db, RICH_SCHEMA)
    main_dump = repo.dump()
    repo.create_branch("dev")
    main_head = repo.head("main")
    assert repo.switch("dev") == main_head, "same commit: nothing to migrate"
    assert repo.dump() == main_dump and repo.current() == "dev"
    repo.ddl(*DEV_CHANGES)
    dev_head, dev_dump = repo.head("dev"), repo.dump()
    assert repo.head("main") == main_head
    repo.ddl("INSERT INTO inventory.warehouses (code, name, capacity) VALUES ('W001', 'North', 10)")

    # back to main narrows warehouses.name (text -> varchar(200)) on a table holding a row
    before = repo.snapshot()
    err = refused(lambda: repo.switch("main"))
    assert err.sqlstate == "PGG10" and "inventory.warehouses" in str(err)
    assert repo.snapshot() == before
    assert repo.switch("main", force=True) == main_head
    assert repo.current() == "main"
    pgtools.assert_same_dump(main_dump, repo.dump(), "main before", "live after switching back")
    pgtools.assert_same_dump(repo.built_dump("main", make_db), repo.dump(), "replayed main", "live")
    assert repo.q("SELECT code, name, capacity FROM inventory.warehouses") == [("W001", "North", 10)]

    assert repo.switch("dev") == dev_head
    pgtools.assert_same_dump(dev_dump, repo.dump(), "dev as captured", "live after switching to dev")
    pgtools.assert_same_dump(repo.built_dump("dev", make_db), repo.dump(), "replayed dev", "live")
    assert repo.q("SELECT code, name FROM inventory.warehouses") == [("W001", "North")]
    # switching captures nothing: the heads did not move
    assert repo.heads() == {"main": main_head, "dev": dev_head}
    assert [r[0] for r in repo.q("SELECT operation FROM pggit.audit_log WHERE operation = 'switch'")] == ["switch"] * 3, "the refused switch rolled its audit row back"


def test_switch_records_queued_statements_on_the_old_branch_first(repo, make_db):
    repo.ddl("CREATE TABLE t (id int)")
    repo.create_branch("dev")
    repo.ddl("CREATE TABLE queued (id int)")  # queued capture, not yet a commit
    repo.switch("dev")
    assert "table public.queued" in repo.tree("main") and "table public.queued" not in repo.tree("dev")
    assert repo.one("SELECT to_regclass('public.queued')") is None
    repo.assert_live_is("dev", make_db)
    repo.switch("main")
    assert repo.one("SELECT to_regclass('public.queued')") is not None
    repo.assert_live_is("main", make_db)


def test_capture_after_a_switch_commits_on_the_new_branch(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY)", "CREATE VIEW v AS SELECT id FROM t")
    repo.create_branch("dev")
    dev_head = repo.on("dev", "ALTER TABLE t ADD COLUMN a int", "CREATE OR REPLACE VIEW v AS SELECT id, a FROM t")
    main_head = repo.head("main")
    repo.switch("dev")
    repo.ddl("ALTER TABLE t ADD COLUMN b int")
    new = repo.head("dev")
    assert repo.parents(new) == [dev_head] and repo.head("main") == main_head
    shown = repo.dicts("SELECT * FROM pggit.show(%s)", [new])
    assert [(r["identity"], r["change"]) for r in shown] == [("table public.t", "modified")]
    assert shown[0]["old_definition"] == repo.tree(dev_head)["table public.t"]
    repo.assert_live_is("dev", make_db)
    repo.switch("main")
    repo.assert_live_is("main", make_db)
    assert repo.columns("t") == ["id"]


@pytest.mark.parametrize("change", [
    ["CREATE SEQUENCE s OWNED BY t.n"],
    ["CREATE SEQUENCE s", "ALTER SEQUENCE s OWNED BY t.n", "CREATE SEQUENCE s2", "DROP SEQUENCE s"],
], ids=["created owned", "owned then dropped"])
def test_switch_round_trip_keeps_sequence_ownership(repo, make_db, change):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, n int)")
    repo.create_branch("dev")
    repo.ddl(*change)
    dump = repo.dump()
    pgtools.assert_same_dump(dump, repo.built_dump("main", make_db), "live", "replayed main")
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    repo.switch("main")
    pgtools.assert_same_dump(dump, repo.dump(), "live before", "live after switching away and back")


def test_switch_to_the_current_or_an_unknown_branch(repo):
    repo.ddl("CREATE TABLE t (id int)")
    before = repo.snapshot()
    assert repo.switch("main") == before.heads["main"]
    assert refused(lambda: repo.switch("nope")).sqlstate == "PGG01"
    assert repo.snapshot() == before


# --------------------------------------------------------------------------- data-loss guard

# case -> (main's table, dev's change, rows on main, expected reason fragment, query, rows after force)
LOSS_CASES = {
    "drop a non-empty table": (
        "CREATE TABLE t (id int PRIMARY KEY, c text)", "DROP TABLE t", "INSERT INTO t VALUES (1, 'x')",
        "drops table public.t, which holds rows", None, None),
    "drop a column holding values": (
        "CREATE TABLE t (id int PRIMARY KEY, c text)", "ALTER TABLE t DROP COLUMN c", "INSERT INTO t VALUES (1, 'x')",
        "drops column c of public.t, which holds values", "SELECT id FROM t", [(1,)]),
    "narrow bigint to integer": (
        "CREATE TABLE t (id int PRIMARY KEY, c bigint)", "ALTER TABLE t ALTER COLUMN c TYPE integer",
        "INSERT INTO t VALUES (1, 5)", "changes column c of public.t from bigint to integer", "SELECT id, c FROM t",
        [(1, 5)]),
    "narrow varchar(20) to varchar(10)": (
        "CREATE TABLE t (id int PRIMARY KEY, c varchar(20))", "ALTER TABLE t ALTER COLUMN c TYPE varchar(10)",
        "INSERT INTO t VALUES (1, 'short')", "from character varying(20) to character varying(10)",
        "SELECT id, c FROM t", [(1, "short")]),
    "text to integer": (
        "CREATE TABLE t (id int PRIMARY KEY, c text)", "ALTER TABLE t ALTER COLUMN c TYPE integer USING c::integer",
        "INSERT INTO t VALUES (1, '42')", "from text to integer", "SELECT id, c FROM t", [(1, 42)]),
}


@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_data_loss_guard_refuses_then_force_accepts(repo, make_db, case):
    table, change, rows, reason, query, after = LOSS_CASES[case]
    repo.ddl(table)
    repo.create_branch("dev")
    repo.on("dev", change)
    repo.ddl(rows)
    before = repo.snapshot()
    data = repo.q("SELECT * FROM t ORDER BY 1")

    steps = repo.dicts("SELECT * FROM pggit.data_loss_steps('main', 'dev')")
    assert len(steps) == 1 and steps[0]["identity"] == "table public.t"
    assert reason in steps[0]["reason"], steps
    assert steps[0]["statement"].startswith(("DROP TABLE IF EXISTS public.t;", "ALTER TABLE public.t "))
    assert repo.snapshot() == before, "data_loss_steps changes nothing"

    err = refused(lambda: repo.switch("dev"))
    assert err.sqlstate == "PGG10"
    assert reason in str(err) and steps[0]["statement"] in str(err), str(err)
    assert repo.snapshot() == before and repo.q("SELECT * FROM t ORDER BY 1") == data

    repo.switch("dev", force=True)
    assert repo.current() == "dev"
    repo.assert_live_is("dev", make_db)
    if query:
        assert repo.q(query) == after
    else:
        assert repo.one("SELECT to_regclass('public.t')") is None


def test_guard_sees_a_table_recreated_because_a_domain_it_uses_changes_base_type(repo):
    """A table whose own definition does not change but that the migration drops and creates
    again (it uses a domain recreated with a new base type) holds rows: that loses them."""
    repo.ddl("CREATE DOMAIN d AS integer", "CREATE TABLE t (id int PRIMARY KEY, c d)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE t ALTER COLUMN c TYPE integer", "DROP DOMAIN d", "CREATE DOMAIN d AS bigint",
            "ALTER TABLE t ALTER COLUMN c TYPE d")
    repo.ddl("INSERT INTO t VALUES (1, 5)")
    before = repo.snapshot()
    steps = repo.dicts("SELECT * FROM pggit.data_loss_steps('main', 'dev')")
    assert [s["identity"] for s in steps] == ["table public.t"], steps
    err = refused(lambda: repo.switch("dev"))
    assert err.sqlstate == "PGG10"
    assert repo.snapshot() == before and repo.q("SELECT id, c FROM t") == [(1, 5)]


def test_widening_and_dropping_empty_columns_are_not_refused(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, n int, s varchar(10), r real, ts timestamp, v varchar(5), e text)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE t ALTER COLUMN n TYPE bigint", "ALTER TABLE t ALTER COLUMN s TYPE varchar(20)",
            "ALTER TABLE t ALTER COLUMN r TYPE double precision", "ALTER TABLE t ALTER COLUMN ts TYPE timestamptz",
            "ALTER TABLE t ALTER COLUMN v TYPE text", "ALTER TABLE t DROP COLUMN e")
    repo.ddl("INSERT INTO t VALUES (1, 7, 'abc', 1.5, '2025-01-01 10:00', 'vv', NULL)")
    assert repo.q("SELECT * FROM pggit.data_loss_steps('main', 'dev')") == []
    repo.switch("dev")  # no force needed
    repo.assert_live_is("dev", make_db)
    assert repo.q("SELECT id, n, s, r, v FROM t") == [(1, 7, "abc", 1.5, "vv")]
    # back the other way every change narrows: refused, listed, unchanged
    before = repo.snapshot()
    steps = repo.dicts("SELECT * FROM pggit.data_loss_steps('dev', 'main')")
    assert {s["statement"].split(" TYPE ")[0].rsplit(" ", 1)[1] for s in steps} == {"n", "s", "r", "ts", "v"}
    err = refused(lambda: repo.switch("main"))
    assert err.sqlstate == "PGG10"
    assert repo.snapshot() == before


def test_every_type_to_text_and_integers_to_wider_numbers_are_widenings(repo, make_db):
    """A value of any type has a text form, and integers fit bigint, numeric and double precision:
    none of these is data loss (each narrowing back is)."""
    repo.ddl("CREATE TABLE w (i int, b boolean, d date, n numeric(6,2), s smallint, j int, k int)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE w ALTER COLUMN i TYPE text", "ALTER TABLE w ALTER COLUMN b TYPE varchar",
            "ALTER TABLE w ALTER COLUMN d TYPE text", "ALTER TABLE w ALTER COLUMN n TYPE text",
            "ALTER TABLE w ALTER COLUMN s TYPE real", "ALTER TABLE w ALTER COLUMN j TYPE double precision",
            "ALTER TABLE w ALTER COLUMN k TYPE numeric")
    repo.ddl("INSERT INTO w VALUES (42, true, '2026-01-02', 12.5, 3, 4, 5)")
    assert repo.q("SELECT * FROM pggit.data_loss_steps('main', 'dev')") == []
    repo.switch("dev")  # no force needed
    repo.assert_live_is("dev", make_db)
    assert repo.q("SELECT i, b, d, n, s, j, k FROM w") == [("42", "true", "2026-01-02", "12.50", 3.0, 4.0, 5)]
    steps = repo.dicts("SELECT * FROM pggit.data_loss_steps('dev', 'main')")
    assert {s["statement"].split(" TYPE ")[0].rsplit(" ", 1)[1] for s in steps} == {"i", "b", "d", "n", "s", "j", "k"}


def test_data_loss_steps_between_any_refs_lists_without_changing_anything(repo):
    repo.ddl("CREATE TABLE a (id int)", "CREATE TABLE b (id int, x text)", "INSERT INTO a VALUES (1)",
             "INSERT INTO b VALUES (1, 'x')")
    full = repo.head()
    repo.ddl("ALTER TABLE b DROP COLUMN x")
    before = repo.snapshot()
    # from the live state of main~1 to the empty start: both tables (a and b hold rows)
    first = repo.one("SELECT commit_id FROM pggit.log('main', 100) ORDER BY committed_at LIMIT 1")
    steps = repo.dicts("SELECT * FROM pggit.data_loss_steps(%s, %s)", [full, first])
    assert {s["identity"] for s in steps} == {"table public.a", "table public.b"}
    assert all("holds rows" in s["reason"] for s in steps)
    assert repo.q("SELECT * FROM pggit.data_loss_steps('main', 'main')") == []
    assert repo.snapshot() == before


# --------------------------------------------------------------------------- revert


def test_revert_on_head_undoes_one_commit_and_migrates_live(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY)")
    repo.ddl("ALTER TABLE t ADD COLUMN note text")
    c2 = repo.head()
    repo.ddl("CREATE VIEW v AS SELECT id FROM t")
    c3 = repo.head()
    repo.ddl("INSERT INTO t VALUES (1, 'hello')")
    before = repo.snapshot()
    err = refused(lambda: repo.one("SELECT pggit.revert(%s)", [c2]))
    assert err.sqlstate == "PGG10" and "drops column note" in str(err)
    assert repo.snapshot() == before

    new = repo.one("SELECT pggit.revert(%s, NULL, true)", [c2])
    assert repo.head("main") == new and repo.parents(new) == [c3]
    msg = repo.one("SELECT message FROM pggit.commits WHERE commit_id = %s", [new])
    assert msg.startswith('Revert "ALTER TABLE t ADD COLUMN note text"') and c2 in msg
    expected = repo.hashes(c3)
    expected["table public.t"] = repo.hashes(f"{c2}~1")["table public.t"]
    assert repo.hashes("main") == expected
    assert [(r["identity"], r["change"]) for r in repo.dicts("SELECT * FROM pggit.show(%s)", [new])] == [
        ("table public.t", "modified")]
    repo.assert_live_is("main", make_db)
    assert repo.columns("t") == ["id"] and repo.q("SELECT id FROM v") == [(1,)]
    # reverting it again: nothing left to undo
    assert refused(lambda: repo.one("SELECT pggit.revert(%s)", [c2])).sqlstate == "PGG09"


def test_revert_on_another_branch_leaves_live_untouched(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY)")
    repo.create_branch("dev")
    repo.on("dev", "CREATE VIEW v AS SELECT id FROM t")
    c_view = repo.head("dev")
    repo.on("dev", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    dev_head, dump = repo.head("dev"), repo.dump()
    new = repo.one("SELECT pggit.revert(%s, 'dev')", [c_view])
    assert repo.head("dev") == new and repo.parents(new) == [dev_head]
    assert repo.dump() == dump and repo.current() == "main"
    assert set(repo.tree("dev")) == set(repo.tree(dev_head)) - {"view public.v"}
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    assert repo.one("SELECT to_regclass('public.v')") is None and repo.one("SELECT f()") == 1


def test_revert_refuses_when_the_object_changed_again(repo):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, a int)")
    repo.ddl("CREATE VIEW v AS SELECT id FROM t")
    c_view = repo.head()
    repo.ddl("CREATE VIEW w AS SELECT a FROM t")
    repo.ddl("CREATE OR REPLACE VIEW v AS SELECT id, a FROM t")
    before = repo.snapshot()
    err = refused(lambda: repo.one("SELECT pggit.revert(%s)", [c_view]))
    assert err.sqlstate == "PGG09" and "view public.v" in str(err)
    assert repo.snapshot() == before
    # refused on a commit that is not on the branch, and on the first commit
    repo.create_branch("other", c_view)
    other = repo.on("other", "CREATE VIEW x AS SELECT 1 AS one")
    assert refused(lambda: repo.one("SELECT pggit.revert(%s)", [other])).sqlstate == "PGG07"
    first = repo.one("SELECT commit_id FROM pggit.commits WHERE cardinality(parent_ids) = 0")
    assert refused(lambda: repo.one("SELECT pggit.revert(%s)", [first])).sqlstate == "PGG07"


def test_revert_of_a_merge_commit_undoes_what_the_merge_brought(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, a int)")
    repo.create_branch("dev")
    repo.on("dev", "CREATE VIEW dv AS SELECT id FROM t", "CREATE FUNCTION df() RETURNS int LANGUAGE sql AS 'SELECT 7'",
            "ALTER TABLE t ADD COLUMN b int")
    repo.ddl("CREATE VIEW mv AS SELECT a FROM t")
    pre_merge, pre_dump = repo.head(), repo.dump()
    m = repo.merge("dev")
    assert m["status"] == "merged" and repo.one("SELECT f FROM (SELECT df() AS f) x") == 7
    repo.ddl("INSERT INTO t (id, a) VALUES (1, 2)")  # b is NULL: dropping it loses nothing
    new = repo.one("SELECT pggit.revert(%s)", [m["commit_id"]])
    assert repo.parents(new) == [m["commit_id"]]
    assert repo.hashes("main") == repo.hashes(pre_merge), "undone against the merge's first parent"
    pgtools.assert_same_dump(pre_dump, repo.dump(), "before the merge", "after reverting it")
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT id, a FROM t") == [(1, 2)]


# --------------------------------------------------------------------------- reset_branch


def test_reset_branch_on_head_migrates_live(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY)")
    c1 = repo.head()
    repo.ddl("CREATE TABLE u (id int)", "CREATE VIEW v AS SELECT id FROM t")
    c3, dump3 = repo.head(), repo.dump()
    repo.ddl("INSERT INTO t VALUES (1)", "INSERT INTO u VALUES (1)")
    before = repo.snapshot()
    err = refused(lambda: repo.one("SELECT pggit.reset_branch('main', %s)", [c1]))
    assert err.sqlstate == "PGG10" and "drops table public.u" in str(err)
    assert repo.snapshot() == before
    assert repo.one("SELECT pggit.reset_branch('main', %s, true)", [c1]) == c1
    assert repo.head("main") == c1 and repo.commits() == before.commits
    repo.assert_live_is(c1, make_db)
    assert repo.q("SELECT id FROM t") == [(1,)]
    # and forward again: the dropped objects come back (empty)
    assert repo.one("SELECT pggit.reset_branch('main', %s)", [c3]) == c3
    pgtools.assert_same_dump(dump3, repo.dump(), "live at c3", "after reset forward")
    assert repo.q("SELECT id FROM t") == [(1,)] and repo.q("SELECT id FROM u") == []


def test_reset_branch_elsewhere_only_moves_the_head(repo):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY)")
    repo.create_branch("dev")
    dev_head = repo.on("dev", "CREATE VIEW v AS SELECT id FROM t")
    repo.ddl("CREATE TABLE u (id int)")
    before = repo.snapshot()
    assert repo.one("SELECT pggit.reset_branch('dev', 'main')") == before.heads["main"]
    after = repo.snapshot()
    assert after.heads == {**before.heads, "dev": before.heads["main"]}
    assert (after.dump, after.current, after.commits) == (before.dump, before.current, before.commits)
    repo.one("SELECT pggit.reset_branch('dev', %s)", [dev_head])
    assert repo.head("dev") == dev_head and repo.dump() == before.dump
    assert refused(lambda: repo.one("SELECT pggit.reset_branch('nope', 'main')")).sqlstate == "PGG01"
    assert refused(lambda: repo.one("SELECT pggit.reset_branch('dev', 'no-such-ref')")).sqlstate == "PGG01"
    assert repo.head("dev") == dev_head


def test_checkout_accepts_what_postgresql_prints_when_it_runs_a_definition_again(repo, make_db):
    """`v IN ('a', 'b')` on a varchar column prints as `((ARRAY[...])::text[])`, which, run again,
    prints as `ARRAY[(...)::text, ...]`: the same object. Checkout both ways succeeds, and neither
    side then shows drift."""
    repo.ddl("CREATE TABLE ip (id int PRIMARY KEY, v varchar(10), c char(2))")
    repo.create_branch("dev")
    repo.on("dev", "CREATE INDEX ip_v ON ip (v) WHERE v IN ('a', 'it''s')",
            "CREATE VIEW ipv AS SELECT id, v FROM ip WHERE v NOT IN ('x', 'y') AND c IN ('ab', 'cd')",
            "ALTER TABLE ip ADD CONSTRAINT ip_v_known CHECK (v IN ('a', 'b', 'it''s'))")
    repo.ddl("INSERT INTO ip VALUES (1, 'a', 'ab')")
    repo.switch("dev")
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    assert repo.q("SELECT id, v FROM ipv") == [(1, "a")]
    printed = repo.one("SELECT pg_get_indexdef('ip_v'::regclass)")
    stored = repo.one("SELECT definition FROM pggit.tree('dev') WHERE identity = 'index public.ip_v'")
    assert printed != stored.rstrip(";") and "::text" in printed
    assert repo.one("SELECT pggit._canon(%s)", [stored]) == printed + ";"
    repo.switch("main")
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.switch("dev")
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_a_column_retyped_or_dropped_rebuilds_no_index_that_did_not_change(repo, make_db):
    """Migrations touch only what changed and what must be rebuilt because of it: retyping one
    column and dropping another drops and recreates no index (ALTER COLUMN TYPE rebuilds the
    indexes on that column itself), while a view on the table must go first and come back."""
    repo.ddl("CREATE TABLE orders (id int PRIMARY KEY, customer_id int, total int, note text)",
             "CREATE INDEX orders_customer_id_idx ON orders (customer_id)",
             "CREATE INDEX orders_total_idx ON orders (total)",
             "CREATE VIEW big AS SELECT id, total FROM orders WHERE total > 100")
    repo.create_branch("dev")
    repo.on("dev", "DROP VIEW big", "ALTER TABLE orders ALTER COLUMN total TYPE bigint", "ALTER TABLE orders DROP COLUMN note",
            "CREATE VIEW big AS SELECT id, total FROM orders WHERE total > 100", force=True)
    statements = [s for (s,) in repo.q("SELECT statement FROM pggit.migration('main', 'dev') ORDER BY step")]
    assert not any("INDEX" in s for s in statements), statements
    assert "DROP VIEW IF EXISTS public.big;" in statements
    # each step says why it is there
    reasons = {(k, st): r for k, st, r in repo.q("SELECT kind, statement, reason FROM pggit.migration('main', 'dev')")}
    assert reasons[("view", "DROP VIEW IF EXISTS public.big;")] == (
        "rebuilt: it depends on table public.orders, which changes in a way that needs it out of the way")
    assert reasons[("table", "ALTER TABLE public.orders DROP COLUMN note;")] == "changed"
    repo.switch("dev", force=True)
    repo.assert_live_is("dev", make_db)
