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
