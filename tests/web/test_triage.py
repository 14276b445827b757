"""Labels and assignees on merge requests, and the list's filters (issue 14, second pass): a
maintainer manages a repository's labels on its settings page, developers put them (and
assignees) on a request, the changes are in the timeline, and the list filters by state, label,
assignee, author and requested reviewer with links that keep the other filters."""

from __future__ import annotations

import html as h
import re

import pytest
from django.urls import reverse

from merges import actions
from merges.models import Label, MergeRequest
from monitoring.models import Event, EventKind
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)


def mr_url(name, mr) -> str:
    return reverse(f"merges:{name}", kwargs={"slug": mr.repository.slug, "number": mr.number})


def text_of(page: str, start: str = 'id="timeline"', end: str = 'id="timeline-end"') -> str:
    part = page[page.index(start):page.index(end)]
    return re.sub(r"\s+", " ", h.unescape(re.sub(r"<[^>]+>", "", part)))


def fresh(mr) -> MergeRequest:
    return MergeRequest.objects.get(pk=mr.pk)


def open_request(repo, author, source="feature-colors", title="Colors") -> MergeRequest:
    return actions.open_merge_request(author, repo, source=source, target="main", title=title)


def listed(page: str) -> list[int]:
    """The numbers of the requests a list page shows, in order."""
    return [int(n) for n in re.findall(r'<li class="mr-row" id="mr-(\d+)"', page)]


# labels on the settings page ------------------------------------------------------------------

def test_maintainer_adds_changes_and_deletes_a_label_on_the_settings_page(repo, maintainer, as_user):
    web = as_user(maintainer)
    new = reverse("merges:label_create", kwargs={"slug": repo.slug})
    edit = reverse("merges:label_edit", kwargs={"slug": repo.slug})
    response = web.post(new, {"name": " needs DBA ", "color": "#D73A4A", "description": "a DBA looks first"})
    assert response.status_code == 302
    label = Label.objects.get(repository=repo)
    assert (label.name, label.color, label.description) == ("needs DBA", "#d73a4a", "a DBA looks first")
    settings = web.get(reverse("branches:settings", kwargs={"slug": repo.slug})).content.decode()
    assert 'data-label="needs DBA"' in settings and 'data-color="#d73a4a"' in settings
    assert 'style="' not in settings[settings.index('id="labels"'):settings.index('id="protection"')]  # (the CSP)
    # the same name in another case is refused, nothing is added
    web.post(new, {"name": "NEEDS dba", "color": "#000000"}, follow=True)
    assert Label.objects.filter(repository=repo).count() == 1
    # a colour that is not #rrggbb is refused
    page = web.post(new, {"name": "x", "color": "red; background: url(x)"}, follow=True).content.decode()
    assert "#rrggbb" in h.unescape(page) and not Label.objects.filter(name="x").exists()
    web.post(edit, {"name": "needs dba", "new_name": "DBA review", "color": "#0e8a16", "description": ""})
    label.refresh_from_db()
    assert (label.name, label.color, label.description) == ("DBA review", "#0e8a16", "")
    web.post(edit, {"name": "DBA review", "delete": "1"})
    assert not Label.objects.filter(repository=repo).exists()


def test_labels_on_the_settings_page_need_a_maintainer(repo, author, outsider, as_user):
    new = reverse("merges:label_create", kwargs={"slug": repo.slug})
    edit = reverse("merges:label_edit", kwargs={"slug": repo.slug})
    Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    assert as_user(author).post(new, {"name": "mine"}).status_code == 403
    assert as_user(author).post(edit, {"name": "bug", "delete": "1"}).status_code == 403
    assert as_user(outsider).post(new, {"name": "mine"}).status_code == 404
    assert as_user(outsider).post(edit, {"name": "bug", "delete": "1"}).status_code == 404
    assert list(Label.objects.filter(repository=repo).values_list("name", flat=True)) == ["bug"]


# labels and assignees on a request -----------------------------------------------------------

def test_developer_sets_labels_and_assignees_and_the_timeline_says_so(repo, author, reviewer, maintainer, viewer,
                                                                      as_user):
    bug = Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    Label.objects.create(repository=repo, name="schema <b>", color="#ffffff")
    mr = open_request(repo, author)
    web = as_user(author)
    response = web.post(mr_url("set_labels", mr), {"label": ["bug", "SCHEMA <b>"]})
    assert response.status_code == 302
    assert sorted(fresh(mr).labels.values_list("name", flat=True)) == ["bug", "schema <b>"]
    web.post(mr_url("set_assignees", mr), {"assignee": [reviewer.username, maintainer.username]})
    assert sorted(fresh(mr).assignees.values_list("username", flat=True)) == [maintainer.username, reviewer.username]
    web.post(mr_url("set_labels", mr), {"label": ["schema <b>"]})
    web.post(mr_url("set_assignees", mr), {"assignee": [reviewer.username]})
    assert list(fresh(mr).labels.all()) == [Label.objects.get(name="schema <b>")]
    assert list(fresh(mr).assignees.values_list("username", flat=True)) == [reviewer.username]
    # saving the same set again records nothing
    web.post(mr_url("set_labels", mr), {"label": ["schema <b>"]})
    events = Event.objects.filter(merge_request=mr, kind=EventKind.MR_UPDATED).order_by("id")
    assert [sorted(k for k in ("labels", "assignees") if k in e.payload) for e in events] == \
        [["labels"], ["assignees"], ["labels"], ["assignees"]]
    assert events[0].payload["merge_request"]["labels"][0]["name"] == "bug"  # the API's shape
    page = as_user(viewer).get(mr_url("detail", mr)).content.decode()
    text = text_of(page)
    expected = [f"{author.username} added bug schema <b> labels",
                f"{author.username} assigned {maintainer.username}, {reviewer.username}",
                f"{author.username} removed bug label",
                f"{author.username} unassigned {maintainer.username}"]
    positions = [text.index(sentence) for sentence in expected]
    assert positions == sorted(positions), text
    assert "schema <b>" not in page and "schema &lt;b&gt;" in page  # escaped
    side = text_of(page, 'id="side-labels"', 'id="side-assignees"')
    assert "schema <b>" in side and "bug" not in side
    assert bug.merge_requests.count() == 0
    # the viewer sees the labels but no form to change them
    assert 'id="labels-form"' not in page and 'id="assignees-form"' not in page
    assert 'id="labels-form"' in as_user(author).get(mr_url("detail", mr)).content.decode()


def test_unknown_label_and_non_member_assignee_are_refused_and_nothing_changes(repo, author, outsider, as_user):
    Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    mr = open_request(repo, author)
    web = as_user(author)
    page = web.post(mr_url("set_labels", mr), {"label": ["bug", "nope"]}, follow=True).content.decode()
    assert "has no label" in h.unescape(page)
    assert not fresh(mr).labels.exists()
    page = web.post(mr_url("set_assignees", mr), {"assignee": [outsider.username]}, follow=True).content.decode()
    assert f"has no member '{outsider.username}'" in h.unescape(page)
    assert not fresh(mr).assignees.exists()
    assert not Event.objects.filter(merge_request=mr, kind=EventKind.MR_UPDATED).exists()


def test_labels_and_assignees_need_a_developer_and_a_member(repo, author, viewer, outsider, as_user):
    Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    mr = open_request(repo, author)
    assert as_user(viewer).post(mr_url("set_labels", mr), {"label": ["bug"]}).status_code == 403
    assert as_user(viewer).post(mr_url("set_assignees", mr), {"assignee": [viewer.username]}).status_code == 403
    assert as_user(outsider).post(mr_url("set_labels", mr), {"label": ["bug"]}).status_code == 404
    assert as_user(outsider).post(mr_url("set_assignees", mr), {"assignee": [author.username]}).status_code == 404
    assert not fresh(mr).labels.exists() and not fresh(mr).assignees.exists()


# the list's filters ------------------------------------------------------------------------------

@pytest.fixture
def three_requests(repo, author, reviewer, maintainer):
    """!1 (author, label bug, assigned to reviewer), !2 (maintainer, review asked of reviewer),
    !3 (author, closed, label bug)."""
    engine = Client(repo.dsn)
    engine.create_branch("feature-two", "main")
    engine.create_branch("feature-three", "main")
    bug = Label.objects.create(repository=repo, name="bug", color="#d73a4a")
    one = open_request(repo, author, title="One")
    two = open_request(repo, maintainer, source="feature-two", title="Two")
    three = open_request(repo, author, source="feature-three", title="Three")
    actions.set_labels(author, one, ["bug"])
    actions.set_assignees(author, one, [reviewer.username])
    actions.request_review(maintainer, two, reviewer.username)
    actions.set_labels(author, three, ["Bug"])
    actions.close(author, three)
    return one, two, three, bug


def test_list_filters_by_label_assignee_author_and_reviewer(repo, author, reviewer, maintainer, viewer, as_user,
                                                            three_requests):
    one, two, three, _bug = three_requests
    web = as_user(viewer)
    base = reverse("merges:list", kwargs={"slug": repo.slug})
    assert listed(web.get(base).content.decode()) == [2, 1]
    assert listed(web.get(base, {"label": "BUG"}).content.decode()) == [1]
    assert listed(web.get(base, {"label": "bug", "state": "all"}).content.decode()) == [3, 1]
    assert listed(web.get(base, {"assignee": reviewer.username}).content.decode()) == [1]
    assert listed(web.get(base, {"author": maintainer.username}).content.decode()) == [2]
    assert listed(web.get(base, {"reviewer": reviewer.username}).content.decode()) == [2]
    assert listed(web.get(base, {"reviewer": author.username}).content.decode()) == []
    page = web.get(base, {"label": "bug", "author": author.username}).content.decode()
    assert listed(page) == [1]
    # the state links keep the other filters, and the counts follow them
    links = {name: h.unescape(href)
             for href, name in re.findall(r'<a href="(\?[^"]*)"[^>]*>(Open|Merged|Closed|All) ', page)}
    assert links == {
        "Open": f"?state=open&label=bug&author={author.username}",
        "Merged": f"?state=merged&label=bug&author={author.username}",
        "Closed": f"?state=closed&label=bug&author={author.username}",
        "All": f"?state=all&label=bug&author={author.username}"}
    counts = re.findall(r'(Open|Closed|All) <span class="counter">(\d+)</span>', page)
    assert counts == [("Open", "1"), ("Closed", "1"), ("All", "2")]
    closed = web.get(base + links["Closed"]).content.decode()
    assert listed(closed) == [3]
    assert "Clear filters" in page and 'data-label="bug"' in page


@pytest.mark.parametrize("hostile", ["%", "_", "' OR 1=1 --", "b\x00ug", "ü" * 300, "bug%"])
def test_hostile_filter_values_match_nothing_and_never_fail(repo, viewer, as_user, three_requests, hostile):
    base = reverse("merges:list", kwargs={"slug": repo.slug})
    for name in ("label", "author", "assignee", "reviewer"):
        response = as_user(viewer).get(base, {name: hostile, "state": "all"})
        assert response.status_code == 200
        assert listed(response.content.decode()) == []


def test_list_is_404_for_an_outsider(repo, outsider, as_user, three_requests):
    base = reverse("merges:list", kwargs={"slug": repo.slug})
    assert as_user(outsider).get(base, {"label": "bug"}).status_code == 404
