"""The OpenAPI schema and its pages (vendored assets, allowed by the site's CSP), session
authentication with CSRF, and the one place that maps errors to status and code."""

import pytest
from api_support import error_of
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_the_endpoints(as_api, author):
    response = as_api(author).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in ("/api/v1/repositories/", "/api/v1/repositories/{slug}/branches/", "/api/v1/repositories/{slug}/commits/",
                 "/api/v1/repositories/{slug}/migration/", "/api/v1/tokens/", "/api/v1/auth/token/"):
        assert path in paths, path
    schemes = schema["components"]["securitySchemes"]
    assert {"personalAccessToken", "jwtAuth", "cookieAuth"} <= set(schemes)


def test_schema_validates(settings):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    validate_schema(SchemaGenerator().get_schema(request=None, public=True))


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_use_vendored_assets_only(as_api, author, path):
    response = as_api(author).get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "https://" not in html and "http://" not in html.replace("http://testserver", "")
    assert "<script>" not in html and "<style>" not in html  # no inline script or style
    assert "/static/drf_spectacular_sidecar/" in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_swagger_start_script_is_a_separate_request(as_api, author):
    response = as_api(author).get("/api/v1/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in response.content.decode()


def test_session_authentication_needs_csrf_for_changes(repo, author):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(author)
    assert client.get("/api/v1/repositories/widgets/").status_code == 200
    response = client.post("/api/v1/repositories/widgets/branches/", {"name": "csrf"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]


@pytest.mark.parametrize("exc_name,status,code", [
    ("RefNotFound", 404, "ref_not_found"), ("BranchExists", 409, "branch_exists"), ("InvalidName", 400, "invalid_name"),
    ("StaleHead", 409, "stale_head"), ("DataLossRefused", 409, "data_loss_refused"),
    ("BranchNotMerged", 409, "branch_not_merged"), ("RevertConflict", 409, "revert_conflict"),
    ("WrongBranch", 409, "wrong_branch"), ("NotInstalled", 503, "not_installed")])
def test_engine_errors_keep_the_pages_status_and_a_stable_code(exc_name, status, code):
    from api.errors import describe
    from pggit import errors as pe
    from pggit_web.errors import ActionError, engine_errors

    cls = getattr(pe, exc_name)
    for raw in (cls("boom"), None):  # raised as is, and through the pages' engine_errors()
        try:
            with engine_errors():
                raise cls("boom")
        except ActionError as exc:
            mapped = exc if raw is None else raw
        got_status, body = describe(mapped)
        assert (got_status, body["error"]["code"]) == (status, code)
        if cls.sqlstate:
            assert body["error"]["detail"]["sqlstate"] == cls.sqlstate
