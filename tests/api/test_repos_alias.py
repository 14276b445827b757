"""/api/v1/repos/<slug>/... answers as /api/v1/repositories/<slug>/... (the spelling the issues
use), with the same authentication, roles and error body."""

import pytest
from api_support import error_of

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_repos_reads_what_repositories_reads(as_api, repo, viewer):
    client = as_api(viewer)
    for tail in ("", "branches/", "commits/", "tree/"):
        long = client.get(f"/api/v1/repositories/widgets/{tail}")
        short = client.get(f"/api/v1/repos/widgets/{tail}")
        assert long.status_code == 200 and short.status_code == 200, tail
        assert short.json() == long.json(), tail
    assert client.get("/api/v1/repos/").json()["results"][0]["slug"] == "widgets"


def test_repos_writes_with_a_bearer_token_and_keeps_the_roles(api, repo, author, viewer, outsider):
    token = api.post("/api/v1/auth/token/", {"username": author.get_username(), "password": PASSWORD},
                     format="json").json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    made = api.post("/api/v1/repos/widgets/branches/", {"name": "via-repos"}, format="json")
    assert made.status_code == 201, made.content
    names = [b["name"] for b in api.get("/api/v1/repositories/widgets/branches/").json()["results"]]
    assert "via-repos" in names

    api.credentials()
    api.force_authenticate(viewer)
    refused = api.post("/api/v1/repos/widgets/branches/", {"name": "nope"}, format="json")
    assert refused.status_code == 403 and error_of(refused)["code"]
    api.force_authenticate(outsider)
    assert api.get("/api/v1/repos/widgets/").status_code == 404
    api.force_authenticate(None)
    assert api.get("/api/v1/repos/widgets/").status_code == 401
    names = [b["name"] for b in as_api_names(repo)]
    assert "nope" not in names


def as_api_names(repo):
    from pggit import Client

    with Client(repo.dsn) as client:
        return client.branches()


def test_an_unknown_address_under_repos_is_the_404_error_body(as_api, repo, viewer):
    response = as_api(viewer).get("/api/v1/repos/widgets/no-such-thing/")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
