"""Comments on a line of a definition in the Changes tab (issue 14, gaps): threaded, resolved and
opened again, outdated once the source's line changes; the same through the REST API."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from merges import actions
from merges.models import Comment, MergeRequest
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)

IDENTITY = "table public.colors"
HOSTILE = "Why `text`? '); DROP TABLE x; -- \"ü\" <script>alert(1)</script>"


def url(name, mr, **kwargs) -> str:
    return reverse(f"merges:{name}", kwargs={"slug": mr.repository.slug, "number": mr.number, **kwargs})


def with_colors(repo, author) -> MergeRequest:
    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (name text, hex text)")
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors")


def source_lines(repo) -> list[str]:
    with Client(repo.dsn) as client:
        definition = next(o["definition"] for o in client.tree("feature-colors") if o["identity"] == IDENTITY)
    return definition.split("\n")


def line_rows(page: str) -> dict[int, str]:
    """Each thread row of the Changes page by the source line number of the row before it."""
    out = {}
    for match in re.finditer(r'<td class="ln">(\d*)</td>\s*<td class="code right[^"]*">(?:(?!</tr>).)*</tr>'
                             r'(<tr class="line-threads">.*?</td></tr>)', page, re.S):
        out[int(match.group(1))] = match.group(2)
    return out


def test_comment_on_a_line_is_shown_under_that_line_with_replies(repo, author, reviewer, as_user):
    mr = with_colors(repo, author)
    web = as_user(reviewer)
    response = web.post(url("comment", mr), {"body": HOSTILE, "object_identity": IDENTITY, "line": "2"})
    root = Comment.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"#thread-{root.pk}")
    assert (root.object_identity, root.line, root.line_text) == (IDENTITY, 2, source_lines(repo)[1])
    assert "name text" in root.line_text
    reply = as_user(author).post(url("comment", mr), {"body": "Because **names** vary", "parent": str(root.pk)})
    assert reply.status_code == 302
    answer = Comment.objects.exclude(pk=root.pk).get()
    assert (answer.parent_id, answer.object_identity, answer.line) == (root.pk, IDENTITY, 2)
    page = web.get(url("changes", mr)).content.decode()
    rows = line_rows(page)
    assert list(rows) == [2]
    assert f'id="thread-{root.pk}"' in rows[2] and 'class="object-comment reply"' in rows[2]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows[2] and "<strong>names</strong>" in rows[2]
    assert "<script>alert(1)</script>" not in page
    conversation = web.get(url("detail", mr)).content.decode()
    assert f"{IDENTITY}, line 2</a>" in conversation


def test_a_line_that_does_not_exist_is_refused_and_nothing_is_stored(repo, author, reviewer, as_user):
    mr = with_colors(repo, author)
    response = as_user(reviewer).post(url("comment", mr), {"body": "x", "object_identity": IDENTITY, "line": "99"},
                                      follow=True)
    assert "there is no line 99" in response.content.decode()
    assert as_user(reviewer).post(url("comment", mr), {"body": "x", "object_identity": "table public.nope",
                                                       "line": "1"}).status_code == 302
    assert not Comment.objects.exists()


def test_thread_is_outdated_once_its_line_changes_and_stays_when_other_lines_do(repo, author, reviewer, as_user):
    mr = with_colors(repo, author)
    web = as_user(reviewer)
    web.post(url("comment", mr), {"body": "on name", "object_identity": IDENTITY, "line": "2"})
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.colors ADD COLUMN shade text")
    page = web.get(url("changes", mr)).content.decode()
    assert "on name" in line_rows(page).get(2, "") and 'class="outdated-threads"' not in page
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.colors RENAME COLUMN name TO label")
    page = web.get(url("changes", mr)).content.decode()
    assert line_rows(page) == {}
    outdated = page[page.index('class="outdated-threads"'):]
    assert "on name" in outdated and "outdated</span>" in outdated and "name text," in outdated


def test_resolve_and_unresolve_a_thread_with_roles(repo, author, reviewer, viewer, outsider, as_user):
    mr = with_colors(repo, author)
    root = actions.add_comment(viewer, mr, "first", IDENTITY, line=1)
    other = actions.add_comment(viewer, mr, "not a thread of mine")
    reply = actions.add_comment(reviewer, mr, "a reply", parent_id=root.pk)
    resolve = url("resolve_thread", mr, comment_id=root.pk)
    assert as_user(outsider).post(resolve).status_code == 404
    assert as_user(author).post(url("resolve_thread", mr, comment_id=999999)).status_code == 404
    other_viewer_thread = actions.add_comment(reviewer, mr, "reviewer's", IDENTITY, line=2)
    assert as_user(viewer).post(url("resolve_thread", mr, comment_id=other_viewer_thread.pk)).status_code == 403
    assert Comment.objects.get(pk=other_viewer_thread.pk).resolved_at is None
    response = as_user(author).post(url("resolve_thread", mr, comment_id=reply.pk))  # a reply resolves its thread
    assert response.status_code == 302 and response["Location"].endswith(f"#thread-{root.pk}")
    root.refresh_from_db()
    assert root.resolved_at is not None and root.resolved_by == author
    page = as_user(viewer).get(url("changes", mr)).content.decode()
    assert f"resolved by {author.username}" in page and "Unresolve" in page
    assert as_user(viewer).post(resolve, {"resolved": "0"}).status_code == 302  # the thread's own author
    root.refresh_from_db()
    assert root.resolved_at is None and root.resolved_by is None
    assert other.line is None


def test_api_comments_on_a_line_and_resolves_the_thread(repo, author, reviewer, outsider):
    mr = with_colors(repo, author)
    api = APIClient()
    api.force_login(reviewer)
    base = f"/api/v1/repositories/{repo.slug}/merge-requests/{mr.number}/comments/"
    made = api.post(base, {"body": "line two", "object_identity": IDENTITY, "line": 2}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["line"] == 2 and "name text" in made.json()["line_text"]
    root = made.json()["id"]
    reply = api.post(base, {"body": "reply", "parent": root}, format="json").json()
    assert (reply["parent"], reply["line"]) == (root, 2)
    assert api.post(base, {"body": "x", "object_identity": IDENTITY, "line": 50}, format="json").status_code == 400
    resolved = api.post(f"{base}{root}/resolve/", {"resolved": True}, format="json")
    assert resolved.status_code == 200 and resolved.json()["resolved_by"] == reviewer.username
    assert Comment.objects.get(pk=root).resolved_at is not None
    stranger = APIClient()
    stranger.force_login(outsider)
    assert stranger.post(f"{base}{root}/resolve/", {"resolved": False}, format="json").status_code == 404
