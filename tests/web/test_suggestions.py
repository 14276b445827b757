"""Suggestions on line comments (issue 14, second pass): a reviewer proposes SQL on one line of the
Changes tab; whoever may push to the source applies it with one click, as one commit on the source
made in the shadow database by the unprivileged role; the comment is marked applied and resolved
and the conversation says so. Failing SQL, a second apply, an outdated line and the wrong people
change nothing. The same through the REST API."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from merges import actions
from merges.models import Comment, MergeRequest
from monitoring.models import Event, EventKind
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)

IDENTITY = "table public.colors"
SUGGESTION = "ALTER TABLE public.colors ADD COLUMN \"note ü\" text DEFAULT 'it''s'"


def url(name, mr, **kwargs) -> str:
    return reverse(f"merges:{name}", kwargs={"slug": mr.repository.slug, "number": mr.number, **kwargs})


def api_url(mr, tail="") -> str:
    return f"/api/v1/repositories/{mr.repository.slug}/merge-requests/{mr.number}/{tail}"


def with_colors(repo, author) -> MergeRequest:
    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (name text, hex text)")
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors")


def engine(repo):
    return Client(repo.dsn)


def head_of(repo, branch="feature-colors") -> str:
    with engine(repo) as client:
        return {b["name"]: b["head"] for b in client.branches()}[branch]


def definition(repo, identity=IDENTITY, ref="feature-colors") -> str | None:
    with engine(repo) as client:
        return next((o["definition"] for o in client.tree(ref) if o["identity"] == identity), None)


def suggest(user, mr, sql=SUGGESTION, line=2) -> Comment:
    return actions.add_comment(user, mr, "Add a note column?", IDENTITY, line=line, suggestion=sql)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'").replace("&quot;", '"')


def test_reviewer_suggests_on_a_line_and_the_author_applies_it_as_one_commit(repo, author, reviewer, as_user):
    mr = with_colors(repo, author)
    web = as_user(reviewer)
    made = web.post(url("comment", mr), {"body": "", "object_identity": IDENTITY, "line": "2",
                                         "suggestion": SUGGESTION})
    comment = Comment.objects.get()
    assert made.status_code == 302 and comment.suggestion == SUGGESTION and comment.body == "Suggested change"
    page = as_user(author).get(url("changes", mr)).content.decode()
    assert f'id="suggestion-{comment.pk}"' in page and f'id="apply-suggestion-{comment.pk}"' in page
    assert "Suggested change" in page
    before = head_of(repo)

    applied = as_user(author).post(url("apply_suggestion", mr, comment_id=comment.pk), follow=True)
    assert applied.status_code == 200
    comment.refresh_from_db()
    after = head_of(repo)
    assert after != before and comment.suggestion_commit == after
    assert comment.suggestion_applied_by == author and comment.resolved_by == author and comment.resolved_at
    assert "Applied the suggestion on feature-colors as commit " + after[:12] in text_of(applied.content.decode())
    assert '"note ü" text DEFAULT' in definition(repo) and "'it''s'" in definition(repo)
    with engine(repo) as client:
        commit = client.log("feature-colors", 1)[0]
        assert commit["commit_id"] == after
        assert f"Apply suggestion by {reviewer.username} on !{mr.number}" in commit["message"]
        assert f"Suggested-by: {reviewer.username}" in commit["message"]
        assert commit["author"] == author.username
    assert definition(repo, ref="main") is None  # main untouched
    mr.refresh_from_db()
    assert mr.source_head == after  # the request saw its new head
    page = as_user(author).get(url("changes", mr)).content.decode()
    assert f"applied by {author.username} in" in text_of(page) and f'id="apply-suggestion-{comment.pk}"' not in page
    conversation = text_of(as_user(reviewer).get(url("detail", mr)).content.decode())
    assert f"{author.username} applied {reviewer.username} 's suggestion on {IDENTITY}, line 2 as commit {after[:12]}" \
        in conversation
    commits = text_of(as_user(reviewer).get(url("commits", mr)).content.decode())
    assert f"Apply suggestion by {reviewer.username}" in commits
    event = Event.objects.filter(kind=EventKind.MR_UPDATED, payload__reason="suggestion applied").get()
    assert event.payload["commit"] == after and event.payload["suggested_by"] == reviewer.username


def test_applying_twice_is_refused_and_makes_no_second_commit(repo, author, reviewer, as_user):
    mr = with_colors(repo, author)
    comment = suggest(reviewer, mr)
    actions.apply_suggestion(author, mr, comment.pk)
    head = head_of(repo)
    again = as_user(author).post(url("apply_suggestion", mr, comment_id=comment.pk), follow=True)
    assert "was applied already" in text_of(again.content.decode())
    assert head_of(repo) == head
    assert Event.objects.filter(payload__reason="suggestion applied").count() == 1


def test_failing_sql_shows_postgresql_s_error_and_changes_nothing(repo, author, reviewer, as_user):
    mr = with_colors(repo, author)
    halfway = ("ALTER TABLE public.colors ADD COLUMN shade text; "
               "ALTER TABLE public.colors ADD COLUMN nope no_such_type; -- ' \" ü")
    comment = suggest(reviewer, mr, halfway)
    before, text = head_of(repo), definition(repo)
    response = as_user(author).post(url("apply_suggestion", mr, comment_id=comment.pk), follow=True)
    shown = text_of(response.content.decode())
    assert "The suggestion was not applied" in shown and 'type "no_such_type" does not exist' in shown
    assert head_of(repo) == before and definition(repo) == text  # the first statement did not stay either
    comment.refresh_from_db()
    assert not comment.suggestion_applied and comment.resolved_at is None and comment.suggestion_commit == ""
    assert not Event.objects.filter(payload__reason="suggestion applied").exists()


def test_an_outdated_suggestion_cannot_be_applied(repo, author, reviewer, as_user):
    mr = with_colors(repo, author)
    comment = suggest(reviewer, mr)
    engine(repo).apply("feature-colors", "ALTER TABLE public.colors RENAME COLUMN name TO label")
    before = head_of(repo)
    page = as_user(author).get(url("changes", mr)).content.decode()
    assert "This suggestion is outdated" in page and f'id="apply-suggestion-{comment.pk}"' not in page
    response = as_user(author).post(url("apply_suggestion", mr, comment_id=comment.pk), follow=True)
    assert "the suggestion is outdated" in text_of(response.content.decode())
    assert head_of(repo) == before and not Comment.objects.get(pk=comment.pk).suggestion_applied


def test_who_may_apply_a_suggestion_viewer_403_outsider_404(repo, author, reviewer, viewer, outsider, as_user):
    mr = with_colors(repo, author)
    comment = suggest(reviewer, mr)
    plain = actions.add_comment(reviewer, mr, "no SQL here", IDENTITY, line=1)
    before = head_of(repo)
    target = url("apply_suggestion", mr, comment_id=comment.pk)
    assert as_user(outsider).post(target).status_code == 404
    assert as_user(viewer).post(target).status_code == 403
    assert as_user(author).post(url("apply_suggestion", mr, comment_id=999999)).status_code == 404
    refused = as_user(author).post(url("apply_suggestion", mr, comment_id=plain.pk), follow=True)
    assert "this comment suggests no change" in text_of(refused.content.decode())
    assert head_of(repo) == before and not Comment.objects.get(pk=comment.pk).suggestion_applied
    page = as_user(viewer).get(url("changes", mr)).content.decode()
    assert f'id="suggestion-{comment.pk}"' in page and f'id="apply-suggestion-{comment.pk}"' not in page
    # the reviewer may push to the unprotected source branch: allowed
    assert as_user(reviewer).post(target).status_code == 302
    assert Comment.objects.get(pk=comment.pk).suggestion_applied_by == reviewer


def test_a_suggestion_needs_a_line_of_a_new_thread(repo, author, reviewer):
    mr = with_colors(repo, author)
    from pggit_web.errors import ActionError

    with pytest.raises(ActionError, match="on one line"):
        actions.add_comment(reviewer, mr, "x", IDENTITY, suggestion="SELECT 1")
    root = actions.add_comment(reviewer, mr, "x", IDENTITY, line=1)
    with pytest.raises(ActionError, match="in a new thread"):
        actions.add_comment(reviewer, mr, "x", parent_id=root.pk, suggestion="SELECT 1")
    assert Comment.objects.filter(suggestion="").count() == 1 and Comment.objects.count() == 1


def test_a_closed_request_s_suggestion_is_not_applied(repo, author, reviewer):
    mr = with_colors(repo, author)
    comment = suggest(reviewer, mr)
    actions.close(author, mr)
    from pggit_web.errors import Conflict

    with pytest.raises(Conflict):
        actions.apply_suggestion(author, MergeRequest.objects.get(pk=mr.pk), comment.pk)
    assert not Comment.objects.get(pk=comment.pk).suggestion_applied


def test_api_suggests_and_applies_with_403_404_and_the_error_body(repo, author, reviewer, viewer, outsider):
    mr = with_colors(repo, author)
    api = APIClient()
    api.force_login(reviewer)
    made = api.post(api_url(mr, "comments/"), {"object_identity": IDENTITY, "line": 2, "suggestion": SUGGESTION},
                    format="json")
    assert made.status_code == 201, made.content
    data = made.json()
    assert data["suggestion"] == SUGGESTION and data["suggestion_applied_at"] is None and data["suggestion_commit"] == ""
    apply = api_url(mr, f"comments/{data['id']}/apply-suggestion/")
    stranger, looker, owner = APIClient(), APIClient(), APIClient()
    stranger.force_login(outsider)
    looker.force_login(viewer)
    owner.force_login(author)
    assert stranger.post(apply).status_code == 404
    assert looker.post(apply).status_code == 403
    assert owner.post(api_url(mr, "comments/999999/apply-suggestion/")).status_code == 404
    before = head_of(repo)
    done = owner.post(apply)
    assert done.status_code == 200, done.content
    after = head_of(repo)
    assert after != before and done.json()["suggestion_commit"] == after
    assert done.json()["suggestion_applied_by"] == author.username and done.json()["resolved_by"] == author.username
    again = owner.post(apply)
    assert again.status_code == 409 and again.json()["error"]["code"] == "suggestion_applied"
    bad = api.post(api_url(mr, "comments/"), {"object_identity": IDENTITY, "line": 1,
                                              "suggestion": "ALTER TABLE public.colors ADD COLUMN x nope_type"},
                   format="json").json()
    failed = owner.post(api_url(mr, f"comments/{bad['id']}/apply-suggestion/"))
    assert failed.status_code == 422 and 'type "nope_type" does not exist' in failed.json()["error"]["message"]
    assert head_of(repo) == after
    timeline = api.get(api_url(mr, "conversation/")).json()["timeline"]
    entry = next(e for e in timeline if e["kind"] == "suggestion_applied")
    assert entry["detail"]["commit"] == after and entry["detail"]["suggested_by"] == reviewer.username


def test_a_suggestion_fenced_in_the_comment_text_becomes_the_suggestion(repo, author, reviewer):
    mr = with_colors(repo, author)
    body = f"Maybe this:\n\n```suggestion\n{SUGGESTION}\n```\n\nThoughts?"
    made = actions.add_comment(reviewer, mr, body, IDENTITY, line=2)
    assert made.suggestion == SUGGESTION and made.body == "Maybe this:\n\nThoughts?"
    plain = actions.add_comment(reviewer, mr, "```sql\nSELECT 1\n```", IDENTITY, line=1)
    assert plain.suggestion == ""  # an ordinary code block stays text
    on_object = actions.add_comment(reviewer, mr, f"```suggestion\n{SUGGESTION}\n```", IDENTITY)
    assert on_object.suggestion == "" and "```suggestion" in on_object.body  # not on a line: text
    actions.apply_suggestion(author, mr, made.pk)
    assert '"note ü" text' in definition(repo)
