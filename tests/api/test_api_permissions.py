"""The same per-repository roles as the pages: anonymous 401, outsider 404, role too low 403; a
token limited to another repository is an outsider, a token's maximum role caps its owner's."""

import pytest
from api_support import error_of

pytestmark = pytest.mark.django_db

BASE = "/api/v1/repositories/widgets"

# (method, path, body, lowest role that may): reads need viewer; nothing here changes state when allowed
# except where the body is invalid on purpose (so the action's check runs, then validation refuses).
READS = [
    ("get", f"{BASE}/", None),
    ("get", f"{BASE}/branches/", None),
    ("get", f"{BASE}/commits/", None),
    ("get", f"{BASE}/tree/", None),
    ("get", f"{BASE}/objects/?identity=table%20public.widgets", None),
    ("get", f"{BASE}/compare/?to=feature-colors", None),
    ("get", f"{BASE}/migration/?to=feature-colors", None),
    ("get", f"{BASE}/drift/", None),
]
MAINTAINER_READS = [
    ("get", f"{BASE}/members/", None),
    ("get", f"{BASE}/protections/", None),
]


def call(client, method, path, body):
    return getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)


@pytest.mark.parametrize("method,path,body", READS + MAINTAINER_READS + [("post", f"{BASE}/branches/", {"name": "x"})])
def test_anonymous_gets_401_with_the_error_body(api, repo, method, path, body):
    response = call(api, method, path, body)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_outsider_gets_404_everywhere_as_if_the_repository_did_not_exist(as_api, repo, outsider):
    client = as_api(outsider)
    for method, path, body in READS + MAINTAINER_READS + [("post", f"{BASE}/branches/", {"name": "x"}),
                                                           ("post", f"{BASE}/checkout/", {"branch": "main"})]:
        response = call(client, method, path, body)
        assert response.status_code == 404, (path, response.content)
        assert error_of(response)["code"] == "not_found"
    nowhere = client.get("/api/v1/repositories/no-such-repo/")
    assert nowhere.status_code == 404 and error_of(nowhere) == error_of(client.get(f"{BASE}/"))
    assert client.get("/api/v1/repositories/").json()["results"] == []


def test_viewer_reads_everything_but_settings_and_changes_nothing(as_api, repo, viewer):
    client = as_api(viewer)
    for method, path, body in READS:
        assert call(client, method, path, body).status_code == 200, path
    for method, path, body in MAINTAINER_READS:
        response = call(client, method, path, body)
        assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    created = client.post(f"{BASE}/branches/", {"name": "viewer-branch"}, format="json")
    assert created.status_code == 403
    from pggit.client import Client

    with Client(repo.dsn) as engine:
        assert "viewer-branch" not in [b["name"] for b in engine.branches()]


@pytest.mark.parametrize("who,status,code", [("author", 403, "permission_denied"), ("reviewer", 403, "permission_denied"),
                                              ("maintainer", 404, "ref_not_found")])
def test_checkout_needs_a_maintainer(as_api, repo, request, who, status, code):
    """The maintainer passes the role check and reaches the engine (which knows no such branch)."""
    user = request.getfixturevalue(who)
    response = as_api(user).post(f"{BASE}/checkout/", {"branch": "no-such-branch"}, format="json")
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_developer_may_not_apply_ddl_on_the_protected_default_branch(as_api, repo, author):
    response = as_api(author).post(f"{BASE}/console/", {"branch": "main", "sql": "CREATE TABLE t (id int)"},
                                   format="json")
    assert response.status_code == 403


# tokens -----------------------------------------------------------------------------------------

def test_token_limited_to_another_repository_sees_an_outsider_view(as_api, repo, maintainer, make_token):
    from branches.access import grant
    from branches.models import Repository, Role

    other = Repository.objects.create(name="other", dsn=repo.dsn + "&application_name=x" if "?" in repo.dsn
                                      else repo.dsn + "?application_name=x")
    grant(other, maintainer, Role.MAINTAINER)
    client = as_api(token=make_token(maintainer, [other], Role.MAINTAINER))
    for method, path, body in READS + MAINTAINER_READS:
        response = call(client, method, path, body)
        assert response.status_code == 404, (path, response.content)
        assert error_of(response)["code"] == "not_found"
    assert [r["slug"] for r in client.get("/api/v1/repositories/").json()["results"]] == ["other"]


def test_token_with_a_lower_max_role_gets_403_where_its_owner_may(as_api, repo, maintainer, make_token):
    from branches.models import Role

    client = as_api(token=make_token(maintainer, [repo], Role.VIEWER))
    assert client.get(f"{BASE}/branches/").status_code == 200
    for method, path, body in MAINTAINER_READS:
        response = call(client, method, path, body)
        assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    created = client.post(f"{BASE}/branches/", {"name": "from-token"}, format="json")
    assert created.status_code == 403
    assert client.get(f"{BASE}/").json()["role"] == "viewer"


def test_token_max_role_never_raises_the_owners_role(as_api, repo, viewer, make_token):
    from branches.models import Role

    client = as_api(token=make_token(viewer, [repo], Role.MAINTAINER))
    assert client.get(f"{BASE}/").json()["role"] == "viewer"
    assert client.post(f"{BASE}/branches/", {"name": "nope"}, format="json").status_code == 403


def test_token_cannot_add_repositories_or_make_tokens(as_api, repo, django_user_model, make_token, throwaway_db):
    from api.models import PersonalAccessToken
    from branches.models import Repository, Role

    admin = django_user_model.objects.create_superuser("root_admin", "root@example.com", "pw")
    client = as_api(token=make_token(admin, [repo], Role.MAINTAINER))
    assert client.get(f"{BASE}/members/").status_code == 200  # a superuser's token reaches its repository
    added = client.post("/api/v1/repositories/", {"name": "via-token", "dsn": throwaway_db}, format="json")
    assert added.status_code == 403 and not Repository.objects.filter(name="via-token").exists()
    made = client.post("/api/v1/tokens/", {"name": "child", "repositories": ["widgets"]}, format="json")
    assert made.status_code == 403
    assert PersonalAccessToken.objects.filter(user=admin).count() == 1
