"""Fixtures for the web app's tests: throwaway databases on the configured server."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from pggit_web.dbconfig import connect_kwargs, database_url, ensure_database
from pgtools import worker_tag  # gwN_ under pytest-xdist: names are random, the tag tells the worker


def drop_database(server: dict, dbname: str) -> None:
    """Drop ``dbname`` and the shadow databases the engine made beside it (verification and
    apply) with the shadow's role, which would otherwise be left on the server after the test."""
    from pggit.shadow import APPLY_SUFFIX, derived_name, drop_templates, shadow_name, shadow_role_name

    with psycopg.connect(**connect_kwargs(server, "postgres"), autocommit=True) as conn:
        for name in (dbname, shadow_name(dbname), derived_name(dbname, APPLY_SUFFIX)):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        drop_templates(conn, dbname)  # (the kept states of its shadows)
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(shadow_role_name(shadow_name(dbname)))))


def database_exists(server: dict, dbname: str) -> bool:
    with psycopg.connect(**connect_kwargs(server, "postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone() is not None


def drop_role(server: dict, role: str) -> None:
    """Drop a (cluster-wide) role: first what it owns and was granted in every database that
    still holds some of it, then the role."""
    with psycopg.connect(**connect_kwargs(server, "postgres"), autocommit=True) as conn:
        dbs = [r[0] for r in conn.execute(
            "SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid "
            "JOIN pg_roles r ON r.oid = s.refobjid WHERE r.rolname = %s", [role]).fetchall()]
    for dbname in dbs:
        try:
            with psycopg.connect(**connect_kwargs(server, dbname), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
        except psycopg.OperationalError:  # dropped meanwhile
            pass
    with psycopg.connect(**connect_kwargs(server, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def make_role(server):
    """``make_role(name, attributes="LOGIN")``: create a cluster role (quoted as an identifier);
    every role made is dropped afterwards, with what it owns."""
    made = []

    def make(name: str, attributes: str = "LOGIN", password: str | None = None) -> str:
        with psycopg.connect(**connect_kwargs(server, "postgres"), autocommit=True) as conn:
            statement = sql.SQL("CREATE ROLE {} " + attributes).format(sql.Identifier(name))
            if password:
                statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
            conn.execute(statement)
        made.append(name)
        return name

    yield make
    for name in reversed(made):
        drop_role(server, name)


@pytest.fixture
def console_role(make_role):
    """A fresh non-superuser login role for the console on HEAD: (name, password)."""
    password = f"pw ' \" ü {uuid.uuid4().hex[:6]}"
    return make_role(f"pggit_test_console_{worker_tag()}{uuid.uuid4().hex[:10]}", password=password), password


def give_console_role(dsn: str, role: str) -> None:
    """Let ``role`` change the schema: CREATE on schema public, ownership of its tables.

    Part of the repository's setup: the GRANT is a commit on HEAD (privileges are state), so the
    branches that were at HEAD's head move with it, as if the setup had come before them."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = conn.execute("SELECT pggit.resolve('HEAD')").fetchone()[0]
        # (owners are not tracked in these repositories: the tables' new owner is the setup's, not
        # a change of the histories the tests read; docs/engine.md, "Turning owners off")
        conn.execute("SELECT pggit.configure_owners(false)")
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
            conn.execute(sql.SQL("ALTER TABLE public.{} OWNER TO {}").format(sql.Identifier(table),
                                                                                sql.Identifier(role)))
        after = conn.execute("SELECT pggit.resolve('HEAD')").fetchone()[0]
        assert after != before, "the GRANT on schema public is recorded on HEAD"
        for (name,) in conn.execute("SELECT name FROM pggit.list_branches() WHERE head = %s AND NOT is_head",
                                    (before,)).fetchall():
            conn.execute("SELECT pggit.reset_branch(%s, %s)", (name, after))


@pytest.fixture
def server():
    """The DATABASES entry of the server Django uses (DATABASE_URL's, or the embedded one)."""
    from django.conf import settings

    return dict(settings.DATABASES["default"])


@pytest.fixture
def db_exists(server):
    """``db_exists(name)``: whether a database of that name is on the configured server."""
    return lambda dbname: database_exists(server, dbname)


@pytest.fixture
def throwaway_dbname(server):
    """A fresh database name on the configured server (random: one of its own for every xdist
    worker and concurrent run); the database is dropped afterwards."""
    name = f"pggit_webtest_{worker_tag()}{uuid.uuid4().hex[:12]}"
    yield name
    drop_database(server, name)


@pytest.fixture
def throwaway_db(server, throwaway_dbname):
    """A new empty database on the configured server: its URL."""
    ensure_database(server, throwaway_dbname)
    return database_url(server, throwaway_dbname)


@pytest.fixture
def engine_db(throwaway_db):
    """A throwaway database with the engine installed, one captured table and a second branch."""
    from pggit.client import Client

    with Client(throwaway_db) as client:
        client.install()
        with psycopg.connect(throwaway_db, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.widgets (id integer PRIMARY KEY, label text NOT NULL)")
            conn.execute("ALTER TABLE public.widgets ADD COLUMN weight_grams integer")
        client.create_branch("feature-colors")
    return throwaway_db


# --- people and a repository with roles -------------------------------------------------------
# Three users as in the house style (author, reviewer, outsider), plus a maintainer and a viewer.

PASSWORD = "correct horse battery staple"


def make_user(django_user_model, username: str):
    return django_user_model.objects.create_user(username=username, email=f"{username}@example.com",
                                                 password=PASSWORD)


@pytest.fixture
def author(django_user_model):
    return make_user(django_user_model, "ada_author")


@pytest.fixture
def reviewer(django_user_model):
    return make_user(django_user_model, "rex_reviewer")


@pytest.fixture
def outsider(django_user_model):
    return make_user(django_user_model, "otto_outsider")


@pytest.fixture
def maintainer(django_user_model):
    return make_user(django_user_model, "mia_maintainer")


@pytest.fixture
def viewer(django_user_model):
    return make_user(django_user_model, "vic_viewer")


@pytest.fixture
def repo(engine_db, author, reviewer, maintainer, viewer, console_role):
    """A Repository on ``engine_db`` (tables ``public.widgets``, branches main and feature-colors).

    Roles: author = developer, reviewer = reviewer, maintainer = maintainer, viewer = viewer;
    the outsider has none. ``main`` is protected: 1 approval, no self-approval, maintainers merge.
    The console on HEAD runs as ``console_role`` (a login role of its own, with a password, that
    owns ``public.widgets`` and may create in schema public), named on the settings page's action.
    """
    from branches.access import grant
    from branches.actions import set_console_role
    from branches.models import BranchProtection, Repository, Role

    repository = Repository.objects.create(name="widgets", dsn=engine_db)
    grant(repository, author, Role.DEVELOPER)
    grant(repository, reviewer, Role.REVIEWER)
    grant(repository, maintainer, Role.MAINTAINER)
    grant(repository, viewer, Role.VIEWER)
    BranchProtection.objects.create(repository=repository, pattern="main", required_approvals=1)
    give_console_role(engine_db, console_role[0])
    set_console_role(maintainer, repository, *console_role)
    yield repository
    from pggit.client import Client

    try:  # the shadow database lives beside the repository's database on the same server
        with Client(engine_db) as client:
            client.drop_shadow()
    except Exception:
        pass


@pytest.fixture
def as_user(client):
    """``as_user(user)``: the Django test client signed in as ``user``."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
