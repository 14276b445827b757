"""Privileges as state (issue 10, section 3; docs/engine.md, "Privileges"): GRANT and REVOKE on
tables, columns, sequences, functions, schemas and types are commits with no drift; migrations
between two states grant and revoke only the difference (checked in the catalog after checkout
both ways); three-way merges merge privileges granted differently on each side; a repository can
turn privileges off. Role and object names hold quotes, spaces and unicode."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from merge_support import Repo, install_engine, run_script


@pytest.fixture
def roles(pg_server):
    """Two roles with awkward names, made for this test (roles belong to the whole server) and
    dropped after the test's databases (requested first: torn down last)."""
    tag = uuid.uuid4().hex[:8]
    names = {"bob": f"acl bob {tag}", "ann": f'Acl "Ann" é {tag}'}
    with pg_server.connect("postgres") as conn:
        for n in names.values():
            conn.execute(psycopg.sql.SQL("CREATE ROLE {}").format(psycopg.sql.Identifier(n)))
    yield names
    with pg_server.connect("postgres") as conn:
        for n in names.values():
            conn.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(n)))


@pytest.fixture
def repo(pg_server, roles, make_db):
    db = make_db()
    install_engine(pg_server, db)
    r = Repo(pg_server, db)
    yield r
    r.close()


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def acls(r: Repo) -> dict[str, list]:
    """The ACLs of the test's objects as (grantee, privilege, grantable) sets; the owner as OWNER."""
    rows = r.q("""
        WITH o(name, acl, owner) AS (
            SELECT c.oid::regclass::text, c.relacl, c.relowner FROM pg_class c
             WHERE c.relnamespace IN ('"Sch ema"'::regnamespace, 'public'::regnamespace) AND c.relkind IN ('r', 'v', 'S')
            UNION ALL SELECT a.attrelid::regclass::text || '.' || quote_ident(a.attname), a.attacl, c.relowner
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             WHERE c.relnamespace = '"Sch ema"'::regnamespace AND a.attnum > 0 AND a.attacl IS NOT NULL
            UNION ALL SELECT p.oid::regprocedure::text, p.proacl, p.proowner FROM pg_proc p
             WHERE p.pronamespace = '"Sch ema"'::regnamespace
            UNION ALL SELECT t.oid::regtype::text, t.typacl, t.typowner FROM pg_type t
             WHERE t.typnamespace = '"Sch ema"'::regnamespace AND t.typtype IN ('e', 'd')
            UNION ALL SELECT n.nspname, n.nspacl, n.nspowner FROM pg_namespace n WHERE n.nspname = 'Sch ema')
        SELECT o.name, array_agg(DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC' WHEN x.grantee = o.owner THEN 'OWNER'
                                               ELSE pg_get_userbyid(x.grantee) END
                                          || ':' || x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END)
          FROM o LEFT JOIN LATERAL aclexplode(o.acl) x ON true
         GROUP BY o.name ORDER BY o.name""")
    return {name: sorted(p for p in privs if p is not None) for name, privs in rows}


SCHEMA = [
    'CREATE SCHEMA "Sch ema"',
    'CREATE TABLE "Sch ema"."Tab le" (id integer PRIMARY KEY, "a b" text, ü text)',
    'CREATE SEQUENCE "Sch ema".seq',
    'CREATE FUNCTION "Sch ema"."f n"(x integer) RETURNS integer LANGUAGE sql AS $$SELECT x$$',
    "CREATE TYPE \"Sch ema\".mood AS ENUM ('sad', 'ok')",
    'CREATE DOMAIN "Sch ema".pos AS integer CHECK (VALUE > 0)',
    'CREATE VIEW "Sch ema".v AS SELECT id, "a b" FROM "Sch ema"."Tab le"',
]


def grants(roles) -> list[str]:
    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    return [
        f'GRANT SELECT, INSERT ON "Sch ema"."Tab le" TO {bob}',
        f'GRANT UPDATE ("a b", ü) ON "Sch ema"."Tab le" TO {ann} WITH GRANT OPTION',
        f'GRANT USAGE ON SEQUENCE "Sch ema".seq TO {bob}',
        'REVOKE EXECUTE ON FUNCTION "Sch ema"."f n"(integer) FROM PUBLIC',
        f'GRANT EXECUTE ON FUNCTION "Sch ema"."f n"(integer) TO {ann}',
        f'GRANT USAGE ON SCHEMA "Sch ema" TO {bob}, {ann}',
        'REVOKE USAGE ON TYPE "Sch ema".mood FROM PUBLIC',
        f'GRANT USAGE ON DOMAIN "Sch ema".pos TO {bob}',
        f'GRANT SELECT ON "Sch ema".v TO {ann}',
        'REVOKE TRUNCATE ON "Sch ema"."Tab le" FROM CURRENT_USER',
    ]


def test_each_grant_and_revoke_is_one_commit_of_its_object_with_no_drift(repo, roles, make_db):
    repo.ddl(*SCHEMA)
    expected = ['table "Sch ema"."Tab le"', 'table "Sch ema"."Tab le"', 'sequence "Sch ema".seq',
                'function "Sch ema"."f n"(integer)', 'function "Sch ema"."f n"(integer)', 'schema "Sch ema"',
                'type "Sch ema".mood', 'domain "Sch ema".pos', 'view "Sch ema".v', 'table "Sch ema"."Tab le"']
    for stmt, identity in zip(grants(roles), expected):
        before = repo.commits()
        repo.ddl(stmt)
        assert repo.commits() == before + 1, stmt
        changed = repo.q("SELECT identity, change FROM pggit.show(NULL)")
        assert changed == [(identity, "modified")], stmt
    assert repo.q("SELECT identity FROM pggit.drift()") == []

    tree = repo.tree()
    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    # (grantees in byte order of their quoted names: roles, then OWNER, then PUBLIC)
    assert tree['table "Sch ema"."Tab le"'].endswith(
        f'\nGRANT UPDATE ("a b", "ü") ON TABLE "Sch ema"."Tab le" TO {ann} WITH GRANT OPTION;'
        f'\nGRANT INSERT, SELECT ON TABLE "Sch ema"."Tab le" TO {bob};'
        "\nDO 'BEGIN EXECUTE ''REVOKE TRUNCATE ON TABLE \"Sch ema\".\"Tab le\" FROM '' || quote_ident((SELECT pg_get_userbyid(relowner)"
        " FROM pg_catalog.pg_class WHERE oid = ''\"Sch ema\".\"Tab le\"''::pg_catalog.regclass)) || '';''; END';")
    assert tree['function "Sch ema"."f n"(integer)'].endswith(
        f'\nGRANT EXECUTE ON FUNCTION "Sch ema"."f n"(integer) TO {ann};'
        '\nREVOKE EXECUTE ON FUNCTION "Sch ema"."f n"(integer) FROM PUBLIC;')
    assert tree['type "Sch ema".mood'].endswith('\nREVOKE USAGE ON TYPE "Sch ema".mood FROM PUBLIC;')
    detail = repo.one("SELECT b.detail->'acl' FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash"
                      " WHERE l.identity = 'function \"Sch ema\".\"f n\"(integer)'")
    assert detail == {"PUBLIC": [], ann: ["EXECUTE"]}

    # the rebuild from nothing gives the same privileges
    live = acls(repo)
    table = live['"Sch ema"."Tab le"']
    assert "OWNER:SELECT" in table and "OWNER:TRUNCATE" not in table
    assert [p for p in table if not p.startswith("OWNER:")] == sorted([f"{roles['bob']}:INSERT", f"{roles['bob']}:SELECT"])
    assert live['"Sch ema"."Tab le"."ü"'] == [f"{roles['ann']}:UPDATE*"]
    built = make_db()
    run_script(repo.server, built, repo.one("SELECT pggit.migration_script(NULL, 'main')"), "migration(NULL, main)")
    other = Repo(repo.server, built)
    try:
        assert acls(other) == live
    finally:
        other.close()


def test_untouched_objects_describe_no_privileges(repo):
    repo.ddl(*SCHEMA)
    for identity, definition in repo.tree().items():
        assert "GRANT" not in definition and "REVOKE" not in definition, identity
    assert repo.one("SELECT count(*) FROM pggit.blobs b JOIN pggit.live_objects l ON l.hash = b.hash"
                    " WHERE b.detail ? 'acl'") == 0


def test_revoke_execute_from_public_and_back_by_checkout(repo, roles):
    bob = roles["bob"]
    repo.ddl(*SCHEMA)
    repo.create_branch("before")
    repo.ddl('REVOKE EXECUTE ON FUNCTION "Sch ema"."f n"(integer) FROM PUBLIC')
    can = 'SELECT has_function_privilege(%s, \'"Sch ema"."f n"(integer)\', \'EXECUTE\')'
    assert repo.one(can, [bob]) is False
    repo.switch("before")
    assert repo.one(can, [bob]) is True
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.switch("main")
    assert repo.one(can, [bob]) is False
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_migration_between_two_states_grants_and_revokes_only_the_difference(repo, roles):
    bob, ann = roles["bob"], roles["ann"]
    repo.ddl(*SCHEMA)
    repo.ddl(f'GRANT SELECT ON "Sch ema"."Tab le" TO {qi(bob)}',
             f'GRANT USAGE ON SEQUENCE "Sch ema".seq TO {qi(bob)}')
    repo.create_branch("a")
    repo.ddl(f'REVOKE SELECT ON "Sch ema"."Tab le" FROM {qi(bob)}',
             f'GRANT SELECT ("a b") ON "Sch ema"."Tab le" TO {qi(bob)}',
             f'GRANT UPDATE ON "Sch ema".v TO {qi(ann)}',
             f'GRANT CREATE ON SCHEMA "Sch ema" TO {qi(ann)}')
    steps = repo.q("SELECT kind, identity, statement, reason FROM pggit.migration('a', 'main') WHERE kind <> 'setting'")
    assert steps == [
        ("schema", 'schema "Sch ema"', f'GRANT CREATE ON SCHEMA "Sch ema" TO {qi(ann)};', "privileges changed"),
        ("table", 'table "Sch ema"."Tab le"', f'REVOKE SELECT ON TABLE "Sch ema"."Tab le" FROM {qi(bob)};', "privileges changed"),
        ("table", 'table "Sch ema"."Tab le"', f'GRANT SELECT ("a b") ON TABLE "Sch ema"."Tab le" TO {qi(bob)};', "privileges changed"),
        ("view", 'view "Sch ema".v', f'GRANT UPDATE ON TABLE "Sch ema".v TO {qi(ann)};', "privileges changed"),
    ]
    back = [s for (s,) in repo.q("SELECT statement FROM pggit.migration('main', 'a') WHERE kind <> 'setting'")]
    assert sorted(back) == sorted([
        f'REVOKE CREATE ON SCHEMA "Sch ema" FROM {qi(ann)};',
        f'REVOKE SELECT ("a b") ON TABLE "Sch ema"."Tab le" FROM {qi(bob)};',
        f'GRANT SELECT ON TABLE "Sch ema"."Tab le" TO {qi(bob)};',
        f'REVOKE UPDATE ON TABLE "Sch ema".v FROM {qi(ann)};'])

    def state():
        return (repo.one("SELECT has_table_privilege(%s, '\"Sch ema\".\"Tab le\"', 'SELECT')", [bob]),
                repo.one("SELECT has_column_privilege(%s, '\"Sch ema\".\"Tab le\"', 'a b', 'SELECT')", [bob]),
                repo.one("SELECT has_column_privilege(%s, '\"Sch ema\".\"Tab le\"', 'id', 'SELECT')", [bob]),
                repo.one("SELECT has_table_privilege(%s, '\"Sch ema\".v', 'UPDATE')", [ann]),
                repo.one("SELECT has_schema_privilege(%s, 'Sch ema', 'CREATE')", [ann]),
                repo.one("SELECT has_sequence_privilege(%s, '\"Sch ema\".seq', 'USAGE')", [bob]))

    main_acls = acls(repo)
    assert state() == (False, True, False, True, True, True)
    oid = repo.one("SELECT '\"Sch ema\".\"Tab le\"'::regclass::oid")
    repo.switch("a")
    assert state() == (True, True, True, False, False, True)
    assert repo.one("SELECT '\"Sch ema\".\"Tab le\"'::regclass::oid") == oid  # altered, not rebuilt
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.switch("main")
    assert state() == (False, True, False, True, True, True)
    assert acls(repo) == main_acls
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_an_object_rebuilt_by_a_migration_gets_its_privileges_again(repo, roles):
    ann = qi(roles["ann"])
    repo.ddl(*SCHEMA, f'GRANT SELECT ON "Sch ema".v TO {ann}')
    repo.create_branch("a")
    repo.ddl('CREATE OR REPLACE VIEW "Sch ema".v AS SELECT id, "a b", ü FROM "Sch ema"."Tab le"')
    assert repo.one("SELECT has_table_privilege(%s, '\"Sch ema\".v', 'SELECT')", [roles["ann"]]) is True
    repo.ddl('DROP VIEW "Sch ema".v', 'CREATE VIEW "Sch ema".v AS SELECT id FROM "Sch ema"."Tab le"')
    assert repo.one("SELECT has_table_privilege(%s, '\"Sch ema\".v', 'SELECT')", [roles["ann"]]) is False
    repo.switch("a")
    assert repo.one("SELECT has_table_privilege(%s, '\"Sch ema\".v', 'SELECT')", [roles["ann"]]) is True
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.switch("main")
    assert repo.one("SELECT has_table_privilege(%s, '\"Sch ema\".v', 'SELECT')", [roles["ann"]]) is False
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_three_way_merge_takes_the_privileges_each_side_granted(repo, roles):
    bob, ann = roles["bob"], roles["ann"]
    repo.ddl(*SCHEMA, f'GRANT SELECT, DELETE ON "Sch ema"."Tab le" TO {qi(bob)}')
    repo.create_branch("side")
    repo.ddl(f'GRANT INSERT ON "Sch ema"."Tab le" TO {qi(bob)}',
             f'REVOKE DELETE ON "Sch ema"."Tab le" FROM {qi(bob)}',
             f'GRANT SELECT ON "Sch ema".v TO {qi(ann)}')
    repo.on("side",
            f'GRANT UPDATE ON "Sch ema"."Tab le" TO {qi(bob)}',
            f'GRANT SELECT ON "Sch ema"."Tab le" TO {qi(ann)}',
            'ALTER TABLE "Sch ema"."Tab le" ADD COLUMN extra integer',
            f'GRANT INSERT ON "Sch ema".v TO {qi(ann)}')
    result = repo.merge("side", "main")
    assert result["status"] == "merged", result
    items = repo.items(result["merge_id"])
    assert items['table "Sch ema"."Tab le"']["conflict_type"] == "BOTH_MODIFIED"
    live = acls(repo)
    assert live['"Sch ema"."Tab le"'] == sorted(
        [p for p in live['"Sch ema"."Tab le"'] if p.startswith("OWNER:")]
        + [f"{bob}:INSERT", f"{bob}:SELECT", f"{bob}:UPDATE", f"{ann}:SELECT"])
    assert live['"Sch ema".v'] == sorted([p for p in live['"Sch ema".v'] if p.startswith("OWNER:")]
                                         + [f"{ann}:INSERT", f"{ann}:SELECT"])
    assert "extra" in repo.columns('"Sch ema"."Tab le"')
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    # the merge commit's tree is what the live database now describes
    assert repo.tree("main") == {i: d for i, d in repo.q(
        "SELECT l.identity, b.definition FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash")}


def test_privileges_turned_off_are_not_recorded(repo, roles):
    bob = qi(roles["bob"])
    repo.ddl(*SCHEMA, f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob}')
    assert "GRANT SELECT" in repo.tree()['table "Sch ema"."Tab le"']
    assert repo.one("SELECT pggit.configure_privileges(false)") == 1
    assert "GRANT" not in repo.tree()['table "Sch ema"."Tab le"']
    before = repo.commits()
    repo.ddl(f'GRANT INSERT ON "Sch ema"."Tab le" TO {bob}',
             'REVOKE EXECUTE ON FUNCTION "Sch ema"."f n"(integer) FROM PUBLIC')
    assert repo.commits() == before
    assert repo.one("SELECT count(*) FROM pggit.blobs b JOIN pggit.live_objects l ON l.hash = b.hash"
                    " WHERE b.detail ? 'acl' OR b.definition LIKE '%%GRANT%%' OR b.definition LIKE '%%REVOKE%%'") == 0
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    assert repo.one("SELECT pggit.configure_privileges(false)") == 0
    # and on again: the objects take their privileges in one commit
    assert repo.one("SELECT pggit.configure_privileges(true)") == 2
    assert repo.commits() == before + 1
    assert "GRANT INSERT, SELECT ON TABLE" in repo.tree()['table "Sch ema"."Tab le"']
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_a_rolled_back_grant_leaves_no_commit_and_a_grant_in_a_group_joins_it(repo, roles):
    bob = qi(roles["bob"])
    repo.ddl(*SCHEMA)
    before = repo.commits()
    with pytest.raises(psycopg.errors.DivisionByZero):
        with repo.conn.transaction():
            repo.ddl(f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob}')
            repo.q("SELECT 1/0")
    assert repo.commits() == before
    with repo.conn.transaction():
        repo.q("SELECT pggit.begin_commit('grants for bob')")
        repo.ddl('CREATE TABLE "Sch ema".t2 (x int)', f'GRANT SELECT ON "Sch ema".t2, "Sch ema"."Tab le" TO {bob}')
    assert repo.commits() == before + 1
    assert repo.one("SELECT message FROM pggit.log(NULL, 1)") == "grants for bob"
    assert sorted(i for (i,) in repo.q("SELECT identity FROM pggit.show(NULL)")) == [
        'table "Sch ema"."Tab le"', 'table "Sch ema".t2']
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_default_privileges_are_objects_captured_and_migrated(repo, roles):
    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    repo.ddl(*SCHEMA)
    repo.create_branch("before")
    before = repo.commits()
    repo.ddl(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "Sch ema" GRANT SELECT ON TABLES TO {bob}',
             'ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC',
             f'ALTER DEFAULT PRIVILEGES FOR ROLE {bob} GRANT USAGE ON TYPES TO {ann} WITH GRANT OPTION')
    assert repo.commits() == before + 3
    me = repo.one("SELECT quote_ident(current_user)")
    dp = {i: d for i, d in repo.tree().items() if i.startswith("default privileges")}
    assert dp == {
        f'default privileges for role {me} in schema "Sch ema" on tables':
            f'ALTER DEFAULT PRIVILEGES FOR ROLE {me} IN SCHEMA "Sch ema" GRANT SELECT ON TABLES TO {bob};',
        f"default privileges for role {me} on functions":
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {me} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;",
        f"default privileges for role {bob} on types":
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {bob} GRANT USAGE ON TYPES TO {ann} WITH GRANT OPTION;",
    }
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    live = sorted(map(str, repo.q("SELECT defaclrole::regrole::text, defaclnamespace, defaclobjtype::text, defaclacl::text"
                                  " FROM pg_default_acl")))
    assert len(live) == 3

    repo.switch("before")
    assert repo.one("SELECT count(*) FROM pg_default_acl") == 0
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.switch("main")
    assert sorted(map(str, repo.q("SELECT defaclrole::regrole::text, defaclnamespace, defaclobjtype::text, defaclacl::text"
                                  " FROM pg_default_acl"))) == live
    assert repo.q("SELECT identity FROM pggit.drift()") == []

    # a table made under them carries its grants; going back to the default removes the entry
    repo.ddl('CREATE TABLE "Sch ema".later (x int)')
    assert f'GRANT SELECT ON TABLE "Sch ema".later TO {bob};' in repo.tree()['table "Sch ema".later']
    repo.ddl('ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC')
    assert repo.q("SELECT identity, change FROM pggit.show(NULL)") == [
        (f"default privileges for role {me} on functions", "deleted")]
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_privileges_turned_off_leave_default_privileges_out(repo, roles):
    bob = qi(roles["bob"])
    repo.ddl(*SCHEMA, f'ALTER DEFAULT PRIVILEGES IN SCHEMA "Sch ema" GRANT SELECT ON TABLES TO {bob}')
    assert any(i.startswith("default privileges") for i in repo.tree())
    assert repo.one("SELECT pggit.configure_privileges(false)") == 1
    assert not any(i.startswith("default privileges") for i in repo.tree())
    before = repo.commits()
    repo.ddl(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "Sch ema" GRANT INSERT ON TABLES TO {bob}')
    assert repo.commits() == before
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_a_merge_verified_in_the_shadow_replays_grants_and_skips_other_roles_default_privileges(pg_server, roles, make_db):
    """The shadow replays a state's GRANTs as its own role (the roles are the server's); ALTER
    DEFAULT PRIVILEGES FOR ROLE of another role is skipped there (the shadow role may not), and
    runs on the live database."""
    from pggit import Client

    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    db = make_db()
    client = Client(pg_server.dsn_for(db))
    try:
        client.install()
        r = Repo(pg_server, db)
        try:
            r.ddl(*SCHEMA, f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob}')
            client.create_branch("feature")
            r.on("feature",
                 f'GRANT SELECT ON "Sch ema".v TO {ann}',
                 f'ALTER DEFAULT PRIVILEGES IN SCHEMA "Sch ema" GRANT SELECT ON TABLES TO {bob}',
                 'REVOKE EXECUTE ON FUNCTION "Sch ema"."f n"(integer) FROM PUBLIC')
            r.ddl(f'GRANT INSERT ON "Sch ema"."Tab le" TO {ann}')
            result = client.merge("feature")
            assert result["status"] == "merged", result
            assert result["shadow_ms"] is not None
            assert r.one("SELECT has_table_privilege(%s, '\"Sch ema\".v', 'SELECT')", [roles["ann"]]) is True
            assert r.one("SELECT has_table_privilege(%s, '\"Sch ema\".\"Tab le\"', 'INSERT')", [roles["ann"]]) is True
            assert r.one("SELECT has_function_privilege(%s, '\"Sch ema\".\"f n\"(integer)', 'EXECUTE')", [roles["bob"]]) is False
            assert r.one("SELECT count(*) FROM pg_default_acl") == 1
            assert r.q("SELECT identity FROM pggit.drift()") == []
            with pg_server.connect(client.shadow.name) as sh:
                # grants replayed in the shadow, on the shadow role's objects
                assert sh.execute("SELECT has_table_privilege(%s, '\"Sch ema\".v', 'SELECT')", [roles["ann"]]).fetchone()[0]
                assert sh.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = '\"Sch ema\".v'::regclass"
                                  ).fetchone()[0] == client.shadow.role
                # the live DSN role's default privileges are not the shadow role's to set
                assert sh.execute("SELECT count(*) FROM pg_default_acl").fetchone()[0] == 0
        finally:
            r.close()
    finally:
        if client._shadow is not None:
            client.drop_shadow()
        client.close()


def test_stored_privileges_are_checked_before_they_become_sql(repo):
    for grantee, privs in [("bob; DROP TABLE x", ["SELECT"]), ("OWNER", ["SELECT; DROP TABLE x"]),
                           ('"a" TO "b"', ["SELECT"]), ("PUBLIC", ['SELECT("a") , DELETE'])]:
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            repo.q("SELECT pggit._acl_stmt('GRANT', %s, 'TABLE public.t', %s, false)", [privs, grantee])
    assert repo.one("SELECT pggit._acl_stmt('GRANT', %s, 'TABLE public.t', %s, true)", [['SELECT("a b")', "UPDATE"], '"x""y"']) == \
        'GRANT SELECT ("a b"), UPDATE ON TABLE public.t TO "x""y" WITH GRANT OPTION;'


def test_upgrade_from_0_5_0_records_privileges_in_one_commit(pg_server, roles, make_db):
    """0.5.0 did not describe privileges: after the upgrade the objects with grants (and the
    default privileges, a kind tracked for the first time) take the new form in one commit, and
    nothing shows as drift."""
    from pggit import install as pginstall
    from test_upgrade import install_release

    bob = qi(roles["bob"])
    db = make_db()
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        install_release(conn, "0.5.0")
    with pg_server.connect(db) as conn:
        for statement in [*SCHEMA, f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob}',
                          'REVOKE EXECUTE ON FUNCTION "Sch ema"."f n"(integer) FROM PUBLIC',
                          f'ALTER DEFAULT PRIVILEGES IN SCHEMA "Sch ema" GRANT SELECT ON TABLES TO {bob}',
                          "SELECT pggit.flush()"]:
            conn.execute(statement)
        head_before = conn.execute("SELECT commit_id FROM pggit.log('main', 1)").fetchone()[0]
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        pginstall.install(conn)
    with pg_server.connect(db) as conn:
        head, parents, message = conn.execute("SELECT commit_id, parent_ids, message FROM pggit.log('main', 1)").fetchone()
        assert parents == [head_before] and message.startswith(f"pgGit {pginstall.current_version()}:")
        me = conn.execute("SELECT quote_ident(current_user)").fetchone()[0]
        assert sorted(r[0] for r in conn.execute("SELECT identity FROM pggit.show(%s)", (head,)).fetchall()) == [
            f'default privileges for role {me} in schema "Sch ema" on tables',
            'function "Sch ema"."f n"(integer)', 'table "Sch ema"."Tab le"']
        assert conn.execute("SELECT identity FROM pggit.drift()").fetchall() == []


def test_drop_owned_records_the_privileges_it_revoked(repo, roles, pg_server):
    bob = qi(roles["bob"])
    repo.ddl(*SCHEMA, f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob}', f'GRANT USAGE ON SCHEMA "Sch ema" TO {bob}',
             f'ALTER DEFAULT PRIVILEGES IN SCHEMA "Sch ema" GRANT SELECT ON TABLES TO {bob}')
    before = repo.commits()
    repo.ddl(f"DROP OWNED BY {bob}")
    assert repo.commits() == before + 1
    me = repo.one("SELECT quote_ident(current_user)")
    assert sorted(i for (i,) in repo.q("SELECT identity FROM pggit.show(NULL)")) == [
        f'default privileges for role {me} in schema "Sch ema" on tables', 'schema "Sch ema"', 'table "Sch ema"."Tab le"']
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_a_privilege_granted_by_two_grantors_is_described_once(repo, roles):
    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    repo.ddl(*SCHEMA, f'GRANT USAGE ON SCHEMA "Sch ema" TO {ann}',
             f'GRANT SELECT ON "Sch ema"."Tab le" TO {ann} WITH GRANT OPTION',
             f"SET ROLE {ann}", f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob} WITH GRANT OPTION', "RESET ROLE")
    assert repo.one("SELECT author FROM pggit.log(NULL, 1)") == roles["ann"]
    before = repo.commits()
    repo.ddl(f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob}')  # (held already, with grant option, from ann)
    assert repo.commits() == before
    assert repo.one("SELECT count(*) FROM pg_class c, aclexplode(c.relacl) x"
                    " WHERE c.oid = '\"Sch ema\".\"Tab le\"'::regclass AND x.grantee = to_regrole(%s)", [bob]) == 2
    detail = repo.one("SELECT b.detail->'acl' FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash"
                      " WHERE l.identity = 'table \"Sch ema\".\"Tab le\"'")
    assert detail == {ann: ["SELECT*"], bob: ["SELECT*"]}
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_a_grant_in_a_subtransaction_or_a_function_is_captured(repo, roles):
    """GRANT reports no object addresses: capture finds the catalog rows its transaction wrote,
    which a savepoint or a function's exception block writes under a subtransaction's id."""
    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    repo.ddl(*SCHEMA)
    before = repo.commits()
    with repo.conn.transaction():
        repo.q("SAVEPOINT s1")
        repo.ddl(f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob}')
        repo.q("RELEASE SAVEPOINT s1")
    assert repo.commits() == before + 1
    assert repo.q("SELECT identity, change FROM pggit.show(NULL)") == [('table "Sch ema"."Tab le"', "modified")]
    repo.ddl(f"""DO $$ BEGIN
                   BEGIN
                       GRANT UPDATE ("a b") ON "Sch ema"."Tab le" TO {ann.replace("'", "''")};
                   EXCEPTION WHEN others THEN RAISE;
                   END;
                 END $$""")
    assert repo.commits() == before + 2
    acl = repo.one("SELECT b.detail->'acl' FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash"
                   " WHERE l.identity = 'table \"Sch ema\".\"Tab le\"'")
    assert acl[bob] == ["SELECT"] and acl[ann] == ['UPDATE("a b")'], acl
    # a savepoint rolled back leaves no commit
    with repo.conn.transaction():
        repo.q("SAVEPOINT s2")
        repo.ddl(f'GRANT DELETE ON "Sch ema"."Tab le" TO {bob}')
        repo.q("ROLLBACK TO SAVEPOINT s2")
    assert repo.commits() == before + 2
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_a_grant_compares_only_the_objects_it_touched(repo, roles):
    """A GRANT reads again only the objects whose catalog rows it wrote, and takes their new
    privileges into their recorded descriptions instead of describing them anew (the calls are
    counted in pg_stat_xact_user_functions); the result is what describing anew gives."""
    bob = qi(roles["bob"])
    repo.ddl(*[f"CREATE TABLE many_{i} (id int PRIMARY KEY, note text)" for i in range(200)])
    repo.commits()  # (flush: the creates are described before the timed statement)
    repo.q("SET track_functions = 'all'")
    with repo.conn.transaction():
        repo.ddl(f"GRANT SELECT ON many_7 TO {bob}")
        calls = dict(repo.q("SELECT funcname, calls FROM pg_stat_xact_user_functions"
                            " WHERE schemaname = 'pggit' AND funcname IN ('_acl', '_describe', '_describe_table')"))
    assert calls.get("_acl", 0) <= 3, calls
    assert calls.get("_describe_table", 0) == 0, calls  # (the recorded description took the new privileges)
    assert repo.q("SELECT identity, change FROM pggit.show(NULL)") == [("table public.many_7", "modified")]
    assert repo.one("SELECT b.detail->'acl' FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash"
                    " WHERE l.identity = 'table public.many_7'")[bob] == ["SELECT"]
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    # GRANT ... ON ALL TABLES: one commit of every table, each with its privileges
    repo.ddl(f"GRANT INSERT ON ALL TABLES IN SCHEMA public TO {bob}")
    assert len(repo.q("SELECT identity FROM pggit.show(NULL)")) == 200
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    fresh = repo.one("SELECT pggit._describe('pg_class'::regclass, 'many_7'::regclass)::text")
    recorded = repo.one("SELECT ROW(l.classid, l.objid, l.kind, l.identity, b.definition, b.detail)::pggit.objdesc::text"
                        " FROM pggit.live_objects l JOIN pggit.blobs b ON b.hash = l.hash WHERE l.identity = 'table public.many_7'")
    assert recorded == fresh  # (the patched description is what describing anew gives)


def test_a_grant_does_not_record_earlier_drift_of_its_object(repo, roles):
    """A change made with capture off is drift; a later GRANT on the object records the privileges
    it granted, and the drift stays drift until someone records or reverts it."""
    bob = qi(roles["bob"])
    repo.ddl(*SCHEMA)
    with repo.conn.transaction():
        repo.q("SELECT set_config('pggit.capture', 'off', true)")
        repo.ddl('ALTER TABLE "Sch ema"."Tab le" ADD COLUMN unrecorded int')
    assert repo.q("SELECT identity FROM pggit.drift()") == [('table "Sch ema"."Tab le"',)]
    repo.ddl(f'GRANT SELECT ON "Sch ema"."Tab le" TO {bob}')
    definition = repo.tree()['table "Sch ema"."Tab le"']
    assert f'GRANT SELECT ON TABLE "Sch ema"."Tab le" TO {bob};' in definition
    assert "unrecorded" not in definition
    assert repo.q("SELECT identity FROM pggit.drift()") == [('table "Sch ema"."Tab le"',)]
