"""Owners as state (issue 10, section 3; docs/engine.md, "Owners"): ALTER ... OWNER TO is a commit
of its object with no drift; an object the database's owner owns records no owner; migrations
between two states give each object its owner (steps of kind ``owner``, after the privileges) and
checkout works both ways (owners checked in the catalog: pg_dump runs with --no-owner); three-way
merges take the owner one side changed and refuse one changed two ways; the shadow replays a
merge without the owner steps (its role owns everything there) and ``apply`` keeps the branch's
owners; a repository can turn owners off. Role names hold quotes, spaces and unicode; the roles
are made per test with random names (roles belong to the whole server)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from merge_support import Repo, install_engine


@pytest.fixture
def roles(pg_server):
    """Two roles with awkward names, made for this test and dropped after its databases
    (requested first: torn down last)."""
    tag = uuid.uuid4().hex[:8]
    names = {"bob": f"own bob {tag}", "ann": f'Own "Ann" é {tag}'}
    with pg_server.connect("postgres") as conn:
        for n in names.values():
            conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(n)))
    yield names
    with pg_server.connect("postgres") as conn:
        for n in names.values():
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(n)))


@pytest.fixture
def repo(pg_server, roles, make_db):
    db = make_db()
    install_engine(pg_server, db)
    r = Repo(pg_server, db)
    yield r
    # (the roles own objects of this database: give them back so that the roles can go)
    for n in roles.values():
        r.q(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(n)))
    r.close()


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


SCHEMA = [
    'CREATE SCHEMA "Sch ema"',
    'CREATE TABLE "Sch ema"."Tab le" (id serial PRIMARY KEY, "a b" text)',
    'CREATE SEQUENCE "Sch ema".seq',
    'CREATE VIEW "Sch ema".v AS SELECT id, "a b" FROM "Sch ema"."Tab le"',
    'CREATE FUNCTION "Sch ema"."f n"(x integer) RETURNS integer LANGUAGE sql AS $$SELECT x$$',
    "CREATE TYPE \"Sch ema\".mood AS ENUM ('sad', 'ok')",
    'CREATE DOMAIN "Sch ema".pos AS integer CHECK (VALUE > 0)',
    'CREATE COLLATION "Sch ema".coll (provider = libc, locale = \'C\')',
    'CREATE TEXT SEARCH DICTIONARY "Sch ema".dict (TEMPLATE = simple)',
]

# (statement with {role}, identity, what ALTER names it by)
CHANGES = [
    ('ALTER TABLE "Sch ema"."Tab le" OWNER TO {role}', 'table "Sch ema"."Tab le"', 'TABLE "Sch ema"."Tab le"'),
    ('ALTER SEQUENCE "Sch ema".seq OWNER TO {role}', 'sequence "Sch ema".seq', 'SEQUENCE "Sch ema".seq'),
    ('ALTER VIEW "Sch ema".v OWNER TO {role}', 'view "Sch ema".v', 'VIEW "Sch ema".v'),
    ('ALTER FUNCTION "Sch ema"."f n"(integer) OWNER TO {role}', 'function "Sch ema"."f n"(integer)',
     'FUNCTION "Sch ema"."f n"(integer)'),
    ('ALTER TYPE "Sch ema".mood OWNER TO {role}', 'type "Sch ema".mood', 'TYPE "Sch ema".mood'),
    ('ALTER DOMAIN "Sch ema".pos OWNER TO {role}', 'domain "Sch ema".pos', 'DOMAIN "Sch ema".pos'),
    ('ALTER COLLATION "Sch ema".coll OWNER TO {role}', 'collation "Sch ema".coll', 'COLLATION "Sch ema".coll'),
    ('ALTER TEXT SEARCH DICTIONARY "Sch ema".dict OWNER TO {role}', 'text search dictionary "Sch ema".dict',
     'TEXT SEARCH DICTIONARY "Sch ema".dict'),
    ('ALTER SCHEMA "Sch ema" OWNER TO {role}', 'schema "Sch ema"', 'SCHEMA "Sch ema"'),
]


def owners(r: Repo) -> dict[str, str]:
    """The owners of the test's objects, as the catalog has them."""
    return dict(r.q("""
        SELECT c.oid::regclass::text, pg_get_userbyid(c.relowner) FROM pg_class c
         WHERE c.relnamespace = '"Sch ema"'::regnamespace AND c.relkind IN ('r', 'v', 'S')
        UNION ALL SELECT p.oid::regprocedure::text, pg_get_userbyid(p.proowner) FROM pg_proc p
         WHERE p.pronamespace = '"Sch ema"'::regnamespace
        UNION ALL SELECT t.oid::regtype::text, pg_get_userbyid(t.typowner) FROM pg_type t
         WHERE t.typnamespace = '"Sch ema"'::regnamespace AND t.typtype IN ('e', 'd')
        UNION ALL SELECT 'collation', pg_get_userbyid(c.collowner) FROM pg_collation c WHERE c.collname = 'coll'
        UNION ALL SELECT 'dict', pg_get_userbyid(d.dictowner) FROM pg_ts_dict d WHERE d.dictname = 'dict'
        UNION ALL SELECT n.nspname, pg_get_userbyid(n.nspowner) FROM pg_namespace n WHERE n.nspname = 'Sch ema'"""))


def recorded_owner(r: Repo, identity: str, ref: str | None = None):
    return r.one("SELECT b.detail->>'owner' FROM pggit.tree(%s::text) t JOIN pggit.blobs b ON b.hash = t.hash"
                 " WHERE t.identity = %s", [ref, identity])


def test_each_owner_change_is_one_commit_of_its_object_with_no_drift(repo, roles):
    repo.ddl(*SCHEMA)
    # objects the database's owner owns record no owner
    assert repo.one("SELECT count(*) FROM pggit.tree() t JOIN pggit.blobs b ON b.hash = t.hash"
                    " WHERE b.detail ? 'owner'") == 0
    ann = roles["ann"]
    for stmt, identity, target in CHANGES:
        before = repo.commits()
        repo.ddl(stmt.format(role=qi(ann)))
        assert repo.commits() == before + 1, stmt
        assert repo.q("SELECT identity, change FROM pggit.show(NULL)") == [(identity, "modified")], stmt
        assert recorded_owner(repo, identity) == ann
        definition = repo.tree()[identity]
        assert f"\nALTER {target} OWNER TO {qi(ann)};" in definition, definition
    # the serial sequence follows its table: no owner of its own
    assert recorded_owner(repo, 'sequence "Sch ema"."Tab le_id_seq"') is None
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    # back to the database's owner: no owner recorded again
    repo.ddl('ALTER TABLE "Sch ema"."Tab le" OWNER TO CURRENT_USER')
    assert recorded_owner(repo, 'table "Sch ema"."Tab le"') is None
    assert "OWNER TO" not in repo.tree()['table "Sch ema"."Tab le"']
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_migration_between_states_sets_owners_and_checkout_goes_both_ways(repo, roles, make_db):
    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    repo.ddl(*SCHEMA, f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {bob}', f'ALTER FUNCTION "Sch ema"."f n"(integer) OWNER TO {bob}')
    main_owners = owners(repo)
    repo.create_branch("other")
    repo.on("other", f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {ann}',
            'ALTER FUNCTION "Sch ema"."f n"(integer) OWNER TO CURRENT_USER',
            f'ALTER SCHEMA "Sch ema" OWNER TO {ann}', f'ALTER TYPE "Sch ema".mood OWNER TO {bob}',
            'ALTER TABLE "Sch ema"."Tab le" ADD COLUMN c integer')
    steps = repo.dicts("SELECT kind, identity, statement, reason FROM pggit.migration('main', 'other') ORDER BY step")
    owner_steps = [s for s in steps if s["kind"] == "owner"]
    assert {s["identity"]: s["reason"] for s in owner_steps} == {
        'table "Sch ema"."Tab le"': "owner changed", 'function "Sch ema"."f n"(integer)': "owner changed",
        'schema "Sch ema"': "owner changed", 'type "Sch ema".mood': "owner changed"}
    by_ident = {s["identity"]: s["statement"] for s in owner_steps}
    assert by_ident['table "Sch ema"."Tab le"'] == f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {ann};'
    assert by_ident['type "Sch ema".mood'] == f'ALTER TYPE "Sch ema".mood OWNER TO {bob};'
    # (back to the database's owner, named where the step runs)
    assert by_ident['function "Sch ema"."f n"(integer)'].startswith("DO ")
    # owner steps come last, after every other step
    assert steps[-len(owner_steps):] == owner_steps

    repo.switch("other")
    other = owners(repo)
    me = repo.one("SELECT current_user")
    assert other['"Sch ema"."Tab le"'] == roles["ann"] and other["Sch ema"] == roles["ann"]
    assert other['"Sch ema"."f n"(integer)'] == me and other['"Sch ema".mood'] == roles["bob"]
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.assert_live_is("other", make_db)
    repo.switch("main")
    assert owners(repo) == main_owners
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    repo.assert_live_is("main", make_db)

    # a rebuild from nothing gives every object its recorded owner
    target = make_db()
    with repo.server.connect(target) as conn:
        conn.execute(repo.one("SELECT pggit.migration_script(NULL, 'other')").encode())
        assert conn.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = '\"Sch ema\".\"Tab le\"'::regclass"
                            ).fetchone()[0] == roles["ann"]
        assert conn.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'Sch ema'").fetchone()[0] == roles["ann"]
        conn.execute(sql.SQL("REASSIGN OWNED BY {}, {} TO CURRENT_USER").format(
            sql.Identifier(roles["ann"]), sql.Identifier(roles["bob"])))


def test_three_way_merge_takes_the_owner_one_side_changed(repo, roles):
    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    repo.ddl(*SCHEMA)
    repo.create_branch("side")
    repo.on("side", f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {bob}', f'ALTER TYPE "Sch ema".mood OWNER TO {ann}')
    # main changes the same table otherwise (a column, a grant) and the type's owner the same way
    repo.ddl('ALTER TABLE "Sch ema"."Tab le" ADD COLUMN c integer', f'GRANT SELECT ON "Sch ema"."Tab le" TO {ann}',
             f'ALTER TYPE "Sch ema".mood OWNER TO {ann}')
    result = repo.merge("side", "main")
    assert result["status"] == "merged", result
    assert recorded_owner(repo, 'table "Sch ema"."Tab le"') == roles["bob"]
    assert recorded_owner(repo, 'type "Sch ema".mood') == roles["ann"]
    live = owners(repo)
    assert live['"Sch ema"."Tab le"'] == roles["bob"] and live['"Sch ema".mood'] == roles["ann"]
    assert "c" in repo.columns('"Sch ema"."Tab le"')
    assert repo.one("SELECT has_table_privilege(%s, '\"Sch ema\".\"Tab le\"', 'SELECT')", [roles["ann"]]) is True
    assert repo.q("SELECT identity FROM pggit.drift()") == []


def test_an_owner_changed_two_ways_is_a_conflict(repo, roles):
    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    repo.ddl(*SCHEMA)
    repo.create_branch("side")
    repo.on("side", f'ALTER FUNCTION "Sch ema"."f n"(integer) OWNER TO {bob}')
    repo.ddl(f'ALTER FUNCTION "Sch ema"."f n"(integer) OWNER TO {ann}')
    head = repo.head("main")
    result = repo.merge("side", "main")
    assert result["status"] == "conflicts", result
    items = repo.items(result["merge_id"])
    assert items['function "Sch ema"."f n"(integer)']["conflict_type"] == "BOTH_MODIFIED"
    assert repo.head("main") == head
    assert owners(repo)['"Sch ema"."f n"(integer)'] == roles["ann"]


def test_owners_turned_off_are_not_recorded_and_never_migrated(repo, roles):
    bob = qi(roles["bob"])
    repo.ddl(*SCHEMA, f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {bob}', f'ALTER VIEW "Sch ema".v OWNER TO {bob}')
    repo.create_branch("before")
    assert repo.one("SELECT pggit.configure_owners(false)") == 2
    assert repo.one("SELECT message FROM pggit.log(NULL, 1)").startswith("Owners not tracked")
    assert recorded_owner(repo, 'table "Sch ema"."Tab le"') is None
    assert "OWNER TO" not in repo.tree()['table "Sch ema"."Tab le"']
    before = repo.commits()
    repo.ddl('ALTER SEQUENCE "Sch ema".seq OWNER TO ' + bob)
    assert repo.commits() == before
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    # migrations never give owners, not even between states recorded with them
    assert repo.q("SELECT identity FROM pggit.migration('before', 'main') WHERE kind = 'owner'") == []
    assert repo.q("SELECT identity FROM pggit.migration(NULL, 'before') WHERE kind = 'owner'") == []
    assert repo.one("SELECT pggit.configure_owners(true)") == 3
    assert recorded_owner(repo, 'sequence "Sch ema".seq') == roles["bob"]
    assert repo.q("SELECT identity FROM pggit.drift()") == []
    with pytest.raises(psycopg.errors.NullValueNotAllowed):
        repo.q("SELECT pggit.configure_owners(NULL)")


def test_a_checkout_to_an_owner_that_no_longer_exists_fails_naming_the_step(repo, pg_server, make_db):
    """The role a state names must exist where it is migrated (as for GRANT): PostgreSQL's error
    (42704) names the step, and nothing changes."""
    gone = f"own gone {uuid.uuid4().hex[:8]}"
    repo.ddl(*SCHEMA)
    repo.ddl(sql.SQL("CREATE ROLE {}").format(sql.Identifier(gone)))
    try:
        repo.create_branch("b")
        repo.on("b", f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {qi(gone)}')
        assert owners(repo)['"Sch ema"."Tab le"'] == repo.one("SELECT current_user")
    finally:
        repo.ddl(sql.SQL("DROP ROLE {}").format(sql.Identifier(gone)))
    head = repo.head("main")
    with pytest.raises(psycopg.errors.UndefinedObject) as exc:
        repo.switch("b")
    assert gone in str(exc.value)
    assert exc.value.diag.message_detail == (
        f'while migrating table "Sch ema"."Tab le": ALTER TABLE "Sch ema"."Tab le" OWNER TO {qi(gone)};')
    assert repo.current() == "main" and repo.head("main") == head


def test_reassign_owned_runs_no_event_trigger_and_shows_as_drift(repo, roles):
    """PostgreSQL runs no event trigger for REASSIGN OWNED: what it moved is drift until the
    objects are captured again (documented), never silently lost."""
    bob = qi(roles["bob"])
    repo.ddl(*SCHEMA, f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {bob}', f'ALTER VIEW "Sch ema".v OWNER TO {bob}')
    before = repo.commits()
    repo.ddl(f"REASSIGN OWNED BY {bob} TO CURRENT_USER")
    assert repo.commits() == before
    assert sorted(i for (i,) in repo.q("SELECT identity FROM pggit.drift()")) == [
        'table "Sch ema"."Tab le"', 'view "Sch ema".v']


def test_a_merge_verified_in_the_shadow_leaves_owners_out_there(pg_server, roles, make_db):
    """The shadow replays a state without its owner steps (its role owns everything it makes
    there); the live database gets them."""
    from pggit import Client

    bob, ann = qi(roles["bob"]), qi(roles["ann"])
    db = make_db()
    client = Client(pg_server.dsn_for(db))
    r = None
    try:
        client.install()
        r = Repo(pg_server, db)
        r.ddl(*SCHEMA, f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {bob}')
        client.create_branch("feature")
        r.on("feature", f'ALTER VIEW "Sch ema".v OWNER TO {ann}', f'ALTER SCHEMA "Sch ema" OWNER TO {ann}',
             'CREATE TABLE "Sch ema".new (id integer)', f'ALTER TABLE "Sch ema".new OWNER TO {ann}')
        r.ddl('ALTER TABLE "Sch ema"."Tab le" ADD COLUMN c integer')
        result = client.merge("feature")
        assert result["status"] == "merged", result
        assert result["shadow_ms"] is not None
        live = owners(r)
        assert live['"Sch ema".v'] == roles["ann"] and live["Sch ema"] == roles["ann"]
        assert live['"Sch ema"."Tab le"'] == roles["bob"] and live['"Sch ema".new'] == roles["ann"]
        assert r.q("SELECT identity FROM pggit.drift()") == []
        with pg_server.connect(client.shadow.name) as sh:
            assert {o for (o,) in sh.execute(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = '\"Sch ema\"'::regnamespace"
            ).fetchall()} == {client.shadow.role}
        # apply on a branch that is not checked out keeps the owners the branch records
        client.create_branch("later")
        commit = client.apply("later", 'ALTER TABLE "Sch ema"."Tab le" ADD COLUMN d integer; '
                                       'CREATE TABLE "Sch ema".newer (id integer)')
        assert commit is not None
        assert recorded_owner(r, 'table "Sch ema"."Tab le"', "later") == roles["bob"]
        assert recorded_owner(r, 'table "Sch ema".newer', "later") is None
        assert f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {bob};' in r.tree("later")['table "Sch ema"."Tab le"']
        client.switch_branch("later")
        assert owners(r)['"Sch ema"."Tab le"'] == roles["bob"]
        assert "d" in r.columns('"Sch ema"."Tab le"')
        assert r.q("SELECT identity FROM pggit.drift()") == []
    finally:
        if r is not None:
            for n in roles.values():
                r.q(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(n)))
            r.close()
        if client._shadow is not None:
            client.drop_shadow()
        client.close()


def test_upgrade_from_0_6_0_records_owners_in_one_commit(pg_server, roles, make_db):
    """0.6.0 did not describe owners: after the upgrade the objects another role owns take the
    new form in one commit on HEAD, and nothing shows as drift."""
    from pggit import install as pginstall
    from test_upgrade import install_release

    bob = qi(roles["bob"])
    db = make_db()
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        install_release(conn, "0.6.0")
    with pg_server.connect(db) as conn:
        for statement in [*SCHEMA, f'ALTER TABLE "Sch ema"."Tab le" OWNER TO {bob}',
                          f'ALTER FUNCTION "Sch ema"."f n"(integer) OWNER TO {bob}', "SELECT pggit.flush()"]:
            conn.execute(statement)
        head_before = conn.execute("SELECT commit_id FROM pggit.log('main', 1)").fetchone()[0]
    with psycopg.connect(pg_server.dsn_for(db)) as conn:
        pginstall.install(conn)
    with pg_server.connect(db) as conn:
        head, parents, message = conn.execute("SELECT commit_id, parent_ids, message FROM pggit.log('main', 1)").fetchone()
        assert parents == [head_before] and message.startswith(f"pgGit {pginstall.current_version()}:")
        assert sorted(r[0] for r in conn.execute("SELECT identity FROM pggit.show(%s)", (head,)).fetchall()) == [
            'function "Sch ema"."f n"(integer)', 'table "Sch ema"."Tab le"']
        assert conn.execute("SELECT count(*) FROM pggit.drift()").fetchone()[0] == 0
        conn.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(roles["bob"])))


def test_a_custom_resolution_described_in_the_shadow_keeps_the_owner_a_side_gave(pg_server, roles, make_db):
    """A custom definition is described by the shadow's engine, which records no owner: the
    resolution takes the owner the sides give the object (here the one side that changed it)."""
    from pggit import Client

    bob = qi(roles["bob"])
    db = make_db()
    client = Client(pg_server.dsn_for(db))
    r = None
    try:
        client.install()
        r = Repo(pg_server, db)
        r.ddl(*SCHEMA)
        client.create_branch("side")
        r.on("side", 'CREATE OR REPLACE FUNCTION "Sch ema"."f n"(x integer) RETURNS integer LANGUAGE sql AS $$SELECT x + 1$$')
        r.ddl('CREATE OR REPLACE FUNCTION "Sch ema"."f n"(x integer) RETURNS integer LANGUAGE sql AS $$SELECT x + 2$$',
              f'ALTER FUNCTION "Sch ema"."f n"(integer) OWNER TO {bob}')
        opened = client.open_merge("side")
        assert opened["status"] == "conflicts", opened
        identity = 'function "Sch ema"."f n"(integer)'
        result = client.resolve_conflict(
            opened["merge_id"], identity, "custom",
            'CREATE OR REPLACE FUNCTION "Sch ema"."f n"(x integer) RETURNS integer LANGUAGE sql AS $$SELECT x + 3$$')
        assert result["status"] == "merged", result
        assert recorded_owner(r, identity) == roles["bob"]
        assert owners(r)['"Sch ema"."f n"(integer)'] == roles["bob"]
        assert r.one('SELECT "Sch ema"."f n"(1)') == 4
        assert r.q("SELECT identity FROM pggit.drift()") == []
    finally:
        if r is not None:
            for n in roles.values():
                r.q(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(n)))
            r.close()
        if client._shadow is not None:
            client.drop_shadow()
        client.close()
