"""Merge request endpoints: for each, the allowed case with its JSON shape, the 403 (role too low),
the 404 (outsider, unknown request) and the 401 (anonymous); against a real engine."""

import psycopg
import pytest
from api_support import error_of

from branches.models import Role
from merges import actions
from merges.models import Comment, MergeRequest, Review
from pggit.client import Client

pytestmark = pytest.mark.django_db

LIST = "/api/v1/repositories/widgets/merge-requests/"
MR_KEYS = {"number", "title", "description", "source", "target", "state", "draft", "strategy", "author",
           "auto_merge", "auto_merge_by", "source_head", "in_progress", "merge_commit", "merge_error", "merged_by",
           "merged_at", "closed_at", "created_at", "updated_at", "approvals", "labels", "assignees",
           "badge"}
BADGE_KEYS = {"kind", "label", "mergeable"}
APPROVAL_KEYS = {"count", "required", "met", "approvers", "self_approval_allowed"}
ITEM_KEYS = {"identity", "kind", "conflict_type", "auto_resolvable", "resolution", "error", "base_definition",
             "source_definition", "target_definition", "result_definition"}
COMMENT_KEYS = {"id", "author", "body", "object_identity", "line", "line_text", "parent", "resolved_at", "resolved_by",
                "suggestion", "suggestion_applied_at", "suggestion_applied_by", "suggestion_commit", "created_at"}
REVIEW_KEYS = {"id", "reviewer", "verdict", "body", "source_head", "dismissed", "dismissed_reason", "created_at"}
OUTCOME_KEYS = {"status", "commit", "merge_id", "message", "open_conflicts", "merge_request"}


def live(repo, sql):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute(sql)


def column_type(repo, column, table="public.widgets"):
    with psycopg.connect(repo.dsn) as conn:
        row = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                           "WHERE attrelid = %s::regclass AND attname = %s AND NOT attisdropped", (table, column)).fetchone()
    return row[0] if row else None


def url(mr_or_number, tail=""):
    number = getattr(mr_or_number, "number", mr_or_number)
    return f"{LIST}{number}/{tail}"


def fresh(mr):
    return MergeRequest.objects.get(pk=mr.pk)


def open_request(repo, author, **kw):
    kw.setdefault("title", "Colors for widgets")
    return actions.open_merge_request(author, repo, source=kw.pop("source", "feature-colors"),
                                      target=kw.pop("target", "main"), **kw)


@pytest.fixture
def mr(repo, author):
    """!1 from feature-colors (one new column) into main, by the author (a developer)."""
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text", "Add a color")
    return open_request(repo, author, description="Adds a color")


def make_conflict(repo):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN shade text")
    live(repo, "ALTER TABLE public.widgets ADD COLUMN shade integer")


# the list ----------------------------------------------------------------------------------

def test_list_shows_open_requests_with_approvals_and_filters_like_the_page(as_api, repo, mr, viewer, author):
    actions.close(author, mr)
    other = open_request(repo, author, source="main", target="feature-colors", title="Back")
    client = as_api(viewer)
    data = client.get(LIST).json()
    assert set(data) == {"next", "previous", "results"}
    assert [r["number"] for r in data["results"]] == [other.number]  # open by default, as on the page
    row = data["results"][0]
    assert set(row) == MR_KEYS and set(row["approvals"]) == APPROVAL_KEYS
    assert (row["author"], row["source"], row["target"], row["state"]) == ("ada_author", "main", "feature-colors", "open")
    assert row["badge"] == {"kind": "open", "label": "open", "mergeable": True}  # feature-colors needs no approval
    assert [r["number"] for r in client.get(LIST + "?state=closed").json()["results"]] == [mr.number]
    assert [r["number"] for r in client.get(LIST + "?state=all").json()["results"]] == [other.number, mr.number]
    assert [r["number"] for r in client.get(LIST + "?state=all&target=main").json()["results"]] == [mr.number]
    assert client.get(LIST + "?state=all&author=nobody").json()["results"] == []


def test_badge_is_the_pages_pill_draft_conflicts_closed(as_api, repo, mr, viewer, author):
    client = as_api(viewer)
    actions.edit(author, mr, draft=True)
    assert client.get(url(mr)).json()["badge"] == {"kind": "draft", "label": "draft", "mergeable": False}
    actions.edit(author, fresh(mr), draft=False)
    make_conflict(repo)
    detail = client.get(url(mr)).json()  # computes the preview, which finds the conflict
    assert detail["badge"] == {"kind": "conflicts", "label": "1 conflict", "mergeable": False}
    assert client.get(LIST).json()["results"][0]["badge"]["kind"] == "conflicts"
    closed = as_api(author).post(url(mr, "close/")).json()
    assert closed["badge"] == {"kind": "closed", "label": "closed", "mergeable": False}


def test_list_pages_with_a_cursor_newest_first(as_api, repo, author, viewer):
    for i in range(3):
        Client(repo.dsn).create_branch(f"f{i}")
        open_request(repo, author, source=f"f{i}", title=f"r{i}")
    client = as_api(viewer)
    first = client.get(LIST + "?page_size=2").json()
    assert [r["number"] for r in first["results"]] == [3, 2] and first["next"]
    second = client.get(first["next"]).json()
    assert [r["number"] for r in second["results"]] == [1] and second["next"] is None


def test_list_with_an_unknown_state_is_400_with_the_error_body(as_api, repo, viewer):
    response = as_api(viewer).get(LIST + "?state=everything")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid" and "state" in error_of(response)["detail"]


def test_list_is_404_for_an_outsider_and_401_anonymous(as_api, api, repo, mr, outsider):
    response = as_api(outsider).get(LIST)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    response = api.get(LIST)
    assert response.status_code == 401 and error_of(response)["code"] == "not_authenticated"


# opening, editing, draft, close, reopen ----------------------------------------------------

def test_developer_opens_a_request(as_api, repo, author):
    response = as_api(author).post(LIST, {"source": "feature-colors", "target": "main", "title": "Colors",
                                          "description": "why", "strategy": "union", "draft": True}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert set(data) == MR_KEYS
    assert (data["number"], data["title"], data["strategy"], data["draft"], data["state"]) == (1, "Colors", "union", True, "open")
    mr = MergeRequest.objects.get()
    assert (mr.author, mr.source, mr.target, mr.description) == (author, "feature-colors", "main", "why")


def test_viewer_cannot_open_a_request(as_api, repo, viewer):
    response = as_api(viewer).post(LIST, {"source": "feature-colors", "target": "main", "title": "x"}, format="json")
    assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    assert not MergeRequest.objects.exists()


def test_outsider_cannot_open_a_request(as_api, repo, outsider):
    response = as_api(outsider).post(LIST, {"source": "feature-colors", "target": "main", "title": "x"}, format="json")
    assert response.status_code == 404 and not MergeRequest.objects.exists()


def test_opening_for_a_missing_branch_or_twice_is_refused(as_api, repo, author, mr):
    client = as_api(author)
    response = client.post(LIST, {"source": "nope", "target": "main", "title": "x"}, format="json")
    assert response.status_code == 404 and error_of(response)["code"] == "ref_not_found"
    response = client.post(LIST, {"source": "feature-colors", "target": "main", "title": "again"}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "duplicate"
    response = client.post(LIST, {"source": "main", "target": "main", "title": "same"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "same_branch"
    assert MergeRequest.objects.count() == 1


def test_author_edits_title_and_strategy(as_api, mr, author):
    response = as_api(author).patch(url(mr), {"title": "Better title", "strategy": "source_wins"}, format="json")
    assert response.status_code == 200 and set(response.json()) == MR_KEYS
    mr = fresh(mr)
    assert (mr.title, mr.strategy, mr.description) == ("Better title", "source_wins", "Adds a color")


def test_someone_else_below_maintainer_cannot_edit(as_api, mr, reviewer, maintainer):
    response = as_api(reviewer).patch(url(mr), {"title": "Mine now"}, format="json")
    assert response.status_code == 403 and fresh(mr).title == "Colors for widgets"
    assert as_api(maintainer).patch(url(mr), {"title": "Fixed"}, format="json").status_code == 200
    assert fresh(mr).title == "Fixed"


def test_edit_with_a_blank_title_or_unknown_strategy_is_400_and_changes_nothing(as_api, mr, author):
    client = as_api(author)
    response = client.patch(url(mr), {"title": "   "}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] in ("invalid", "invalid_title")
    response = client.patch(url(mr), {"strategy": "rebase"}, format="json")
    assert response.status_code == 400 and "strategy" in error_of(response)["detail"]
    mr = fresh(mr)
    assert (mr.title, mr.strategy) == ("Colors for widgets", "auto")


def test_draft_toggles_for_the_author_and_not_for_a_viewer(as_api, mr, author, viewer):
    response = as_api(author).post(url(mr, "draft/"), {"draft": True}, format="json")
    assert response.status_code == 200 and response.json()["draft"] is True and fresh(mr).draft
    assert as_api(viewer).post(url(mr, "draft/"), {"draft": False}, format="json").status_code == 403
    assert fresh(mr).draft


def test_close_and_reopen(as_api, mr, author, viewer):
    assert as_api(viewer).post(url(mr, "close/")).status_code == 403
    client = as_api(author)
    response = client.post(url(mr, "close/"))
    assert response.status_code == 200 and response.json()["state"] == "closed" and fresh(mr).state == "closed"
    response = client.post(url(mr, "close/"))
    assert response.status_code == 409 and error_of(response)["code"] == "not_open"
    response = client.post(url(mr, "reopen/"))
    assert response.status_code == 200 and response.json()["state"] == "open" and fresh(mr).state == "open"
    response = client.post(url(mr, "reopen/"))
    assert response.status_code == 409 and error_of(response)["code"] == "not_closed"


def test_a_deleted_source_branch_is_restored_at_the_head_the_request_knew(as_api, repo, mr, author, viewer, outsider):
    engine = Client(repo.dsn)
    head = engine.resolve("feature-colors")
    assert fresh(mr).source_head == head
    engine.delete_branch("feature-colors", force=True)
    commits = as_api(viewer).get(url(mr, "commits/"))  # the request still shows what it last knew
    assert commits.status_code == 200 and commits.json()["source_commit"] == head
    assert as_api(viewer).post(url(mr, "restore-branch/")).status_code == 403
    assert as_api(outsider).post(url(mr, "restore-branch/")).status_code == 404
    response = as_api(author).post(url(mr, "restore-branch/"))
    assert response.status_code == 200 and response.json()["source_head"] == head
    assert {b["name"]: b["head"] for b in engine.branches()}["feature-colors"] == head
    again = as_api(author).post(url(mr, "restore-branch/"))
    assert again.status_code == 409 and error_of(again)["code"] == "branch_exists"
    engine.close()


# detail and the four tabs ------------------------------------------------------------------

def test_detail_has_compare_counts_and_the_callers_merge_box(as_api, mr, viewer, maintainer):
    response = as_api(viewer).get(url(mr))
    assert response.status_code == 200
    data = response.json()
    assert set(data) == MR_KEYS | {"compare", "compare_error", "merge_box"}
    assert data["badge"] == {"kind": "open", "label": "open · approvals 0/1", "mergeable": False}
    assert data["compare"]["commits"] == 1 and data["compare"]["changes"] == 1 and data["compare_error"] is None
    box = data["merge_box"]
    assert (box["can_merge"], box["can_review"], box["can_edit"], box["merge_role"]) == (False, False, False, "maintainer")
    assert "maintainer" in box["merge_blocked"]
    assert box["preview"]["kind"] == "fast_forward" and box["preview"]["conflicts"] == []
    box = as_api(maintainer).get(url(mr)).json()["merge_box"]
    assert box["can_edit"] and box["can_review"] and not box["can_merge"] and "approvals" in box["merge_blocked"]


def test_unknown_request_and_outsider_are_404(as_api, mr, viewer, outsider):
    response = as_api(viewer).get(url(99))
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    for tail in ("", "conversation/", "commits/", "changes/", "migration/", "reviews/", "comments/", "conflicts/"):
        assert as_api(outsider).get(url(mr, tail)).status_code == 404, tail


def test_anonymous_is_401_on_every_request_endpoint(api, mr):
    for tail in ("", "conversation/", "commits/", "changes/", "migration/", "reviews/", "comments/", "conflicts/"):
        response = api.get(url(mr, tail))
        assert response.status_code == 401 and error_of(response)["code"] == "not_authenticated", tail
    for tail in ("merge/", "close/", "abort/", "conflicts/resolve/"):
        assert api.post(url(mr, tail), {}, format="json").status_code == 401, tail


def test_conversation_is_the_timeline_in_time_order(as_api, mr, viewer, reviewer):
    actions.add_comment(viewer, mr, "Why text?")
    actions.review(reviewer, mr, "request_changes", "Use an enum")
    response = as_api(viewer).get(url(mr, "conversation/"))
    assert response.status_code == 200
    data = response.json()
    assert data["description"] == "Adds a color"
    assert [e["kind"] for e in data["timeline"]] == ["opened", "comment", "review"]
    opened, comment, review = data["timeline"]
    assert opened["user"] == "ada_author" and opened["review"] is None and opened["comment"] is None
    assert set(comment["comment"]) == COMMENT_KEYS and comment["comment"]["body"] == "Why text?"
    assert set(review["review"]) == REVIEW_KEYS and review["review"]["verdict"] == "request_changes"


def test_commits_tab_lists_the_source_commits(as_api, repo, mr, viewer):
    response = as_api(viewer).get(url(mr, "commits/"))
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"source_commit", "target_commit", "merge_base", "commits", "truncated"}
    assert [c["message"].splitlines()[0] for c in data["commits"]] == ["Add a color"]
    assert data["source_commit"] == Client(repo.dsn).resolve("feature-colors") and not data["truncated"]


def test_changes_tab_pages_objects_with_their_comments(as_api, repo, mr, viewer):
    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.a1 (id int); CREATE TABLE public.a2 (id int)")
    actions.add_comment(viewer, mr, "needs a key", "table public.a2")
    client = as_api(viewer)
    data = client.get(url(mr, "changes/") + "?page_size=2").json()
    assert set(data) == {"source_commit", "merge_base", "total", "counts", "page", "pages", "objects",
                         "resolutions", "data"}
    assert data["data"] is None  # (feature-colors carries no data)
    assert (data["total"], data["pages"], data["counts"]) == (3, 2, {"added": 2, "modified": 1, "deleted": 0})
    assert [o["identity"] for o in data["objects"]] == ["table public.a1", "table public.a2"]
    assert set(data["objects"][0]) == {"identity", "kind", "change", "old_definition", "new_definition", "comments"}
    assert [c["body"] for c in data["objects"][1]["comments"]] == ["needs a key"]
    jumped = client.get(url(mr, "changes/"), {"object": "table public.widgets", "page_size": 2}).json()
    assert jumped["page"] == 2 and [o["identity"] for o in jumped["objects"]] == ["table public.widgets"]
    assert "color text" in jumped["objects"][0]["new_definition"]
    response = client.get(url(mr, "changes/") + "?page=x")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_page"


def test_migration_tab_as_json_and_as_sql(as_api, repo, mr, viewer):
    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    client = as_api(viewer)
    data = client.get(url(mr, "migration/")).json()
    assert set(data) == {"live", "kind", "steps", "warnings", "open_conflicts"}
    assert data["live"] is True and data["kind"] == "fast_forward" and data["open_conflicts"] == 0
    assert [s["step"] for s in data["steps"]] == list(range(1, len(data["steps"]) + 1))
    assert all(set(s) == {"step", "kind", "identity", "statement", "reason"} for s in data["steps"]), data["steps"]
    add = next(s for s in data["steps"] if "ADD COLUMN color text" in s["statement"])
    assert (add["kind"], add["identity"], add["reason"]) == ("table", "table public.widgets", "changed")
    assert add["statement"].endswith(";")
    response = client.get(url(mr, "migration/") + "?format=sql")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/sql")
    assert "ADD COLUMN color text" in response.content.decode()


# reviews and comments ----------------------------------------------------------------------

def test_reviewer_approves_and_the_request_is_approved(as_api, mr, reviewer):
    response = as_api(reviewer).post(url(mr, "reviews/"), {"verdict": "approve"}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {"review", "merge_request"} and set(data["review"]) == REVIEW_KEYS
    assert data["merge_request"]["state"] == "approved" and data["merge_request"]["approvals"]["approvers"] == ["rex_reviewer"]
    assert fresh(mr).state == "approved"
    listed = as_api(reviewer).get(url(mr, "reviews/")).json()
    assert [r["verdict"] for r in listed["results"]] == ["approve"]


def test_viewer_cannot_approve_and_nobody_approves_their_own_under_protection(as_api, repo, mr, viewer, reviewer):
    from branches.models import BranchProtection

    response = as_api(viewer).post(url(mr, "reviews/"), {"verdict": "approve"}, format="json")
    assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    assert not mr.reviews.exists() and fresh(mr).state == "open"
    BranchProtection.objects.create(repository=repo, pattern="feature-*", required_approvals=1)
    own = open_request(repo, reviewer, source="main", target="feature-colors", title="Mine")
    response = as_api(reviewer).post(url(own, "reviews/"), {"verdict": "approve"}, format="json")
    assert response.status_code == 403 and "own" in error_of(response)["message"]
    assert not own.reviews.exists() and fresh(own).state == "open"


def test_request_changes_needs_a_body_and_a_viewer_may_comment(as_api, mr, reviewer, viewer):
    response = as_api(reviewer).post(url(mr, "reviews/"), {"verdict": "request_changes"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "empty_review"
    response = as_api(viewer).post(url(mr, "reviews/"), {"verdict": "comment", "body": "Looks fine"}, format="json")
    assert response.status_code == 201 and Review.objects.get().verdict == "comment"
    response = as_api(viewer).post(url(mr, "reviews/"), {"verdict": "lgtm"}, format="json")
    assert response.status_code == 400 and "verdict" in error_of(response)["detail"]


def test_comments_on_the_request_and_on_an_object(as_api, mr, viewer, outsider):
    client = as_api(viewer)
    response = client.post(url(mr, "comments/"), {"body": "On the request"}, format="json")
    assert response.status_code == 201 and set(response.json()) == COMMENT_KEYS
    response = client.post(url(mr, "comments/"), {"body": "On the table", "object_identity": "table public.widgets"},
                           format="json")
    assert response.status_code == 201 and response.json()["object_identity"] == "table public.widgets"
    everything = client.get(url(mr, "comments/")).json()
    assert set(everything) == {"next", "previous", "results"}
    assert [c["body"] for c in everything["results"]] == ["On the request", "On the table"]
    on_table = client.get(url(mr, "comments/"), {"object_identity": "table public.widgets"}).json()
    assert [c["body"] for c in on_table["results"]] == ["On the table"]
    on_request = client.get(url(mr, "comments/"), {"object_identity": ""}).json()
    assert [c["body"] for c in on_request["results"]] == ["On the request"]
    assert as_api(outsider).post(url(mr, "comments/"), {"body": "hi"}, format="json").status_code == 404
    response = client.post(url(mr, "comments/"), {"body": "   "}, format="json")
    assert response.status_code == 400
    assert Comment.objects.count() == 2


# merging -----------------------------------------------------------------------------------

def test_merge_needs_the_merge_role_and_the_approvals(as_api, repo, mr, author, maintainer, reviewer):
    response = as_api(author).post(url(mr, "merge/"), {}, format="json")
    assert response.status_code == 403
    response = as_api(maintainer).post(url(mr, "merge/"), {}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "approvals_missing"
    assert column_type(repo, "color") is None
    actions.approve(reviewer, mr)
    response = as_api(maintainer).post(url(mr, "merge/"), {"strategy": "auto"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == OUTCOME_KEYS and data["status"] == "merged" and data["merge_request"]["state"] == "merged"
    assert fresh(mr).merge_commit == data["commit"] == Client(repo.dsn).resolve("main")
    assert column_type(repo, "color") == "text"


def test_merge_that_loses_data_is_refused_until_forced(as_api, repo, author, reviewer, maintainer):
    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    client = as_api(maintainer)
    response = client.post(url(mr, "merge/"), {}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "data_loss_refused"
    assert column_type(repo, "weight_grams") == "integer" and fresh(mr).state != "merged"
    response = client.post(url(mr, "merge/"), {"force": True}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "merged"
    assert column_type(repo, "weight_grams") is None


def test_auto_merge_merges_on_the_last_approval(as_api, repo, mr, maintainer, reviewer, author):
    assert as_api(author).post(url(mr, "auto-merge/"), {"enabled": True}, format="json").status_code == 403
    response = as_api(maintainer).post(url(mr, "auto-merge/"), {"enabled": True}, format="json")
    assert response.status_code == 200 and response.json()["auto_merge"] and response.json()["auto_merge_by"] == "mia_maintainer"
    response = as_api(reviewer).post(url(mr, "reviews/"), {"verdict": "approve"}, format="json")
    assert response.status_code == 201 and response.json()["merge_request"]["state"] == "merged"
    assert column_type(repo, "color") == "text"


def test_conflicts_list_resolve_and_abort(as_api, repo, author, viewer):
    make_conflict(repo)
    mr = open_request(repo, author)
    client = as_api(author)
    assert client.get(url(mr, "conflicts/")).json() == {"in_progress": False, "merge_id": None, "open": 0, "items": []}
    assert as_api(viewer).get(url(mr, "conflicts/")).status_code == 403
    assert as_api(viewer).post(url(mr, "conflicts/")).status_code == 403
    response = client.post(url(mr, "conflicts/"))
    assert response.status_code == 200
    data = response.json()
    assert data["in_progress"] and data["open"] == 1 and data["merge_id"] == fresh(mr).engine_merge_id
    item = data["items"][0]
    assert set(item) == ITEM_KEYS and item["identity"] == "table public.widgets" and item["resolution"] is None
    assert "shade text" in item["source_definition"] and "shade integer" in item["target_definition"]
    assert "shade" not in item["base_definition"]
    assert client.get(url(mr, "conflicts/")).json() == data  # a GET reads the same and opens nothing
    response = as_api(viewer).post(url(mr, "conflicts/resolve/"), {"identity": "table public.widgets",
                                                                   "choice": "source"}, format="json")
    assert response.status_code == 403
    response = client.post(url(mr, "conflicts/resolve/"), {"identity": "table public.widgets", "choice": "source"},
                           format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "ready" and response.json()["open_conflicts"] == []
    assert fresh(mr).resolutions.get().resolution == "source"
    response = client.post(url(mr, "abort/"))
    assert response.status_code == 200 and response.json()["in_progress"] is False
    assert fresh(mr).engine_merge_id is None and column_type(repo, "shade") == "integer"


def test_rejected_custom_resolution_is_422_and_changes_nothing(as_api, repo, author):
    make_conflict(repo)
    mr = open_request(repo, author)
    client = as_api(author)
    merge_id = client.post(url(mr, "conflicts/")).json()["merge_id"]
    bad = "CREATE TABLE public.widgets (id integer PRIMARY KEY, label nosuchtype);"
    response = client.post(url(mr, "conflicts/resolve/"), {"identity": "table public.widgets", "result": bad},
                           format="json")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "rejected_by_postgresql" and 'type "nosuchtype" does not exist' in error["message"]
    assert fresh(mr).engine_merge_id == merge_id and not fresh(mr).resolutions.exists()
    items = Client(repo.dsn).merge_items(merge_id)
    assert [i["resolution"] for i in items] == [None]


def test_resolving_an_object_not_in_the_merge_or_with_no_merge(as_api, repo, author):
    make_conflict(repo)
    mr = open_request(repo, author)
    client = as_api(author)
    response = client.post(url(mr, "conflicts/resolve/"), {"identity": "table public.widgets", "choice": "source"},
                           format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "no_merge"
    client.post(url(mr, "conflicts/"))
    response = client.post(url(mr, "conflicts/resolve/"), {"identity": "table public.nope", "choice": "source"},
                           format="json")
    assert response.status_code == 404 and error_of(response)["code"] == "not_in_merge"
    response = client.post(url(mr, "conflicts/resolve/"), {"identity": "table public.widgets", "choice": "mine"},
                           format="json")
    assert response.status_code == 400 and "choice" in error_of(response)["detail"]
    response = client.post(url(mr, "conflicts/resolve/"), {"identity": "table public.widgets"}, format="json")
    assert response.status_code == 400 and "result" in error_of(response)["detail"]
    assert not fresh(mr).resolutions.exists()


def test_merge_stopping_on_conflicts_is_409_naming_them(as_api, repo, author, reviewer, maintainer):
    make_conflict(repo)
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    response = as_api(maintainer).post(url(mr, "merge/"), {}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "merge_conflicts" and error["detail"]["conflicts"] == ["table public.widgets"]
    assert error["detail"]["merge_id"] == fresh(mr).engine_merge_id
    assert column_type(repo, "shade") == "integer"


# tokens ------------------------------------------------------------------------------------

def test_token_limited_to_viewer_cannot_merge_and_one_for_another_repository_sees_nothing(
        as_api, repo, mr, maintainer, reviewer, make_token):
    from branches.models import Repository

    actions.approve(reviewer, mr)
    viewer_token = make_token(maintainer, [repo], Role.VIEWER)
    response = as_api(token=viewer_token).post(url(mr, "merge/"), {}, format="json")
    assert response.status_code == 403 and fresh(mr).state == "approved"
    assert as_api(token=viewer_token).get(url(mr)).status_code == 200
    other = Repository.objects.create(name="other", dsn=repo.dsn)
    elsewhere = make_token(maintainer, [other], Role.MAINTAINER)
    for tail in ("", "merge/"):
        call = as_api(token=elsewhere)
        response = call.get(url(mr, tail)) if not tail else call.post(url(mr, tail), {}, format="json")
        assert response.status_code == 404, tail
    assert fresh(mr).state == "approved"
