"""Issue 14, second review pass: the defects found by walking the review flow as a new user,
each pinned by a test that failed before its fix (deleted source branches, the badge, the merge
box after conflicts, resolution errors, page words, the dashboard's checkout, object history
pages, layout bits)."""

import re
from pathlib import Path

import psycopg
import pytest
from django.urls import reverse

from branches.models import BranchProtection
from merges import actions, reads
from merges.models import MergeRequest
from pggit.client import Client

from .test_merge_pages import fresh, make_conflict, open_request, text_of, url

pytestmark = pytest.mark.django_db(transaction=True)

ENGINE_WORDS = ("force =>", "HINT:", "unknown ref", "BOTH_MODIFIED", "SOURCE_MODIFIED", "TARGET_MODIFIED",
                "DELETED_SOURCE", "DELETED_TARGET", "BOTH_ADDED", "NO_CONFLICT")


def page(response) -> str:
    return response.content.decode()


def shown(response) -> str:
    """What a person reads on the page (tags and attributes removed)."""
    return text_of(page(response))


def assert_no_engine_words(response):
    text = shown(response)
    assert not [w for w in ENGINE_WORDS if w in text], [w for w in ENGINE_WORDS if w in text]


def branch_heads(repo) -> dict:
    with Client(repo.dsn) as engine:
        return {b["name"]: b["head"] for b in engine.branches()}


def repo_url(name, repo, **query):
    out = reverse(f"branches:{name}", kwargs={"slug": repo.slug})
    if query:
        from urllib.parse import urlencode

        out += "?" + urlencode(query)
    return out


# 1. a merge request whose source branch is deleted --------------------------------------------

def test_deleting_a_source_branch_names_its_requests_and_the_request_says_so_and_restores_it(repo, author, as_user):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text", "Add a color")
    mr = open_request(repo, author, title='Colors "quoted" <b>')
    head = fresh(mr).source_head
    web = as_user(author)

    listing = page(web.get(repo_url("branch_list", repo)))
    assert 'data-confirm="Delete this branch? Open merge request !1 Colors &quot;quoted&quot; &lt;b&gt; uses it' in listing
    refused = web.post(repo_url("branch_delete", repo), {"name": "feature-colors"})
    assert refused.status_code == 409
    assert 'id="branch-merge-requests"' in page(refused) and 'Colors "quoted" <b>' in shown(refused)
    assert_no_engine_words(refused)
    assert web.post(repo_url("branch_delete", repo), {"name": "feature-colors", "force": "1"}).status_code == 302
    assert "feature-colors" not in branch_heads(repo)

    detail = web.get(url("detail", mr))
    assert detail.status_code == 200 and 'id="source-deleted"' in page(detail) and 'id="restore-branch"' in page(detail)
    assert 'data-badge="blocked"' in page(detail) and "✓ approved" not in shown(detail)
    assert 'id="merge-button" disabled' in page(detail)
    assert_no_engine_words(detail)
    for tab in ("commits", "changes"):  # shown as the request last knew the branch
        response = web.get(url(tab, mr))
        assert response.status_code == 200 and 'id="source-deleted"' in page(response), tab
        assert_no_engine_words(response)
    assert "Add a color" in shown(web.get(url("commits", mr)))
    assert "color text" in shown(web.get(url("changes", mr)))
    migration = web.get(url("migration", mr))
    assert "The source branch feature-colors was deleted" in shown(migration)
    assert_no_engine_words(migration)
    assert fresh(mr).state == "open" and fresh(mr).source_head == head

    restored = web.post(url("restore_branch", mr), follow=True)
    assert "Restored branch feature-colors" in shown(restored)
    assert branch_heads(repo)["feature-colors"] == head
    assert 'id="source-deleted"' not in page(web.get(url("detail", mr)))


def test_a_request_whose_source_branch_is_gone_can_be_closed_and_a_viewer_cannot_restore_it(
        repo, author, viewer, as_user):
    mr = open_request(repo, author)
    Client(repo.dsn).delete_branch("feature-colors", force=True)
    assert as_user(viewer).post(url("restore_branch", mr)).status_code == 403
    assert "feature-colors" not in branch_heads(repo)
    web = as_user(author)
    assert 'id="close-deleted"' in page(web.get(url("detail", mr)))
    web.post(url("close", mr))
    assert fresh(mr).state == "closed"
    closed = web.get(url("detail", mr))
    assert closed.status_code == 200 and 'data-badge="closed"' in page(closed)


# 2. the badge and the merge box tell the real state ---------------------------------------------

def test_badge_shows_approvals_draft_and_conflicts_never_approved_without_approvals(repo, author, as_user):
    web = as_user(author)
    mr = open_request(repo, author)
    detail = page(web.get(url("detail", mr)))
    assert 'data-badge="open"' in detail and "approvals 0/1" in detail and "approved" not in detail.split('id="mr-head"')[1].split("</header>")[0]
    assert re.search(r'class="merge-box state-open blocked"', detail)

    BranchProtection.objects.filter(repository=repo).delete()  # main needs no approval now
    make_conflict(repo)
    mr = actions.sync(fresh(mr))
    assert mr.state == "approved"  # the row's state: nothing required, so "met"
    web.get(url("preview", mr))  # computes the preview (with its conflict) and caches it
    detail = page(web.get(url("detail", mr)))
    assert 'data-badge="conflicts"' in detail and "1 conflict" in detail and "✓ approved" not in detail
    assert 'class="merge-box state-approved blocked"' in detail
    listing = page(web.get(reverse("merges:list", kwargs={"slug": repo.slug})))
    assert 'data-badge="conflicts"' in listing and "✓ approved" not in listing

    actions.edit(author, mr, draft=True)
    assert 'data-badge="draft"' in page(web.get(url("detail", mr)))


def test_badge_of_a_request_with_its_approvals_is_approved_n_of_m(repo, author, reviewer):
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    found = reads.badge(fresh(mr))
    assert (found.kind, found.label, found.mergeable) == ("approved", "approved 1/1", True)


# 3. every conflict resolved: the merge box stops saying the last attempt stopped ------------------

def test_after_every_conflict_is_resolved_the_merge_box_no_longer_says_the_merge_stopped(
        repo, author, reviewer, maintainer, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    as_user(maintainer).post(url("merge", mr))
    assert "need a resolution" in fresh(mr).merge_error
    web = as_user(author)  # the author resolves; the merge waits for a maintainer
    web.post(url("conflicts", mr), {"object": "table public.widgets", "result": "", "choice": "source"})
    assert fresh(mr).merge_error == "" and fresh(mr).state == "approved"
    detail = page(web.get(url("detail", mr)))
    assert "The last merge attempt stopped" not in detail and 'id="merge-error"' not in detail
    assert 'id="conflicts-resolved"' in page(web.get(url("preview", mr)))


# 4. a resolution text creating another object ---------------------------------------------------

def test_resolution_creating_another_object_names_it_and_keeps_the_text(repo, author, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    web = as_user(author)
    web.post(url("conflicts_open", mr))
    typed = "CREATE TABLE public.gadgets (id integer PRIMARY KEY, note text DEFAULT 'kept ü')"
    response = web.post(url("conflicts", mr), {"object": "table public.widgets", "result": typed})
    assert response.status_code == 422
    text = shown(response)
    assert "This text cannot resolve table public.widgets" in text
    assert "The text creates table public.gadgets, not table public.widgets" in text
    assert "note text DEFAULT 'kept ü'" in text  # the edited text is kept in the form
    assert "PostgreSQL rejected" not in text
    assert not fresh(mr).resolutions.exists()
    items = Client(repo.dsn).merge_items(fresh(mr).engine_merge_id)
    assert [i["resolution"] for i in items if i["identity"] == "table public.widgets"] == [None]


# 7. page words, not engine words ---------------------------------------------------------------

def test_every_conflict_class_of_the_engine_has_page_words():
    source = (Path(__file__).resolve().parents[2] / "sql" / "src" / "40_merge.sql").read_text()
    classes = set(re.findall(r"'((?:NO|SOURCE|TARGET|BOTH|DELETED)_[A-Z]+)'", source))
    assert classes and classes <= set(reads.CONFLICT_WORDS)
    assert reads.conflict_words("BOTH_MODIFIED") == "changed on both sides"


def test_conflicts_page_says_the_kind_in_words(repo, author, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    web = as_user(author)
    web.post(url("conflicts_open", mr))
    response = web.get(url("conflicts", mr))
    assert response.status_code == 200 and "changed on both sides" in shown(response)
    assert 'data-badge="conflicts"' in page(response)
    assert_no_engine_words(response)


def test_merge_refused_for_data_loss_offers_merge_anyway_naming_the_data(repo, author, reviewer, maintainer, as_user):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    web = as_user(maintainer)
    refused = web.post(url("merge", mr), follow=True)
    assert "Merge anyway, dropping the data in table public.widgets" in shown(refused)
    assert "weight_grams" in shown(refused)
    assert_no_engine_words(refused)
    assert fresh(mr).state == "approved"


def test_checkout_refused_for_data_loss_offers_check_out_anyway_naming_the_data(repo, maintainer, as_user):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.orders (id integer)")
        conn.execute("INSERT INTO public.orders VALUES (1)")
    refused = as_user(maintainer).post(repo_url("checkout", repo), {"branch": "feature-colors"})
    assert refused.status_code == 409
    assert "Check out anyway, dropping the data in table public.orders" in shown(refused)
    assert "Drops table public.orders, which holds rows" in shown(refused)
    assert_no_engine_words(refused)
    with Client(repo.dsn) as engine:
        assert engine.current_branch() == "main"


# 5. layout: the Settings tab, the password page, the favicon -----------------------------------

def test_merge_request_list_and_new_pages_show_the_settings_tab_to_maintainers(repo, maintainer, author, as_user):
    settings_link = 'href="%s"' % repo_url("settings", repo)
    for name in ("merges:list", "merges:new"):
        assert settings_link in page(as_user(maintainer).get(reverse(name, kwargs={"slug": repo.slug}))), name
        assert settings_link not in page(as_user(author).get(reverse(name, kwargs={"slug": repo.slug}))), name


def test_password_change_page_is_styled_and_linked_from_the_user_menu(author, as_user):
    web = as_user(author)
    home = page(web.get("/"))
    change = reverse("account_change_password")
    assert f'id="change-password"' in home and f'href="{change}"' in home
    response = web.get(change)
    assert response.status_code == 200
    assert 'class="auth-card" id="password-change"' in page(response) and 'class="site-header"' in page(response)
    done = web.post(change, {"oldpassword": "correct horse battery staple", "password1": "a new Password 7!",
                             "password2": "a new Password 7!"})
    assert done.status_code == 302
    author.refresh_from_db()
    assert author.check_password("a new Password 7!")


def test_favicon_is_linked_and_favicon_ico_answers(client, author, as_user):
    response = client.get("/favicon.ico")
    assert response.status_code in (200, 301, 302)
    target = response["Location"] if response.status_code != 200 else "/favicon.ico"
    assert target.endswith("favicon.svg")
    assert (Path(__file__).resolve().parents[2] / "static" / "img" / "favicon.svg").read_text().startswith("<svg")
    assert 'rel="icon"' in page(as_user(author).get("/"))


# 6. check out from the dashboard asks first --------------------------------------------------

def test_dashboard_checkout_asks_the_same_question_as_the_branches_page(repo, maintainer, as_user):
    web = as_user(maintainer)
    dashboard = page(web.get(reverse("branches:dashboard", kwargs={"slug": repo.slug})))
    branches = page(web.get(repo_url("branch_list", repo)))
    question = re.search(r'action="[^"]*/checkout/"[^>]*data-confirm="([^"]+)"', branches).group(1)
    form = re.search(r'<form method="post" action="[^"]*/checkout/" id="checkout-form" data-confirm="([^"]+)"', dashboard)
    assert form and form.group(1) == question


# 8. object history comes in pages -------------------------------------------------------------

def test_object_history_of_200_versions_renders_one_page_at_a_time(repo, viewer, as_user):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        for i in range(200):
            conn.execute(f"COMMENT ON TABLE public.widgets IS 'version {i}'")
    web = as_user(viewer)
    first = web.get(repo_url("object_history", repo, identity="table public.widgets"))
    assert first.status_code == 200
    html = page(first)
    assert html.count('class="filebox"') == 20 and "202 versions" in shown(first)
    assert "version 199" in html and "version 150" not in html
    assert "Page 1 of 11" in shown(first) and 'rel="next"' in html
    last = web.get(repo_url("object_history", repo, identity="table public.widgets", page=11))
    assert page(last).count('class="filebox"') == 2 and "Page 11 of 11" in shown(last)
