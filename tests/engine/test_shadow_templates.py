"""Kept states of the shadow databases (issue 11, the cold shadow): a shadow that holds a
recorded state after a cold start is copied into a template database that nobody may connect
to; the next cold start (no shadow, or no usable marker) is made from the nearest kept state with
CREATE DATABASE ... TEMPLATE and migrated from there. Beside each kept state a spare copy of it is
made in the background, which a cold start takes (renamed to the shadow) instead of copying.
Real servers, schema dumps compared."""

from __future__ import annotations

import json
import re
import subprocess
import threading

import psycopg
import pytest
from psycopg import sql

import pgtools
from pggit import Client
from pggit.shadow import MARKER_SCHEMA, Shadow, spare_name, template_name


def run(server, db, *statements):
    with server.connect(db) as conn:
        for s in statements:
            conn.execute(s)


def dump(server, dbname: str) -> str:
    proc = subprocess.run(
        [str(server.pg_dump_path), "--schema-only", "--no-owner", "--no-privileges", "--exclude-schema=pggit",
         f"--exclude-schema={MARKER_SCHEMA}", "-d", server.dsn_for(dbname)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return pgtools.normalize_dump(proc.stdout)


def fresh_replay_dump(server, make_db, client: Client, ref: str) -> str:
    db = make_db()
    with server.connect(db) as conn, conn.transaction():
        for r in client._state_rows(ref):
            conn.execute(r["statement"].encode())
    return dump(server, db)


def database(server, db, name):
    with server.connect(db) as conn:
        return conn.execute(
            "SELECT d.datallowconn, d.datistemplate, pg_get_userbyid(d.datdba) AS owner, d.datacl::text AS acl,"
            " shobj_description(d.oid, 'pg_database') AS comment FROM pg_database d WHERE d.datname = %s",
            (name,)).fetchone()


def commits_on_main(server, db, client, *statements):
    run(server, db, *statements)
    return client.resolve("main")


def databases_of(server, db) -> dict[str, int]:
    """name -> oid of the databases whose name begins with ``db`` (the live one, its shadows,
    kept states and spares)."""
    with server.connect(db) as conn:
        return dict(conn.execute("SELECT datname, oid::bigint FROM pg_database WHERE left(datname, length(%s)) = %s",
                                 (db, db)).fetchall())


def ready_spare(shadow: Shadow) -> dict:
    shadow.wait_for_spares()
    [spare] = [s for s in shadow.spares_list() if s["why"] is None]
    return spare


def at_once(fn, args_list) -> list[BaseException]:
    """Call ``fn(*args)`` for each ``args`` of ``args_list`` in threads started together;
    returns what they raised."""
    errors = []

    def work(args):
        try:
            fn(*args)
        except BaseException as exc:  # (returned)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_cold_verification_starts_from_the_kept_state(repo, make_db):
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int PRIMARY KEY, a int)",
                         "CREATE VIEW items_v AS SELECT id, a FROM items")
    shadow = client.shadow
    shadow.verify(c1)
    assert shadow.last_mode == "full"
    kept = template_name(db, "verify", 0)
    assert shadow.last_kept == kept
    [t] = shadow.templates()
    assert t["name"] == kept and t["ref"] == c1 and t["trusted"], t
    # nobody may connect to it; it belongs to the DSN's role and is no template for anyone else
    allowconn, istemplate, owner, acl, comment = database(server, db, kept)
    assert (allowconn, istemplate, owner) == (False, False, server.connect(db).info.user)
    assert "=c" not in (acl or "") and json.loads(comment)["ref"] == c1

    c2 = commits_on_main(server, db, client, "ALTER TABLE items ADD COLUMN b text", "CREATE TABLE more (id int)")
    shadow.drop()
    shadow.verify(c2)
    assert shadow.last_mode == "template" and shadow.last_template == kept, shadow.last_fallback
    assert shadow.last_statements < len(client._state_rows(c2))
    assert shadow.marker() == {"ref": c2, "engine": False}
    pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, c2), dump(server, shadow.name),
                             "fresh replay", "shadow made from the kept state")
    # the copy is the shadow role's, as a shadow made empty is
    assert database(server, db, shadow.name)[2] == shadow.role
    assert shadow.last_kept is None  # (near enough: nothing new kept)


def test_cold_apply_starts_from_the_kept_state(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE items (id int PRIMARY KEY, a int)")
    client.create_branch("feat")
    first = client.apply("feat", "CREATE TABLE one (id int)")
    shadow = client.apply_shadow
    assert shadow.last_mode == "full" and shadow.last_kept == template_name(db, "apply", 0)
    [t] = shadow.templates()
    assert t["trusted"] and t["ref"].split()[0] == client.resolve("main")  # feat's head before the SQL ran
    spare = ready_spare(shadow)  # (made in the background)
    assert spare["name"] == spare_name(db, "apply", 0) and spare["ref"] == t["ref"]

    shadow.drop()
    second = client.apply("feat", "ALTER TABLE one ADD COLUMN label text; CREATE TABLE two (id int)")
    assert shadow.last_mode == "template", shadow.last_fallback
    assert shadow.last_spare == spare["name"] and databases_of(server, db)[shadow.name] == spare["oid"]
    changed = {c["identity"]: c["change"] for c in client.diff(first, second)}
    assert changed == {"table public.one": "modified", "table public.two": "added"}
    assert shadow.marker()["ref"].split()[0] == second
    next_one = client.apply("feat", "CREATE TABLE three (id int)")
    assert shadow.last_mode == "incremental"
    assert {c["identity"] for c in client.diff(second, next_one)} == {"table public.three"}
    assert ready_spare(shadow)["oid"] != spare["oid"]  # another spare made


def test_template_that_accepts_connections_is_not_trusted_and_is_rebuilt(repo, make_db):
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int PRIMARY KEY)")
    shadow = client.shadow
    shadow.verify(c1)
    kept = shadow.last_kept
    run(server, db, sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(kept)))
    run(server, kept, "CREATE TABLE public.planted (secret text)")
    assert [t["trusted"] for t in shadow.templates()] == [False]

    shadow.drop()
    shadow.verify(c1)
    assert shadow.last_mode == "full" and shadow.last_template is None
    shadow_dump = dump(server, shadow.name)
    assert "planted" not in shadow_dump
    pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, c1), shadow_dump)
    [t] = shadow.templates()  # rebuilt from the fresh replay
    assert t["trusted"] and database(server, db, t["name"])[0] is False
    shadow.drop()
    shadow.verify(c1)
    assert shadow.last_mode == "template" and "planted" not in dump(server, shadow.name)


def test_template_holding_objects_of_another_role_is_not_trusted(repo, pg_server):
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int PRIMARY KEY)")
    shadow = client.shadow
    shadow.verify(c1)
    kept = shadow.last_kept
    other = f"pggit_t_other_{db[-8:]}"
    run(server, db, sql.SQL("CREATE ROLE {}").format(sql.Identifier(other)),
        sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(kept)))
    try:
        run(server, kept, "CREATE TABLE public.planted (id int)",
            sql.SQL("ALTER TABLE public.planted OWNER TO {}").format(sql.Identifier(other)))
        run(server, db, sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(kept)))
        [t] = shadow.templates()
        assert not t["trusted"] and other in t["why"]
        shadow.drop()
        shadow.verify(c1)
        assert shadow.last_mode == "full" and "planted" not in dump(server, shadow.name)
    finally:
        client.drop_shadow()
        run(server, db, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(other)))


def test_template_whose_description_names_another_state_is_dropped(repo, make_db):
    """A kept state described as a state it does not hold (its comment rewritten) is not used:
    the copy's own marker, which only the DSN's role writes, disagrees, and the template goes."""
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int PRIMARY KEY)")
    shadow = client.shadow
    shadow.verify(c1)
    kept = shadow.last_kept
    c2 = commits_on_main(server, db, client, "CREATE TABLE newer (id int)")
    meta = json.loads(database(server, db, kept)[4])
    meta["ref"] = c2
    run(server, db, sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(kept), sql.Literal(json.dumps(meta))))

    shadow.drop()
    shadow.verify(c2)
    assert shadow.last_mode == "full" and "does not hold" in shadow.last_fallback
    pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, c2), dump(server, shadow.name))
    assert [t["ref"] for t in shadow.templates()] == [c2]  # the false one dropped, the fresh state kept


def test_stale_template_of_an_unknown_state_is_dropped(repo):
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int PRIMARY KEY)")
    shadow = client.shadow
    shadow.verify(c1)
    kept = shadow.last_kept
    meta = json.loads(database(server, db, kept)[4])
    meta["ref"] = "0" * 40  # a commit the live database does not have (a re-initialized repository, say)
    run(server, db, sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(kept), sql.Literal(json.dumps(meta))))
    shadow.drop()
    shadow.verify(c1)
    assert shadow.last_mode == "full" and shadow.last_template is None
    assert [t["ref"] for t in shadow.templates()] == [c1]


def test_templates_are_bounded_and_pruned(repo, monkeypatch):
    server, db, client = repo
    monkeypatch.setattr(Shadow, "TEMPLATE_REFRESH_STEPS", 0)  # every cold start keeps its state
    shadow = client.shadow
    refs = []
    def check_bound():
        """At most MAX_DATABASES per shadow: itself, its kept states and a spare of each; a spare
        only beside its own kept state (dropped with it)."""
        shadow.wait_for_spares()
        client.apply_shadow.wait_for_spares()
        names = set(databases_of(server, db)) - {db}
        assert len(names) <= 2 * Shadow.MAX_DATABASES, names  # (the apply shadow's too)
        mine = {shadow.name} | {n(db, "verify", i) for n in (template_name, spare_name) for i in range(Shadow.TEMPLATE_SLOTS_MAX)}
        assert len(names & mine) <= Shadow.MAX_DATABASES == 5, names
        spares = shadow.spares_list()
        assert all(s["why"] is None for s in spares), spares
        assert {s["slot"] for s in spares} == {t["slot"] for t in shadow.templates()}
        for s in spares:
            assert s["template_oid"] == databases_of(server, db)[template_name(db, "verify", s["slot"])]

    for i in range(3):
        refs.append(commits_on_main(server, db, client, f"CREATE TABLE t{i} (id int)"))
        shadow.drop()
        shadow.verify(refs[-1])
        assert shadow.last_kept is not None
        check_bound()
    kept = shadow.templates()
    assert len(kept) == Shadow.TEMPLATES_KEPT == 2
    assert [t["ref"] for t in kept] == [refs[2], refs[1]]  # the least recently used one gave way
    shadow.drop()
    shadow.verify(refs[1])  # the nearest kept state is copied, not the most recent one
    assert shadow.last_mode == "template" and shadow.last_statements == 0
    assert shadow.last_template == next(t["name"] for t in kept if t["ref"] == refs[1])

    # a state that only a deleted branch reached is dropped when the next state is kept
    client.create_branch("gone")
    gone = client.apply("gone", "CREATE TABLE only_on_gone (id int)")
    shadow.drop()
    shadow.verify(gone)
    assert gone in [t["ref"] for t in shadow.templates()]
    client.delete_branch("gone", True)
    newest = commits_on_main(server, db, client, "CREATE TABLE t9 (id int)")
    shadow.drop()
    shadow.verify(newest)
    assert gone not in [t["ref"] for t in shadow.templates()]
    assert newest in [t["ref"] for t in shadow.templates()]
    check_bound()  # (the pruned kept state's spare went with it)

    # dropping the shadows drops every kept state, and then their role
    assert client.apply_shadow.templates()
    client.drop_shadow()
    with server.connect(db) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (db + "%",)).fetchall()
        assert [r[0] for r in left] == [db]
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (shadow.role,)).fetchone()[0] == 0


def test_templates_of_a_database_that_is_gone_are_dropped(repo, make_db, pg_server):
    server, db, client = repo
    other_db = make_db()
    other = Client(server.dsn_for(other_db))
    try:
        other.install()
        run(server, other_db, "CREATE TABLE x (id int)")
        other.shadow.verify(other.resolve("main"))
        orphan = other.shadow.last_kept
        assert orphan
        other.shadow.drop()
    finally:
        other.close()
    with psycopg.connect(server.admin_dsn, autocommit=True) as admin:  # the repository goes away
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(other_db)))
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int)")
    client.shadow.verify(c1)  # keeping a state prunes what is left of other databases
    with server.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (orphan,)).fetchone()[0] == 0


def test_shadow_role_cannot_connect_to_a_template_or_its_spare(repo):
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int)")
    shadow = client.shadow
    shadow.verify(c1)
    kept = shadow.last_kept
    # even with LOGIN and a password, the shadow role cannot reach the kept state, nor its spare
    with server.connect(db) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD 'pw-for-the-test'").format(sql.Identifier(shadow.role)))
    try:
        for name in (kept, ready_spare(shadow)["name"]):
            params = psycopg.conninfo.conninfo_to_dict(server.dsn_for(name))
            params.update(user=shadow.role, password="pw-for-the-test")
            with pytest.raises(psycopg.OperationalError, match="not currently accepting connections|permission denied"):
                psycopg.connect(psycopg.conninfo.make_conninfo(**params)).close()
    finally:
        with server.connect(db) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN PASSWORD NULL").format(sql.Identifier(shadow.role)))
    # and what it does in its own shadow does not reach the kept state
    shadow.run("CREATE TABLE public.scribble (id int)")
    shadow.drop()
    shadow.verify(c1)
    assert shadow.last_mode == "template" and "scribble" not in dump(server, shadow.name)


def test_cold_verification_of_a_merge_keeps_its_state_once_merged(repo):
    server, db, client = repo
    run(server, db, "CREATE TABLE items (id int PRIMARY KEY, a int)")
    client.create_branch("feat")
    client.apply("feat", "CREATE TABLE f (id int)")
    run(server, db, "CREATE TABLE on_main (id int)")
    client.create_branch("target")
    client.shadow.drop()
    result = client.merge("feat", target="target")
    assert result["status"] == "merged", result
    assert client.shadow.last_mode == "full"
    assert [t["ref"] for t in client.shadow.templates()] == [f"merge:{result['merge_id']}"]


def test_concurrent_cold_shadows_both_succeed(repo, make_db):
    """Two clients of one database start cold at once with a kept state present: both verify
    (one after the other, under the shadow's lock), from the kept state, with no error."""
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int)")
    client.shadow.verify(c1)
    c2 = commits_on_main(server, db, client, "CREATE TABLE more (id int)")
    client.shadow.drop()
    clients = [Client(server.dsn_for(db)) for _ in range(2)]
    results = {}

    def work(i, ref):
        shadow = clients[i].shadow
        shadow.verify(ref)
        results[i] = (shadow.last_mode, shadow.marker())

    errors = at_once(work, enumerate((c1, c2)))
    for c in clients:
        c.close()
    assert not errors, errors
    assert {results[0][1]["ref"], results[1][1]["ref"]} <= {c1, c2} and len(results) == 2
    assert "template" in {results[0][0], results[1][0]}
    assert len(client.shadow.templates()) <= Shadow.TEMPLATES_KEPT


def test_concurrent_cold_shadows_of_two_databases_copy_at_once(repo, make_db):
    """Cold starts of two repositories at the same time, each from its own kept state."""
    server, db, client = repo
    other_db = make_db()
    other = Client(server.dsn_for(other_db))
    other.install()
    clients = [client, other]
    refs = []
    for c, d in zip(clients, (db, other_db)):
        run(server, d, "CREATE TABLE items (id int)")
        c.shadow.verify(c.resolve("main"))
        run(server, d, "CREATE TABLE more (id int)")
        refs.append(c.resolve("main"))
        c.shadow.drop()
    modes = {}

    def work(i):
        conn_client = Client(clients[i].dsn)
        conn_client.shadow.verify(refs[i])
        modes[i] = conn_client.shadow.last_mode
        conn_client.close()

    errors = at_once(work, [(0,), (1,)])
    try:
        assert not errors, errors
        assert modes == {0: "template", 1: "template"}
    finally:
        other.drop_shadow()
        other.close()


def test_privileged_shadow_keeps_states_of_its_own(repo, pg_server):
    """A ``privileged_shadow`` client (everything as the DSN's role) keeps and uses kept states
    too, and does not use those an unprivileged client kept (their objects are the shadow role's)."""
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int)")
    client.shadow.verify(c1)
    assert client.shadow.last_kept
    privileged = Client(server.dsn_for(db), privileged_shadow=True)
    try:
        privileged.shadow.drop()
        privileged.shadow.verify(c1)
        assert privileged.shadow.last_mode == "full"  # the unprivileged client's kept state is not for it
        assert [t["trusted"] for t in privileged.shadow.templates()] == [True]
        privileged.shadow.drop()
        privileged.shadow.verify(c1)
        assert privileged.shadow.last_mode == "template"
        assert database(server, db, privileged.shadow.name)[2] == server.connect(db).info.user
    finally:
        privileged.drop_shadow()
        privileged.close()


# spares: a copy of each kept state made ahead of time, renamed to the shadow by a cold start ------

def test_cold_start_takes_the_spare_and_makes_another(repo, make_db, monkeypatch):
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int PRIMARY KEY, a int)",
                         "CREATE VIEW items_v AS SELECT id, a FROM items")
    shadow = client.shadow
    shadow.verify(c1)
    kept = shadow.last_kept
    spare = ready_spare(shadow)  # made in the background after the state was kept
    assert spare["name"] == spare_name(db, "verify", 0) and spare["ref"] == c1 and spare["template"] == kept
    assert spare["template_oid"] == databases_of(server, db)[kept]
    allowconn, istemplate, owner, acl, comment = database(server, db, spare["name"])
    assert (allowconn, istemplate, owner) == (False, False, server.connect(db).info.user)
    assert "=c" not in (acl or "") and json.loads(comment)["pggit"] == "pggit shadow spare"

    c2 = commits_on_main(server, db, client, "ALTER TABLE items ADD COLUMN b text", "CREATE TABLE more (id int)")
    shadow.drop()
    before = databases_of(server, db)
    started = []
    maker = Shadow._start_spare_maker
    monkeypatch.setattr(Shadow, "_start_spare_maker", lambda self: started.append(self.name))
    shadow.verify(c2)
    assert shadow.last_mode == "template" and shadow.last_template == kept, shadow.last_fallback
    assert shadow.last_spare == spare["name"], shadow.last_spare_why
    # no CREATE DATABASE on the path: the shadow is the spare, renamed; nothing else is new
    after = databases_of(server, db)
    assert after[shadow.name] == spare["oid"]
    assert set(after.values()) == set(before.values()) and spare["name"] not in after
    assert started == [shadow.name]  # (the replacement is made once the operation is over)
    assert shadow.marker() == {"ref": c2, "engine": False}
    pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, c2), dump(server, shadow.name),
                             "fresh replay", "shadow made from the spare")
    # the shadow role's, connections allowed, no description, CONNECT for nobody else: as a copy is
    allowconn, istemplate, owner, acl, comment = database(server, db, shadow.name)
    assert (allowconn, istemplate, owner, comment) == (True, False, shadow.role, None)
    assert acl == f"{{{shadow.role}=CTc/{shadow.role}}}"

    monkeypatch.setattr(Shadow, "_start_spare_maker", maker)
    shadow._start_spare_maker()
    again = ready_spare(shadow)  # a new copy of the same kept state
    assert again["name"] == spare["name"] and again["oid"] not in before.values() and again["ref"] == c1
    shadow.drop()
    shadow.verify(c2)
    assert shadow.last_spare == spare["name"] and databases_of(server, db)[shadow.name] == again["oid"]


def test_cold_start_without_a_spare_copies_the_kept_state(repo, make_db, monkeypatch):
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int PRIMARY KEY)")
    shadow = client.shadow
    shadow.verify(c1)
    ready_spare(shadow)
    assert shadow.drop_spares() == [spare_name(db, "verify", 0)]
    c2 = commits_on_main(server, db, client, "CREATE TABLE more (id int)")
    shadow.drop()
    before = databases_of(server, db)
    shadow.verify(c2)
    assert shadow.last_mode == "template" and shadow.last_spare is None and shadow.last_spare_why == "no spare ready"
    assert databases_of(server, db)[shadow.name] not in before.values()  # copied now
    pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, c2), dump(server, shadow.name))
    ready_spare(shadow)  # and the spare made again

    # spares off: none taken, none made
    monkeypatch.setattr(Shadow, "spares", False)
    shadow.drop()
    shadow.verify(c2)
    assert shadow.last_mode == "template" and shadow.last_spare is None
    shadow.drop_spares()
    shadow.drop()
    shadow.verify(c1)
    shadow.wait_for_spares()
    assert shadow.spares_list() == []


def _tamper_allow_connections(server, db, spare, other):
    run(server, db, sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(spare)))
    run(server, spare, "CREATE TABLE public.planted (secret text)")


def _tamper_connect_granted(server, db, spare, other):
    run(server, db, sql.SQL("GRANT CONNECT ON DATABASE {} TO PUBLIC").format(sql.Identifier(spare)))


def _tamper_foreign_owner(server, db, spare, other):
    run(server, db, sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(spare)))
    run(server, spare, "CREATE TABLE public.planted (id int)",
        sql.SQL("ALTER TABLE public.planted OWNER TO {}").format(sql.Identifier(other)))
    run(server, db, sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(spare)))


def _tamper_half_made(server, db, spare, other):
    """What a maker killed between its copy and its description leaves."""
    template = spare.replace("__sv0__", "__tv0__")
    run(server, db, sql.SQL("DROP DATABASE {}").format(sql.Identifier(spare)),
        sql.SQL("CREATE DATABASE {} TEMPLATE {} ALLOW_CONNECTIONS false").format(sql.Identifier(spare), sql.Identifier(template)))


def _tamper_other_copy(server, db, spare, other):
    """A spare described as a copy of a kept state that is no longer in its slot."""
    meta = json.loads(database(server, db, spare)[4])
    meta["template_oid"] += 1
    run(server, db, sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(spare), sql.Literal(json.dumps(meta))))


def _tamper_marker(server, db, spare, other):
    """A spare whose own marker names another state than its description (and its kept state)."""
    run(server, db, sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(spare)))
    run(server, spare, sql.SQL("UPDATE {}.state SET ref = {}").format(sql.Identifier(MARKER_SCHEMA), sql.Literal("0" * 40)))
    run(server, db, sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(spare)))


@pytest.mark.parametrize("tamper, why", [
    (_tamper_allow_connections, "accepts connections"),
    (_tamper_connect_granted, "CONNECT is granted"),
    (_tamper_foreign_owner, "objects in it belong to"),
    (_tamper_half_made, "CONNECT is granted|no description"),
    (_tamper_other_copy, "not a copy of its kept state"),
    (_tamper_marker, "does not hold what it says"),
], ids=["allow_connections", "connect_granted", "foreign_owner", "half_made", "other_copy", "marker"])
def test_spare_that_fails_a_check_is_dropped_and_rebuilt(repo, make_db, tamper, why):
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int PRIMARY KEY)")
    shadow = client.shadow
    shadow.verify(c1)
    kept = shadow.last_kept
    spare = ready_spare(shadow)
    other = f"pggit_t_other_{db[-8:]}"
    run(server, db, sql.SQL("CREATE ROLE {}").format(sql.Identifier(other)))
    try:
        tamper(server, db, spare["name"], other)
        c2 = commits_on_main(server, db, client, "CREATE TABLE more (id int)")
        shadow.drop()
        shadow.verify(c2)
        assert shadow.last_spare is None and re.search(why, shadow.last_spare_why), shadow.last_spare_why
        assert shadow.last_mode == "template" and shadow.last_template == kept  # the kept state copied instead
        shadow_dump = dump(server, shadow.name)
        assert "planted" not in shadow_dump
        pgtools.assert_same_dump(fresh_replay_dump(server, make_db, client, c2), shadow_dump)
        rebuilt = ready_spare(shadow)
        assert rebuilt["oid"] != spare["oid"] and rebuilt["ref"] == c1
        shadow.drop()
        shadow.verify(c2)
        assert shadow.last_spare == spare["name"] and "planted" not in dump(server, shadow.name)
    finally:
        client.drop_shadow()
        run(server, db, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(other)))


def test_concurrent_cold_starts_with_a_spare(repo, make_db):
    """Cold starts of one shadow from two clients at once, while the spare is made and taken:
    each ends with a correct shadow, and no database is left over (one shadow, one kept state,
    one spare)."""
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int)")
    client.shadow.verify(c1)
    ready_spare(client.shadow)
    c2 = commits_on_main(server, db, client, "CREATE TABLE more (id int)")
    clients = [Client(server.dsn_for(db)) for _ in range(2)]
    results = {}

    def work(i, ref):
        for _ in range(2):  # the second round finds the spare being made, or the shadow in use
            shadow = clients[i].shadow
            shadow.drop()
            with shadow.locked():  # (the other client drops it as soon as it may)
                shadow.verify(ref)
                results.setdefault(i, []).append((shadow.last_mode, shadow.last_spare, shadow.marker()["ref"]))

    errors = at_once(work, enumerate((c1, c2)))
    try:
        assert not errors, errors
        for i, ref in enumerate((c1, c2)):
            assert [r[2] for r in results[i]] == [ref, ref], results
            assert {r[0] for r in results[i]} <= {"template", "incremental"}, results
        assert any(r[1] for rs in results.values() for r in rs), results  # a spare was taken
        for c in clients + [client]:
            c.shadow.wait_for_spares()
        assert sorted(databases_of(server, db)) == sorted(
            [db, client.shadow.name, template_name(db, "verify", 0), spare_name(db, "verify", 0)])
        ready_spare(client.shadow)
    finally:
        for c in clients:
            c.close()


def test_two_makers_make_one_spare(repo):
    server, db, client = repo
    client.shadow.verify(commits_on_main(server, db, client, "CREATE TABLE items (id int)"))
    client.shadow.wait_for_spares()
    client.shadow.drop_spares()
    clients = [Client(server.dsn_for(db)) for _ in range(2)]
    try:
        assert at_once(lambda c: c.shadow.make_spares(), [(c,) for c in clients]) == []
        assert len(clients[0].shadow.spares_made) + len(clients[1].shadow.spares_made) == 1
        ready_spare(client.shadow)
    finally:
        for c in clients:
            c.close()


def test_drop_shadow_leaves_nothing_while_spares_are_made(repo):
    """``drop_shadow`` right after cold starts of both shadows (their spares' copies under way,
    in this client and in another one) leaves no database and no role behind."""
    server, db, client = repo
    run(server, db, "CREATE TABLE items (id int)")
    client.create_branch("feat")
    client.apply("feat", "CREATE TABLE one (id int)")
    c1 = client.resolve("main")
    client.shadow.verify(c1)
    other = Client(server.dsn_for(db))
    try:
        for c in (client, other):
            c.shadow.wait_for_spares()
            c.apply_shadow.wait_for_spares()
        other.shadow.drop_spares()
        other.shadow.drop()
        other.shadow.verify(c1)  # (its maker now copies the kept state again)
        client.apply_shadow.drop()
        client.apply("feat", "CREATE TABLE two (id int)")  # (and this one the apply shadow's)
        client.drop_shadow()
        other.shadow.wait_for_spares()
        assert sorted(databases_of(server, db)) == [db]
        with server.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (client.shadow.role,)).fetchone()[0] == 0
    finally:
        other.close()


def test_spare_taken_while_its_maker_runs_is_made_again(repo):
    """A cold start while this client's maker is still copying: it waits for the copy and takes
    it (or copies the kept state, the maker then skipping it), and the maker goes round again."""
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int)")
    shadow = client.shadow
    shadow.verify(c1)
    ready_spare(shadow)
    shadow.drop_spares()
    shadow._start_spare_maker()  # copying the kept state
    shadow.drop()
    shadow.verify(c1)
    assert shadow.last_mode == "template"
    assert ready_spare(shadow)["ref"] == c1


def test_shadow_replaced_by_a_cold_start_is_set_aside_and_dropped_after(repo, make_db, monkeypatch):
    """A cold start that finds the shadow there (holding no known state) renames it out of the way
    instead of dropping it on its path; the maker drops it after the operation. With a client
    session in it, it is dropped at once, as before. ``drop_shadow`` drops what is set aside."""
    server, db, client = repo
    c1 = commits_on_main(server, db, client, "CREATE TABLE items (id int)")
    shadow = client.shadow
    shadow.verify(c1)
    spare = ready_spare(shadow)
    old = databases_of(server, db)[shadow.name]
    shadow.run("CREATE TABLE public.scribble (id int)")  # (its marker dropped: no known state)
    started = []
    maker = Shadow._start_spare_maker
    monkeypatch.setattr(Shadow, "_start_spare_maker", lambda self: started.append(self.name))
    shadow.verify(c1)
    assert shadow.last_mode == "template" and shadow.last_spare == spare["name"], shadow.last_fallback
    now = databases_of(server, db)
    assert now[shadow.name] == spare["oid"]
    [aside] = [name for name, oid in now.items() if oid == old]
    assert aside.startswith(db + "__xv") and aside.endswith("__pggit_shadow")
    allowconn, _, _, _, comment = database(server, db, aside)
    assert allowconn is False and json.loads(comment)["pggit"] == "pggit shadow trash"
    assert "scribble" not in dump(server, shadow.name)
    monkeypatch.setattr(Shadow, "_start_spare_maker", maker)
    shadow._start_spare_maker()
    shadow.wait_for_spares()
    assert aside not in databases_of(server, db) and ready_spare(shadow)

    # a client session in the shadow: dropped on the path (its session ended), as before
    shadow.run("SELECT 1")
    squatter = psycopg.connect(server.dsn_for(shadow.name), autocommit=True)
    shadow.verify(c1)
    assert shadow.last_spare and not [n for n in databases_of(server, db) if n.startswith(db + "__xv")]
    with pytest.raises(psycopg.OperationalError):
        squatter.execute("SELECT 1")
    squatter.close()

    # what is set aside and not yet dropped goes with drop_shadow
    shadow.wait_for_spares()
    monkeypatch.setattr(Shadow, "_start_spare_maker", lambda self: None)
    shadow.run("SELECT 1")
    shadow.verify(c1)
    assert [n for n in databases_of(server, db) if n.startswith(db + "__xv")]
    client.drop_shadow()
    assert sorted(databases_of(server, db)) == [db]
