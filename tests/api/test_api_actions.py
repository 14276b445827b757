"""Saved-response tests of the endpoints that change something, with the state asserted after."""

import psycopg
import pytest
from api_support import error_of

pytestmark = pytest.mark.django_db

BASE = "/api/v1/repositories/widgets"


def branches_of(repo) -> dict:
    from pggit.client import Client

    with Client(repo.dsn) as client:
        return {b["name"]: b["head"] for b in client.branches()}


def live_columns(dsn: str, table: str = "widgets") -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum", [f"public.{table}"]).fetchall()]


# repositories ------------------------------------------------------------------------------------

def test_adding_a_repository_needs_the_site_permission(as_api, author, throwaway_db):
    from branches.models import Repository

    response = as_api(author).post("/api/v1/repositories/", {"name": "new", "dsn": throwaway_db}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert not Repository.objects.filter(name="new").exists()


def test_a_superuser_adds_a_repository_and_becomes_its_maintainer(as_api, django_user_model, throwaway_db):
    from branches.access import role_of
    from branches.models import Repository, Role

    admin = django_user_model.objects.create_superuser("root_admin", "root@example.com", "pw")
    response = as_api(admin).post("/api/v1/repositories/", {"name": "Fresh DB", "dsn": throwaway_db}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["slug"] == "fresh-db" and data["role"] == "maintainer" and "dsn" not in data
    repo = Repository.objects.get(slug="fresh-db")
    assert role_of(admin, repo) == Role.MAINTAINER
    assert repo.protections.filter(pattern="main").exists()
    again = as_api(admin).post("/api/v1/repositories/", {"name": "Fresh DB", "dsn": throwaway_db}, format="json")
    assert again.status_code == 409 and error_of(again)["code"] == "repository_exists"
    assert Repository.objects.filter(slug="fresh-db").count() == 1


# branches -----------------------------------------------------------------------------------------

def test_developer_creates_a_branch_at_a_ref(as_api, repo, author):
    response = as_api(author).post(f"{BASE}/branches/", {"name": "feature/x", "from_ref": "main"}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["name"] == "feature/x"
    assert branches_of(repo)["feature/x"] == data["head"] == branches_of(repo)["main"]
    again = as_api(author).post(f"{BASE}/branches/", {"name": "feature/x"}, format="json")
    assert again.status_code == 409
    error = error_of(again)
    assert error["code"] == "branch_exists" and error["detail"]["sqlstate"] == "PGG03"


def test_deleting_an_unmerged_branch_needs_force(as_api, repo, author):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("SELECT pggit.create_branch('topic')")
    from pggit.client import Client

    with Client(repo.dsn) as client:
        client.apply("topic", "CREATE TABLE public.topic_only (id integer)", "topic work")
    client = as_api(author)
    refused = client.delete(f"{BASE}/branches/topic/")
    assert refused.status_code == 409 and error_of(refused)["code"] == "branch_not_merged"
    assert "topic" in branches_of(repo)
    forced = client.delete(f"{BASE}/branches/topic/?force=true")
    assert forced.status_code == 200 and forced.json()["name"] == "topic"
    assert "topic" not in branches_of(repo)


def test_deleting_the_checked_out_branch_is_refused(as_api, repo, maintainer):
    response = as_api(maintainer).delete(f"{BASE}/branches/main/?force=1")
    assert response.status_code == 409 and error_of(response)["code"] == "branch_is_head"
    assert "main" in branches_of(repo)


# maintainer operations ----------------------------------------------------------------------------

def test_checkout_that_loses_data_needs_force(as_api, repo, maintainer):
    from pggit.client import Client

    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO public.widgets VALUES (1, 'one', 5)")
    with Client(repo.dsn) as client:
        client.apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams", "drop weight")
    api = as_api(maintainer)
    refused = api.post(f"{BASE}/checkout/", {"branch": "feature-colors"}, format="json")
    assert refused.status_code == 409 and error_of(refused)["code"] == "data_loss_refused"
    assert "weight_grams" in live_columns(repo.dsn)
    done = api.post(f"{BASE}/checkout/", {"branch": "feature-colors", "force": True}, format="json")
    assert done.status_code == 200 and done.json()["branch"] == "feature-colors"
    assert "weight_grams" not in live_columns(repo.dsn)
    with Client(repo.dsn) as client:
        assert client.current_branch() == "feature-colors"


def test_revert_makes_a_new_commit_undoing_one(as_api, repo, maintainer):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.widgets ADD COLUMN color text")
    api = as_api(maintainer)
    head = api.get(f"{BASE}/commits/", {"page_size": 1}).json()["results"][0]["commit_id"]
    response = api.post(f"{BASE}/commits/{head}/revert/", {}, format="json")
    assert response.status_code == 201, response.content
    new = response.json()["commit_id"]
    assert new != head and branches_of(repo)["main"] == new
    assert "color" not in live_columns(repo.dsn)


def test_console_applies_ddl_to_a_branch_in_the_shadow(as_api, repo, author):
    response = as_api(author).post(f"{BASE}/console/", {
        "branch": "feature-colors", "sql": "CREATE TABLE public.palette (id integer)", "message": "palette"},
        format="json")
    assert response.status_code == 201, response.content
    commit = response.json()["commit_id"]
    assert branches_of(repo)["feature-colors"] == commit
    tree = as_api(author).get(f"{BASE}/tree/", {"ref": "feature-colors"}).json()
    assert "table public.palette" in [o["identity"] for o in tree["objects"]]
    with psycopg.connect(repo.dsn) as conn:  # the live database is untouched
        assert conn.execute("SELECT to_regclass('public.palette')").fetchone()[0] is None


def test_console_error_from_postgresql_is_422_and_commits_nothing(as_api, repo, author):
    before = branches_of(repo)["feature-colors"]
    response = as_api(author).post(f"{BASE}/console/", {"branch": "feature-colors", "sql": "CREATE TABLE broken ("},
                                   format="json")
    assert response.status_code == 422
    assert error_of(response)["code"] == "rejected_by_postgresql"
    assert branches_of(repo)["feature-colors"] == before


def test_console_on_the_checked_out_branch_needs_a_maintainer(as_api, repo, author, maintainer):
    refused = as_api(author).post(f"{BASE}/console/", {"branch": "main", "sql": "ALTER TABLE public.widgets ADD COLUMN c1 int"},
                                  format="json")
    assert refused.status_code == 403 and error_of(refused)["code"] == "permission_denied"
    assert "c1" not in live_columns(repo.dsn)
    done = as_api(maintainer).post(f"{BASE}/console/", {"branch": "main", "sql": "ALTER TABLE public.widgets ADD COLUMN c1 int"},
                                   format="json")
    assert done.status_code == 201, done.content
    assert "c1" in live_columns(repo.dsn)
    assert branches_of(repo)["main"] == done.json()["commit_id"]


# settings: protection and members -------------------------------------------------------------------

def test_maintainer_manages_branch_protection(as_api, repo, maintainer):
    api = as_api(maintainer)
    listed = api.get(f"{BASE}/protections/")
    assert listed.status_code == 200
    assert listed.json()["results"] == [{"pattern": "main", "position": 0, "required_approvals": 1,
                                         "allow_self_approval": False, "merge_role": "maintainer",
                                         "dismiss_stale_approvals": True}]
    saved = api.post(f"{BASE}/protections/", {"pattern": "release/*", "required_approvals": 2,
                                               "merge_role": "reviewer"}, format="json")
    assert saved.status_code == 200, saved.content
    rule = repo.protections.get(pattern="release/*")
    assert (rule.required_approvals, rule.merge_role) == (2, 30)
    deleted = api.delete(f"{BASE}/protections/release/*/")
    assert deleted.status_code == 204
    assert not repo.protections.filter(pattern="release/*").exists()
    missing = api.delete(f"{BASE}/protections/nothing/")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


def test_maintainer_manages_members(as_api, repo, maintainer, outsider):
    from branches.access import role_of
    from branches.models import Role

    api = as_api(maintainer)
    members = api.get(f"{BASE}/members/").json()["results"]
    assert {"username": "ada_author", "role": "developer"} in members
    added = api.post(f"{BASE}/members/", {"username": outsider.username, "role": "reviewer"}, format="json")
    assert added.status_code == 200
    outsider._pggit_roles = {}
    assert role_of(outsider, repo) == Role.REVIEWER
    last = api.post(f"{BASE}/members/", {"username": maintainer.username, "role": None}, format="json")
    assert last.status_code == 409 and error_of(last)["code"] == "last_maintainer"
    unknown = api.post(f"{BASE}/members/", {"username": "nobody", "role": "viewer"}, format="json")
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "unknown_user"


def test_console_on_head_with_drift_is_409_unless_with_drift(as_api, repo, maintainer):
    with psycopg.connect(repo.dsn) as conn:  # behind the engine's back
        conn.execute("SET LOCAL pggit.capture = off")
        conn.execute("ALTER TABLE public.widgets ADD COLUMN sneaky text")
    before = branches_of(repo)["main"]
    body = {"branch": "main", "sql": "ALTER TABLE public.widgets ADD COLUMN c2 int"}
    refused = as_api(maintainer).post(f"{BASE}/console/", body, format="json")
    assert refused.status_code == 409 and error_of(refused)["code"] == "live_drift"
    assert "table public.widgets" in error_of(refused)["message"]
    assert branches_of(repo)["main"] == before and "c2" not in live_columns(repo.dsn)
    done = as_api(maintainer).post(f"{BASE}/console/", {**body, "with_drift": True}, format="json")
    assert done.status_code == 201, done.content
    assert branches_of(repo)["main"] == done.json()["commit_id"] != before
    assert live_columns(repo.dsn)[-2:] == ["sneaky", "c2"]


def test_console_select_returns_the_rows_and_their_count(as_api, repo, maintainer):
    before = branches_of(repo)["main"]
    response = as_api(maintainer).post(f"{BASE}/console/", {
        "branch": "main", "sql": "SELECT g, NULL::text AS n FROM generate_series(1, 120) g"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["commit_id"] is None and branches_of(repo)["main"] == before
    assert data["rows"]["columns"] == ["g", "n"] and data["rows"]["total"] == 120
    assert len(data["rows"]["rows"]) == 100 and data["rows"]["rows"][0] == ["1", None]
