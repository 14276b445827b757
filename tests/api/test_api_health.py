"""GET /health/ (no authentication) and GET /health/deep/ (authenticated)."""

import pytest
from api_support import error_of

pytestmark = pytest.mark.django_db


def test_health_answers_without_authentication(api):
    response = api.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_deep_health_needs_authentication(api):
    response = api.get("/health/deep/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_deep_health_reports_database_and_each_visible_repository(as_api, repo, author):
    response = as_api(author).get("/health/deep/")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "ok"
    assert data["database"]["ok"] is True
    assert [r["slug"] for r in data["repositories"]] == [repo.slug]
    assert data["repositories"][0]["ok"] is True
    assert data["repositories"][0]["engine_version"]
    assert data["redis"] is None or data["redis"]["ok"] is True


def test_deep_health_is_503_when_a_repository_does_not_answer(as_api, maintainer, django_user_model):
    from branches.access import grant
    from branches.models import Repository, Role

    broken = Repository.objects.create(name="gone", dsn="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    grant(broken, maintainer, Role.VIEWER)
    response = as_api(maintainer).get("/health/deep/")
    assert response.status_code == 503
    gone = response.json()["repositories"][0]
    assert gone["slug"] == "gone" and gone["ok"] is False and gone["error"]


def test_deep_health_shows_only_repositories_the_caller_sees(as_api, repo, outsider):
    response = as_api(outsider).get("/health/deep/")
    assert response.status_code == 200
    assert response.json()["repositories"] == []
