"""Hostile input through the API: names with quotes, spaces, unicode and SQL, malformed JSON,
wrong types, huge bodies. Each is a 4xx with the error body, and nothing changes."""

import json

import psycopg
import pytest
from api_support import error_of

pytestmark = pytest.mark.django_db

BASE = "/api/v1/repositories/widgets"


def state(repo) -> tuple:
    """Branches with their heads, and the live tables: what must not change."""
    from pggit.client import Client

    with Client(repo.dsn) as client:
        heads = tuple(sorted((b["name"], b["head"]) for b in client.branches()))
    with psycopg.connect(repo.dsn) as conn:
        tables = tuple(r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall())
    return heads, tables


HOSTILE_NAMES = ["it's", 'quo"te', "with space", "x'); DROP TABLE public.widgets; --", "../../etc", "", " ",
                 "a" * 201, "\u0000nul", "ünïcødé-名前-🙂", "main", "-leading", "a..b", "trailing/"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_branch_names_are_4xx_or_created_exactly_as_given(as_api, repo, author, name):
    before = state(repo)
    response = as_api(author).post(f"{BASE}/branches/", {"name": name}, format="json")
    assert response.status_code < 500, response.content
    if response.status_code == 201:  # the engine accepted it: then it exists under exactly that name
        heads = dict(state(repo)[0])
        assert heads[name] == response.json()["head"]
        assert state(repo)[1] == before[1]
    else:
        assert 400 <= response.status_code < 500
        error_of(response)
        assert state(repo) == before


@pytest.mark.parametrize("ref", ["x' OR '1'='1", "main; DROP TABLE public.widgets", "ünï 🙂", "a" * 900])
def test_hostile_refs_in_reads_are_4xx(as_api, repo, viewer, ref):
    before = state(repo)
    client = as_api(viewer)
    for path, params in ((f"{BASE}/commits/", {"ref": ref}), (f"{BASE}/tree/", {"ref": ref}),
                         (f"{BASE}/compare/", {"to": ref}), (f"{BASE}/migration/", {"to": ref}),
                         (f"{BASE}/objects/", {"identity": ref})):
        response = client.get(path, params)
        assert 400 <= response.status_code < 500, (path, response.content)
        error_of(response)
    assert state(repo) == before


@pytest.mark.parametrize("body", ['{"name": ', "not json", "[1, 2", '{"name": "x"} trailing'])
def test_malformed_json_is_400_parse_error(as_api, repo, author, body):
    before = state(repo)
    response = as_api(author).post(f"{BASE}/branches/", body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"
    assert state(repo) == before


@pytest.mark.parametrize("body", [{"name": 5}, {"name": ["a"]}, {"name": {"x": 1}}, {"name": None}, [], "x", 7,
                                  {"name": "ok", "from_ref": 12}, {}])
def test_wrong_types_are_400_invalid_with_field_errors(as_api, repo, author, body):
    before = state(repo)
    response = as_api(author).post(f"{BASE}/branches/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid" and error["detail"]
    assert state(repo) == before


@pytest.mark.parametrize("body", [{"branch": "main", "force": "maybe"}, {"branch": 1}, {"force": True}])
def test_wrong_types_in_checkout_change_nothing(as_api, repo, maintainer, body):
    before = state(repo)
    response = as_api(maintainer).post(f"{BASE}/checkout/", body, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid"
    assert state(repo) == before


def test_a_form_encoded_body_is_415(as_api, repo, author):
    response = as_api(author).post(f"{BASE}/branches/", "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_a_huge_body_is_413_and_nothing_runs(as_api, repo, author, settings):
    before = state(repo)
    sql = "CREATE TABLE public.huge (id integer);" + " " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    response = as_api(author).post(f"{BASE}/console/", {"branch": "feature-colors", "sql": sql}, format="json")
    assert response.status_code == 413, response.content[:300]
    assert error_of(response)["code"] == "request_too_large"
    assert state(repo) == before


def test_console_sql_with_quotes_and_unicode_runs_as_written(as_api, repo, author):
    sql = 'CREATE TABLE public."we''ird ""näme"" 🙂" (id integer); COMMENT ON TABLE public."we''ird ""näme"" 🙂" IS \'it''s\''
    response = as_api(author).post(f"{BASE}/console/", {"branch": "feature-colors", "sql": sql}, format="json")
    assert response.status_code == 201, response.content
    tree = as_api(author).get(f"{BASE}/tree/", {"ref": "feature-colors"}).json()
    assert any("näme" in o["identity"] for o in tree["objects"])


def test_hostile_member_and_protection_input_is_4xx(as_api, repo, maintainer):
    client = as_api(maintainer)
    rules = list(repo.protections.values_list("pattern", flat=True))
    for body in ({"username": "x'; DROP TABLE auth_user; --", "role": "viewer"}, {"username": "ada_author", "role": "god"},
                 {"username": 3, "role": "viewer"}):
        response = client.post(f"{BASE}/members/", body, format="json")
        assert 400 <= response.status_code < 500
        error_of(response)
    for body in ({"pattern": "", "required_approvals": 1}, {"pattern": "x", "required_approvals": -1},
                 {"pattern": "x", "required_approvals": "many"}, {"pattern": "x", "merge_role": "viewer"}):
        response = client.post(f"{BASE}/protections/", body, format="json")
        assert response.status_code == 400 and error_of(response)["code"] == "invalid"
    assert list(repo.protections.values_list("pattern", flat=True)) == rules


def test_unknown_api_address_and_wrong_method_have_the_error_body(as_api, repo, viewer):
    client = as_api(viewer)
    missing = client.get("/api/v1/nothing-here/")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    wrong = client.put(f"{BASE}/branches/", {}, format="json")
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "method_not_allowed"


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_address_no_endpoint_has_is_a_json_404_for_everyone(api, as_api, repo, author, method):
    """Not the sign-in page (the pages' login requirement) nor Django's CSRF page."""
    from rest_framework.test import APIClient

    strict = APIClient(enforce_csrf_checks=True)
    for client in (api, as_api(author), strict):
        response = getattr(client, method)("/api/v1/repositories/%C3%B7J%C2%BF/branches/")
        assert response.status_code == 404, response.content[:200]
        assert response["Content-Type"].startswith("application/json")
        assert error_of(response)["code"] == "not_found"


def test_a_forged_cursor_on_a_database_list_is_400(as_api, repo, author):
    response = as_api(author).get("/api/v1/repositories/", {"cursor": "Gj*"})
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_cursor"


def test_an_address_with_a_newline_is_a_json_404(as_api, repo, author):
    response = as_api(author).get("/api/v1/repositories/a%0Ab/tree/")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
