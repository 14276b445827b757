"""The conversation's timeline shows every recorded event (issue 14, gaps): commits pushed with the
new commits, draft/ready, close/reopen, auto-merge, review requests, approvals dismissed, conflicts
found and resolved (by whom, with the side or the text)."""

from __future__ import annotations

import html as h
import re

import psycopg
import pytest
from django.urls import reverse

from merges import actions
from merges.models import MergeRequest
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)


def url(name, mr) -> str:
    return reverse(f"merges:{name}", kwargs={"slug": mr.repository.slug, "number": mr.number})


def text_of(page: str) -> str:
    main = page[page.index('id="timeline"'):page.index('id="timeline-end"')]
    return re.sub(r"\s+", " ", h.unescape(re.sub(r"<[^>]+>", "", main)))


def fresh(mr) -> MergeRequest:
    return MergeRequest.objects.get(pk=mr.pk)


def open_request(repo, author, **kw) -> MergeRequest:
    return actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Colors", **kw)


def conflicting_request(repo, author, *, extra_live: str = "") -> MergeRequest:
    """A request whose source and the live main both add column ``shade``, of other types."""
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN shade text")
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.widgets ADD COLUMN shade integer")
        if extra_live:
            conn.execute(extra_live)
    return open_request(repo, author)


def written_resolution(mr) -> str:
    """The source's definition of public.widgets with ``shade`` as varchar(40): a custom resolution."""
    item = next(i for i in Client(mr.repository.dsn).merge_items(fresh(mr).engine_merge_id)
                if i["identity"] == "table public.widgets")
    return item["source_definition"].replace("shade text", "shade varchar(40)")


def test_pushed_commits_and_dismissed_approvals_are_listed(repo, author, reviewer, viewer, as_user):
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    client = Client(repo.dsn)
    first = client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text", "Add a <b>color</b>")
    second = client.apply("feature-colors", "CREATE TABLE public.palette (id int)", "Palette 'ü'")
    page = as_user(viewer).get(url("detail", mr)).content.decode()  # the page notices the push
    text = text_of(page)
    assert "2 new commits on feature-colors" in text
    assert f"{first[:12]} Add a <b>color</b>" in text and f"{second[:12]} Palette 'ü'" in text
    assert "Add a &lt;b&gt;color&lt;/b&gt;" in page  # escaped
    assert "1 review dismissed: new commits on the source" in text
    assert text.index("approved these changes") < text.index("2 new commits") < text.index("1 review dismissed")
    third = client.apply("feature-colors", "CREATE TABLE public.tints (id int)", "Tints")
    text = text_of(as_user(viewer).get(url("detail", mr)).content.decode())
    assert "1 new commit on feature-colors" in text and f"{third[:12]} Tints" in text
    assert text.count(f"{first[:12]} Add a") == 1  # the second push lists only its own commit


def test_draft_ready_close_reopen_retitle_auto_merge_and_review_request(repo, author, reviewer, maintainer, viewer,
                                                                       as_user):
    mr = open_request(repo, author)
    actions.edit(author, mr, draft=True)
    actions.edit(author, fresh(mr), draft=False, title='Colours "and" <i>tints</i>')
    actions.request_review(author, fresh(mr), reviewer.username)
    actions.set_auto_merge(maintainer, fresh(mr), True)
    actions.close(author, fresh(mr))
    actions.reopen(maintainer, fresh(mr))
    page = as_user(viewer).get(url("detail", mr)).content.decode()
    text = text_of(page)
    expected = [f"{author.username} marked this as a draft", f"{author.username} marked this ready for review",
                f'{author.username} changed the title from Colors to Colours "and" <i>tints</i>',
                f"{author.username} asked {reviewer.username} for a review",
                f"{maintainer.username} set this to merge automatically when approved",
                f"{author.username} closed this", f"{maintainer.username} reopened this"]
    positions = [text.index(sentence) for sentence in expected]
    assert positions == sorted(positions), text
    assert "<i>tints</i>" not in page  # escaped


def test_conflicts_found_and_resolved_show_who_and_how(repo, author, reviewer, maintainer, viewer, as_user):
    mr = conflicting_request(repo, author, extra_live="CREATE TABLE public.other (id int)")
    actions.approve(reviewer, mr)
    outcome = actions.merge(maintainer, fresh(mr))
    assert outcome.status == "conflicts"
    actions.resolve(author, fresh(mr), "table public.widgets", written_resolution(mr))
    text = text_of(as_user(viewer).get(url("detail", mr)).content.decode())
    assert f"{maintainer.username} tried to merge: 1 object changed on both sides needs a resolution" in text
    assert f"{author.username} resolved the conflict on table public.widgets with their own definition" in text
    assert "shade character varying(40)" in text or "shade varchar(40)" in text


def test_taking_a_side_names_the_side(repo, author, viewer, as_user):
    mr = conflicting_request(repo, author)
    actions.open_conflicts(author, mr)
    actions.resolve(author, fresh(mr), "table public.widgets", None, choice="target")
    text = text_of(as_user(viewer).get(url("detail", mr)).content.decode())
    assert f"{author.username} resolved the conflict on table public.widgets taking main's version" in text


def test_api_conversation_lists_the_same_events(repo, author, maintainer, viewer):
    from rest_framework.test import APIClient

    mr = open_request(repo, author)
    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.palette (id int)", "Palette")
    actions.sync(fresh(mr))
    actions.close(author, fresh(mr))
    api = APIClient()
    api.force_login(viewer)
    response = api.get(f"/api/v1/repositories/{repo.slug}/merge-requests/{mr.number}/conversation/")
    assert response.status_code == 200, response.content
    timeline = response.json()["timeline"]
    assert [e["kind"] for e in timeline] == ["opened", "pushed", "closed"]
    assert [c["message"] for c in timeline[1]["commits"]] == ["Palette"]
    assert timeline[2]["user"] == author.username


# custom resolutions in the Changes tab ---------------------------------------------------------

def test_custom_resolution_is_a_change_of_its_own_on_the_changes_tab(repo, author, viewer, as_user):
    from rest_framework.test import APIClient

    mr = conflicting_request(repo, author)
    actions.open_conflicts(author, mr)
    changes = as_user(viewer).get(url("changes", mr)).content.decode()
    assert 'class="filebox resolution-change"' not in changes  # nothing written yet
    actions.resolve(author, fresh(mr), "table public.widgets", written_resolution(mr))
    changes = as_user(viewer).get(url("changes", mr)).content.decode()
    section = changes[changes.index('class="filebox resolution-change"'):]
    section = section[:section.index("</section>")]
    assert "table public.widgets" in section and f"written by {author.username}" in section
    assert "varchar(40)" in h.unescape(re.sub(r"<[^>]+>", "", section)) or \
        "character varying(40)" in h.unescape(re.sub(r"<[^>]+>", "", section))
    assert "shade text" in h.unescape(re.sub(r"<[^>]+>", "", section))  # the source's version beside it
    api = APIClient()
    api.force_login(viewer)
    data = api.get(f"/api/v1/repositories/{repo.slug}/merge-requests/{mr.number}/changes/").json()
    assert [(r["identity"], r["resolved_by"]) for r in data["resolutions"]] == [("table public.widgets", author.username)]
    # taking a side afterwards replaces the written definition: no longer a change of its own
    actions.resolve(author, fresh(mr), "table public.widgets", None, choice="source")
    changes = as_user(viewer).get(url("changes", mr)).content.decode()
    assert 'class="filebox resolution-change"' not in changes
