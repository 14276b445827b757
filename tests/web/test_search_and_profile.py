"""A repository's search (merge requests, commits, objects; hostile text searched literally) and
the signed-in user's page (/me/: their requests, reviews asked of them, their activity, never a
repository they are not a member of)."""

from __future__ import annotations

import html as h
import re

import psycopg
import pytest
from django.urls import reverse

from branches.access import grant
from branches.models import Repository, Role
from merges import actions
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)


def search_url(repo) -> str:
    return reverse("merges:search", kwargs={"slug": repo.slug})


def section(page: str, name: str) -> str:
    start = page.index(f'id="search-{name}"')
    return page[start:page.index("</section>", start)]


def results(page: str, name: str) -> list[str]:
    part = section(page, name)
    return [re.sub(r"\s+", " ", h.unescape(re.sub(r"<[^>]+>", "", li))).strip()
            for li in re.findall(r"<li[^>]*>(.*?)</li>", part, re.S)]


@pytest.fixture
def searchable(repo, author):
    """A request with a title full of LIKE wildcards and quotes, a commit on HEAD by a message
    of that kind, and a table whose name holds an underscore."""
    with psycopg.connect(repo.dsn) as conn:  # one transaction: one commit with that message
        conn.execute("SELECT pggit.begin_commit(%s)", ["Orders get 100% of the 'note' column"])
        conn.execute("CREATE TABLE public.order_notes (id int)")
    mr = actions.open_merge_request(author, repo, source="feature-colors", target="main",
                                    title="Colours: 50% off_by_one 'quoted' ü", description="Touches widgets_colour")
    return mr


def test_search_finds_requests_commits_and_objects_with_links(repo, viewer, as_user, searchable):
    page = as_user(viewer).get(search_url(repo), {"q": "WIDGETS"}).content.decode()
    assert any("table public.widgets" == r for r in results(page, "objects"))
    assert f'href="/repos/{repo.slug}/objects/?identity=table+public.widgets"' in page
    assert results(page, "merge-requests")[0].startswith(f"!{searchable.number} Colours")  # the description
    page = as_user(viewer).get(search_url(repo), {"q": "100%"}).content.decode()
    commits = results(page, "commits")
    assert len(commits) == 1 and "Orders get 100% of the 'note' column" in commits[0]
    commit_id = Client(repo.dsn).search_commits("100%")[0]["commit_id"]
    assert f'href="/repos/{repo.slug}/commits/{commit_id}/"' in page
    assert results(page, "merge-requests") == [] and results(page, "objects") == []
    page = as_user(viewer).get(search_url(repo), {"q": f"!{searchable.number}"}).content.decode()
    assert len(results(page, "merge-requests")) == 1


def literally(repo, text: str) -> tuple[int, int]:
    """How many commits of HEAD's history and objects of its tree hold ``text`` (any case), read
    in Python: what a literal search must find (a LIKE with wildcards would find more)."""
    engine = Client(repo.dsn)
    t = text.lower()
    commits = [c for c in engine.log(None, 100_000) if t in c["message"].lower() or t in c["author"].lower()]
    objects = [o for o in engine.tree(None) if t in o["identity"].lower()]
    return min(len(commits), 50), min(len(objects), 50)


@pytest.mark.parametrize("text, requests", [
    ("%", 1), ("_", 1), ("'quoted'", 1), ("' OR 1=1 --", 0), ("\\", 0), ("ü", 1), ("b\x00ug", 0),
    ("%%%" * 100, 0), ("); DROP TABLE public.widgets; --", 0), ("<script>", 0),
])
def test_hostile_text_is_searched_literally_and_never_fails(repo, viewer, as_user, searchable, text, requests):
    response = as_user(viewer).get(search_url(repo), {"q": text})
    assert response.status_code == 200
    page = response.content.decode()
    commits, objects = literally(repo, text[:200]) if "\x00" not in text else (0, 0)
    assert (len(results(page, "merge-requests")), len(results(page, "commits")), len(results(page, "objects"))) \
        == (requests, commits, objects), text
    total = len(Client(repo.dsn).log(None, 1000))
    if text == "%":
        assert commits == 1 < total  # the commit that says 100%, not every commit
    if text == "_":
        assert 1 <= objects < len(Client(repo.dsn).tree(None))  # public.order_notes, not every object
    with psycopg.connect(repo.dsn) as conn:  # nothing ran
        assert conn.execute("SELECT to_regclass('public.widgets')::text").fetchone()[0] == "widgets"


def test_search_box_is_in_the_repository_header_and_keeps_the_query(repo, viewer, as_user):
    page = as_user(viewer).get(reverse("branches:dashboard", kwargs={"slug": repo.slug})).content.decode()
    assert f'action="{search_url(repo)}"' in page and 'data-shortcut="search"' in page
    page = as_user(viewer).get(search_url(repo), {"q": 'a "b" <c>'}).content.decode()
    assert 'value="a &quot;b&quot; &lt;c&gt;"' in page


def test_search_is_404_for_an_outsider(repo, outsider, as_user):
    assert as_user(outsider).get(search_url(repo), {"q": "widgets"}).status_code == 404


# /me/ ------------------------------------------------------------------------------------------

@pytest.fixture
def other_repo(engine_db, outsider, reviewer):
    """A second repository on the same engine database where only the outsider is a member (and
    the reviewer was, then lost the role)."""
    repository = Repository.objects.create(name="secret", dsn=engine_db)
    grant(repository, outsider, Role.DEVELOPER)
    grant(repository, reviewer, Role.REVIEWER)
    return repository


def test_profile_lists_my_requests_reviews_asked_and_activity_never_another_repository(
        repo, other_repo, author, reviewer, outsider, as_user):
    mine = actions.open_merge_request(author, repo, source="feature-colors", target="main", title="Mine")
    actions.request_review(author, mine, reviewer.username)
    actions.set_assignees(author, mine, [reviewer.username])
    actions.add_comment(reviewer, mine, "Looks fine")
    actions.approve(reviewer, mine, "Ship it")
    hidden = actions.open_merge_request(outsider, other_repo, source="feature-colors", target="main",
                                        title="Hidden plans")
    actions.request_review(outsider, hidden, reviewer.username)
    actions.add_comment(reviewer, hidden, "Secret remark")
    other_repo.role_groups.get(role=Role.REVIEWER).group.user_set.remove(reviewer)  # no longer a member there

    page = as_user(reviewer).get(reverse("merges:profile")).content.decode()
    text = re.sub(r"\s+", " ", h.unescape(re.sub(r"<[^>]+>", " ", page)))
    requested = page[page.index('id="profile-review-requested"'):page.index('id="profile-authored"')]
    assert f'data-mr="{repo.slug}!{mine.number}"' in requested
    assigned = page[page.index('id="profile-assigned"'):page.index('id="profile-activity"')]
    assert f'data-mr="{repo.slug}!{mine.number}"' in assigned
    activity = page[page.index('id="profile-activity"'):]
    assert activity.count('data-activity="review"') == 1 and activity.count('data-activity="comment"') == 1
    assert "Ship it" in text and "Looks fine" in text
    assert "Hidden plans" not in text and "Secret remark" not in text and "secret" not in text.lower().replace(
        "secret remark", "")

    page = as_user(author).get(reverse("merges:profile")).content.decode()
    authored = page[page.index('id="profile-authored"'):page.index('id="profile-assigned"')]
    assert f'data-mr="{repo.slug}!{mine.number}"' in authored
    assert 'data-activity=' not in page  # the author neither reviewed nor commented
    # the header links to it
    assert f'id="signed-in-as" data-shortcut="profile" href="{reverse("merges:profile")}"' in page


def test_profile_needs_sign_in(client):
    response = client.get(reverse("merges:profile"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
