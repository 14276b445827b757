"""Saved-response tests of the read endpoints: status and JSON shape, against a real engine."""

import psycopg
import pytest
from api_support import error_of

pytestmark = pytest.mark.django_db

BASE = "/api/v1/repositories/widgets"
COMMIT_KEYS = {"commit_id", "parent_ids", "author", "message", "committed_at", "committer"}
CHANGE_KEYS = {"identity", "kind", "change", "old_definition", "new_definition"}


def test_repository_list_shows_the_callers_repositories_with_role(as_api, repo, author):
    response = as_api(author).get("/api/v1/repositories/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"next", "previous", "results"}
    assert data["results"] == [{"slug": "widgets", "name": "widgets", "description": "", "default_branch": "main",
                                "created_at": data["results"][0]["created_at"], "role": "developer"}]


def test_repository_detail_has_engine_state_and_no_password(as_api, repo, viewer):
    response = as_api(viewer).get(f"{BASE}/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"slug", "name", "description", "default_branch", "created_at", "role", "database", "state",
                         "state_error"}
    assert data["role"] == "viewer"
    assert data["state"]["current_branch"] == "main"
    assert data["state"]["engine_version"]
    assert data["state"]["branch_count"] == 2
    assert len(data["state"]["head"]) >= 40
    assert "dsn" not in data and data["database"].startswith("postgresql://")


def test_branch_list_has_ahead_behind_and_last_commit(as_api, repo, viewer):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("SELECT pggit.switch_branch('feature-colors')")
        conn.execute("CREATE TABLE public.colors (id integer PRIMARY KEY)")
        conn.execute("SELECT pggit.switch_branch('main')")
    response = as_api(viewer).get(f"{BASE}/branches/")
    assert response.status_code == 200
    data = response.json()
    assert data["current"] == "main" and data["default"] == "main"
    by_name = {b["name"]: b for b in data["results"]}
    assert set(by_name) == {"main", "feature-colors"}
    feature = by_name["feature-colors"]
    assert set(feature) == {"name", "head", "is_head", "is_default", "created_at", "created_by", "created_by_role",
                            "data", "ahead", "ahead_more", "behind", "behind_more", "last_commit"}
    assert feature["data"] is False
    assert (feature["ahead"], feature["behind"], feature["ahead_more"]) == (1, 0, False)
    assert set(feature["last_commit"]) == COMMIT_KEYS
    assert by_name["main"]["is_head"] and by_name["main"]["is_default"] and by_name["main"]["ahead"] is None


def test_commit_log_pages_with_a_cursor_pinned_to_the_first_head(as_api, repo, viewer):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        for i in range(4):
            conn.execute(f"CREATE TABLE public.t{i} (id integer)")
    client = as_api(viewer)
    first = client.get(f"{BASE}/commits/", {"page_size": 2})
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"next", "previous", "results"} and page["previous"] is None
    assert len(page["results"]) == 2 and set(page["results"][0]) == COMMIT_KEYS
    assert "t3" in page["results"][0]["message"] or page["results"][0]["message"]
    with psycopg.connect(repo.dsn, autocommit=True) as conn:  # a commit made while paging does not shift pages
        conn.execute("CREATE TABLE public.late (id integer)")
    second = client.get(page["next"]).json()
    seen = [c["commit_id"] for c in page["results"]] + [c["commit_id"] for c in second["results"]]
    assert len(set(seen)) == 4
    assert second["previous"] is not None
    back = client.get(second["previous"]).json()
    assert [c["commit_id"] for c in back["results"]] == [c["commit_id"] for c in page["results"]]
    everything = []
    url = f"{BASE}/commits/?page_size=50"
    while url:
        body = client.get(url).json()
        everything += body["results"]
        url = body["next"]
    assert len({c["commit_id"] for c in everything}) == len(everything) >= 6


def test_commit_log_refuses_a_forged_cursor(as_api, repo, viewer):
    response = as_api(viewer).get(f"{BASE}/commits/", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_cursor"


def test_commit_detail_has_its_changes(as_api, repo, viewer):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.widgets ADD COLUMN color text")
    client = as_api(viewer)
    head = client.get(f"{BASE}/commits/", {"page_size": 1}).json()["results"][0]["commit_id"]
    response = client.get(f"{BASE}/commits/{head}/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"commit", "branches", "changes"}
    assert data["commit"]["commit_id"] == head and data["branches"] == ["main"]
    [change] = data["changes"]
    assert set(change) == CHANGE_KEYS
    assert change["identity"] == "table public.widgets" and change["change"] == "modified"
    assert "color text" in change["new_definition"] and "color" not in change["old_definition"]


def test_unknown_commit_is_404_with_the_engine_code(as_api, repo, viewer):
    response = as_api(viewer).get(f"{BASE}/commits/deadbeef/")
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "ref_not_found" and error["detail"]["sqlstate"] == "PGG01"


def test_tree_and_one_object_with_history(as_api, repo, viewer):
    client = as_api(viewer)
    tree = client.get(f"{BASE}/tree/", {"ref": "main"})
    assert tree.status_code == 200
    data = tree.json()
    assert data["ref"] == "main" and len(data["commit_id"]) >= 40
    assert {"identity": "table public.widgets", "kind": "table"} == {
        k: v for k, v in next(o for o in data["objects"] if o["identity"] == "table public.widgets").items() if k != "hash"}
    obj = client.get(f"{BASE}/objects/", {"identity": "table public.widgets"})
    assert obj.status_code == 200
    body = obj.json()
    assert set(body) == {"identity", "ref", "commit_id", "kind", "definition", "hash", "history"}
    assert "weight_grams" in body["definition"] and body["kind"] == "table"
    assert len(body["history"]) >= 2
    assert set(body["history"][0]) == COMMIT_KEYS | {"change", "definition", "previous_definition"}
    missing = client.get(f"{BASE}/objects/", {"identity": "table public.nothing"})
    assert missing.status_code == 404 and error_of(missing)["code"] == "object_not_found"
    no_identity = client.get(f"{BASE}/objects/")
    assert no_identity.status_code == 400 and error_of(no_identity)["code"] == "missing_parameter"


def _diverge(repo):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("SELECT pggit.switch_branch('feature-colors')")
        conn.execute("CREATE TABLE public.colors (id integer PRIMARY KEY, name text)")
        conn.execute("ALTER TABLE public.widgets DROP COLUMN weight_grams")
        conn.execute("SELECT pggit.switch_branch('main', true)")
        conn.execute("INSERT INTO public.widgets VALUES (1, 'one', 5)")  # on main, the live database


def test_compare_lists_object_changes_with_definitions(as_api, repo, viewer):
    _diverge(repo)
    response = as_api(viewer).get(f"{BASE}/compare/", {"from": "main", "to": "feature-colors"})
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"from_ref", "to_ref", "from_id", "to_id", "merge_base", "total", "counts", "objects", "data"}
    assert data["data"] is None  # no data branch on either side
    assert data["total"] == 2 and data["counts"] == {"added": 1, "modified": 1, "deleted": 0}
    assert data["merge_base"] == data["from_id"]
    by_identity = {o["identity"]: o for o in data["objects"]}
    assert by_identity["table public.colors"]["old_definition"] is None
    assert "weight_grams" in by_identity["table public.widgets"]["old_definition"]


def test_migration_as_json_steps_and_as_sql(as_api, repo, viewer):
    _diverge(repo)
    client = as_api(viewer)
    response = client.get(f"{BASE}/migration/", {"from": "main", "to": "feature-colors"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    data = response.json()
    assert set(data) == {"from_ref", "to_ref", "from_id", "to_id", "steps", "data_loss"}
    assert [s["step"] for s in data["steps"]] == list(range(1, len(data["steps"]) + 1))
    assert all(set(s) == {"step", "kind", "identity", "statement", "reason"} for s in data["steps"]), data["steps"]
    create = next(s for s in data["steps"] if "CREATE TABLE public.colors" in s["statement"])
    assert (create["kind"], create["identity"], create["reason"]) == ("table", "table public.colors", "added")
    drop = next(s for s in data["steps"] if "DROP COLUMN weight_grams" in s["statement"])
    assert (drop["kind"], drop["identity"], drop["reason"]) == ("table", "table public.widgets", "changed")
    assert data["data_loss"], data
    assert set(data["data_loss"][0]) == {"identity", "statement", "reason"}, data["data_loss"]
    for how in ({"HTTP_ACCEPT": "text/sql"}, {}):
        params = {"from": "main", "to": "feature-colors", **({} if how else {"format": "sql"})}
        sql = client.get(f"{BASE}/migration/", params, **how)
        assert sql.status_code == 200 and sql["Content-Type"].startswith("text/sql")
        text = sql.content.decode()
        assert text.startswith("-- pgGit migration from main") and "CREATE TABLE public.colors" in text
    bad = client.get(f"{BASE}/migration/", {"to": "nope"}, HTTP_ACCEPT="text/sql")
    assert bad.status_code == 404 and bad["Content-Type"].startswith("application/json")
    assert error_of(bad)["code"] == "ref_not_found"


def test_drift_lists_ddl_made_behind_the_engine(as_api, repo, viewer):
    client = as_api(viewer)
    assert client.get(f"{BASE}/drift/").json() == {"results": []}
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("ALTER TABLE public.widgets ADD COLUMN sneaky text")
    response = client.get(f"{BASE}/drift/")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert set(row) == {"identity", "kind", "change", "head_definition", "live_definition"}
    assert row["identity"] == "table public.widgets" and row["change"] == "modified"
    assert "sneaky" in row["live_definition"] and "sneaky" not in row["head_definition"]


def test_unreachable_repository_detail_says_why_and_reads_are_503(as_api, maintainer):
    from branches.access import grant
    from branches.models import Repository, Role

    gone = Repository.objects.create(name="gone", dsn="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    grant(gone, maintainer, Role.VIEWER)
    client = as_api(maintainer)
    detail = client.get("/api/v1/repositories/gone/")
    assert detail.status_code == 200
    assert detail.json()["state"] is None and detail.json()["state_error"]["code"] == "engine_unavailable"
    branches = client.get("/api/v1/repositories/gone/branches/")
    assert branches.status_code == 503 and error_of(branches)["code"] == "engine_unavailable"
