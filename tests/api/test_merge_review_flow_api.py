"""The whole review flow through the REST API alone: tokens, a branch, DDL on it, a request, a
conflict with the target, its resolution, an approval by someone else, the merge; then the live
schema, read from PostgreSQL's catalogs."""

import psycopg
import pytest
from api_support import error_of

from web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

REPO = "/api/v1/repositories/widgets/"
MRS = REPO + "merge-requests/"


def jwt(api, username):
    response = api.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["access"]


def personal_token(api, username, role):
    """A personal access token made through the API (signed in with a JWT), limited to the repository."""
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt(api, username)}")
    response = api.post("/api/v1/tokens/", {"name": f"ci {username}", "repositories": ["widgets"],
                                            "max_role": role}, format="json")
    api.credentials()
    assert response.status_code == 201, response.content
    return response.json()["token"]


def test_review_flow_through_the_api_alone(repo, author, reviewer, maintainer, as_api, api):
    dev = as_api(token=personal_token(api, author.username, "developer"))
    boss = as_api(token=personal_token(api, maintainer.username, "maintainer"))
    rex = as_api(token=jwt(api, reviewer.username))  # a JWT works the same as a personal token

    # a branch, and DDL on it (in the shadow database: the live schema is untouched)
    response = dev.post(REPO + "branches/", {"name": "feature-shade", "from_ref": "main"}, format="json")
    assert response.status_code == 201, response.content
    response = dev.post(REPO + "console/", {
        "branch": "feature-shade", "message": "Shades and a palette",
        "sql": "ALTER TABLE public.widgets ADD COLUMN shade text;\n"
               "CREATE TABLE public.palette (name text PRIMARY KEY, hex char(7) NOT NULL)"}, format="json")
    assert response.status_code == 201, response.content

    # meanwhile main (checked out, live) gets a conflicting column from a maintainer
    response = boss.post(REPO + "console/", {"branch": "main",
                                             "sql": "ALTER TABLE public.widgets ADD COLUMN shade integer"}, format="json")
    assert response.status_code == 201, response.content

    # the request
    response = dev.post(MRS, {"source": "feature-shade", "target": "main", "title": "Shades",
                              "description": "Widgets get a shade"}, format="json")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    mr = f"{MRS}{number}/"
    detail = dev.get(mr).json()
    assert detail["compare"]["commits"] == 1
    assert [c["identity"] for c in detail["merge_box"]["preview"]["conflicts"]] == ["table public.widgets"]

    # the author resolves the conflict with a text of their own, checked in the shadow database
    conflicts = dev.post(mr + "conflicts/").json()
    assert conflicts["open"] == 1
    item = conflicts["items"][0]
    assert "shade text" in item["source_definition"] and "shade integer" in item["target_definition"]
    custom = item["source_definition"].replace("shade text", "shade varchar(40)")
    response = dev.post(mr + "conflicts/resolve/", {"identity": item["identity"], "result": custom}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"

    # merging before the approval is refused; the author may not approve their own request
    response = boss.post(mr + "merge/", {}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "approvals_missing"
    assert dev.post(mr + "reviews/", {"verdict": "approve"}, format="json").status_code == 403
    response = rex.post(mr + "reviews/", {"verdict": "approve", "body": "Good"}, format="json")
    assert response.status_code == 201 and response.json()["merge_request"]["state"] == "approved"

    # the merge, by the maintainer
    response = boss.post(mr + "merge/", {}, format="json")
    assert response.status_code == 200, response.content
    outcome = response.json()
    assert outcome["status"] == "merged" and outcome["merge_request"]["state"] == "merged"
    assert boss.get(mr).json()["merged_by"] == "mia_maintainer"

    # the live schema, as PostgreSQL's catalogs see it
    with psycopg.connect(repo.dsn) as conn:
        shade = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'public.widgets'::regclass AND attname = 'shade' AND NOT attisdropped").fetchone()
        palette = conn.execute(
            "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = to_regclass('public.palette') AND attnum > 0 AND NOT attisdropped").fetchone()
        key = conn.execute("SELECT count(*) FROM pg_constraint "
                           "WHERE conrelid = to_regclass('public.palette') AND contype = 'p'").fetchone()
        head = conn.execute("SELECT pggit.current_branch(), pggit.resolve('main')").fetchone()
        parents = conn.execute("SELECT parent_ids FROM pggit.log('main', 1)").fetchone()
    assert shade == ("character varying(40)",)
    assert palette == (["name", "hex"],) and key == (1,)
    assert head == ("main", outcome["commit"])
    assert len(parents[0]) == 2  # a merge commit

    # and the request's tabs still show what was merged
    ran = boss.get(mr + "migration/").json()["steps"]  # what the merge ran: pggit.migration()'s rows
    assert [s["statement"] for s in ran]
    assert {s["identity"] for s in ran if s["kind"] == "table"} >= {"table public.palette"}
    assert all(s["reason"] for s in ran if s["identity"])
    timeline = [e["kind"] for e in dev.get(mr + "conversation/").json()["timeline"]]
    assert timeline == ["opened", "resolved", "review", "merged"]  # the conflict resolved above is an entry too
