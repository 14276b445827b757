"""Kinds tracked since 0.5.0 beyond what the corpus pairs show: how a statistics target returns to
its default, how event triggers (which no event trigger sees) are recorded, and how operators
named as another's COMMUTATOR or NEGATOR are refreshed when that one goes."""

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


def test_statistics_target_back_to_its_default(repo, make_db):
    repo.ddl("CREATE SCHEMA k", "CREATE TABLE k.t (a int, b int)", "CREATE STATISTICS k.s ON a, b FROM k.t",
             "ALTER STATISTICS k.s SET STATISTICS 500")
    repo.create_branch("dev")
    repo.on("dev", "ALTER STATISTICS k.s SET STATISTICS -1")
    assert "SET STATISTICS" not in repo.tree("dev")["statistics k.s"]
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    repo.switch("main")
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_event_triggers_are_recorded_in_a_commit_of_their_own(repo):
    repo.ddl("CREATE SCHEMA k",
             "CREATE FUNCTION k.f() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$",
             "CREATE EVENT TRIGGER k_et ON ddl_command_end EXECUTE FUNCTION k.f()")
    # (recorded before the next captured statement, which is a commit of its own)
    repo.ddl("CREATE TABLE k.t (a int)")
    log = [m for (m,) in repo.q("SELECT message FROM pggit.log('main', 3)")]
    assert log[0].startswith("CREATE TABLE k.t") and log[1].startswith("event triggers as the catalog holds them")
    assert "event trigger k_et" in repo.tree("main")
    # disabled, then dropped with its function: each read from the catalog
    repo.ddl("ALTER EVENT TRIGGER k_et DISABLE")
    assert "ALTER EVENT TRIGGER k_et DISABLE;" in repo.tree("main")["event trigger k_et"]
    repo.ddl("DROP FUNCTION k.f() CASCADE")
    assert "event trigger k_et" not in repo.tree("main")
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    # the engine's own event triggers are never objects
    assert not any(i.startswith("event trigger pggit") for i in repo.tree("main"))


def test_operators_that_named_a_dropped_operator_are_refreshed(repo):
    repo.ddl("CREATE SCHEMA k",
             "CREATE FUNCTION k.lt(int, int) RETURNS boolean LANGUAGE sql AS $$ SELECT $1 < $2 $$",
             "CREATE FUNCTION k.gt(int, int) RETURNS boolean LANGUAGE sql AS $$ SELECT $1 > $2 $$",
             "CREATE OPERATOR k.<<< (LEFTARG = int, RIGHTARG = int, FUNCTION = k.lt, COMMUTATOR = OPERATOR(k.>>>))")
    # a shell operator is no object
    assert "operator k.>>>(integer, integer)" not in repo.tree("main")
    repo.ddl("CREATE OPERATOR k.>>> (LEFTARG = int, RIGHTARG = int, FUNCTION = k.gt)")
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    # (the shell was linked to k.<<<; whether defining it keeps the link differs between server
    # versions: HEAD holds what the catalog says)
    linked = repo.one("SELECT oprcom <> 0 FROM pg_operator WHERE oprname = '>>>'")
    assert ("COMMUTATOR = OPERATOR(k.<<<)" in repo.tree("main")["operator k.>>>(integer, integer)"]) == linked
    repo.ddl("ALTER OPERATOR k.>>> (int, int) SET (COMMUTATOR = OPERATOR(k.<<<))") if not linked else None
    assert "COMMUTATOR = OPERATOR(k.<<<)" in repo.tree("main")["operator k.>>>(integer, integer)"]
    repo.ddl("DROP OPERATOR k.<<< (int, int)")
    assert "COMMUTATOR" not in repo.tree("main")["operator k.>>>(integer, integer)"]
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def all_text(repo, ref="main") -> str:
    """Every definition and description (detail) HEAD's tree holds, as one text."""
    return "\n".join(d + "\n" + str(x) for d, x in repo.q(
        "SELECT b.definition, b.detail::text FROM pggit.tree(%s) t JOIN pggit.blobs b ON b.hash = t.hash", [ref]))


def test_secrets_of_servers_user_mappings_and_subscriptions_are_not_stored(repo):
    repo.ddl("CREATE FOREIGN DATA WRAPPER k_fdw OPTIONS (api_key 'fdw-hush')",
             "CREATE SERVER k_srv FOREIGN DATA WRAPPER k_fdw OPTIONS (host 'db1', password 'srv-hush')",
             "CREATE USER MAPPING FOR CURRENT_USER SERVER k_srv OPTIONS (user 'reader', password 'um-hush')",
             "CREATE USER MAPPING FOR PUBLIC SERVER k_srv OPTIONS (user 'anyone', secret_token 'um2-hush')",
             "CREATE SUBSCRIPTION k_sub CONNECTION 'host=publisher.invalid password=sub-hush dbname=shop' PUBLICATION p"
             " WITH (connect = false, slot_name = NONE)",
             "CREATE SUBSCRIPTION k_sub2 CONNECTION 'postgresql://rep:sub2-hush@publisher.invalid/shop?password=sub3-hush&sslmode=require'"
             " PUBLICATION p WITH (connect = false, slot_name = NONE)")
    tree = repo.tree("main")
    me = repo.one("SELECT quote_ident(current_user)")
    assert {"foreign data wrapper k_fdw", "server k_srv", f"user mapping for {me} server k_srv",
            "user mapping for PUBLIC server k_srv", "subscription k_sub", "subscription k_sub2"} <= set(tree)
    text = all_text(repo)
    assert "hush" not in text
    # what is not secret is kept
    assert "OPTIONS (\"user\" 'reader')" in tree[f"user mapping for {me} server k_srv"]
    assert "OPTIONS (host 'db1')" in tree["server k_srv"]
    assert "CONNECTION 'host=publisher.invalid dbname=shop'" in tree["subscription k_sub"]
    assert "CONNECTION 'postgresql://rep@publisher.invalid/shop?sslmode=require'" in tree["subscription k_sub2"]
    # (the secrets are still in the catalog: only the engine does not keep them)
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.ddl("ALTER USER MAPPING FOR PUBLIC SERVER k_srv OPTIONS (SET \"user\" 'someone')",
             "ALTER SERVER k_srv OPTIONS (SET host 'db2')",
             "ALTER SUBSCRIPTION k_sub SET PUBLICATION p, q WITH (refresh = false)")
    tree = repo.tree("main")
    assert "'someone'" in tree["user mapping for PUBLIC server k_srv"] and "'db2'" in tree["server k_srv"]
    assert "PUBLICATION p, q" in tree["subscription k_sub"]
    assert "hush" not in all_text(repo)
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.ddl("DROP SUBSCRIPTION k_sub", "DROP SERVER k_srv CASCADE")
    tree = repo.tree("main")
    assert not [i for i in tree if "k_srv" in i or i == "subscription k_sub"]
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_a_base_type_takes_its_io_functions_in(repo, make_db):
    repo.ddl("CREATE SCHEMA k", "CREATE TYPE k.lbl",
             "CREATE FUNCTION k.lbl_in(cstring) RETURNS k.lbl LANGUAGE internal IMMUTABLE STRICT AS 'textin'",
             "CREATE FUNCTION k.lbl_out(k.lbl) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'textout'")
    # a shell type is no object; its functions are, until the type is made
    tree = repo.tree("main")
    assert "type k.lbl" not in tree and "function k.lbl_in(cstring)" in tree
    repo.ddl("CREATE TYPE k.lbl (INPUT = k.lbl_in, OUTPUT = k.lbl_out, LIKE = text)", "CREATE TABLE k.t (a k.lbl)")
    tree = repo.tree("main")
    assert "function k.lbl_in(cstring)" not in tree and "function k.lbl_out(k.lbl)" not in tree
    definition = tree["type k.lbl"]
    assert definition.index("CREATE TYPE k.lbl;") < definition.index("FUNCTION k.lbl_in(cstring)") \
        < definition.index("CREATE TYPE k.lbl (INTERNALLENGTH = variable, INPUT = k.lbl_in, OUTPUT = k.lbl_out")
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    # changed on a branch: the type is made again (with its table), both ways
    repo.create_branch("dev")
    repo.on("dev", "DROP TABLE k.t", "DROP TYPE k.lbl CASCADE", "CREATE TYPE k.lbl",
            "CREATE FUNCTION k.lbl_in(cstring) RETURNS k.lbl LANGUAGE internal IMMUTABLE STRICT AS 'textin'",
            "CREATE FUNCTION k.lbl_out(k.lbl) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'textout'",
            "CREATE TYPE k.lbl (INPUT = k.lbl_in, OUTPUT = k.lbl_out, LIKE = text, CATEGORY = 'S', COLLATABLE = true)",
            "CREATE TABLE k.t (a k.lbl)")
    assert "CATEGORY = 'S'" in repo.tree("dev")["type k.lbl"]
    repo.switch("dev", force=True)
    repo.assert_live_is("dev", make_db)
    assert repo.one("SELECT typcategory FROM pg_type WHERE oid = 'k.lbl'::regtype") == "S"
    repo.switch("main", force=True)
    repo.assert_live_is("main", make_db)
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    # dropped with its functions
    repo.ddl("DROP TYPE k.lbl CASCADE")
    assert not [i for i in repo.tree("main") if "lbl" in i]
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_operator_family_members_and_the_family_an_operator_class_makes(repo, make_db):
    repo.ddl("CREATE SCHEMA k",
             "CREATE OPERATOR CLASS k.int_ops FOR TYPE integer USING btree AS OPERATOR 1 <, OPERATOR 3 =,"
             " FUNCTION 1 btint4cmp(integer, integer)")
    tree = repo.tree("main")
    # (made by CREATE OPERATOR CLASS, which no event trigger reports)
    assert tree["operator family k.int_ops using btree"] == "CREATE OPERATOR FAMILY k.int_ops USING btree;"
    assert " FAMILY " not in tree["operator class k.int_ops using btree"]
    repo.ddl("ALTER OPERATOR FAMILY k.int_ops USING btree ADD OPERATOR 1 < (integer, bigint),"
             " FUNCTION 1 (integer, bigint) btint48cmp(integer, bigint)")
    assert "ADD OPERATOR 1 pg_catalog.<(integer, bigint), FUNCTION 1 (integer, bigint) btint48cmp(integer,bigint);" \
        in repo.tree("main")["operator family k.int_ops using btree"]
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.create_branch("dev")
    repo.on("dev", "ALTER OPERATOR FAMILY k.int_ops USING btree DROP FUNCTION 1 (integer, bigint)")
    dev = repo.tree("dev")["operator family k.int_ops using btree"]
    assert "btint48cmp" not in dev and "OPERATOR 1 pg_catalog.<(integer, bigint)" in dev
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    repo.switch("main")
    repo.assert_live_is("main", make_db)
    # the family dropped takes its classes
    repo.ddl("DROP OPERATOR FAMILY k.int_ops USING btree")
    assert not [i for i in repo.tree("main") if "int_ops" in i]
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_an_index_made_again_with_the_operator_class_it_uses(repo, make_db):
    repo.ddl("CREATE SCHEMA k", "CREATE ACCESS METHOD k_hash TYPE INDEX HANDLER hashhandler",
             "CREATE OPERATOR CLASS k.text_ops DEFAULT FOR TYPE text USING k_hash AS OPERATOR 1 =, FUNCTION 1 hashtext(text)",
             "CREATE TABLE k.t (a text)", "INSERT INTO k.t VALUES ('x')",
             "CREATE INDEX t_a ON k.t USING k_hash (a)")
    tree = repo.tree("main")
    assert tree["access method k_hash"] == "CREATE ACCESS METHOD k_hash TYPE INDEX HANDLER hashhandler;"
    assert "operator class k.text_ops using k_hash" in tree and "index k.t_a" in tree
    repo.create_branch("dev")
    repo.on("dev", "DROP OPERATOR CLASS k.text_ops USING k_hash CASCADE",
            "CREATE OPERATOR CLASS k.text_ops DEFAULT FOR TYPE text USING k_hash AS OPERATOR 1 =, FUNCTION 1 hashtext(text),"
            " FUNCTION 2 hashtextextended(text, bigint)",
            "CREATE INDEX t_a ON k.t USING k_hash (a)")
    steps = repo.q("SELECT identity, statement FROM pggit.migration('main', 'dev')")
    order = [i for i, _ in steps]
    assert order.index("index k.t_a") < order.index("operator class k.text_ops using k_hash")  # dropped first
    assert max(n for n, (i, s) in enumerate(steps) if i == "index k.t_a") > \
        max(n for n, (i, s) in enumerate(steps) if i == "operator class k.text_ops using k_hash")  # made after
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    assert repo.one("SELECT count(*) FROM k.t") == 1
    repo.switch("main")
    repo.assert_live_is("main", make_db)
    # the access method dropped takes its classes and indexes
    repo.ddl("DROP ACCESS METHOD k_hash CASCADE")
    assert not [i for i in repo.tree("main") if "k_hash" in i or i == "index k.t_a"]
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_objects_of_an_extension_are_part_of_it(repo):
    if not repo.one("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgres_fdw'"):
        pytest.skip("postgres_fdw is not available on this server")
    repo.ddl("CREATE SCHEMA k", "CREATE EXTENSION postgres_fdw SCHEMA k",
             "CREATE SERVER k_remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'remote.invalid', dbname 'shop')",
             "CREATE FOREIGN TABLE k.orders (id integer) SERVER k_remote OPTIONS (table_name 'orders')")
    tree = repo.tree("main")
    assert "extension postgres_fdw" in tree and "foreign data wrapper postgres_fdw" not in tree
    assert "server k_remote" in tree and "foreign table k.orders" in tree
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    (script,) = repo.q("SELECT pggit.migration_script(NULL, 'main')")[0]
    assert script.index("CREATE EXTENSION IF NOT EXISTS postgres_fdw") < script.index("CREATE SERVER k_remote") \
        < script.index("CREATE FOREIGN TABLE k.orders")


def test_a_shadow_database_holding_a_subscription_is_made_again_and_dropped(pg_server, repo):
    """A replay into the shadow database makes the state's subscriptions there (disabled, never
    connected); PostgreSQL refuses to drop a database that has one, so the shadow drops them
    first, when it is made again and when it is dropped."""
    from pggit.shadow import Shadow

    repo.ddl("CREATE SUBSCRIPTION k_sub CONNECTION 'host=publisher.invalid dbname=shop' PUBLICATION p"
             " WITH (connect = false, slot_name = 'k_slot')")
    head = repo.head("main")
    with pg_server.connect(repo.db) as conn:
        shadow = Shadow(conn)
        try:
            steps = repo.dicts("SELECT * FROM pggit.migration(NULL, %s)", [head])
            held = "SELECT s.subenabled, s.subslotname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = %s"
            shadow.replay(steps)
            assert repo.q(held, [shadow.name]) == [(False, "k_slot")]
            shadow.replay(steps)  # (made again empty first)
            assert repo.q(held, [shadow.name]) == [(False, "k_slot")]
            shadow.recreate()
            assert repo.q(held, [shadow.name]) == []
            shadow.replay(repo.dicts("SELECT * FROM pggit.migration(NULL, %s)", [head]))
            shadow.drop()
            assert not shadow.exists()
        finally:
            shadow.close()


def test_the_shadow_role_replays_and_drops_what_only_a_superuser_makes(pg_server, repo):
    """Merges are verified in the shadow database as an unprivileged role; the objects of kinds only
    a superuser makes (a base type's internal I/O functions, access methods, operator classes,
    wrappers and what needs their ownership...) are made there privileged when the step is HEAD's
    own definition (read from the live catalog, where a privileged role made it); a migration that
    drops them is replayed in full (the shadow role could not drop them)."""
    from pggit.shadow import Shadow

    repo.ddl("CREATE SCHEMA k", "CREATE TYPE k.lbl",
             "CREATE FUNCTION k.lbl_in(cstring) RETURNS k.lbl LANGUAGE internal IMMUTABLE STRICT AS 'textin'",
             "CREATE FUNCTION k.lbl_out(k.lbl) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'textout'",
             "CREATE TYPE k.lbl (INPUT = k.lbl_in, OUTPUT = k.lbl_out, LIKE = text)",
             "CREATE ACCESS METHOD k_hash TYPE INDEX HANDLER hashhandler",
             "CREATE OPERATOR CLASS k.text_ops DEFAULT FOR TYPE text USING k_hash AS OPERATOR 1 =, FUNCTION 1 hashtext(text)",
             "CREATE TEXT SEARCH TEMPLATE k.tpl (LEXIZE = dsimple_lexize)",
             "CREATE FOREIGN DATA WRAPPER k_fdw", "CREATE SERVER k_srv FOREIGN DATA WRAPPER k_fdw",
             "CREATE USER MAPPING FOR PUBLIC SERVER k_srv OPTIONS (user 'u')",
             "CREATE FOREIGN TABLE k.ft (a integer) SERVER k_srv",
             "CREATE TABLE k.t (a text, l k.lbl)", "CREATE INDEX t_a ON k.t USING k_hash (a)")
    full = repo.head("main")
    with pg_server.connect(repo.db) as conn:
        shadow = Shadow(conn)
        try:
            shadow.verify(full)
            with shadow.connect() as sconn:
                assert sconn.execute("SELECT count(*) AS v FROM pg_am WHERE amname = 'k_hash'").fetchone()["v"] == 1
                assert sconn.execute("SELECT to_regtype('k.lbl') IS NOT NULL AS v").fetchone()["v"]
                assert sconn.execute("SELECT count(*) AS v FROM pg_user_mappings WHERE srvname = 'k_srv'").fetchone()["v"] == 1
            repo.ddl("DROP TABLE k.t", "DROP FOREIGN TABLE k.ft", "DROP USER MAPPING FOR PUBLIC SERVER k_srv",
                     "DROP SERVER k_srv", "DROP FOREIGN DATA WRAPPER k_fdw", "DROP TEXT SEARCH TEMPLATE k.tpl",
                     "DROP ACCESS METHOD k_hash CASCADE", "DROP TYPE k.lbl CASCADE")
            shadow.verify(repo.head("main"))
            # (the shadow role cannot drop them: replayed in full, not failed)
            assert shadow.last_mode == "full" and "privileged" in shadow.last_fallback
            with shadow.connect() as sconn:
                assert sconn.execute("SELECT count(*) AS v FROM pg_am WHERE amname = 'k_hash'").fetchone()["v"] == 0
                assert sconn.execute("SELECT count(*) AS v FROM pg_foreign_data_wrapper WHERE fdwname = 'k_fdw'").fetchone()["v"] == 0
                assert not sconn.execute("SELECT to_regtype('k.lbl') IS NOT NULL AS v").fetchone()["v"]
        finally:
            shadow.drop()
            shadow.close()


def test_foreign_table_changes_are_captured_and_migrate_both_ways(repo, make_db):
    repo.ddl("CREATE SCHEMA k", "CREATE FOREIGN DATA WRAPPER k_fdw", "CREATE SERVER k_srv FOREIGN DATA WRAPPER k_fdw",
             "CREATE TABLE k.base (id integer NOT NULL)",
             "CREATE FOREIGN TABLE k.ft (a integer, b text) SERVER k_srv OPTIONS (table_name 'remote')")
    repo.create_branch("dev")
    repo.on("dev", "ALTER FOREIGN TABLE k.ft ADD COLUMN c date OPTIONS (column_name 'cc')",
            "ALTER FOREIGN TABLE k.ft ALTER COLUMN a SET NOT NULL",
            "ALTER FOREIGN TABLE k.ft OPTIONS (ADD schema_name 'app', DROP table_name)",
            "ALTER FOREIGN TABLE k.ft DROP COLUMN b",
            "CREATE FOREIGN TABLE k.child (extra text) INHERITS (k.base) SERVER k_srv",
            "COMMENT ON COLUMN k.ft.c IS 'when'")
    dev = repo.tree("dev")
    assert "c date OPTIONS (column_name 'cc')" in dev["foreign table k.ft"]
    assert "OPTIONS (schema_name 'app')" in dev["foreign table k.ft"] and " b text" not in dev["foreign table k.ft"]
    assert "INHERITS (k.base) SERVER k_srv" in dev["foreign table k.child"]
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.switch("dev")
    repo.assert_live_is("dev", make_db)
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.switch("main")
    repo.assert_live_is("main", make_db)
    assert repo.one("SELECT to_regclass('k.child') IS NULL")
