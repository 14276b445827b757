"""A merge request whose target branch was deleted (issue 14, second pass): its page says so, it
cannot be merged (a clear message), it can be closed, its target can be restored at the head the
engine recorded when the branch was deleted, or it can be pointed at another branch. Page and API,
with the 403 and 404 for each action."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from merges import actions
from merges.models import MergeRequest
from monitoring.models import Event
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)


def url(name, mr, **kwargs) -> str:
    return reverse(f"merges:{name}", kwargs={"slug": mr.repository.slug, "number": mr.number, **kwargs})


def api_url(mr, tail="") -> str:
    return f"/api/v1/repositories/{mr.repository.slug}/merge-requests/{mr.number}/{tail}"


def heads(repo) -> dict:
    with Client(repo.dsn) as client:
        return {b["name"]: b["head"] for b in client.branches()}


def text_of(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'").replace("&quot;", '"')


def fresh(mr) -> MergeRequest:
    return MergeRequest.objects.select_related("repository").get(pk=mr.pk)


@pytest.fixture
def gone(repo, author):
    """!1 from feature-colors (a new column) into branch release, then release deleted: (mr, the
    head release had)."""
    with Client(repo.dsn) as client:
        client.create_branch("release", "main")
        client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text", "Add a color")
    mr = actions.open_merge_request(author, repo, source="feature-colors", target="release", title="Colors")
    head = heads(repo)["release"]
    with Client(repo.dsn) as client:
        client.delete_branch("release")
    assert "release" not in heads(repo)
    return mr, head


def test_the_page_says_the_target_was_deleted_and_offers_restore_retarget_close(gone, author, maintainer, as_user):
    mr, _head = gone
    for user in (author, maintainer):
        response = as_user(user).get(url("detail", mr))
        page = response.content.decode()
        assert response.status_code == 200 and 'id="target-deleted"' in page
        assert "The target branch release was deleted." in text_of(response)
        assert 'id="restore-target"' in page and 'id="retarget-form"' in page and 'id="close-target-deleted"' in page
        assert 'data-badge="blocked"' in page and 'id="merge-button" disabled' in page
    for tab in ("commits", "changes"):
        response = as_user(author).get(url(tab, mr))
        assert response.status_code == 200 and 'id="target-deleted"' in response.content.decode(), tab
    assert "Add a color" in text_of(as_user(author).get(url("commits", mr)))


def test_merging_is_refused_with_a_clear_message_and_nothing_changes(gone, maintainer, as_user):
    mr, _head = gone
    before = heads(repo_of(mr))
    response = as_user(maintainer).post(url("merge", mr), follow=True)
    assert "The target branch release was deleted, so this request cannot be merged." in text_of(response)
    assert fresh(mr).state == "approved" and not fresh(mr).merge_commit  # (release needs no approval)
    assert heads(repo_of(mr)) == before and "release" not in before
    with pytest.raises(Exception, match="was deleted"):
        actions.merge(maintainer, fresh(mr))


def repo_of(mr):
    return fresh(mr).repository


def test_it_can_be_closed(gone, author, as_user):
    mr, _head = gone
    assert as_user(author).post(url("close", mr)).status_code == 302
    assert fresh(mr).state == "closed"
    assert as_user(author).get(url("detail", mr)).status_code == 200


def test_restoring_the_target_brings_it_back_at_the_head_it_had(gone, author, viewer, outsider, as_user):
    mr, head = gone
    assert as_user(outsider).post(url("restore_branch", mr), {"branch": "target"}).status_code == 404
    assert as_user(viewer).post(url("restore_branch", mr), {"branch": "target"}).status_code == 403
    assert "release" not in heads(mr.repository)
    response = as_user(author).post(url("restore_branch", mr), {"branch": "target"}, follow=True)
    assert f"Restored branch release at {head[:12]}" in text_of(response)
    assert heads(mr.repository)["release"] == head
    page = as_user(author).get(url("detail", mr))
    assert 'id="target-deleted"' not in page.content.decode()
    assert "restored the deleted target branch at" in text_of(page)
    again = as_user(author).post(url("restore_branch", mr), {"branch": "target"}, follow=True)
    assert "The branch release exists: there is nothing to restore." in text_of(again)


def test_retargeting_points_the_request_at_another_branch(gone, author, viewer, outsider, as_user):
    mr, _head = gone
    assert as_user(outsider).post(url("retarget", mr), {"target": "main"}).status_code == 404
    assert as_user(viewer).post(url("retarget", mr), {"target": "main"}).status_code == 403
    refused = as_user(author).post(url("retarget", mr), {"target": "no-such ' branch"}, follow=True)
    assert "target branch \"no-such ' branch\" does not exist" in text_of(refused)
    refused = as_user(author).post(url("retarget", mr), {"target": "feature-colors"}, follow=True)
    assert "source and target are the same branch" in text_of(refused)
    assert fresh(mr).target == "release"
    done = as_user(author).post(url("retarget", mr), {"target": "main"}, follow=True)
    assert "The request now targets main." in text_of(done)
    assert fresh(mr).target == "main" and 'id="target-deleted"' not in done.content.decode()
    assert "changed the target branch from release to main" in text_of(done)
    assert Event.objects.filter(payload__reason="retargeted", payload__new_target="main").count() == 1
    # the edit form does the same
    assert as_user(author).post(url("edit", mr), {"title": "Colors", "strategy": "auto",
                                                  "target": "release"}).status_code == 302
    assert fresh(mr).target == "main"  # release is gone: refused, nothing changed


def test_api_target_deleted_badge_merge_restore_and_retarget(gone, author, viewer, outsider, maintainer):
    mr, head = gone
    clients = {}
    for user in (author, viewer, outsider, maintainer):
        clients[user.username] = APIClient()
        clients[user.username].force_login(user)
    ada, vic, otto, mia = (clients[u.username] for u in (author, viewer, outsider, maintainer))
    detail = ada.get(api_url(mr)).json()
    assert detail["badge"] == {"kind": "blocked", "label": "blocked", "mergeable": False}
    assert detail["compare_error"] is None and detail["merge_box"]["can_merge"] is False
    assert "release was deleted" in detail["merge_box"]["merge_blocked"]
    listed = ada.get(f"/api/v1/repositories/{mr.repository.slug}/merge-requests/").json()["results"][0]
    assert listed["badge"]["kind"] == "blocked"
    merged = mia.post(api_url(mr, "merge/"), {}, format="json")
    assert merged.status_code == 409 and merged.json()["error"]["code"] == "target_deleted"
    assert otto.post(api_url(mr, "restore-branch/"), {"branch": "target"}, format="json").status_code == 404
    assert vic.post(api_url(mr, "restore-branch/"), {"branch": "target"}, format="json").status_code == 403
    restored = ada.post(api_url(mr, "restore-branch/"), {"branch": "target"}, format="json")
    assert restored.status_code == 200 and restored.json()["badge"]["kind"] == "open"
    assert heads(mr.repository)["release"] == head
    assert otto.patch(api_url(mr), {"target": "main"}, format="json").status_code == 404
    assert vic.patch(api_url(mr), {"target": "main"}, format="json").status_code == 403
    retargeted = ada.patch(api_url(mr), {"target": "main"}, format="json")
    assert retargeted.status_code == 200 and retargeted.json()["target"] == "main"
    assert retargeted.json()["badge"] == {"kind": "open", "label": "open · approvals 0/1", "mergeable": False}
    assert fresh(mr).target == "main"
