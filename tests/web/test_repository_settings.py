"""Repository settings: members and branch protection, for maintainers only."""

import pytest
from django.test import Client as WebClient
from django.urls import reverse

from branches.access import role_of
from branches.models import BranchProtection, Role

pytestmark = pytest.mark.django_db


def url(name, repo):
    return reverse(f"branches:{name}", kwargs={"slug": repo.slug})


def test_maintainer_sees_members_and_rules(repo, maintainer, as_user):
    page = as_user(maintainer).get(url("settings", repo))
    html = page.content.decode()
    assert page.status_code == 200
    for name in ("ada_author", "rex_reviewer", "mia_maintainer", "vic_viewer"):
        assert f'data-member="{name}"' in html
    assert 'data-pattern="main"' in html and "otto_outsider" not in html


@pytest.mark.parametrize("who,status", [("author", 403), ("reviewer", 403), ("viewer", 403), ("outsider", 404)])
def test_only_maintainers_reach_settings(repo, request, as_user, who, status):
    web = as_user(request.getfixturevalue(who))
    assert web.get(url("settings", repo)).status_code == status
    assert web.post(url("settings_member", repo), {"username": "otto_outsider", "role": "maintainer"}).status_code == status
    assert web.post(url("settings_protection", repo), {"pattern": "*", "required_approvals": 0,
                                                       "merge_role": "developer"}).status_code == status
    assert role_of(request.getfixturevalue("outsider"), repo) is None
    assert list(BranchProtection.objects.filter(repository=repo).values_list("pattern", flat=True)) == ["main"]


def test_maintainer_grants_changes_and_removes_a_role(repo, maintainer, outsider, as_user):
    web = as_user(maintainer)
    response = web.post(url("settings_member", repo), {"username": "otto_outsider", "role": "reviewer"})
    assert response.status_code == 302
    outsider._pggit_roles = {}
    assert role_of(outsider, repo) == Role.REVIEWER
    web.post(url("settings_member", repo), {"username": "otto_outsider", "role": "none"})
    outsider._pggit_roles = {}
    assert role_of(outsider, repo) is None
    response = web.post(url("settings_member", repo), {"username": "nobody at all", "role": "viewer"})
    assert response.status_code == 404 and "no user named" in response.content.decode()


def test_the_last_maintainer_cannot_step_down(repo, maintainer, as_user):
    response = as_user(maintainer).post(url("settings_member", repo), {"username": "mia_maintainer", "role": "viewer"})
    assert response.status_code == 409 and "last maintainer" in response.content.decode()
    maintainer._pggit_roles = {}
    assert role_of(maintainer, repo) == Role.MAINTAINER


def test_maintainer_adds_updates_and_removes_a_protection_rule(repo, maintainer, as_user):
    web = as_user(maintainer)
    web.post(url("settings_protection", repo), {"pattern": "release/*", "required_approvals": 2,
                                                "merge_role": "reviewer", "dismiss_stale_approvals": "on"})
    rule = BranchProtection.objects.get(repository=repo, pattern="release/*")
    assert (rule.required_approvals, rule.merge_role, rule.allow_self_approval, rule.dismiss_stale_approvals) == (
        2, Role.REVIEWER, False, True)
    assert repo.protection_for("release/1.0") == rule
    web.post(url("settings_protection", repo), {"pattern": "release/*", "required_approvals": 0,
                                                "merge_role": "developer", "allow_self_approval": "on"})
    rule.refresh_from_db()
    assert (rule.required_approvals, rule.merge_role, rule.allow_self_approval) == (0, Role.DEVELOPER, True)
    web.post(url("settings_protection", repo), {"pattern": "release/*", "delete": "1"})
    assert not BranchProtection.objects.filter(repository=repo, pattern="release/*").exists()
    bad = web.post(url("settings_protection", repo), {"pattern": "x", "required_approvals": -1, "merge_role": "developer"})
    assert bad.status_code == 400


def test_settings_forms_need_the_csrf_token(repo, maintainer):
    web = WebClient(enforce_csrf_checks=True)
    web.force_login(maintainer)
    assert web.post(url("settings_member", repo), {"username": "otto_outsider", "role": "viewer"}).status_code == 403


# the console role -------------------------------------------------------------------------------

def privileges(repo, role):
    import psycopg

    with psycopg.connect(repo.dsn) as conn:
        return conn.execute("SELECT has_schema_privilege(%s, 'pggit', 'USAGE'), "
                            "has_function_privilege(%s, 'pggit.begin_commit(text)', 'EXECUTE')",
                            [role, role]).fetchone()


def granted_on_engine(repo, role) -> bool:
    """Whether the ACL of schema pggit or of pggit.begin_commit(text) names ``role``."""
    import psycopg

    with psycopg.connect(repo.dsn) as conn:
        return conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'pggit' "
            "AND a.grantee = to_regrole(quote_ident(%s))) OR EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a "
            "WHERE p.oid = 'pggit.begin_commit(text)'::regprocedure AND a.grantee = to_regrole(quote_ident(%s)))",
            [role, role]).fetchone()[0]


def raw_console_password(repo):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT console_password FROM branches_repository WHERE id = %s", [repo.pk])
        return cur.fetchone()[0]


def test_maintainer_names_a_console_role_checked_and_granted(repo, maintainer, as_user, make_role):
    import uuid

    role = make_role(f"pggit_test_named_{uuid.uuid4().hex[:8]}", "LOGIN")
    assert privileges(repo, role) == (False, False)
    web = as_user(maintainer)
    response = web.post(url("settings_console", repo), {"role": role, "password": "pw-of-the-console-9"})
    assert response.status_code == 302
    repo.refresh_from_db()
    assert (repo.console_role, repo.console_password) == (role, "pw-of-the-console-9")
    assert privileges(repo, role) == (True, True) and granted_on_engine(repo, role)
    stored = raw_console_password(repo)
    assert stored and "pw-of-the-console" not in stored
    page = web.get(url("settings", repo)).content.decode()
    assert role in page and "pw-of-the-console" not in page
    # the same role with an empty password keeps the stored one; "needs no password" forgets it
    web.post(url("settings_console", repo), {"role": role, "password": ""})
    repo.refresh_from_db()
    assert repo.console_password == "pw-of-the-console-9"
    web.post(url("settings_console", repo), {"role": role, "password": "", "no_password": "on"})
    repo.refresh_from_db()
    assert (repo.console_role, repo.console_password, raw_console_password(repo)) == (role, "", "")
    # no role: the console on the checked-out branch is off
    web.post(url("settings_console", repo), {"role": ""})
    repo.refresh_from_db()
    assert repo.console_role == ""
    assert "the console on the checked-out branch is off" in web.get(url("settings", repo)).content.decode()


@pytest.mark.parametrize("attributes,reason", [
    ("LOGIN SUPERUSER", "SUPERUSER"),
    ("LOGIN CREATEROLE", "CREATEROLE"),
    ("LOGIN CREATEDB", "CREATEDB"),
    ("LOGIN REPLICATION", "REPLICATION"),
    ("LOGIN BYPASSRLS", "BYPASSRLS"),
    ("NOLOGIN", "cannot log in"),
    ("LOGIN IN ROLE pg_read_server_files", "pg_read_server_files"),
    ("LOGIN IN ROLE {group}", "pg_execute_server_program"),  # indirectly, through a group
    ("LOGIN IN ROLE {creator}", "CREATEDB"),  # a member of a role that may create databases
    ("LOGIN IN ROLE pggit_admin", "pggit_admin"),
    (None, "does not exist"),
])
def test_a_privileged_or_unusable_console_role_is_refused(repo, maintainer, as_user, make_role, console_role,
                                                          attributes, reason):
    import uuid

    tag = uuid.uuid4().hex[:8]
    group = make_role(f"pggit_test_grp_{tag}", "NOLOGIN IN ROLE pg_execute_server_program")
    creator = make_role(f"pggit_test_crt_{tag}", "NOLOGIN CREATEDB")
    name = f"pggit test \"bad\" ü {tag}"
    if attributes is not None:
        make_role(name, attributes.format(group=group, creator=creator))
    response = as_user(maintainer).post(url("settings_console", repo), {"role": name, "password": "secret-pw-1"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="console-error"' in page and reason in page.replace("&quot;", '"')
    assert "secret-pw-1" not in page
    repo.refresh_from_db()
    assert repo.console_role == console_role[0]  # unchanged
    if attributes is not None:
        assert not granted_on_engine(repo, name)  # nothing granted


def test_a_too_long_role_name_is_refused(repo, maintainer, as_user, console_role):
    response = as_user(maintainer).post(url("settings_console", repo), {"role": "é" * 32})
    assert response.status_code == 400 and "63 bytes" in response.content.decode()
    repo.refresh_from_db()
    assert repo.console_role == console_role[0]


@pytest.mark.parametrize("who,status", [("author", 403), ("reviewer", 403), ("viewer", 403), ("outsider", 404)])
def test_only_maintainers_name_the_console_role(repo, request, as_user, who, status, console_role):
    response = as_user(request.getfixturevalue(who)).post(url("settings_console", repo), {"role": ""})
    assert response.status_code == status
    repo.refresh_from_db()
    assert repo.console_role == console_role[0]
