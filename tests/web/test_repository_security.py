"""Least privilege for repositories (issue 9): who may add one, which databases a connection URL
may not reach, secrets stored encrypted and never shown, and the console on the checked-out
branch running as a checked role of its own.

Each test does what an attacker would try and checks the state afterwards.
"""

from __future__ import annotations

import importlib
import os
import uuid

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from branches import actions
from branches.crypto import TOKEN_PREFIX
from branches.models import BranchProtection, Repository, Role
from pggit.client import Client
from pggit.console import DatabaseIdentity
from pggit.shadow import shadow_name
from pggit_web.dbconfig import connect_kwargs, database_url, ensure_database
from pggit_web.errors import ActionError

pytestmark = pytest.mark.django_db

SECRET = "s3cret-pa55 'word"  # trust authentication ignores it; it must never be shown or stored in clear


def url(name, repo=None):
    return reverse(f"branches:{name}", kwargs={"slug": repo.slug} if repo else {})


def body(response) -> str:
    return response.content.decode()


def with_password(dsn: str, password: str = SECRET) -> str:
    """``dsn`` (a URL from database_url) with a password added to its user."""
    from urllib.parse import quote

    head, rest = dsn.split("://", 1)
    user, at, where = rest.partition("@")
    return f"{head}://{user}:{quote(password, safe='')}@{where}"


def spellings(config: dict, dbname: str) -> dict[str, str]:
    """The same database reached three ways: 127.0.0.1, localhost, the Unix socket."""
    user = config.get("USER") or "postgres"
    port = config.get("PORT") or 5432
    out = {"127.0.0.1": f"postgresql://{user}@127.0.0.1:{port}/{dbname}",
           "localhost": f"postgresql://{user}@localhost:{port}/{dbname}"}
    for folder in ("/var/run/postgresql", "/tmp"):
        if os.path.exists(f"{folder}/.s.PGSQL.{port}"):
            out["socket"] = f"postgresql://{user}@/{dbname}?host={folder}&port={port}"
            break
    return out


def raw_row(pk) -> tuple[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT dsn, console_password FROM branches_repository WHERE id = %s", [pk])
        return cur.fetchone()


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root_admin", "root@example.com", "x-admin-password-1")


@pytest.fixture
def other_db(server):
    """Another empty database on the server (the ``repo`` fixture's is ``throwaway_db``)."""
    from web.conftest import drop_database

    name = f"pggit_webtest_{uuid.uuid4().hex[:12]}"
    ensure_database(server, name)
    yield database_url(server, name)
    drop_database(server, name)


@pytest.fixture
def adder(outsider):
    """A plain user given the site-level permission to add repositories."""
    outsider.user_permissions.add(Permission.objects.get(codename="add_repository"))
    return outsider


# 1. adding a repository is a site-level permission --------------------------------------------

def test_nobody_but_superusers_may_add_repositories_by_default(as_user, author, superuser, throwaway_db):
    assert not Group.objects.filter(permissions__codename="add_repository").exists()
    assert not Permission.objects.get(codename="add_repository").user_set.exists()
    web = as_user(author)
    assert url("repository_add") not in body(web.get("/"))  # no "New repository" button
    assert web.get(url("repository_add")).status_code == 403
    assert web.post(url("repository_add"), {"name": "mine", "dsn": throwaway_db, "default_branch": "main"}).status_code == 403
    assert web.get(reverse("admin:branches_repository_add")).status_code == 302  # not staff: sent to sign in
    with pytest.raises(Exception):
        actions.add_repository(author, name="mine", dsn=throwaway_db, install=False)
    assert not Repository.objects.filter(name="mine").exists()
    assert url("repository_add") in body(as_user(superuser).get("/"))


def test_staff_without_the_permission_cannot_add_in_the_admin(client, django_user_model, throwaway_db):
    staff = django_user_model.objects.create_user("staffer", "s@example.com", "pw-staff-1", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_repository"))
    client.force_login(staff)
    assert client.get(reverse("admin:branches_repository_add")).status_code == 403
    assert client.post(reverse("admin:branches_repository_add"), {"name": "sneaky", "dsn": throwaway_db}).status_code == 403
    assert not Repository.objects.filter(name="sneaky").exists()


# 2. a URL may not reach the app's database, a shadow, or another repository's database -----------

@pytest.mark.parametrize("spelling", ["127.0.0.1", "localhost", "socket"])
def test_the_apps_own_database_is_refused_however_it_is_spelled(as_user, adder, spelling):
    app = settings.DATABASES["default"]
    dsns = spellings(app, app["NAME"])
    if spelling not in dsns:
        pytest.skip("no Unix socket of this server here")
    response = as_user(adder).post(url("repository_add"), {"name": "sneaky", "dsn": with_password(dsns[spelling]),
                                                           "default_branch": "main", "install": "on"})
    assert response.status_code == 409
    assert "pgGit&#x27;s own database" in body(response) and SECRET not in body(response)
    assert not Repository.objects.filter(name="sneaky").exists()
    with connection.cursor() as cur:  # nothing was installed in it
        cur.execute("SELECT to_regnamespace('pggit')")
        assert cur.fetchone()[0] is None


def test_the_apps_own_database_is_refused_for_another_role(adder, make_role):
    role = make_role(f"pggit_test_other_{uuid.uuid4().hex[:8]}", "LOGIN")
    app = settings.DATABASES["default"]
    dsn = with_password(f"postgresql://{role}@localhost:{app.get('PORT') or 5432}/{app['NAME']}")
    with pytest.raises(ActionError) as refused:
        actions.add_repository(adder, name="sneaky", dsn=dsn, install=False)
    assert refused.value.code == "dsn_is_app_database" and SECRET not in str(refused.value)


@pytest.mark.parametrize("spelling", ["localhost", "socket"])
def test_another_repositorys_database_is_refused(as_user, adder, repo, server, spelling):
    dsns = spellings(server, psycopg.conninfo.conninfo_to_dict(repo.dsn)["dbname"])
    if spelling not in dsns:
        pytest.skip("no Unix socket of this server here")
    response = as_user(adder).post(url("repository_add"), {"name": "twin", "dsn": dsns[spelling],
                                                           "default_branch": "main", "install": "on"})
    assert response.status_code == 409
    assert "the database of another repository" in body(response)  # the adder is no member of it: no name
    assert list(Repository.objects.values_list("name", flat=True)) == ["widgets"]


def test_a_repository_that_does_not_answer_is_compared_by_what_it_said_last(adder, repo, server):
    real = repo.dsn
    assert repo.database_identity is None
    actions.repository_identity(repo)  # remembered while it answers
    repo.refresh_from_db()
    assert repo.database_identity["database_oid"]
    repo.dsn = "postgresql://postgres@127.0.0.1:1/gone?connect_timeout=1"
    repo.save()
    with pytest.raises(ActionError) as refused:
        actions.add_repository(adder, name="twin", dsn=real.replace("127.0.0.1", "localhost"), install=False)
    assert refused.value.code == "dsn_is_repository"


def test_a_shadow_database_is_refused(adder, repo, server):
    shadow = shadow_name(psycopg.conninfo.conninfo_to_dict(repo.dsn)["dbname"])
    ensure_database(server, shadow)
    try:
        with pytest.raises(ActionError) as refused:
            actions.add_repository(adder, name="shadowy", dsn=database_url(server, shadow), install=False)
        assert refused.value.code == "dsn_is_shadow"
    finally:
        from web.conftest import drop_database

        drop_database(server, shadow)
    assert not Repository.objects.filter(name="shadowy").exists()


def test_identity_without_the_system_identifier_falls_back_to_start_time_and_port():
    a = DatabaseIdentity(None, "1764599594.300685", "5432", "shop", 16384)
    assert a.same_database(DatabaseIdentity("7714", "1764599594.300685", "5432", "shop", 16384))
    assert not a.same_database(DatabaseIdentity(None, "1764599594.300685", "5433", "shop", 16384))
    assert not a.same_database(DatabaseIdentity(None, "1764599594.300685", "5432", "shop", 16385))
    assert not DatabaseIdentity("1", "x", "5432", "d", 1).same_server(DatabaseIdentity("2", "x", "5432", "d", 1))


# 3. slug collisions and passwords in errors ----------------------------------------------------------

@pytest.mark.parametrize("name", ["Widgets", "widgets!", " WIDGETS "])
def test_a_name_giving_a_taken_address_is_a_form_error(as_user, adder, repo, other_db, name):
    response = as_user(adder).post(url("repository_add"), {"name": name, "dsn": with_password(other_db),
                                                           "default_branch": "main", "install": "on"})
    assert response.status_code == 409
    page = body(response)
    assert "exists already" in page or "another repository has" in page
    assert SECRET not in page and "s3cret" not in page
    assert list(Repository.objects.values_list("name", flat=True)) == ["widgets"]
    with Client(other_db) as client:
        assert client.installed_version() is None  # refused before the engine was installed


def test_a_taken_address_in_the_admin_is_a_form_error(client, superuser, repo, other_db):
    client.force_login(superuser)
    response = client.post(reverse("admin:branches_repository_add"), {
        "name": "Widgets", "slug": "", "dsn": with_password(other_db), "default_branch": "main",
        "role_groups-TOTAL_FORMS": "0", "role_groups-INITIAL_FORMS": "0", "protections-TOTAL_FORMS": "0",
        "protections-INITIAL_FORMS": "0"})
    assert response.status_code == 200
    assert "has the address" in body(response) and SECRET not in body(response)
    assert Repository.objects.count() == 1


@pytest.mark.parametrize("dsn", [
    f"postgresql://alice:{SECRET.replace(' ', '%20').replace(chr(39), '%27')}@127.0.0.1:1/none?connect_timeout=1",
    f"host=127.0.0.1 port=1 password=hunter2 connect_timeout=1 dbname=none",
    "host=127.0.0.1 password hunter2 ===",
])
def test_errors_never_show_the_password(as_user, adder, dsn):
    response = as_user(adder).post(url("repository_add"), {"name": "gone", "dsn": dsn, "default_branch": "main"})
    page = body(response)
    assert response.status_code in (400, 503)
    assert "hunter2" not in page and "s3cret" not in page and "pa55" not in page
    assert 'value="gone"' in page  # the name is kept, the URL is not
    assert not Repository.objects.filter(name="gone").exists()


# 4. secrets are stored encrypted ----------------------------------------------------------------

def test_the_connection_url_is_stored_encrypted_and_read_back_in_clear(adder, throwaway_db):
    dsn = with_password(throwaway_db)
    repo, _ = actions.add_repository(adder, name="vault", dsn=dsn, install=False)
    stored, _ = raw_row(repo.pk)
    assert stored.startswith(TOKEN_PREFIX)
    for secret in (dsn, "s3cret", "pa55", psycopg.conninfo.conninfo_to_dict(dsn)["dbname"], "127.0.0.1"):
        assert secret not in stored
    assert Repository.objects.get(pk=repo.pk).dsn == dsn


def test_the_migration_encrypts_existing_rows_and_leaves_encrypted_ones(repo):
    migration = importlib.import_module("branches.migrations.0003_least_privilege")
    plain = "postgresql://old:hunter2@db.example.com/legacy"
    other = Repository.objects.create(name="legacy", dsn="postgresql://x@h/y")
    with connection.cursor() as cur:
        cur.execute("UPDATE branches_repository SET dsn = %s WHERE id = %s", [plain, other.pk])
    already = raw_row(repo.pk)[0]

    class Editor:
        connection = connection

    migration.encrypt_existing(None, Editor())
    stored = raw_row(other.pk)[0]
    assert stored.startswith(TOKEN_PREFIX) and "hunter2" not in stored
    assert Repository.objects.get(pk=other.pk).dsn == plain
    assert raw_row(repo.pk)[0] == already  # not encrypted twice
    migration.decrypt_existing(None, Editor())
    assert raw_row(other.pk)[0] == plain


def test_rotating_the_secret_key(repo, console_role):
    from django.core.management import call_command

    dsn, old_key = repo.dsn, settings.SECRET_KEY
    before = raw_row(repo.pk)
    new_key = "a-new-secret-key-" + "x" * 50
    with override_settings(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key]):
        assert Repository.objects.get(pk=repo.pk).dsn == dsn  # the old key still decrypts
        call_command("reencrypt_secrets", stdout=open(os.devnull, "w"))
        after = raw_row(repo.pk)
        assert after[0] != before[0] and after[1] != before[1]
    with override_settings(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[]):
        fresh = Repository.objects.get(pk=repo.pk)
        assert (fresh.dsn, fresh.console_password) == (dsn, console_role[1])
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(SECRET_KEY="yet-another-key-" + "y" * 50, SECRET_KEY_FALLBACKS=[]):
        with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
            Repository.objects.get(pk=repo.pk)


def test_no_page_shows_the_connection_password(as_user, maintainer, superuser, throwaway_db, client):
    repo, _ = actions.add_repository(superuser, name="shown", dsn=with_password(throwaway_db), install=True)
    pages = [reverse("branches:dashboard", kwargs={"slug": repo.slug}),
             reverse("branches:settings", kwargs={"slug": repo.slug}),
             reverse("admin:branches_repository_changelist"),
             reverse("admin:branches_repository_change", args=[repo.pk]),
             reverse("admin:branches_repository_branches", args=[repo.pk])]
    web = as_user(superuser)
    for page in pages:
        response = web.get(page)
        assert response.status_code == 200, page
        assert "s3cret" not in body(response) and "pa55" not in body(response), page
    assert ":***@" in body(web.get(pages[0]))


# 5. the default branch of a new repository is protected --------------------------------------------

def test_a_new_repository_protects_its_default_branch(adder, throwaway_db):
    repo, _ = actions.add_repository(adder, name="guarded", dsn=throwaway_db, default_branch="trunk", install=True)
    rule = BranchProtection.objects.get(repository=repo)
    assert (rule.pattern, rule.required_approvals, rule.allow_self_approval, rule.merge_role) == (
        "trunk", 1, False, Role.MAINTAINER)
    assert repo.protection_for("trunk") == rule and repo.protection_for("feature") is None


def test_a_repository_added_in_the_admin_protects_its_default_branch(client, superuser, throwaway_db):
    client.force_login(superuser)
    response = client.post(reverse("admin:branches_repository_add"), {
        "name": "From admin", "slug": "from-admin", "dsn": throwaway_db, "default_branch": "main",
        "role_groups-TOTAL_FORMS": "0", "role_groups-INITIAL_FORMS": "0", "protections-TOTAL_FORMS": "0",
        "protections-INITIAL_FORMS": "0"})
    assert response.status_code == 302, body(response)[:2000]
    repo = Repository.objects.get(name="From admin")
    assert list(repo.protections.values_list("pattern", "required_approvals", "allow_self_approval", "merge_role")) == [
        ("main", 1, False, Role.MAINTAINER)]
    assert raw_row(repo.pk)[0].startswith(TOKEN_PREFIX)


# 6. the console on the checked-out branch runs as the console role ------------------------------------

def head(repo) -> str:
    with Client(repo.dsn) as client:
        return client.resolve("main")


def live(repo, query, params=None):
    """Read the live database as the repository's (privileged) role."""
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def run_on_head(web, repo, sql):
    return web.post(url("console", repo), {"branch": "main", "sql": sql, "message": "console"})


def test_console_on_head_runs_as_the_console_role(as_user, repo, maintainer, console_role):
    before = head(repo)
    response = run_on_head(as_user(maintainer), repo, "CREATE TABLE public.gadgets (id int);\n"
                                                      "ALTER TABLE public.widgets ADD COLUMN color text")
    assert response.status_code == 302
    with Client(repo.dsn) as client:
        commit = client.log("main", 1)[0]
    # the web user is the author, the role that ran it the committer
    assert commit["commit_id"] != before
    assert (commit["author"], commit["committer"]) == ("mia_maintainer", console_role[0])
    assert live(repo, "SELECT tableowner FROM pg_tables WHERE tablename = 'gadgets'") == [(console_role[0],)]


@pytest.mark.parametrize("attack,refusal", [
    ("COPY (SELECT 1) TO PROGRAM 'id > {marker}'", "pg_execute_server_program"),
    ("SELECT pg_read_file('/etc/passwd')", "permission denied"),
    ("CREATE ROLE {role} SUPERUSER", "superuser"),
    ("CREATE EXTENSION dblink", "permission denied"),
    ("ALTER SYSTEM SET work_mem = '1MB'", "ALTER SYSTEM"),
    ("RESET ROLE; CREATE ROLE {role} SUPERUSER", "superuser"),
    ("SET SESSION AUTHORIZATION postgres; CREATE ROLE {role}", "permission denied"),
    ("CREATE TABLE public.ok_first (id int); COPY (SELECT 1) TO PROGRAM 'id > {marker}'", "pg_execute_server_program"),
])
def test_console_on_head_refuses_what_the_role_may_not_do(as_user, repo, maintainer, attack, refusal):
    tag = uuid.uuid4().hex[:10]
    marker, role = f"/tmp/pggit_x_{tag}", f"pggit_x_{tag}"
    before = head(repo)
    auto_conf = live(repo, "SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem'")
    response = run_on_head(as_user(maintainer), repo, attack.format(marker=marker, role=role))
    assert response.status_code == 422
    page = body(response)
    assert 'id="apply-error"' in page
    shown = page.split('id="apply-error"', 1)[1].split("</strong>", 1)[0].replace("&#x27;", "'")
    assert "PostgreSQL refused the SQL" in shown and refusal in shown  # PostgreSQL's own message
    assert not os.path.exists(marker)
    assert live(repo, "SELECT 1 FROM pg_roles WHERE rolname = %s", [role]) == []
    assert live(repo, "SELECT 1 FROM pg_extension WHERE extname = 'dblink'") == []
    assert live(repo, "SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem'") == auto_conf
    assert live(repo, "SELECT 1 FROM pg_tables WHERE tablename = 'ok_first'") == []  # all statements or none
    assert head(repo) == before


def test_console_on_head_is_off_without_a_console_role(as_user, repo, maintainer):
    actions.set_console_role(maintainer, repo, "")
    web = as_user(maintainer)
    page = body(web.get(url("console", repo), {"branch": "main"}))
    assert 'id="console-off"' in page and "Settings" in page
    before = head(repo)
    response = run_on_head(web, repo, "CREATE TABLE public.nope (id int)")
    assert response.status_code == 409 and "is off" in body(response)
    assert head(repo) == before and live(repo, "SELECT 1 FROM pg_tables WHERE tablename = 'nope'") == []
    # branches that are not checked out still work
    response = web.post(url("console", repo), {"branch": "feature-colors", "sql": "CREATE TABLE public.fine (id int)"})
    assert response.status_code == 302
    with Client(repo.dsn) as client:
        assert "table public.fine" in {o["identity"] for o in client.tree("feature-colors")}


@pytest.mark.parametrize("change", [
    "ALTER ROLE {role} SUPERUSER", "ALTER ROLE {role} CREATEROLE", "ALTER ROLE {role} BYPASSRLS",
    "GRANT pg_execute_server_program TO {role}", "ALTER ROLE {role} NOLOGIN"])
def test_console_refuses_a_role_changed_behind_its_back(as_user, repo, maintainer, console_role, change):
    from psycopg import sql

    statement = sql.SQL(change.replace("{role}", "{}")).format(sql.Identifier(console_role[0]))
    live_change(repo, statement)
    before = head(repo)
    response = run_on_head(as_user(maintainer), repo, "CREATE TABLE public.after_change (id int)")
    assert response.status_code == 409
    assert "refused" in body(response)
    assert head(repo) == before and live(repo, "SELECT 1 FROM pg_tables WHERE tablename = 'after_change'") == []


def live_change(repo, statement):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute(statement)


def test_console_refuses_a_session_that_is_not_the_console_role(repo, console_role):
    """``options=-c role=...`` in the repository's URL would make the console's session another
    role (here a group the console role is in): the session check refuses it."""
    from psycopg import sql

    from pggit import console

    group = f"pggit_test_group_{uuid.uuid4().hex[:8]}"
    live_change(repo, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
    try:
        live_change(repo, sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(console_role[0])))
        with pytest.raises(console.ConsoleRoleRefused, match="session runs as"):
            console.connect(repo.dsn + f"?options=-c%20role%3D{group}", *console_role)
        console.connect(repo.dsn, *console_role).close()  # the plain URL is fine
    finally:
        from web.conftest import drop_role

        drop_role(settings.DATABASES["default"], group)


def test_hostile_role_name_is_quoted_everywhere(as_user, repo, maintainer, make_role):
    name = make_role(f"co\"nsole' ü {uuid.uuid4().hex[:6]}; DROP", "LOGIN")
    from web.conftest import give_console_role

    give_console_role(repo.dsn, name)
    web = as_user(maintainer)
    response = web.post(url("settings_console", repo), {"role": name, "password": "x' y\" z"})
    assert response.status_code == 302, body(response)[:3000]
    repo.refresh_from_db()
    assert repo.console_role == name
    assert run_on_head(web, repo, "CREATE TABLE public.quoted (id int)").status_code == 302
    with Client(repo.dsn) as client:
        top = client.log("main", 1)[0]
        assert (top["author"], top["committer"]) == ("mia_maintainer", name)
