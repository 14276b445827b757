"""The audit trail of a repository through the API: maintainers read who did what, when and with
what outcome, newest first, in pages that do not shift while new entries are written."""

import psycopg
import pytest
from api_support import error_of

pytestmark = pytest.mark.django_db

URL = "/api/v1/repositories/widgets/audit/"
KEYS = {"id", "at", "role_name", "operation", "args", "outcome", "detail", "duration_ms", "person"}


def test_maintainer_reads_the_audit_trail_newest_first_in_stable_pages(as_api, repo, maintainer):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        for i in range(3):
            conn.execute(f"CREATE TABLE public.audited_{i} (id integer)")
        conn.execute("SELECT pggit.create_branch('audited-branch')")
    client = as_api(maintainer)
    first = client.get(URL, {"page_size": 2})
    assert first.status_code == 200, first.content
    data = first.json()
    assert set(data) == {"next", "previous", "results"} and data["previous"] is None
    assert len(data["results"]) == 2 and all(set(e) == KEYS for e in data["results"])
    newest = data["results"][0]
    assert (newest["operation"], newest["args"]["name"], newest["outcome"]) == ("create_branch", "audited-branch", "ok")
    assert data["results"][1]["operation"] == "capture" and newest["role_name"]
    ids = [e["id"] for e in data["results"]]
    assert ids == sorted(ids, reverse=True)
    # a new entry written now does not shift the pages already handed out
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.audited_late (id integer)")
    second = client.get(data["next"])
    assert second.status_code == 200
    more = second.json()["results"]
    assert more and more[0]["id"] < ids[-1]
    with psycopg.connect(repo.dsn) as conn:
        expected = [r[0] for r in conn.execute("SELECT id FROM pggit.audit_log WHERE id <= %s ORDER BY id DESC LIMIT 2 OFFSET 2",
                                               [ids[0]])]
    assert [e["id"] for e in more] == expected


@pytest.mark.parametrize("who,status", [("viewer", 403), ("reviewer", 403), ("outsider", 404), (None, 401)])
def test_only_maintainers_read_the_audit_trail(as_api, repo, request, who, status):
    client = as_api(request.getfixturevalue(who)) if who else as_api()
    response = client.get(URL)
    assert response.status_code == status
    assert error_of(response)["code"]


def test_a_forged_audit_cursor_is_a_bad_request(as_api, repo, maintainer):
    response = as_api(maintainer).get(URL, {"cursor": "not-a-cursor"})
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_cursor"
