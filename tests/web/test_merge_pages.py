"""Merge request pages against a real engine: every page and POST, the 403s, the 404s, the
conflict page with PostgreSQL rejecting a resolution, and escaping of engine text."""

import re

import psycopg
import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from merges import actions
from merges.models import Comment, MergeRequest, Review
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = "<script>alert(1)</script>"


def live(repo, sql):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute(sql)


def live_columns(repo, table="public.widgets"):
    with psycopg.connect(repo.dsn) as conn:
        return [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table,))]


def open_request(repo, author, **kw):
    kw.setdefault("title", "Colors for widgets")
    return actions.open_merge_request(author, repo, source=kw.pop("source", "feature-colors"),
                                      target=kw.pop("target", "main"), **kw)


def url(name, mr, **query):
    out = reverse(f"merges:{name}", kwargs={"slug": mr.repository.slug, "number": mr.number})
    if query:
        from urllib.parse import urlencode

        out += "?" + urlencode(query)
    return out


def text_of(html):
    """The page's text: tags removed (highlighted SQL is split into token spans), entities undone."""
    import html as h

    return h.unescape(re.sub(r"<[^>]+>", "", html))


def fresh(mr):
    return MergeRequest.objects.get(pk=mr.pk)


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def shade_type(repo):
    with psycopg.connect(repo.dsn) as conn:
        return conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                            "WHERE attrelid = 'public.widgets'::regclass AND attname = 'shade'").fetchone()[0]


def make_conflict(repo, source_sql="ALTER TABLE public.widgets ADD COLUMN shade text",
                  target_sql="ALTER TABLE public.widgets ADD COLUMN shade integer"):
    Client(repo.dsn).apply("feature-colors", source_sql)
    live(repo, target_sql)


# list and new ------------------------------------------------------------------------------

def test_list_shows_open_requests_with_state_branches_and_approvals(repo, author, reviewer, as_user):
    mr = open_request(repo, author, draft=True)
    page = as_user(reviewer).get(reverse("merges:list", kwargs={"slug": repo.slug}))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="mr-{mr.number}"' in html and "Colors for widgets" in html
    assert "feature-colors" in html and "0/1" in html and "state-draft" in html and 'data-state="open"' in html
    merged = as_user(reviewer).get(reverse("merges:list", kwargs={"slug": repo.slug}) + "?state=merged")
    assert "Colors for widgets" not in merged.content.decode()


def test_new_request_form_is_prefilled_and_posting_opens_request_number_1(repo, author, as_user):
    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (name text PRIMARY KEY)")
    web = as_user(author)
    form = web.get(reverse("merges:new", kwargs={"slug": repo.slug}) + "?source=feature-colors")
    html = form.content.decode()
    assert form.status_code == 200
    assert 'value="feature-colors"' in html and 'value="main"' in html  # target defaults to the default branch
    assert "table public.colors" in html  # the compact preview of the changes
    response = web.post(reverse("merges:new", kwargs={"slug": repo.slug}), {
        "source": "feature-colors", "target": "main", "title": "Add colors", "description": "why",
        "strategy": "auto"})
    mr = MergeRequest.objects.get()
    assert (mr.number, mr.title, mr.author, mr.draft) == (1, "Add colors", author, False)
    assert response.status_code == 302 and response["Location"] == url("detail", mr)


def test_opening_a_request_for_a_missing_branch_shows_the_error(repo, author, as_user):
    response = as_user(author).post(reverse("merges:new", kwargs={"slug": repo.slug}), {
        "source": "no-such-branch", "target": "main", "title": "x", "strategy": "auto"})
    assert response.status_code == 404 and "no-such-branch" in response.content.decode()
    assert not MergeRequest.objects.exists()


def test_viewer_cannot_open_a_request(repo, viewer, as_user):
    web = as_user(viewer)
    assert web.get(reverse("merges:new", kwargs={"slug": repo.slug})).status_code == 403
    response = web.post(reverse("merges:new", kwargs={"slug": repo.slug}), {
        "source": "feature-colors", "target": "main", "title": "x", "strategy": "auto"})
    assert response.status_code == 403 and not MergeRequest.objects.exists()


# the tabs ----------------------------------------------------------------------------------

def test_conversation_shows_header_tabs_and_why_merge_is_blocked(repo, author, viewer, as_user):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text", "Add a color")
    mr = open_request(repo, author, description="Adds **color**")
    page = as_user(viewer).get(url("detail", mr))
    html = page.content.decode()
    assert page.status_code == 200
    assert "wants to merge" in html and re.search(r'id="commit-count">1<', html)
    assert 'id="changes-count">1<' in html
    assert "Adds <strong>color</strong>" in html  # Markdown, rendered
    assert re.search(r'id="merge-button"[^>]*disabled', html)
    assert "needs the maintainer role" in html  # a viewer may not merge into main
    assert 'id="review-box"' not in html  # viewers do not review
    assert 'id="resolve-conflicts"' not in html


def test_commits_tab_lists_the_source_commits_only(repo, author, viewer, as_user):
    client = Client(repo.dsn)
    first = client.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text", "Add a color")
    second = client.apply("feature-colors", "CREATE TABLE public.colors (name text)", "Add the colors table")
    mr = open_request(repo, author)
    page = as_user(viewer).get(url("commits", mr))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Add a color" in html and "Add the colors table" in html
    for commit in (first, second):
        assert reverse("branches:commit_detail", kwargs={"slug": repo.slug, "commit_id": commit}) in html
    main_head = client.resolve("main")
    assert reverse("branches:commit_detail", kwargs={"slug": repo.slug, "commit_id": main_head}) not in html
    assert html.index("Add the colors table") < html.index("Add a color")  # newest first


def test_changes_tab_paginates_25_objects_with_anchors(repo, author, viewer, as_user):
    Client(repo.dsn).apply("feature-colors", "; ".join(f"CREATE TABLE public.t{i:02d} (id integer)" for i in range(30)))
    mr = open_request(repo, author)
    web = as_user(viewer)
    first = web.get(url("changes", mr))
    html = first.content.decode()
    assert first.status_code == 200
    assert html.count('class="filebox"') == 25 and "30 added" in html
    assert "table public.t00" in html and 'id="obj-' in html and 'class="diff"' in html
    second = web.get(url("changes", mr, page=2)).content.decode()
    assert second.count('class="filebox"') == 5 and "CREATE TABLE public.t29" in text_of(second)
    jumped = web.get(url("changes", mr, object="table public.t28")).content.decode()
    assert jumped.count('class="filebox"') == 5


def test_migration_tab_shows_steps_warnings_and_that_main_is_live(repo, author, viewer, as_user):
    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    live(repo, "CREATE TABLE public.gadgets (id integer)")
    mr = open_request(repo, author)
    page = as_user(viewer).get(url("migration", mr))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="live-note"' in html and "live database" in html
    assert "weight_grams" in html and "data loss" in html and 'data-kind="drop_column"' in html
    assert 'id="merge-kind">merge commit<' in html
    assert '<pre class="sql">' in html


# conversation actions ----------------------------------------------------------------------

def test_comment_is_stored_and_shown_in_the_timeline(repo, author, viewer, as_user):
    mr = open_request(repo, author)
    web = as_user(viewer)
    response = web.post(url("comment", mr), {"body": "Why text and not an enum?"})
    assert response.status_code == 302
    c = Comment.objects.get()
    assert (c.author, c.body, c.object_identity) == (viewer, "Why text and not an enum?", "")
    assert "Why text and not an enum?" in web.get(url("detail", mr)).content.decode()


def test_object_comment_shows_under_the_object_and_links_from_the_conversation(repo, author, reviewer, as_user):
    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (name text)")
    mr = open_request(repo, author)
    web = as_user(reviewer)
    response = web.post(url("comment", mr), {"body": "needs a primary key", "object_identity": "table public.colors"})
    assert response.status_code == 302 and "#obj-" in response["Location"]
    assert Comment.objects.get().object_identity == "table public.colors"
    changes = web.get(url("changes", mr)).content.decode()
    assert "needs a primary key" in changes
    conversation = web.get(url("detail", mr)).content.decode()
    assert 'class="object-link"' in conversation and "table public.colors" in conversation


def test_empty_comment_is_refused_with_a_message(repo, author, as_user):
    mr = open_request(repo, author)
    response = as_user(author).post(url("comment", mr), {"body": "  "}, follow=True)
    assert not Comment.objects.exists() and any("text" in m for m in messages_of(response))


def test_reviewer_approval_is_recorded_and_the_request_is_approved(repo, author, reviewer, as_user):
    mr = open_request(repo, author)
    web = as_user(reviewer)
    assert 'id="verdict-approve"' in web.get(url("detail", mr)).content.decode()
    response = web.post(url("review", mr), {"verdict": "approve", "body": "ship it"})
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.reviewer, review.verdict, review.body) == (reviewer, "approve", "ship it")
    assert fresh(mr).state == "approved"
    assert "1 of 1 required approval" in web.get(url("detail", mr)).content.decode()


def test_request_changes_needs_a_body_and_sets_the_state(repo, author, reviewer, as_user):
    mr = open_request(repo, author)
    web = as_user(reviewer)
    response = web.post(url("review", mr), {"verdict": "request_changes", "body": ""}, follow=True)
    assert not Review.objects.exists() and any("should change" in m for m in messages_of(response))
    web.post(url("review", mr), {"verdict": "request_changes", "body": "add an index"})
    assert fresh(mr).state == "changes_requested"


def test_author_cannot_approve_own_request(repo, author, as_user):
    mr = open_request(repo, author)
    mr.repository.protections.update(merge_role=30)  # irrelevant to approving: still the author
    from branches.access import grant
    from branches.models import Role

    grant(repo, author, Role.REVIEWER)
    web = as_user(author)
    html = web.get(url("detail", mr)).content.decode()
    assert 'id="verdict-approve-disabled"' in html and 'value="approve"' not in html
    assert web.post(url("review", mr), {"verdict": "approve"}).status_code == 403
    assert not Review.objects.exists() and fresh(mr).state == "open"


def test_dismissed_review_is_shown_struck_with_its_reason(repo, author, reviewer, as_user):
    mr = open_request(repo, author)
    actions.approve(reviewer, mr, "ok")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    html = as_user(reviewer).get(url("detail", mr)).content.decode()  # the page syncs with the engine
    assert "tl-review verdict-approve dismissed" in html and "new commits on the source" in html
    assert fresh(mr).state == "open"


def test_edit_and_draft_toggle(repo, author, reviewer, as_user):
    mr = open_request(repo, author, draft=True)
    web = as_user(author)
    assert 'id="ready-for-review"' in web.get(url("detail", mr)).content.decode()
    web.post(url("edit", mr), {"title": "Better title", "description": "more", "strategy": "union"})
    web.post(url("draft", mr), {"draft": "0"})
    mr = fresh(mr)
    assert (mr.title, mr.description, mr.strategy, mr.draft) == ("Better title", "more", "union", False)
    assert as_user(reviewer).post(url("draft", mr), {"draft": "1"}).status_code == 403
    assert not fresh(mr).draft


def test_close_and_reopen(repo, author, reviewer, as_user):
    mr = open_request(repo, author)
    assert as_user(reviewer).post(url("close", mr)).status_code == 403
    web = as_user(author)
    web.post(url("close", mr))
    assert fresh(mr).state == "closed"
    assert "Reopen" in web.get(url("detail", mr)).content.decode()
    web.post(url("reopen", mr))
    assert fresh(mr).state == "open"


# merging -----------------------------------------------------------------------------------

def test_maintainer_merges_and_the_live_column_appears(repo, author, reviewer, maintainer, as_user):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    web = as_user(maintainer)
    html = web.get(url("detail", mr)).content.decode()
    assert re.search(r'id="merge-button"(?![^>]*disabled)', html)
    response = web.post(url("merge", mr), {"strategy": "auto"})
    assert response.status_code == 302 and response["Location"] == url("detail", mr)
    mr = fresh(mr)
    assert mr.state == "merged" and mr.merged_by == maintainer
    assert "color" in live_columns(repo)
    page = web.get(url("detail", mr)).content.decode()
    commit_url = reverse("branches:commit_detail", kwargs={"slug": repo.slug, "commit_id": mr.merge_commit})
    assert 'data-state="merged"' in page and commit_url in page
    merged_changes = web.get(url("changes", mr)).content.decode()  # a merged request still shows what it merged
    assert "1 modified" in merged_changes and "color text" in text_of(merged_changes)


def test_developer_cannot_merge_into_protected_main(repo, author, reviewer, as_user):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    assert as_user(author).post(url("merge", mr)).status_code == 403
    assert fresh(mr).state == "approved" and "color" not in live_columns(repo)


def test_merge_without_approval_is_refused_with_a_message(repo, author, maintainer, as_user):
    mr = open_request(repo, author)
    response = as_user(maintainer).post(url("merge", mr), follow=True)
    assert any("approvals" in m for m in messages_of(response)) and fresh(mr).state == "open"


def test_merge_losing_data_is_refused_then_forced(repo, author, reviewer, maintainer, as_user):
    live(repo, "INSERT INTO public.widgets VALUES (1, 'bolt', 12)")
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    live(repo, "CREATE TABLE public.gadgets (id integer)")
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    web = as_user(maintainer)
    assert 'id="force-box"' not in web.get(url("detail", mr)).content.decode()
    response = web.post(url("merge", mr))
    assert response.status_code == 302 and "refused=1" in response["Location"]
    page = web.get(response["Location"]).content.decode()
    assert 'id="force-box"' in page and "weight_grams" in page
    assert fresh(mr).state == "approved" and "weight_grams" in live_columns(repo)
    web.post(url("merge", mr), {"force": "on"})
    assert fresh(mr).state == "merged" and "weight_grams" not in live_columns(repo)


def test_auto_merge_toggle_then_approval_merges(repo, author, reviewer, maintainer, as_user):
    Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (name text)")
    mr = open_request(repo, author)
    assert as_user(author).post(url("auto_merge", mr), {"enabled": "1"}).status_code == 403
    as_user(maintainer).post(url("auto_merge", mr), {"enabled": "1"})
    assert fresh(mr).auto_merge and fresh(mr).auto_merge_by == maintainer
    as_user(reviewer).post(url("review", mr), {"verdict": "approve"})
    assert fresh(mr).state == "merged"
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT to_regclass('public.colors')").fetchone()[0] == "colors"


# conflicts ---------------------------------------------------------------------------------

def test_merge_with_conflicts_leads_to_the_conflicts_page_listing_the_object(repo, author, reviewer, maintainer, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    web = as_user(maintainer)
    detail_html = web.get(url("detail", mr)).content.decode()  # the preview loads after the page
    assert 'hx-get="%s"' % url("preview", mr) in detail_html and 'id="resolve-conflicts"' not in detail_html
    fragment = web.get(url("preview", mr)).content.decode()
    assert 'id="resolve-conflicts"' in fragment and "1 conflicting object" in fragment
    assert 'id="side-preview" hx-swap-oob="true"' in fragment and "table public.widgets" in fragment
    assert 'id="resolve-conflicts"' in web.get(url("detail", mr)).content.decode()  # cached now: in the page
    response = web.post(url("merge", mr))
    assert response.status_code == 302 and response["Location"] == url("conflicts", mr)
    page = web.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="conflict-identity">table public.widgets<' in html
    assert "shade text" in text_of(html) and "shade integer" in text_of(html)  # source and target columns
    assert 'class="sql" name="result"' in html and 'class="changed"' in html
    assert fresh(mr).engine_merge_id and fresh(mr).state == "approved"
    assert shade_type(repo) == "integer"  # the target is untouched until the conflict is resolved


def test_rejected_resolution_returns_422_with_postgres_error_and_keeps_the_merge(repo, author, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    web = as_user(author)
    web.post(url("conflicts_open", mr))
    merge_id = fresh(mr).engine_merge_id
    bad = "CREATE TABLE public.widgets (id integer PRIMARY KEY, label nosuchtype);"
    response = web.post(url("conflicts", mr), {"object": "table public.widgets", "result": bad})
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="resolve-error"' in html and 'type "nosuchtype" does not exist' in html.replace("&quot;", '"')
    assert "label nosuchtype" in html  # the user's text is kept
    mr = fresh(mr)
    assert mr.engine_merge_id == merge_id and not mr.resolutions.exists()
    items = Client(repo.dsn).merge_items(merge_id)
    assert [i["resolution"] for i in items if i["identity"] == "table public.widgets"] == [None]


def test_valid_custom_resolution_moves_on_and_waits_for_approval(repo, author, reviewer, maintainer, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    web = as_user(author)
    web.post(url("conflicts_open", mr))
    item = next(i for i in Client(repo.dsn).merge_items(fresh(mr).engine_merge_id) if i["identity"] == "table public.widgets")
    custom = item["source_definition"].replace("shade text", "shade varchar(40)")
    response = web.post(url("resolve", mr), {"object": "table public.widgets", "result": custom}, follow=True)
    assert response.redirect_chain[-1][0] == url("detail", mr)
    assert any("all conflicts resolved; merge when approved" in m.lower() for m in messages_of(response))
    assert fresh(mr).resolutions.get().resolution == "custom"
    actions.approve(reviewer, fresh(mr))
    as_user(maintainer).post(url("merge", mr))
    assert fresh(mr).state == "merged"
    assert shade_type(repo) == "character varying(40)"


def test_stored_custom_resolution_is_the_canonical_definition_and_a_get_runs_nothing(repo, author, as_user):
    """The text a person typed is run once, in the shadow as its unprivileged role; what is kept
    is the engine's description. Reading the conflicts page opens no merge and runs nothing."""
    make_conflict(repo)
    mr = open_request(repo, author)
    web = as_user(author)
    response = web.get(url("conflicts", mr))  # no merge in progress: nothing is opened by a GET
    assert response.status_code == 302 and fresh(mr).engine_merge_id is None
    engine = Client(repo.dsn)
    merges_before = engine._value("SELECT count(*) FROM pggit.merges")
    assert web.post(url("conflicts_open", mr)).status_code == 302
    merge_id = fresh(mr).engine_merge_id
    assert engine._value("SELECT count(*) FROM pggit.merges") == merges_before + 1
    typed = ("create table public.widgets (id integer primary key, label text not null,\n"
             "  weight_grams integer, shade varchar(12)) ; -- typed by hand")
    web.post(url("resolve", mr), {"object": "table public.widgets", "result": typed})
    stored = fresh(mr).resolutions.get()
    assert stored.resolution == "custom"
    assert stored.definition == engine.resolution_definition(merge_id, "table public.widgets")
    assert stored.definition.startswith("CREATE TABLE public.widgets (") and "typed by hand" not in stored.definition
    audit_before = engine._value("SELECT count(*) FROM pggit.audit_log")
    for _ in range(2):
        assert web.get(url("conflicts", mr)).status_code == 200
    assert engine._value("SELECT count(*) FROM pggit.audit_log") == audit_before
    assert engine._value("SELECT count(*) FROM pggit.merges") == merges_before + 1
    engine.close()


def test_take_source_by_a_maintainer_after_approval_merges(repo, author, reviewer, maintainer, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    actions.approve(reviewer, mr)
    web = as_user(maintainer)
    web.post(url("conflicts_open", mr))
    response = web.post(url("conflicts", mr), {"object": "table public.widgets", "result": "", "choice": "source"})
    assert response.status_code == 302 and response["Location"] == url("detail", mr)
    mr = fresh(mr)
    assert mr.state == "merged"
    assert shade_type(repo) == "text"


def test_abort_drops_the_engine_merge(repo, author, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    web = as_user(author)
    web.post(url("conflicts_open", mr))
    merge_id = fresh(mr).engine_merge_id
    assert merge_id
    web.post(url("abort", mr))
    assert fresh(mr).engine_merge_id is None
    assert Client(repo.dsn).merge_info(merge_id)["status"] == "aborted"


def test_viewer_cannot_open_the_conflicts_page(repo, author, viewer, as_user):
    make_conflict(repo)
    mr = open_request(repo, author)
    web = as_user(viewer)
    assert web.get(url("conflicts", mr)).status_code == 403
    assert web.post(url("conflicts_open", mr)).status_code == 403
    assert web.post(url("resolve", mr), {"object": "table public.widgets", "choice": "source"}).status_code == 403
    assert fresh(mr).engine_merge_id is None


# escaping ----------------------------------------------------------------------------------

def test_script_in_a_definition_is_escaped_on_changes_and_conflicts(repo, author, as_user):
    make_conflict(repo, f"COMMENT ON TABLE public.widgets IS '{SCRIPT}'",
                  "COMMENT ON TABLE public.widgets IS 'plain words'")
    mr = open_request(repo, author, title=SCRIPT, description=SCRIPT)
    web = as_user(author)
    assert web.post(url("conflicts_open", mr)).status_code == 302
    for page in (web.get(url("changes", mr)), web.get(url("conflicts", mr)), web.get(url("detail", mr)),
                 web.get(reverse("merges:list", kwargs={"slug": repo.slug}))):
        html = page.content.decode()
        assert page.status_code == 200
        assert SCRIPT not in html
    changes = web.get(url("changes", mr)).content.decode()
    conflicts = web.get(url("conflicts", mr)).content.decode()
    assert "&lt;script&gt;" in changes and "&lt;script&gt;" in conflicts


# who may see what --------------------------------------------------------------------------

GET_PAGES = ["detail", "commits", "changes", "migration", "conflicts"]
POSTS = ["comment", "review", "merge", "close", "reopen", "edit", "draft", "auto_merge", "abort", "resolve", "conflicts",
         "conflicts_open"]


def test_outsider_gets_404_on_every_url(repo, author, outsider, as_user):
    mr = open_request(repo, author)
    web = as_user(outsider)
    for name in ("list", "new"):
        target = reverse(f"merges:{name}", kwargs={"slug": repo.slug})
        assert web.get(target).status_code == 404, name
    assert web.post(reverse("merges:new", kwargs={"slug": repo.slug}),
                    {"source": "feature-colors", "target": "main", "title": "x", "strategy": "auto"}).status_code == 404
    for name in GET_PAGES:
        assert web.get(url(name, mr)).status_code == 404, name
    for name in POSTS:
        assert web.post(url(name, mr), {"body": "x", "verdict": "approve", "object": "table public.widgets",
                                        "choice": "source", "title": "x", "strategy": "auto"}).status_code == 404, name
    assert fresh(mr).state == "open" and not Comment.objects.exists() and not Review.objects.exists()


def test_unknown_number_or_repository_is_404(repo, author, as_user):
    open_request(repo, author)
    web = as_user(author)
    for name in GET_PAGES:
        assert web.get(reverse(f"merges:{name}", kwargs={"slug": repo.slug, "number": 99})).status_code == 404
    assert web.post(reverse("merges:comment", kwargs={"slug": repo.slug, "number": 99}), {"body": "x"}).status_code == 404
    assert web.get(reverse("merges:list", kwargs={"slug": "nope"})).status_code == 404
    assert web.get(reverse("merges:detail", kwargs={"slug": "nope", "number": 1})).status_code == 404


def test_anonymous_is_sent_to_sign_in(repo, author, client):
    mr = open_request(repo, author)
    for target in (reverse("merges:list", kwargs={"slug": repo.slug}), url("detail", mr), url("changes", mr)):
        response = client.get(target)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]
    response = client.post(url("comment", mr), {"body": "x"})
    assert response.status_code == 302 and not Comment.objects.exists()


def test_posts_need_the_csrf_token(repo, author):
    mr = open_request(repo, author)
    web = HttpClient(enforce_csrf_checks=True)
    web.force_login(author)
    assert web.post(url("comment", mr), {"body": "forged"}).status_code == 403
    assert not Comment.objects.exists()
    page = web.get(url("detail", mr))
    token = page.cookies["csrftoken"].value
    assert web.post(url("comment", mr), {"body": "real", "csrfmiddlewaretoken": token}).status_code == 302
    assert Comment.objects.get().body == "real"


def test_get_on_a_post_endpoint_is_not_allowed(repo, author, as_user):
    mr = open_request(repo, author)
    assert as_user(author).get(url("merge", mr)).status_code == 405


def test_preview_fragment_is_404_for_outsiders_and_shows_risky_steps(repo, author, viewer, outsider, as_user):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    mr = open_request(repo, author)
    assert as_user(outsider).get(url("preview", mr)).status_code == 404
    html = as_user(viewer).get(url("preview", mr)).content.decode()
    assert 'data-kind="drop_column"' in html and "weight_grams" in html


def test_migration_tab_offers_the_whole_script_as_a_download(repo, author, viewer, as_user):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets DROP COLUMN weight_grams")
    mr = open_request(repo, author)
    response = as_user(viewer).get(url("migration", mr, format="sql"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert "ALTER TABLE public.widgets DROP COLUMN weight_grams;" in response.content.decode()
