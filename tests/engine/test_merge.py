"""The merge API in SQL (docs/merge.md), called directly with psycopg: merge base on the DAG,
three-way classes, merge_branches with every strategy, fast-forward and up-to-date, resolution,
abort, a live step that fails, merges into branches that are not HEAD, the audit log, and
concurrency (merges into one target, many sessions capturing DDL at once).

After every action the state is checked: trees (hashes against the expected three-way result),
heads, the commit graph, and the live schema compared by normalized pg_dump with a database
built from the expected state; rows are checked where they must survive."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from merge_support import Repo, expected_tree, install_engine, run_script, three_way


@pytest.fixture
def repo(pg_server, make_db):
    db = make_db()
    install_engine(pg_server, db)
    r = Repo(pg_server, db)
    yield r
    r.close()


def sqlstate_of(fn) -> str:
    with pytest.raises(psycopg.Error) as info:
        fn()
    return info.value.sqlstate


# --------------------------------------------------------------------------- merge base


def test_merge_base_of_a_linear_history(repo):
    repo.ddl("CREATE TABLE a (id int)")
    c1 = repo.head()
    repo.ddl("CREATE TABLE b (id int)", "CREATE TABLE c (id int)")
    c3 = repo.head()
    repo.create_branch("old", c1)
    base = lambda a, b: repo.one("SELECT pggit.find_merge_base(%s, %s)", [a, b])  # noqa: E731
    assert base("main", "old") == c1
    assert base("old", "main") == c1
    assert base("main", "main") == c3
    assert base(c3[:10], "main~2") == c1
    assert base("main~1", "main") == repo.head("main~1")


def test_merge_base_of_siblings_is_their_own_fork_point(repo):
    repo.ddl("CREATE TABLE base_t (id int)")
    fork_main = repo.head()
    repo.create_branch("dev")
    fork_dev = repo.on("dev", "CREATE TABLE d1 (id int)")
    repo.ddl("CREATE TABLE m1 (id int)")
    repo.create_branch("f1", "dev")
    repo.create_branch("f2", "dev")
    f1 = repo.on("f1", "CREATE TABLE x1 (id int)")
    f2 = repo.on("f2", "CREATE TABLE x2 (id int)")
    repo.on("dev", "CREATE TABLE d2 (id int)")
    base = lambda a, b: repo.one("SELECT pggit.find_merge_base(%s, %s)", [a, b])  # noqa: E731
    assert base("f1", "f2") == fork_dev != fork_main
    assert base("f2", "f1") == fork_dev
    assert base("f1", "dev") == fork_dev
    assert base("f1", "main") == fork_main
    # the merge records that base and merges the two siblings without touching main's history
    assert set(repo.tree("f1")) ^ set(repo.tree("f2")) == {"table public.x1", "table public.x2"}
    m = repo.merge("f2", "f1")
    assert m["status"] == "merged"
    assert repo.merge_row(m["merge_id"])["base_commit"] == fork_dev
    assert repo.parents(m["commit_id"]) == [f1, f2]
    assert {"table public.x1", "table public.x2", "table public.d1"} <= set(repo.tree("f1"))
    assert "table public.m1" not in repo.tree("f1")


def test_merge_base_of_a_criss_cross_is_the_candidate_committed_last(repo, make_db):
    repo.ddl("CREATE TABLE base_t (id int)")
    fork = repo.head()
    repo.create_branch("dev")
    repo.ddl("CREATE TABLE m1 (id int)")
    m1 = repo.head()
    time.sleep(0.01)
    d1 = repo.on("dev", "CREATE TABLE d1 (id int)")  # committed after m1
    x = repo.merge("dev", "main")  # main: X = merge(m1, d1)
    y = repo.merge(m1, "dev")  # dev: Y = merge(d1, m1)
    assert x["status"] == y["status"] == "merged"
    assert repo.parents(x["commit_id"]) == [m1, d1] and repo.parents(y["commit_id"]) == [d1, m1]
    gens = dict(repo.q("SELECT commit_id, generation FROM pggit.commits WHERE commit_id IN (%s, %s)", [m1, d1]))
    assert gens[m1] == gens[d1], "two best common ancestors of the same generation"
    t_m1, t_d1 = (repo.one("SELECT committed_at FROM pggit.commits WHERE commit_id = %s", [c]) for c in (m1, d1))
    assert t_d1 > t_m1
    assert repo.one("SELECT pggit.find_merge_base('main', 'dev')") == d1
    assert repo.one("SELECT pggit.find_merge_base('dev', 'main')") == d1
    assert repo.one("SELECT pggit.find_merge_base('main', %s)", [fork]) == fork
    # a further change on each side merges from that base
    repo.ddl("CREATE TABLE m2 (id int)")
    repo.on("dev", "CREATE TABLE d2 (id int)")
    m = repo.merge("dev")
    assert m["status"] == "merged"
    assert repo.merge_row(m["merge_id"])["base_commit"] == d1
    assert {f"table public.{t}" for t in ("base_t", "m1", "d1", "m2", "d2")} <= set(repo.tree("main"))
    repo.assert_live_is("main", make_db)


# --------------------------------------------------------------------------- three-way classes

# name -> (base definition or None, source change, target change): each None = unchanged/absent,
# "DROP" = dropped on that side; otherwise the view's new SELECT.
VIEWS = {
    "v_same": ("SELECT 1 AS x", "SELECT 2 AS x", "SELECT 2 AS x"),
    "v_src": ("SELECT 1 AS x", "SELECT 2 AS x", None),
    "v_tgt": ("SELECT 1 AS x", None, "SELECT 2 AS x"),
    "v_both": ("SELECT 1 AS x", "SELECT 2 AS x", "SELECT 3 AS x"),
    "v_dels": ("SELECT 1 AS x", "DROP", None),
    "v_dels_mod": ("SELECT 1 AS x", "DROP", "SELECT 3 AS x"),
    "v_delt": ("SELECT 1 AS x", None, "DROP"),
    "v_delt_mod": ("SELECT 1 AS x", "SELECT 2 AS x", "DROP"),
    "v_add_src": (None, "SELECT 2 AS x", None),
    "v_add_tgt": (None, None, "SELECT 3 AS x"),
    "v_add_same": (None, "SELECT 5 AS x", "SELECT 5 AS x"),
    "v_add_both": (None, "SELECT 2 AS x", "SELECT 3 AS x"),
}
CLASSES = {  # identity -> (conflict_type, auto_resolvable)
    "view public.v_same": ("NO_CONFLICT", True),
    "view public.v_src": ("SOURCE_MODIFIED", True),
    "view public.v_tgt": ("TARGET_MODIFIED", True),
    "view public.v_both": ("BOTH_MODIFIED", False),
    "view public.v_dels": ("DELETED_SOURCE", True),
    "view public.v_dels_mod": ("DELETED_SOURCE", False),
    "view public.v_delt": ("DELETED_TARGET", True),
    "view public.v_delt_mod": ("DELETED_TARGET", False),
    "view public.v_add_src": ("SOURCE_MODIFIED", True),
    "view public.v_add_tgt": ("TARGET_MODIFIED", True),
    "view public.v_add_same": ("NO_CONFLICT", True),
    "view public.v_add_both": ("BOTH_ADDED", False),
    "table public.t_keep": ("NO_CONFLICT", True),
    "function public.f_src(integer)": ("SOURCE_MODIFIED", True),
    "function public.f_tgt(integer)": ("TARGET_MODIFIED", True),
    "schema public": ("NO_CONFLICT", True),
}
OPEN_UNDER_AUTO = {i for i, (_, auto) in CLASSES.items() if not auto}


def _side(views: dict, which: int) -> list[str]:
    out = []
    for name, spec in views.items():
        change = spec[which]
        if change == "DROP":
            out.append(f"DROP VIEW {name}")
        elif change is not None:
            out.append(f"CREATE OR REPLACE VIEW {name} AS {change}")
    return out


def build_classes(repo: Repo) -> dict:
    """Base on main, branch dev (the source) and main (the target) changed as VIEWS says, plus a
    table nobody changes and one function changed on each side. Returns the three trees' hashes."""
    repo.ddl("CREATE TABLE t_keep (id int PRIMARY KEY, note text)",
             "CREATE FUNCTION f_src(p int) RETURNS int LANGUAGE sql AS 'SELECT p'",
             "CREATE FUNCTION f_tgt(p int) RETURNS int LANGUAGE sql AS 'SELECT p'",
             *[f"CREATE VIEW {n} AS {spec[0]}" for n, spec in VIEWS.items() if spec[0]])
    base = repo.head()
    repo.create_branch("dev")
    repo.on("dev", *_side(VIEWS, 1), "CREATE OR REPLACE FUNCTION f_src(p int) RETURNS int LANGUAGE sql AS 'SELECT p + 1'")
    repo.ddl(*_side(VIEWS, 2), "CREATE OR REPLACE FUNCTION f_tgt(p int) RETURNS int LANGUAGE sql AS 'SELECT p + 2'")
    repo.ddl("INSERT INTO t_keep VALUES (1, 'kept')")
    return {"base": repo.hashes(base), "source": repo.hashes("dev"), "target": repo.hashes("main"), "base_commit": base}


def test_detect_merge_conflicts_classifies_every_object(repo):
    trees = build_classes(repo)
    before = repo.snapshot()
    rows = {r["identity"]: r for r in repo.dicts("SELECT * FROM pggit.detect_merge_conflicts('dev')")}
    assert rows == {r["identity"]: r for r in repo.dicts("SELECT * FROM pggit.detect_merge_conflicts('dev', 'main')")}
    assert set(rows) == set(trees["base"]) | set(trees["source"]) | set(trees["target"])
    assert {i: (r["conflict_type"], r["auto_resolvable"]) for i, r in rows.items()} == CLASSES
    defs = {side: repo.tree(ref) for side, ref in
            (("base", trees["base_commit"]), ("source", "dev"), ("target", "main"))}
    for ident, r in rows.items():
        for side in ("base", "source", "target"):
            assert r[f"{side}_definition"] == defs[side].get(ident), (ident, side)
    assert "SELECT 2 AS x" not in (rows["view public.v_both"]["target_definition"] or "")
    assert "2" in rows["view public.v_both"]["source_definition"] and "3" in rows["view public.v_both"]["target_definition"]
    assert rows["view public.v_dels_mod"]["source_definition"] is None
    assert rows["view public.v_add_both"]["base_definition"] is None
    # merge base and detection change nothing
    assert repo.one("SELECT pggit.find_merge_base('dev', 'main')") == trees["base_commit"]
    assert repo.snapshot() == before


def test_merge_auto_stops_on_conflicts_and_keeps_them(repo):
    trees = build_classes(repo)
    before = repo.snapshot()
    m = repo.merge("dev")
    assert m["status"] == "conflicts" and m["commit_id"] is None
    assert {c["identity"] for c in m["conflicts"]} == OPEN_UNDER_AUTO
    assert all(c["conflict_type"] == CLASSES[c["identity"]][0] for c in m["conflicts"])
    items = repo.items(m["merge_id"])
    differing = {i for i in CLASSES if trees["source"].get(i) != trees["target"].get(i)}
    assert set(items) == differing
    for ident, it in items.items():
        assert it["conflict_type"] == CLASSES[ident][0]
        assert it["resolution"] == (None if ident in OPEN_UNDER_AUTO else "auto")
    assert items["view public.v_src"]["result_definition"] == items["view public.v_src"]["source_definition"]
    assert items["view public.v_tgt"]["result_definition"] == items["view public.v_tgt"]["target_definition"]
    assert items["view public.v_dels"]["result_definition"] is None
    # nothing moved; the merge stays open with its items, and its state reads as a ref
    after = repo.snapshot()
    assert (after.heads, after.current, after.commits, after.dump) == (before.heads, before.current, before.commits, before.dump)
    assert repo.merge_row(m["merge_id"])["status"] == "conflicts"
    merged_state = repo.hashes(f"merge:{m['merge_id']}")
    assert merged_state == expected_tree(trees["base"], trees["source"], trees["target"],
                                         lambda i, b, s, t: three_way(i, b, s, t, lambda *x: t))
    assert repo.items(m["merge_id"]) == items, "reading the merge changes nothing"


@pytest.mark.parametrize("strategy", ["source_wins", "target_wins"])
def test_merge_side_wins_strategies(repo, make_db, strategy):
    trees = build_classes(repo)
    main_before, dev_head = repo.head("main"), repo.head("dev")
    commits = repo.commits()
    m = repo.merge("dev", strategy=strategy, message=f"merge with {strategy}")
    assert m["status"] == "merged" and m["conflicts"] == []
    assert repo.commits() == commits + 1
    assert repo.head("main") == m["commit_id"] and repo.head("dev") == dev_head
    assert repo.parents(m["commit_id"]) == [main_before, dev_head]
    assert repo.one("SELECT message FROM pggit.log('main', 1)") == f"merge with {strategy}"
    side = 2 if strategy == "source_wins" else 3
    expected = expected_tree(trees["base"], trees["source"], trees["target"],
                             lambda i, b, s, t: three_way(i, b, s, t, lambda *x: x[side]))
    assert repo.hashes("main") == expected
    items = repo.items(m["merge_id"])
    for ident in OPEN_UNDER_AUTO:
        assert items[ident]["resolution"] == ("source" if side == 2 else "target")
    if strategy == "source_wins":
        assert "view public.v_dels_mod" not in expected and "view public.v_delt_mod" in expected
    else:
        assert "view public.v_dels_mod" in expected and "view public.v_delt_mod" not in expected
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT id, note FROM t_keep") == [(1, "kept")]


def test_merge_manual_review_opens_every_item(repo):
    trees = build_classes(repo)
    before = repo.snapshot()
    m = repo.merge("dev", strategy="manual_review")
    assert m["status"] == "conflicts" and m["commit_id"] is None
    differing = {i for i in CLASSES if trees["source"].get(i) != trees["target"].get(i)}
    # every item that would change the target is open; the target's own changes are kept
    target_only = {i for i, (cls, auto) in CLASSES.items() if auto and cls in ("TARGET_MODIFIED", "DELETED_TARGET")}
    assert {c["identity"] for c in m["conflicts"]} == differing - target_only
    assert "view public.v_src" in differing - target_only and "view public.v_add_tgt" in target_only
    items = repo.items(m["merge_id"])
    assert set(items) == differing
    assert all(it["resolution"] is None for i, it in items.items() if i not in target_only)
    assert all(it["resolution"] == "auto" for i, it in items.items() if i in target_only)
    after = repo.snapshot()
    assert (after.heads, after.commits, after.dump) == (before.heads, before.commits, before.dump)


def test_unknown_strategy_is_refused(repo):
    build_classes(repo)
    before = repo.snapshot()
    assert sqlstate_of(lambda: repo.merge("dev", strategy="ours")) == "PGG07"
    assert sqlstate_of(lambda: repo.merge("dev", strategy=None)) == "PGG07"
    assert repo.snapshot() == before


# --------------------------------------------------------------------------- union


def test_union_merges_a_table_column_by_column_and_keeps_rows(repo, make_db):
    repo.ddl("CREATE TABLE acct (id int PRIMARY KEY, name text NOT NULL, note text)",
             "CREATE TABLE item (id int PRIMARY KEY, qty int)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE acct ADD COLUMN email text",
            "ALTER TABLE acct ADD CONSTRAINT acct_name_chk CHECK (name <> '')",
            "ALTER TABLE item ALTER COLUMN qty TYPE bigint")
    repo.ddl("ALTER TABLE acct ADD COLUMN phone text",
             "ALTER TABLE acct ADD CONSTRAINT acct_id_pos CHECK (id > 0)",
             "ALTER TABLE item ALTER COLUMN qty SET DEFAULT 5")
    repo.ddl("INSERT INTO acct VALUES (1, 'ann', 'n1', '555'), (2, 'bob', NULL, NULL)",
             "INSERT INTO item VALUES (1, 7)")
    before = repo.snapshot()
    m = repo.merge("dev", strategy="union")
    # the same column changed two ways stays open; the other table is merged column by column
    assert m["status"] == "conflicts"
    assert [c["identity"] for c in m["conflicts"]] == ["table public.item"]
    assert "column qty" in m["conflicts"][0]["error"]
    items = repo.items(m["merge_id"])
    assert items["table public.acct"]["resolution"] == "union"
    union_def = items["table public.acct"]["result_definition"]
    for piece in ("email text", "phone text", "acct_name_chk", "acct_id_pos"):
        assert piece in union_def, piece
    after = repo.snapshot()
    assert (after.heads, after.commits, after.dump) == (before.heads, before.commits, before.dump)

    m = repo.resolve(m["merge_id"], "table public.item", "source")
    assert m["status"] == "merged"
    assert repo.tree("main")["table public.acct"] == union_def
    assert repo.columns("acct") == ["id", "name", "note", "phone", "email"]
    assert repo.q("SELECT id, name, note, phone, email FROM acct ORDER BY id") == [
        (1, "ann", "n1", "555", None), (2, "bob", None, None, None)]
    assert repo.q("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'item'::regclass"
                  " AND attname = 'qty'") == [("bigint",)]
    assert repo.q("SELECT id, qty FROM item") == [(1, 7)]
    cons = {r[0] for r in repo.q("SELECT conname FROM pg_constraint WHERE conrelid = 'acct'::regclass")}
    assert {"acct_name_chk", "acct_id_pos", "acct_pkey"} <= cons
    with pytest.raises(psycopg.errors.CheckViolation):
        repo.ddl("INSERT INTO acct VALUES (3, '', NULL, NULL)")
    repo.assert_live_is("main", make_db)


def test_union_without_clash_completes_and_takes_one_sided_changes(repo, make_db):
    repo.ddl("CREATE TABLE acct (id int PRIMARY KEY, name text, note text, old text)",
             "CREATE VIEW names AS SELECT id, name FROM acct")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE acct DROP COLUMN old", "ALTER TABLE acct ALTER COLUMN note SET DEFAULT 'x'",
            "CREATE VIEW dev_only AS SELECT 1 AS one")
    repo.ddl("ALTER TABLE acct ADD COLUMN created date", "COMMENT ON TABLE acct IS 'accounts'")
    repo.ddl("INSERT INTO acct (id, name, note) VALUES (1, 'ann', 'n1')")
    main_before, dev_head = repo.head("main"), repo.head("dev")
    m = repo.merge("dev", strategy="union")
    assert m["status"] == "merged"
    assert repo.parents(m["commit_id"]) == [main_before, dev_head]
    assert repo.columns("acct") == ["id", "name", "note", "created"]
    assert repo.one("SELECT obj_description('acct'::regclass, 'pg_class')") == "accounts"
    assert repo.one("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'acct'::regclass") == "'x'::text"
    assert repo.q("SELECT id, name, note FROM acct") == [(1, "ann", "n1")]
    assert "view public.dev_only" in repo.tree("main")
    repo.assert_live_is("main", make_db)


# --------------------------------------------------------------------------- fast-forward, up to date


def test_fast_forward_into_head_moves_head_and_migrates_live(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY)")
    repo.create_branch("dev")
    dev_head = repo.on("dev", "ALTER TABLE t ADD COLUMN name text", "CREATE VIEW v AS SELECT id, name FROM t",
                       "CREATE INDEX t_name_idx ON t (name)")
    repo.ddl("INSERT INTO t VALUES (1)")
    commits = repo.commits()
    m = repo.merge("dev")
    assert m["status"] == "fast_forward" and m["commit_id"] == dev_head and m["conflicts"] == []
    assert repo.commits() == commits, "a fast-forward makes no commit"
    assert repo.head("main") == dev_head and repo.current() == "main"
    assert repo.dump() == repo.built_dump("dev", make_db)
    assert repo.q("SELECT id, name FROM v") == [(1, None)]
    # and into a branch that is not HEAD: only its head moves
    repo.create_branch("old", "main~3")
    dump = repo.dump()
    m = repo.merge("main", "old")
    assert m["status"] == "fast_forward" and repo.head("old") == dev_head
    assert repo.dump() == dump and repo.current() == "main"
    assert repo.commits() == commits


def test_up_to_date_changes_nothing(repo):
    repo.ddl("CREATE TABLE t (id int)", "ALTER TABLE t ADD COLUMN x int")
    repo.create_branch("behind", "main~1")
    before = repo.snapshot()
    m = repo.merge("behind")
    assert m["status"] == "up_to_date" and m["conflicts"] == [] and m["commit_id"] == before.heads["main"]
    m2 = repo.merge("main")
    assert m2["status"] == "up_to_date"
    after = repo.snapshot()
    assert (after.heads, after.commits, after.dump) == (before.heads, before.commits, before.dump)
    assert [r[1] for r in after.merges] == ["up_to_date", "up_to_date"]


def test_fast_forward_whose_live_step_fails_changes_nothing(repo):
    repo.ddl("CREATE TABLE t (id int, x int)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE t ALTER COLUMN x SET NOT NULL")
    repo.ddl("INSERT INTO t VALUES (1, NULL)")
    before = repo.snapshot()
    with pytest.raises(psycopg.errors.NotNullViolation):
        repo.merge("dev")
    assert repo.snapshot() == before
    assert repo.q("SELECT id, x FROM t") == [(1, None)]


# --------------------------------------------------------------------------- resolution


def canonical_definition(server, make_db, ref_script: str, statements: list[str], identity: str) -> str:
    """The engine's definition of ``identity`` after running ``statements`` on a database built
    from ``ref_script``: a shadow database by hand (what the client does for a custom resolution)."""
    db = make_db()
    install_engine(server, db)
    shadow = Repo(server, db)
    try:
        run_script(server, db, ref_script, "shadow")
        shadow.ddl(*statements)
        return shadow.tree("main")[identity]
    finally:
        shadow.close()


def test_resolve_conflict_with_each_resolution_completes_the_merge(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, a text)",
             "CREATE VIEW v AS SELECT id FROM t", "CREATE VIEW w AS SELECT id FROM t", "CREATE VIEW u AS SELECT id FROM t",
             "CREATE FUNCTION f(p int) RETURNS int LANGUAGE sql AS 'SELECT p'")
    base = repo.head()
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE t ADD COLUMN b int",
            "CREATE OR REPLACE VIEW v AS SELECT id, a FROM t", "CREATE OR REPLACE VIEW w AS SELECT id, a FROM t",
            "CREATE OR REPLACE VIEW u AS SELECT id, a FROM t",
            "CREATE OR REPLACE FUNCTION f(p int) RETURNS int LANGUAGE sql AS 'SELECT p + 1'")
    repo.ddl("ALTER TABLE t ADD COLUMN c int",
             "CREATE OR REPLACE VIEW v AS SELECT id, a AS aa FROM t", "CREATE OR REPLACE VIEW w AS SELECT id, a AS aa FROM t",
             "CREATE OR REPLACE VIEW u AS SELECT id, a AS aa FROM t",
             "CREATE OR REPLACE FUNCTION f(p int) RETURNS int LANGUAGE sql AS 'SELECT p + 2'")
    repo.ddl("INSERT INTO t VALUES (1, 'x', 3)")
    trees = {"base": repo.tree(base), "source": repo.tree("dev"), "target": repo.tree("main")}
    dump = repo.dump()
    m = repo.merge("dev")
    mid = m["merge_id"]
    before = repo.snapshot()
    assert before.dump == dump
    assert {c["identity"] for c in m["conflicts"]} == {"table public.t", "view public.v", "view public.w",
                                                       "view public.u", "function public.f(integer)"}
    # a custom table needs its detail; bad resolutions and unknown items are refused
    assert sqlstate_of(lambda: repo.resolve(mid, "table public.t", "custom", "CREATE TABLE public.t (id int)")) == "PGG07"
    assert sqlstate_of(lambda: repo.resolve(mid, "view public.v", "mine")) == "PGG07"
    assert sqlstate_of(lambda: repo.resolve(mid, "view public.nope", "source")) == "PGG07"
    assert sqlstate_of(lambda: repo.resolve(mid, "view public.v", "custom", "  ")) == "PGG07"
    assert repo.snapshot() == before

    # custom definitions written in SQL, in the canonical form the shadow would give them
    merged_script = repo.one("SELECT pggit.migration_script(NULL, %s)", [f"merge:{mid}"])
    custom_v = canonical_definition(repo.server, make_db, merged_script,
                                    ["CREATE OR REPLACE VIEW v AS SELECT id, a AS aa, a || '!' AS bang FROM t"],
                                    "view public.v")
    custom_f = canonical_definition(repo.server, make_db, merged_script,
                                    ["CREATE OR REPLACE FUNCTION f(p int) RETURNS int LANGUAGE sql AS 'SELECT p * 10'"],
                                    "function public.f(integer)")
    r = repo.resolve(mid, "table public.t", "source")
    assert r["status"] == "conflicts" and len(r["conflicts"]) == 4
    r = repo.resolve(mid, "view public.w", "base")
    r = repo.resolve(mid, "view public.u", "target")
    r = repo.resolve(mid, "view public.v", "custom", custom_v)
    assert r["status"] == "conflicts" and [c["identity"] for c in r["conflicts"]] == ["function public.f(integer)"]
    assert repo.snapshot().heads == before.heads, "nothing is committed while an item is open"
    # the last one with complete => false stops at ready; complete_merge finishes it
    r = repo.resolve(mid, "function public.f(integer)", "custom", custom_f, complete=False)
    assert r["status"] == "ready" and r["conflicts"] == [] and repo.head("main") == before.heads["main"]
    r = repo.dicts("SELECT * FROM pggit.complete_merge(%s)", [mid])[0]
    # the source's table drops a column that holds values: into HEAD that needs force
    assert r["status"] == "ready" and "holds values" in r["error"] and repo.head("main") == before.heads["main"]
    r = repo.dicts("SELECT * FROM pggit.complete_merge(%s, true)", [mid])[0]
    assert r["status"] == "merged" and repo.head("main") == r["commit_id"]
    tree = repo.tree("main")
    assert tree["table public.t"] == trees["source"]["table public.t"]
    assert tree["view public.w"] == trees["base"]["view public.w"]
    assert tree["view public.u"] == trees["target"]["view public.u"]
    assert tree["view public.v"] == custom_v and "bang" in custom_v
    assert tree["function public.f(integer)"] == custom_f and "p * 10" in custom_f
    items = repo.items(mid)
    assert {i: it["resolution"] for i, it in items.items()} == {
        "table public.t": "source", "view public.w": "base", "view public.u": "target", "view public.v": "custom",
        "function public.f(integer)": "custom"}
    repo.assert_live_is("main", make_db)
    assert repo.columns("t") == ["id", "a", "b"], "the source's table: c dropped, b added"
    assert repo.q("SELECT id, a FROM t") == [(1, "x")]
    assert repo.one("SELECT f(2)") == 20
    assert repo.q("SELECT bang FROM v") == [("x!",)]
    # a closed merge takes no more resolutions
    assert sqlstate_of(lambda: repo.resolve(mid, "view public.v", "source")) == "PGG08"
    assert sqlstate_of(lambda: repo.one("SELECT pggit.abort_merge(%s)", [mid])) == "PGG08"


def test_custom_resolution_into_a_branch_that_is_not_head(repo):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, a text)", "CREATE VIEW v AS SELECT id FROM t")
    repo.create_branch("dev")
    repo.on("dev", "CREATE OR REPLACE VIEW v AS SELECT id, a FROM t")
    repo.ddl("CREATE OR REPLACE VIEW v AS SELECT id, a AS aa FROM t")
    dump, dev_head = repo.dump(), repo.head("dev")
    m = repo.merge("main", "dev")
    assert m["status"] == "conflicts"
    text = "CREATE VIEW public.v AS SELECT id, a AS custom_a FROM public.t;"
    r = repo.resolve(m["merge_id"], "view public.v", "custom", text)
    assert r["status"] == "merged"
    assert repo.tree("dev")["view public.v"] == text
    assert repo.parents(repo.head("dev")) == [dev_head, repo.head("main")]
    assert repo.dump() == dump and repo.current() == "main"


def test_custom_view_written_in_psql_completes_into_head(repo, make_db):
    """docs/merge.md: from psql only a table needs the detail of a custom definition; a view's
    definition as the user wrote it (not in pg_get_viewdef's form) must complete into HEAD, and
    the branch must stay checkable-out afterwards."""
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, a text)", "CREATE VIEW v AS SELECT id FROM t")
    repo.create_branch("dev")
    repo.on("dev", "CREATE OR REPLACE VIEW v AS SELECT id, a FROM t")
    repo.ddl("CREATE OR REPLACE VIEW v AS SELECT id, a AS aa FROM t", "INSERT INTO t VALUES (1, 'x')")
    m = repo.merge("dev")
    r = repo.resolve(m["merge_id"], "view public.v", "custom", "CREATE VIEW public.v AS SELECT id, a || a AS c FROM public.t;")
    assert r["status"] == "merged", r
    assert repo.q("SELECT id, c FROM v") == [(1, "xx")]
    repo.assert_live_is("main", make_db)
    repo.create_branch("after", "main~1")
    repo.switch("after")
    repo.switch("main")
    assert repo.q("SELECT id, c FROM v") == [(1, "xx")]


def test_abort_leaves_everything_as_before(repo):
    build_classes(repo)
    before = repo.snapshot()
    audit = repo.one("SELECT coalesce(max(id), 0) FROM pggit.audit_log")
    m = repo.merge("dev")
    mid = m["merge_id"]
    repo.resolve(mid, "view public.v_both", "source")
    assert repo.one("SELECT pggit.abort_merge(%s)", [mid]) == "aborted"
    after = repo.snapshot()
    assert (after.heads, after.current, after.commits, after.dump) == (before.heads, before.current, before.commits, before.dump)
    row = repo.merge_row(mid)
    assert row["status"] == "aborted" and row["result_commit"] is None and row["finished_at"] is not None
    assert sqlstate_of(lambda: repo.resolve(mid, "view public.v_add_both", "source")) == "PGG08"
    assert sqlstate_of(lambda: repo.dicts("SELECT * FROM pggit.complete_merge(%s)", [mid])) == "PGG08"
    assert sqlstate_of(lambda: repo.one("SELECT pggit.abort_merge(%s)", [mid])) == "PGG08"
    assert sqlstate_of(lambda: repo.one("SELECT pggit.abort_merge(999999)")) == "PGG01"
    assert [r[0] for r in repo.q("SELECT operation FROM pggit.audit_log WHERE id > %s ORDER BY id", [audit])] == [
        "merge", "resolve", "abort_merge"]
    assert repo.q("SELECT id, note FROM t_keep") == [(1, "kept")]
    # merging again afterwards works from scratch
    m2 = repo.merge("dev", strategy="target_wins")
    assert m2["status"] == "merged" and m2["merge_id"] != mid


# --------------------------------------------------------------------------- failing live step


def test_failing_live_step_rolls_everything_back_and_reopens_the_item(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, x int)")
    repo.create_branch("dev")
    dev_head = repo.on("dev", "ALTER TABLE t ALTER COLUMN x SET NOT NULL", "CREATE VIEW dv AS SELECT id FROM t")
    repo.ddl("CREATE VIEW mv AS SELECT 1 AS one")  # main moves on: a real merge
    repo.ddl("INSERT INTO t VALUES (1, NULL), (2, 5)")
    before = repo.snapshot()
    m = repo.merge("dev")
    assert m["status"] == "conflicts" and m["commit_id"] is None
    assert [c["identity"] for c in m["conflicts"]] == ["table public.t"]
    error = m["conflicts"][0]["error"]
    assert "null" in error.lower(), error
    item = repo.items(m["merge_id"])["table public.t"]
    assert item["resolution"] is None and item["error"] == error
    assert repo.items(m["merge_id"])["view public.dv"]["resolution"] == "auto"
    row = repo.merge_row(m["merge_id"])
    assert row["status"] == "conflicts" and row["error"] == error and row["result_commit"] is None
    after = repo.snapshot()
    assert (after.heads, after.current, after.commits, after.dump) == (before.heads, before.current, before.commits, before.dump)
    assert repo.q("SELECT id, x FROM t ORDER BY id") == [(1, None), (2, 5)]
    assert repo.one("SELECT to_regclass('public.dv')") is None
    failed = repo.dicts("SELECT outcome, detail FROM pggit.audit_log WHERE operation = 'merge' ORDER BY id DESC LIMIT 1")[0]
    assert failed["outcome"] == "error" and "null" in failed["detail"].lower()

    # fix the data, resolve again: the merge completes and the live schema follows
    repo.ddl("UPDATE t SET x = 0 WHERE x IS NULL")
    r = repo.resolve(m["merge_id"], "table public.t", "source")
    assert r["status"] == "merged"
    assert repo.parents(r["commit_id"]) == [before.heads["main"], dev_head]
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT id, x FROM t ORDER BY id") == [(1, 0), (2, 5)]


# --------------------------------------------------------------------------- target not HEAD


def test_merge_into_a_branch_that_is_not_head_leaves_live_untouched(repo, make_db):
    trees = build_classes(repo)
    # merge main (now the source) into dev (the target, not HEAD)
    before = repo.snapshot()
    dev_before, main_head = repo.head("dev"), repo.head("main")
    m = repo.merge("main", "dev", strategy="source_wins")
    assert m["status"] == "merged"
    assert repo.head("dev") == m["commit_id"] and repo.head("main") == main_head
    assert repo.parents(m["commit_id"]) == [dev_before, main_head]
    assert repo.dump() == before.dump and repo.current() == "main"
    expected = expected_tree(trees["base"], trees["target"], trees["source"],
                             lambda i, b, s, t: three_way(i, b, s, t, lambda *x: x[2]))
    assert repo.hashes("dev") == expected
    # checking dev out gives exactly its state
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    assert repo.q("SELECT id, note FROM t_keep") == [(1, "kept")]


# --------------------------------------------------------------------------- audit


def test_every_operation_leaves_an_audit_row(repo):
    def new_ops(since):
        repo.one("SELECT pggit.flush()")  # (captured statements' commits and audit rows are written by the next reader)
        return repo.dicts("SELECT operation, args, outcome FROM pggit.audit_log WHERE id > %s ORDER BY id", [since])

    def last():
        repo.one("SELECT pggit.flush()")  # (what was captured before the mark is written before it)
        return repo.one("SELECT coalesce(max(id), 0) FROM pggit.audit_log")

    mark = last()
    repo.ddl("CREATE TABLE t (id int)", "CREATE VIEW v AS SELECT id FROM t")
    assert [r["operation"] for r in new_ops(mark)] == ["capture", "capture"]
    mark = last()
    repo.create_branch("dev")
    ops = new_ops(mark)
    assert [r["operation"] for r in ops] == ["create_branch"] and ops[0]["args"]["name"] == "dev"
    mark = last()
    repo.switch("dev")
    repo.ddl("CREATE OR REPLACE VIEW v AS SELECT id, 1 AS one FROM t")
    repo.switch("main")
    assert [(r["operation"], r["outcome"]) for r in new_ops(mark)] == [("switch", "ok"), ("capture", "ok"), ("switch", "ok")]
    repo.ddl("CREATE OR REPLACE VIEW v AS SELECT id, 2 AS two FROM t")
    mark = last()
    m = repo.merge("dev")
    ops = new_ops(mark)
    assert [r["operation"] for r in ops] == ["merge"] and ops[0]["args"]["merge_id"] == m["merge_id"]
    assert ops[0]["args"]["status"] == "conflicts"
    mark = last()
    repo.resolve(m["merge_id"], "view public.v", "source")
    ops = new_ops(mark)
    assert [r["operation"] for r in ops] == ["resolve", "merge"]
    assert ops[0]["args"]["resolution"] == "source" and ops[1]["args"]["commit"] == repo.head("main")
    repo.create_branch("side", "main~1")
    repo.on("side", "CREATE VIEW side_v AS SELECT 1 AS one")
    mark = last()
    m3 = repo.merge("main", "side", strategy="manual_review")
    assert m3["status"] == "conflicts"
    repo.one("SELECT pggit.abort_merge(%s)", [m3["merge_id"]])
    ops = new_ops(mark)
    assert [r["operation"] for r in ops] == ["merge", "abort_merge"]
    assert ops[1]["args"] == {"merge_id": m3["merge_id"]}
    mark = last()
    repo.one("SELECT pggit.reset_branch('side', 'main')")
    repo.one("SELECT pggit.delete_branch('side')")
    repo.one("SELECT pggit.revert('main')")
    assert [r["operation"] for r in new_ops(mark)] == ["reset", "delete_branch", "revert"]


# --------------------------------------------------------------------------- concurrency


def test_two_concurrent_merges_into_the_same_target_are_serialized(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY)")
    repo.create_branch("a")
    repo.create_branch("b")
    a_head = repo.on("a", "CREATE VIEW va AS SELECT id FROM t")
    b_head = repo.on("b", "CREATE VIEW vb AS SELECT id FROM t")
    repo.ddl("CREATE VIEW vm AS SELECT id FROM t")
    main_before = repo.head("main")

    first = repo.server.connect(repo.db, autocommit=False)
    result: dict = {}

    def second():
        try:
            with repo.server.connect(repo.db) as conn:
                result["row"] = conn.execute("SELECT status, commit_id FROM pggit.merge_branches('b', 'main')").fetchone()
        except psycopg.Error as exc:
            result["error"] = exc

    try:
        status, c1 = first.execute("SELECT status, commit_id FROM pggit.merge_branches('a', 'main')").fetchone()
        assert status == "merged"
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)
        assert t.is_alive(), "the second merge waits for the first one's lock on the target"
        first.commit()
        t.join(30)
        assert not t.is_alive()
    finally:
        first.close()
    if "error" in result:  # refused: nothing of the second merge may remain
        assert result["error"].sqlstate == "PGG08", result["error"]
        assert repo.head("main") == c1
    else:
        status2, c2 = result["row"]
        assert status2 == "merged"
        assert repo.parents(c1) == [main_before, a_head]
        assert repo.parents(c2) == [c1, b_head]
        assert repo.head("main") == c2
        assert {"view public.va", "view public.vb", "view public.vm"} <= set(repo.tree("main"))
    repo.assert_live_is("main", make_db)


def test_a_merge_prepared_before_the_target_moved_is_refused(repo, make_db):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY)")
    repo.create_branch("a")
    repo.create_branch("b")
    repo.on("a", "CREATE VIEW va AS SELECT id FROM t")
    b_head = repo.on("b", "CREATE VIEW vb AS SELECT id FROM t")
    repo.ddl("CREATE VIEW vm AS SELECT id FROM t")
    m1 = repo.merge("a", complete=False)
    m2 = repo.merge("b", complete=False)
    assert m1["status"] == m2["status"] == "ready"
    done = repo.dicts("SELECT * FROM pggit.complete_merge(%s)", [m1["merge_id"]])[0]
    assert done["status"] == "merged"
    before = repo.snapshot()
    assert sqlstate_of(lambda: repo.dicts("SELECT * FROM pggit.complete_merge(%s)", [m2["merge_id"]])) == "PGG08"
    assert repo.snapshot() == before
    assert repo.one("SELECT pggit.abort_merge(%s)", [m2["merge_id"]]) == "aborted"
    again = repo.merge("b")
    assert again["status"] == "merged"
    assert repo.parents(again["commit_id"]) == [done["commit_id"], b_head]
    assert {"view public.va", "view public.vb", "view public.vm"} <= set(repo.tree("main"))
    repo.assert_live_is("main", make_db)


def test_many_sessions_capturing_at_once_lose_no_commit(repo):
    sessions, pairs = 8, 25  # 8 sessions x 50 statements: CREATE TABLE (queued) + ALTER/COMMENT (direct)
    commits_before = repo.commits()
    errors: list[BaseException] = []
    barrier = threading.Barrier(sessions)

    def work(n: int) -> None:
        try:
            with repo.server.connect(repo.db) as conn:
                barrier.wait()
                for i in range(pairs):
                    conn.execute(f"CREATE TABLE s{n}_{i} (id int)")
                    if i % 2:
                        conn.execute(f"ALTER TABLE s{n}_{i} ADD COLUMN c{n} int")
                    else:
                        conn.execute(f"COMMENT ON TABLE s{n}_{i} IS 'session {n}'")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert repo.commits() == commits_before + sessions * pairs * 2
    log = repo.dicts("SELECT commit_id, parent_ids, message FROM pggit.log('main', 1000)")
    assert len(log) == commits_before + sessions * pairs * 2
    assert all(r["parent_ids"] == [log[i + 1]["commit_id"]] for i, r in enumerate(log[:-1])), "one linear chain"
    # each session's statements appear in the order it ran them
    for n in range(sessions):
        mine = [r["message"] for r in reversed(log) if f"s{n}_" in r["message"]]
        assert len(mine) == pairs * 2
        assert [m.split()[0] for m in mine] == [w for i in range(pairs) for w in ("CREATE", "ALTER" if i % 2 else "COMMENT")]
        assert mine[0] == f"CREATE TABLE s{n}_0 (id int)"
        assert [int(m.split(f"s{n}_")[1].split()[0]) for m in mine] == [i for i in range(pairs) for _ in (0, 1)]
    tree = repo.tree("main")
    for n in range(sessions):
        for i in range(pairs):
            d = tree[f"table public.s{n}_{i}"]
            assert (f"c{n} integer" in d) if i % 2 else (f"'session {n}'" in d), d
    assert repo.one("SELECT count(*) FROM pggit.capture_queue") == 0
    assert repo.one("SELECT count(*) FROM pggit.audit_log WHERE operation = 'capture'") >= sessions * pairs * 2


def test_semantic_conflict_found_by_the_live_migration_stays_open(repo, make_db):
    """The source drops a column a view added on the target uses: each side alone is fine, the
    result is rejected by PostgreSQL when the merge into HEAD migrates the live schema."""
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, a int, b int)")
    repo.create_branch("dev")
    dev_head = repo.on("dev", "ALTER TABLE t DROP COLUMN b")
    repo.ddl("CREATE VIEW vb AS SELECT id, b FROM t", "INSERT INTO t VALUES (1, 2, 3)")
    before = repo.snapshot()
    m = repo.merge("dev", force=True)  # b holds values: the guard would stop it first
    assert m["status"] == "conflicts"
    assert [(c["identity"], c["conflict_type"]) for c in m["conflicts"]] == [("view public.vb", "TARGET_MODIFIED")]
    assert "does not exist" in m["conflicts"][0]["error"]
    after = repo.snapshot()
    assert (after.heads, after.commits, after.dump) == (before.heads, before.commits, before.dump)
    assert repo.q("SELECT id, a, b FROM t") == [(1, 2, 3)]
    # deciding the view (the base has none: it goes) completes the merge
    r = repo.resolve(m["merge_id"], "view public.vb", "base", force=True)
    assert r["status"] == "merged" and repo.parents(r["commit_id"]) == [before.heads["main"], dev_head]
    assert "view public.vb" not in repo.tree("main")
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT id, a FROM t") == [(1, 2)]


def test_merge_into_head_that_would_lose_data_stops_until_forced(repo):
    repo.ddl("CREATE TABLE t (id int PRIMARY KEY, a int, b int)", "CREATE TABLE gone (id int)")
    repo.create_branch("dev")
    repo.on("dev", "ALTER TABLE t DROP COLUMN b", "DROP TABLE gone")
    repo.ddl("CREATE VIEW other AS SELECT 1 AS x", "INSERT INTO t VALUES (1, 2, 3)", "INSERT INTO gone VALUES (1)")
    before = repo.snapshot()
    m = repo.merge("dev")
    assert m["status"] == "ready" and m["commit_id"] is None
    assert "drops column b" in m["error"] and "drops table public.gone" in m["error"]
    after = repo.snapshot()
    assert (after.heads, after.commits, after.dump) == (before.heads, before.commits, before.dump)
    assert repo.q("SELECT * FROM t") == [(1, 2, 3)]
    assert repo.one("SELECT outcome FROM pggit.audit_log WHERE operation = 'merge' ORDER BY id DESC LIMIT 1") == "refused"
    r = repo.dicts("SELECT * FROM pggit.complete_merge(%s, true)", [m["merge_id"]])[0]
    assert r["status"] == "merged" and repo.head("main") == r["commit_id"]
    assert repo.q("SELECT * FROM t") == [(1, 2)]
    assert repo.one("SELECT to_regclass('public.gone')") is None
