"""The client's merge, checkout, revert, reset and apply: what needs the shadow database (merge
verification, custom resolutions, apply on a branch that is not checked out), failure auditing,
and the CLI subcommands. Every test checks the state after the action: trees, heads, the live
schema (catalog queries and normalized dumps)."""

from __future__ import annotations

import re
import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pggit import Client
from pggit.cli import main as cli_main
from pggit.errors import DataLossRefused, InvalidArgument, ShadowReplayError, ShadowUnavailable, WrongBranch
from pggit.shadow import Shadow, shadow_name


def run(pg_server, db, *statements):
    with pg_server.connect(db) as conn:
        for s in statements:
            conn.execute(s)


def tree_map(client: Client, ref: str) -> dict[str, dict]:
    return {r["identity"]: r for r in client.tree(ref)}


def audit_rows(client: Client, operation: str) -> list[dict]:
    return client._rows("SELECT operation, args, outcome, detail FROM pggit.audit_log WHERE operation = %s ORDER BY id",
                        (operation,))


def column_names(pg_server, db, table: str) -> list[str]:
    with pg_server.connect(db) as conn:
        return [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (table,)).fetchall()]


def table_columns(client: Client, ref: str, identity: str) -> list[str]:
    """Column names of a table in the state of ``ref`` (from its blob's structured detail)."""
    detail = client._value("SELECT b.detail FROM pggit.tree(%s) t JOIN pggit.blobs b ON b.hash = t.hash "
                           "WHERE t.identity = %s", (ref, identity))
    return [c["name"] for c in detail["columns"]]


# shadow -----------------------------------------------------------------------------------


def test_shadow_name_fits_identifier_limit():
    assert shadow_name("shop") == "shop__pggit_shadow"
    long = "ü" * 40  # 80 bytes
    name = shadow_name(long)
    assert len(name.encode()) <= 63 and name.endswith("__pggit_shadow")
    assert name != shadow_name("ü" * 39 + "x")  # the hash tells truncated names apart
    name.encode().decode()  # no cut character


def test_shadow_needs_createdb(repo):
    server, db, client = repo
    role = f"pggit_nocreatedb_{uuid.uuid4().hex[:8]}"
    run(server, db, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        with psycopg.connect(make_conninfo(server.dsn_for(db), user=role), autocommit=True) as conn:
            shadow = Shadow(conn)
            try:
                with pytest.raises(ShadowUnavailable, match="lacks CREATEDB"):
                    shadow.replay([])
            finally:
                shadow.close()
        assert not client.shadow.exists()
    finally:
        run(server, db, sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


# apply ------------------------------------------------------------------------------------


def test_apply_commits_on_branch_and_leaves_live_untouched(repo, make_db):
    server, db, client = repo
    run(server, db, "CREATE TABLE t (id int PRIMARY KEY)")
    client.create_branch("feature")
    feature_before = client.resolve("feature")
    head_before = client.resolve("HEAD")
    dump_before = server.dump_schema(db)

    ddl = "ALTER TABLE t ADD COLUMN note text NOT NULL DEFAULT ''; CREATE INDEX t_note_idx ON t (note);"
    commit = client.apply("feature", ddl, message="Add note")

    assert commit == client.resolve("feature")
    entry = client.log("feature", 1)[0]
    assert entry["message"] == "Add note" and entry["parent_ids"] == [feature_before]
    assert {r["identity"]: r["change"] for r in client.show(commit)} == {
        "table public.t": "modified", "index public.t_note_idx": "added"}
    # the live database, HEAD and main are untouched
    assert client.resolve("HEAD") == head_before and client.current_branch() == "main"
    assert server.dump_schema(db) == dump_before
    assert column_names(server, db, "public.t") == ["id"]

    # the branch's tree is exactly what capture records when the same DDL runs live
    other = make_db()
    other_client = Client(server.dsn_for(other))
    try:
        other_client.install()
        run(server, other, "CREATE TABLE t (id int PRIMARY KEY)", ddl)
        expected = {i: r["hash"] for i, r in tree_map(other_client, "HEAD").items()}
    finally:
        other_client.close()
    assert {i: r["hash"] for i, r in tree_map(client, "feature").items()} == expected

    # nothing to do: no commit
    assert client.apply("feature", "CREATE TABLE scratch (x int); DROP TABLE scratch;") is None
    assert client.resolve("feature") == commit


def test_apply_failure_changes_nothing(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE t (id int PRIMARY KEY)")
    client.create_branch("feature")
    feature_before = client.resolve("feature")
    dump_before = server.dump_schema(db)

    with pytest.raises(ShadowReplayError) as err:
        client.apply("feature", "ALTER TABLE t ADD COLUMN ok int; ALTER TABLE t ADD COLUMN x no_such_type;")
    assert 'type "no_such_type" does not exist' in err.value.message
    assert client.resolve("feature") == feature_before
    assert server.dump_schema(db) == dump_before
    failure = audit_rows(client, "apply")[-1]
    assert failure["outcome"] == "error" and "no_such_type" in failure["detail"]
    assert failure["args"]["branch"] == "feature"


def test_apply_on_head_branch_is_refused(repo):
    server, db, client = repo
    head_before = client.resolve("HEAD")
    with pytest.raises(WrongBranch, match="checked out"):
        client.apply("main", "CREATE TABLE t (id int)")
    assert client.resolve("HEAD") == head_before
    assert column_names(server, db, "public.t") == []
    assert audit_rows(client, "apply")[-1]["outcome"] == "error"


# merge with verification --------------------------------------------------------------------


def _semantic_conflict(server, db, client):
    """Branch A drops items.c; branch B adds a view using items.c; merge B into A."""
    run(server, db, "CREATE TABLE items (id int PRIMARY KEY, a int, c int)")
    client.create_branch("A")
    client.create_branch("B")
    client.apply("A", "ALTER TABLE items DROP COLUMN c")
    client.apply("B", "CREATE VIEW v AS SELECT id, c FROM items")
    a_head = client.resolve("A")
    result = client.merge("B", target="A")
    return a_head, result


def test_merge_reports_semantic_conflict_then_custom_resolution_completes(repo):
    server, db, client = repo
    a_head, result = _semantic_conflict(server, db, client)
    dump_before = server.dump_schema(db)

    assert result["status"] == "conflicts" and result["commit_id"] is None
    assert result["shadow_ms"] is not None
    [conflict] = result["conflicts"]
    assert conflict["identity"] == "view public.v"
    assert re.search(r'column (items\.)?"?c"? does not exist', conflict["error"]), conflict["error"]
    assert client.resolve("A") == a_head  # nothing committed
    items = {r["identity"]: r for r in client.merge_items(result["merge_id"])}
    assert items["view public.v"]["resolution"] is None and "does not exist" in items["view public.v"]["error"]
    assert items["table public.items"]["resolution"] == "auto"

    done = client.resolve_conflict(result["merge_id"], "view public.v", "custom",
                                   "CREATE VIEW v AS SELECT id, a FROM items")
    assert done["status"] == "merged" and done["conflicts"] == []
    assert client.resolve("A") == done["commit_id"]
    assert client.log("A", 1)[0]["parent_ids"] == [a_head, client.resolve("B")]
    tree = tree_map(client, "A")
    view = tree["view public.v"]["definition"]
    assert view.startswith("CREATE VIEW public.v AS")  # canonical text from the catalog
    assert re.search(r"\ba\b", view) and not re.search(r"\bc\b", view)
    assert table_columns(client, "A", "table public.items") == ["id", "a"]
    items = {r["identity"]: r for r in client.merge_items(result["merge_id"])}
    assert items["view public.v"]["resolution"] == "custom" and items["view public.v"]["error"] is None
    # the result replays: the merged state is valid for PostgreSQL
    client.shadow.replay(client._state_rows("A"))
    # A is not HEAD: the live schema never moved
    assert server.dump_schema(db) == dump_before


def test_rejected_custom_resolution_leaves_merge_unchanged(repo):
    server, db, client = repo
    a_head, result = _semantic_conflict(server, db, client)
    merge_id = result["merge_id"]
    items_before = client.merge_items(merge_id)

    with pytest.raises(ShadowReplayError) as err:
        client.resolve_conflict(merge_id, "view public.v", "custom", "CREATE VIEW v AS SELECT id, nope FROM items")
    assert 'column "nope" does not exist' in err.value.message
    assert client.merge_items(merge_id) == items_before
    status = client._value("SELECT status FROM pggit.merges WHERE merge_id = %s", (merge_id,))
    assert status == "conflicts"
    assert client.resolve("A") == a_head
    assert audit_rows(client, "resolve")[-1]["outcome"] == "error"

    # a definition of another object is refused too, and also changes nothing
    with pytest.raises(InvalidArgument, match="creates view public.w, not view public.v") as wrong:
        client.resolve_conflict(merge_id, "view public.v", "custom", "CREATE VIEW w AS SELECT id FROM items")
    assert (wrong.value.identity, wrong.value.created) == ("view public.v", ["view public.w"])
    assert client.merge_items(merge_id) == items_before

    assert client.abort_merge(merge_id) == "aborted"
    assert client._value("SELECT status FROM pggit.merges WHERE merge_id = %s", (merge_id,)) == "aborted"
    assert client.resolve("A") == a_head


def test_custom_table_resolution_with_dependent_view(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE items (id int PRIMARY KEY, a int)", "CREATE VIEW w AS SELECT id, a FROM items")
    client.create_branch("A")
    client.create_branch("B")
    client.apply("A", "ALTER TABLE items ADD COLUMN x int")
    client.apply("B", "ALTER TABLE items ADD COLUMN x text")
    result = client.merge("B", target="A")
    assert result["status"] == "conflicts"
    assert [(c["identity"], c["conflict_type"]) for c in result["conflicts"]] == [("table public.items", "BOTH_MODIFIED")]

    done = client.resolve_conflict(result["merge_id"], "table public.items", "custom",
                                   "CREATE TABLE items (id int PRIMARY KEY, a int, x bigint)")
    assert done["status"] == "merged", done
    detail = client._value("SELECT b.detail FROM pggit.tree('A') t JOIN pggit.blobs b ON b.hash = t.hash "
                           "WHERE t.identity = 'table public.items'")
    assert [(c["name"], c["type"]) for c in detail["columns"]] == [("id", "integer"), ("a", "integer"), ("x", "bigint")]
    assert "view public.w" in tree_map(client, "A")  # the view the shadow dropped on the way is kept


def test_merge_into_head_migrates_live_schema(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE base_t (id int PRIMARY KEY)")
    client.create_branch("feature")
    client.apply("feature", "ALTER TABLE base_t ADD COLUMN f int")
    run(server, db, "CREATE TABLE on_main (id int)")
    main_head = client.resolve("main")
    assert client.find_merge_base("feature", "main") == client.log("feature")[1]["commit_id"]
    classes = {r["identity"]: r["conflict_type"] for r in client.detect_merge_conflicts("feature")}
    assert classes["table public.base_t"] == "SOURCE_MODIFIED"

    result = client.merge("feature", message="Merge feature")
    assert result["status"] == "merged" and result["shadow_ms"] is not None
    assert client.resolve("main") == result["commit_id"]
    assert client.log("main", 1)[0]["parent_ids"] == [main_head, client.resolve("feature")]
    assert column_names(server, db, "public.base_t") == ["id", "f"]
    assert column_names(server, db, "public.on_main") == ["id"]
    assert {i: r["hash"] for i, r in tree_map(client, "HEAD").items()} == \
        {i: r["hash"] for i, r in tree_map(client, "merge:%d" % result["merge_id"]).items()}


# failures are audited ------------------------------------------------------------------------


def test_refused_switch_is_audited_and_changes_nothing(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)")
    client.create_branch("feature")
    client.apply("feature", "DROP TABLE t")
    dump_before = server.dump_schema(db)
    steps = client.data_loss_steps("main", "feature")
    assert [s["identity"] for s in steps] == ["table public.t"]

    with pytest.raises(DataLossRefused):
        client.switch_branch("feature")
    assert client.current_branch() == "main"
    assert server.dump_schema(db) == dump_before
    failure = audit_rows(client, "switch")[-1]
    assert failure["outcome"] == "refused" and failure["args"] == {"name": "feature", "force": False}

    assert client.switch_branch("feature", force=True) == client.resolve("feature")
    assert client.current_branch() == "feature"
    assert column_names(server, db, "public.t") == []


# names with quotes, spaces and unicode -----------------------------------------------------------


def test_quoted_unicode_names_through_apply_and_merge(repo):
    server, db, client = repo
    branch = 'it\'s "the" brünch; --'
    table = 'Tä "q" \'s'
    client.create_branch(branch)
    create = sql.SQL("CREATE TABLE public.{} ({} int PRIMARY KEY)").format(
        sql.Identifier(table), sql.Identifier("cöl umn")).as_string(None)
    commit = client.apply(branch, create, message="wéird")
    assert commit == client.resolve(branch)
    identity = [i for i in tree_map(client, branch) if i.startswith("table ")][0]
    assert table.replace('"', '""') in identity
    assert column_names(server, db, sql.Identifier("public", table).as_string(None)) == []

    run(server, db, "CREATE TABLE on_main (id int)")  # main moves: a real three-way merge
    result = client.merge(branch)
    assert result["status"] == "merged", result
    assert identity in tree_map(client, "main")
    assert column_names(server, db, sql.Identifier("public", table).as_string(None)) == ["cöl umn"]


# CLI ------------------------------------------------------------------------------------------


def test_cli_merge_commands(repo, capsys, tmp_path):
    server, db, client = repo
    dsn = server.dsn_for(db)

    def cli(*argv):
        code = cli_main(["--dsn", dsn, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    run(server, db, "CREATE TABLE items (id int PRIMARY KEY, a int, c int)", "INSERT INTO items VALUES (1, 2, 3)")
    client.create_branch("A")
    client.create_branch("B")
    assert cli("apply", "A", "--sql", "ALTER TABLE items DROP COLUMN c", "-m", "drop c")[0] == 0
    view_file = tmp_path / "v.sql"
    view_file.write_text("CREATE VIEW v AS SELECT id, c FROM items;\n")
    code, out, _ = cli("apply", "B", "--file", str(view_file))
    assert code == 0 and out.startswith("commit ")
    assert client.log("B", 1)[0]["message"] == view_file.read_text()

    code, out, _ = cli("merge-base", "A", "B")
    assert code == 0 and out.strip() == client.resolve("main")
    code, out, _ = cli("conflicts", "B", "A", "--json")
    assert code == 0 and "view public.v" in out and "SOURCE_MODIFIED" in out

    code, out, _ = cli("merge", "B", "--into", "A")
    assert code == 0 and "1 open item" in out and re.search(r'error: column (items\.)?"?c"? does not exist', out), out
    merge_id = client._value("SELECT max(merge_id) FROM pggit.merges")
    code, out, _ = cli("merge-items", str(merge_id))
    assert code == 0 and "view public.v" in out and "open" in out

    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE VIEW v AS SELECT nope FROM items")
    code, out, err = cli("resolve", str(merge_id), "view public.v", "custom", "--file", str(bad))
    assert code == 1 and 'column "nope" does not exist' in err
    code, out, err = cli("resolve", str(merge_id), "view public.v", "custom")
    assert code == 2
    code, out, _ = cli("resolve", str(merge_id), "view public.v", "base")  # base: no view
    assert code == 0 and out.startswith("merged: commit")
    assert "view public.v" not in tree_map(client, "A")
    code, _, err = cli("merge-abort", str(merge_id))
    assert code == 1 and "not open" in err

    # checkout refused (would drop the values of items.c), then forced
    code, out, err = cli("checkout", "A")
    assert code == 1 and "lose data" in err and "Traceback" not in err
    assert client.current_branch() == "main" and column_names(server, db, "public.items") == ["id", "a", "c"]
    code, out, _ = cli("checkout", "A", "--force")
    assert code == 0 and out.startswith("switched to branch A")
    assert column_names(server, db, "public.items") == ["id", "a"]

    # revert a commit on A, HEAD now (the live schema follows), then reset A back to it
    run(server, db, "CREATE TABLE later (id int)")
    later = client.resolve("A")
    code, out, _ = cli("revert", later)
    assert code == 0 and out.startswith("reverted")
    assert client.log("A", 1)[0]["parent_ids"] == [later]
    assert column_names(server, db, "public.later") == []
    code, out, _ = cli("reset", "A", later)
    assert code == 0 and client.resolve("A") == later
    assert column_names(server, db, "public.later") == ["id"]

    code, out, _ = cli("apply", "B", "--sql", "SELECT 1")
    assert code == 0 and "nothing changed" in out
    code, _, err = cli("apply", "A", "--sql", "CREATE TABLE x (id int)")
    assert code == 1 and "checked out" in err


def test_cli_merge_items_prints_the_items_of_a_merged_merge_and_says_why_a_fast_forward_has_none(repo, capsys):
    server, db, client = repo
    run(server, db, "CREATE TABLE t (id int)")
    client.create_branch("feature")
    client.apply("feature", "CREATE TABLE on_feature (id int)")
    run(server, db, "CREATE TABLE on_main (id int)")  # main moves: a real three-way merge with two items
    merged = client.merge("feature")
    assert merged["status"] == "merged"
    assert cli_main(["--dsn", server.dsn_for(db), "merge-items", str(merged["merge_id"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"merge {merged['merge_id']}: feature into main, merged, 2 item(s)"
    assert [line.split()[-3:] for line in lines[1:]] == [["auto", "table", "public.on_feature"],
                                                          ["auto", "table", "public.on_main"]]
    assert "SOURCE_MODIFIED" in lines[1] and "TARGET_MODIFIED" in lines[2]

    client.create_branch("ff", "feature")
    client.apply("ff", "CREATE TABLE on_ff (id int)")
    fast = client.merge("ff", "feature")
    assert fast["status"] == "fast_forward"
    code = cli_main(["--dsn", server.dsn_for(db), "merge-items", str(fast["merge_id"])])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[0] == f"merge {fast['merge_id']}: ff into feature, fast_forward, 0 item(s)"
    assert "fast-forward" in out[1]  # never silent: a merge without items says why

    assert cli_main(["--dsn", server.dsn_for(db), "merge-items", "999999"]) == 1
    assert "no merge 999999" in capsys.readouterr().err


def test_cli_branch_list_lines_up_the_heads(repo, capsys):
    server, db, client = repo
    for name in ("x", "a much longer branch name", "ünï cödé"):
        client.create_branch(name)
    assert cli_main(["--dsn", server.dsn_for(db), "branch"]) == 0
    lines = capsys.readouterr().out.splitlines()
    heads = {b["name"]: b["head"][:12] for b in client.branches()}
    assert len(lines) == len(heads) >= 4
    columns = {line.index(heads[line[2:].rsplit(None, 1)[0].rstrip()]) for line in lines}
    assert len(columns) == 1, lines  # every head starts in the same column
    assert all(line.endswith(heads[line[2:].rsplit(None, 1)[0].rstrip()]) for line in lines)
    assert sum(line.startswith("* ") for line in lines) == 1
