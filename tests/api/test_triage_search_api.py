"""Labels, assignees, the list's filters and a repository's search through the REST API: the allowed
case with the state after it, the 403 (role too low), the 404 (outsider) and the 401 (anonymous)."""

import psycopg
import pytest
from api_support import error_of

from merges import actions
from merges.models import Label, MergeRequest
from monitoring.models import Event, EventKind
from pggit.client import Client

pytestmark = pytest.mark.django_db

REPO = "/api/v1/repositories/widgets/"
LIST = REPO + "merge-requests/"
LABEL_KEYS = {"name", "color", "description"}


def fresh(mr):
    return MergeRequest.objects.get(pk=mr.pk)


@pytest.fixture
def mr(repo, author):
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors 50%_off")


# labels of a repository --------------------------------------------------------------------------

def test_maintainer_creates_renames_and_deletes_labels(as_api, repo, maintainer, viewer):
    client = as_api(maintainer)
    response = client.post(REPO + "labels/", {"name": "bug", "color": "#D73A4A", "description": "broken"},
                           format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"name": "bug", "color": "#d73a4a", "description": "broken"}
    assert Label.objects.get(repository=repo).name == "bug"
    response = client.post(REPO + "labels/", {"name": "BUG"}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "label_exists"
    response = client.post(REPO + "labels/", {"name": "x", "color": "red"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_color"
    response = client.patch(REPO + "labels/Bug/", {"name": "defect", "color": "#00ff00"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "defect"
    assert list(Label.objects.values_list("name", "color")) == [("defect", "#00ff00")]
    listed = as_api(viewer).get(REPO + "labels/").json()
    assert listed == [{"name": "defect", "color": "#00ff00", "description": "broken"}]
    assert client.delete(REPO + "labels/defect/").status_code == 204
    assert not Label.objects.exists()
    response = client.delete(REPO + "labels/defect/")
    assert response.status_code == 404 and error_of(response)["code"] == "label_not_found"
    # a name with a slash is addressed as it is
    assert client.post(REPO + "labels/", {"name": "area/db 'ü'"}, format="json").status_code == 201
    response = client.patch(REPO + "labels/area/db 'ü'/", {"color": "#123456"}, format="json")
    assert response.status_code == 200 and Label.objects.get().color == "#123456"


def test_labels_need_a_maintainer_and_are_hidden_from_outsiders(as_api, api, repo, author, outsider):
    Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    for response in (as_api(author).post(REPO + "labels/", {"name": "mine"}, format="json"),
                     as_api(author).patch(REPO + "labels/bug/", {"name": "mine"}, format="json"),
                     as_api(author).delete(REPO + "labels/bug/")):
        assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    for response in (as_api(outsider).get(REPO + "labels/"),
                     as_api(outsider).post(REPO + "labels/", {"name": "mine"}, format="json"),
                     as_api(outsider).delete(REPO + "labels/bug/")):
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert api.get(REPO + "labels/").status_code == 401
    assert list(Label.objects.values_list("name", flat=True)) == ["bug"]


# labels and assignees of a request -----------------------------------------------------------

def test_developer_sets_labels_and_assignees_and_the_conversation_lists_them(as_api, repo, mr, author, reviewer,
                                                                             viewer):
    Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    Label.objects.create(repository=repo, name="docs", color="#0075ca")
    client = as_api(author)
    response = client.put(f"{LIST}{mr.number}/labels/", {"labels": ["BUG", "docs"]}, format="json")
    assert response.status_code == 200, response.content
    assert [l["name"] for l in response.json()["labels"]] == ["bug", "docs"]
    assert set(response.json()["labels"][0]) == LABEL_KEYS
    response = client.put(f"{LIST}{mr.number}/assignees/", {"assignees": [reviewer.username]}, format="json")
    assert response.status_code == 200 and response.json()["assignees"] == [reviewer.username]
    assert list(fresh(mr).assignees.values_list("username", flat=True)) == [reviewer.username]
    client.put(f"{LIST}{mr.number}/labels/", {"labels": ["docs"]}, format="json")
    assert list(fresh(mr).labels.values_list("name", flat=True)) == ["docs"]
    timeline = as_api(viewer).get(f"{LIST}{mr.number}/conversation/").json()["timeline"]
    entries = [(e["kind"], e["detail"]) for e in timeline if e["kind"] in ("labeled", "assigned")]
    assert entries == [("labeled", {"added": ["bug", "docs"], "removed": []}),
                       ("assigned", {"added": [reviewer.username], "removed": []}),
                       ("labeled", {"added": [], "removed": ["bug"]})]
    detail = as_api(viewer).get(f"{LIST}{mr.number}/").json()
    assert [l["name"] for l in detail["labels"]] == ["docs"] and detail["assignees"] == [reviewer.username]


def test_setting_labels_and_assignees_is_refused_with_reasons(as_api, api, repo, mr, author, viewer, outsider):
    Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    response = as_api(author).put(f"{LIST}{mr.number}/labels/", {"labels": ["bug", "nope"]}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "unknown_label"
    response = as_api(author).put(f"{LIST}{mr.number}/assignees/", {"assignees": [outsider.username]}, format="json")
    assert response.status_code == 404 and error_of(response)["code"] == "user_not_found"
    response = as_api(author).put(f"{LIST}{mr.number}/labels/", {"labels": "bug"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid"
    response = as_api(viewer).put(f"{LIST}{mr.number}/labels/", {"labels": ["bug"]}, format="json")
    assert response.status_code == 403
    response = as_api(viewer).put(f"{LIST}{mr.number}/assignees/", {"assignees": [viewer.username]}, format="json")
    assert response.status_code == 403
    response = as_api(outsider).put(f"{LIST}{mr.number}/labels/", {"labels": ["bug"]}, format="json")
    assert response.status_code == 404
    response = as_api(outsider).put(f"{LIST}{mr.number}/assignees/", {"assignees": []}, format="json")
    assert response.status_code == 404
    assert api.put(f"{LIST}{mr.number}/labels/", {"labels": []}, format="json").status_code == 401
    assert not fresh(mr).labels.exists() and not fresh(mr).assignees.exists()
    assert not Event.objects.filter(merge_request=mr, kind=EventKind.MR_UPDATED).exists()


def test_list_filters_by_label_assignee_and_reviewer(as_api, repo, mr, author, reviewer, maintainer, viewer):
    Client(repo.dsn).create_branch("feature-two", "main")
    other = actions.open_merge_request(maintainer, repo, source="feature-two", target="main", title="Two")
    Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    actions.set_labels(author, mr, ["bug"])
    actions.set_assignees(author, mr, [reviewer.username])
    actions.request_review(maintainer, other, reviewer.username)
    client = as_api(viewer)

    def numbers(query):
        response = client.get(LIST, query)
        assert response.status_code == 200, response.content
        return [r["number"] for r in response.json()["results"]]

    assert numbers({}) == [other.number, mr.number]
    assert numbers({"label": "BUG"}) == [mr.number]
    assert numbers({"assignee": reviewer.username}) == [mr.number]
    assert numbers({"reviewer": reviewer.username}) == [other.number]
    assert numbers({"author": maintainer.username}) == [other.number]
    assert numbers({"label": "bug", "author": maintainer.username}) == []
    for hostile in ("%", "_", "' OR 1=1 --", "ü" * 300):
        assert numbers({"label": hostile, "state": "all"}) == []
        assert numbers({"reviewer": hostile}) == []
    response = client.get(LIST, {"label": "b\x00ug"})  # as every filter of the list: refused, not a 500
    assert response.status_code == 400 and error_of(response)["detail"] == {"label": ["Null characters are not allowed."]}


# search --------------------------------------------------------------------------------------

def test_search_finds_requests_commits_and_objects_literally(as_api, api, repo, mr, viewer, outsider):
    with psycopg.connect(repo.dsn) as conn:
        conn.execute("SELECT pggit.begin_commit('Notes: 100% done')")
        conn.execute("CREATE TABLE public.order_notes (id int)")
    client = as_api(viewer)
    data = client.get(REPO + "search/", {"q": "notes"}).json()
    assert set(data) == {"query", "merge_requests", "commits", "objects", "engine_error"}
    assert data["objects"] == [{"kind": "table", "identity": "table public.order_notes"}]
    assert [c["message"] for c in data["commits"]] == ["Notes: 100% done"]
    assert data["merge_requests"] == [] and data["engine_error"] is None
    data = client.get(REPO + "search/", {"q": "50%_"}).json()
    assert [r["number"] for r in data["merge_requests"]] == [mr.number]
    assert data["commits"] == [] and data["objects"] == []
    for hostile in ("%", "_", "'", "\\", "' OR 1=1 --", "b\x00ug", "ü" * 300, "); DROP TABLE public.widgets; --"):
        response = client.get(REPO + "search/", {"q": hostile})
        assert response.status_code == 200, (hostile, response.content)
    assert [c["message"] for c in client.get(REPO + "search/", {"q": "%"}).json()["commits"]] == ["Notes: 100% done"]
    response = client.get(REPO + "search/", {"q": "  "})
    assert response.status_code == 400 and error_of(response)["code"] == "missing_parameter"
    response = as_api(outsider).get(REPO + "search/", {"q": "notes"})
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert api.get(REPO + "search/", {"q": "notes"}).status_code == 401


def test_search_with_a_token_for_another_repository_is_404(as_api, repo, viewer, make_token):
    from branches.models import Repository, Role

    other = Repository.objects.create(name="other", dsn=repo.dsn)
    from branches.access import grant

    grant(other, viewer, Role.VIEWER)
    token = make_token(viewer, [other], Role.VIEWER)
    response = as_api(token=token).get(REPO + "search/", {"q": "widgets"})
    assert response.status_code == 404
