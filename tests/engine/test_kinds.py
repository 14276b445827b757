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
