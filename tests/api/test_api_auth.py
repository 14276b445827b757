"""JWT (obtain with user name or email, refresh with rotation, revoke) and personal access tokens
(shown once, stored hashed, scoped, revoked or expired stop working), throttling."""

from datetime import timedelta

import pytest
from api_support import error_of
from django.utils import timezone

pytestmark = pytest.mark.django_db

BASE = "/api/v1/repositories/widgets"
PASSWORD = "correct horse battery staple"


# JWT ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("login", [{"username": "ada_author"}, {"username": "ada_author@example.com"},
                                   {"email": "ADA_AUTHOR@example.com"}])
def test_jwt_from_user_name_or_email_reads_the_api(api, repo, author, login):
    response = api.post("/api/v1/auth/token/", {**login, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get(f"{BASE}/").json()["role"] == "developer"


def test_jwt_with_a_wrong_password_is_401(api, author):
    response = api.post("/api/v1/auth/token/", {"username": "ada_author", "password": "wrong"}, format="json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "no_active_account"


def test_a_bad_jwt_is_401_not_anonymous(api, repo):
    api.credentials(HTTP_AUTHORIZATION="Bearer eyJhbGciOiJIUzI1NiJ9.e30.bad")
    response = api.get(f"{BASE}/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "token_not_valid"


def test_refresh_rotates_and_the_old_refresh_token_stops_working(api, author):
    tokens = api.post("/api/v1/auth/token/", {"username": "ada_author", "password": PASSWORD}, format="json").json()
    rotated = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200
    new = rotated.json()
    assert set(new) == {"access", "refresh"} and new["refresh"] != tokens["refresh"]
    reused = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401 and error_of(reused)["code"] == "token_not_valid"


def test_revoke_blacklists_the_refresh_token(api, author):
    tokens = api.post("/api/v1/auth/token/", {"username": "ada_author", "password": PASSWORD}, format="json").json()
    assert api.post("/api/v1/auth/token/revoke/", {"refresh": tokens["refresh"]}, format="json").status_code == 200
    refused = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refused.status_code == 401 and error_of(refused)["code"] == "token_not_valid"


# personal access tokens ------------------------------------------------------------------------------

def test_token_is_shown_once_stored_hashed_and_works(as_api, repo, author):
    from api.models import PersonalAccessToken

    session = as_api(author)
    made = session.post("/api/v1/tokens/", {"name": "CI deploy", "repositories": ["widgets"], "max_role": "developer"},
                        format="json")
    assert made.status_code == 201, made.content
    data = made.json()
    assert set(data) == {"id", "name", "repositories", "max_role", "created_at", "expires_at", "expired",
                         "last_used_at", "token"}
    text = data["token"]
    assert text.startswith("pggit_") and data["repositories"] == ["widgets"] and data["max_role"] == "developer"
    row = PersonalAccessToken.objects.get(user=author)
    assert text not in (row.digest, row.token_key) and len(row.digest) == 128 and text.startswith(row.token_key)
    listed = session.get("/api/v1/tokens/").json()
    assert set(listed) == {"next", "previous", "results"}
    assert [t["id"] for t in listed["results"]] == [data["id"]] and "token" not in listed["results"][0]
    assert text not in session.get(f"/api/v1/tokens/{data['id']}/").content.decode()
    pipeline = as_api(token=text)
    assert pipeline.get(f"{BASE}/").json()["role"] == "developer"
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_revoked_token_stops_working(as_api, repo, author, make_token):
    from api.models import PersonalAccessToken

    text = make_token(author, [repo])
    pipeline = as_api(token=text)
    assert pipeline.get(f"{BASE}/").status_code == 200
    token_id = PersonalAccessToken.objects.get(user=author).token_key
    assert as_api(author).delete(f"/api/v1/tokens/{token_id}/").status_code == 204
    refused = pipeline.get(f"{BASE}/")
    assert refused.status_code == 401 and error_of(refused)["code"] == "authentication_failed"
    assert not PersonalAccessToken.objects.filter(user=author).exists()


def test_another_users_token_cannot_be_revoked(as_api, repo, author, reviewer, make_token):
    from api.models import PersonalAccessToken

    make_token(author, [repo])
    token_id = PersonalAccessToken.objects.get(user=author).token_key
    response = as_api(reviewer).delete(f"/api/v1/tokens/{token_id}/")
    assert response.status_code == 404 and error_of(response)["code"] == "token_not_found"
    assert PersonalAccessToken.objects.filter(user=author).exists()


def test_expired_token_is_refused_but_still_listed(as_api, repo, author, make_token):
    from api.models import PersonalAccessToken

    text = make_token(author, [repo], expires_at=timezone.now() + timedelta(days=1))
    PersonalAccessToken.objects.filter(user=author).update(expiry=timezone.now() - timedelta(seconds=1))
    refused = as_api(token=text).get(f"{BASE}/")
    assert refused.status_code == 401
    [listed] = as_api(author).get("/api/v1/tokens/").json()["results"]
    assert listed["expired"] is True


def test_token_for_a_repository_the_user_does_not_see_is_refused(as_api, repo, outsider):
    from api.models import PersonalAccessToken

    response = as_api(outsider).post("/api/v1/tokens/", {"name": "x", "repositories": ["widgets"]}, format="json")
    assert response.status_code == 400
    assert "repositories" in error_of(response)["detail"]
    assert not PersonalAccessToken.objects.exists()


def test_token_expiring_in_the_past_is_refused(as_api, repo, author):
    response = as_api(author).post("/api/v1/tokens/", {"name": "x", "repositories": ["widgets"],
                                                       "expires_at": "2000-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and "expires_at" in error_of(response)["detail"]


@pytest.mark.parametrize("text", ["pggit_" + "0" * 64, "pggit_", "pggit_é", "pggit_" + "x" * 5000, "pggit_\u00ff\u00fe"])
def test_unknown_or_garbled_token_is_401(as_api, repo, text):
    response = as_api(token=text).get(f"{BASE}/")
    assert response.status_code == 401 and error_of(response)["code"] == "authentication_failed"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Basic Zm9vOmJhcg==", "Bearer é", "Token pggit_x"])
def test_malformed_authorization_headers_are_4xx_with_the_error_body(api, repo, header):
    response = api.get(f"{BASE}/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    error_of(response)


# the settings page --------------------------------------------------------------------------------------

def test_tokens_page_makes_shows_once_and_revokes(client, repo, author):
    from api.models import PersonalAccessToken

    client.force_login(author)
    page = client.get("/accounts/tokens/")
    assert page.status_code == 200 and b"You have no tokens" in page.content
    made = client.post("/accounts/tokens/", {"name": "nightly", "repositories": ["widgets"], "max_role": "10"})
    assert made.status_code == 200
    row = PersonalAccessToken.objects.get(user=author)
    html = made.content.decode()
    assert 'id="new-token-text"' in html and row.token_key in html
    text = html.split('id="new-token-text">')[1].split("<")[0]
    assert text.startswith(row.token_key) and len(text) > 40
    again = client.get("/accounts/tokens/").content.decode()
    assert text not in again and "nightly" in again
    revoked = client.post("/accounts/tokens/", {"revoke": row.token_key})
    assert revoked.status_code == 302
    assert not PersonalAccessToken.objects.filter(user=author).exists()


def test_tokens_page_needs_sign_in(client):
    response = client.get("/accounts/tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# throttling ------------------------------------------------------------------------------------------

def test_requests_are_throttled_per_token_and_per_user(as_api, repo, author, make_token, settings):
    from django.core.cache import cache

    cache.clear()
    settings.PGGIT_API_THROTTLE_RATE = "3/min"
    token_client = as_api(token=make_token(author, [repo]))
    statuses = [token_client.get("/api/v1/repositories/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    error = error_of(token_client.get("/api/v1/repositories/"))
    assert error["code"] == "throttled" and error["detail"]["retry_after_seconds"] > 0
    assert as_api(author).get("/api/v1/repositories/").status_code == 200  # the user's own budget is separate
    cache.clear()
