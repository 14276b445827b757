"""Repository, branch and history pages: each read, each action, and who may do it.

The repository fixture (conftest) has author = developer, reviewer, maintainer, viewer; the
outsider has no role; ``main`` is HEAD and protected.
"""

from __future__ import annotations

import psycopg
import pytest
from django.contrib.auth.models import Permission
from django.test import Client as DjangoClient
from django.urls import reverse

from branches.access import role_of
from branches.engine import Count, ahead_behind, commit_graph
from branches.models import Repository, Role
from pggit.client import Client

pytestmark = pytest.mark.django_db

HOSTILE_BRANCH = "fix it's \"odd\" ünïcødé"
SCRIPT = "<script>alert(1)</script>"


def engine(repo) -> Client:
    return Client(repo.dsn)


def branch_names(repo) -> set[str]:
    with engine(repo) as c:
        return {b["name"] for b in c.branches()}


def columns(dsn, table="widgets") -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "ORDER BY ordinal_position", (table,)).fetchall()]


def url(name, repo=None, **kwargs):
    if repo is not None:
        kwargs["slug"] = repo.slug
    return reverse(f"branches:{name}", kwargs=kwargs)


def body(response) -> str:
    return response.content.decode()


def read_pages(repo):
    with engine(repo) as c:
        head = c.resolve("main")
    return [
        url("dashboard", repo), url("branch_list", repo), url("commit_log", repo),
        url("commit_detail", repo, commit_id=head), url("compare", repo) + "?from=main&to=feature-colors",
        url("object_history", repo) + "?identity=table+public.widgets", url("object_history", repo),
        url("compare", repo), url("console", repo),
    ]


def post_actions(repo):
    with engine(repo) as c:
        head = c.resolve("main")
    return [
        (url("install_engine", repo), {}),
        (url("branch_create", repo), {"name": "x"}),
        (url("branch_delete", repo), {"name": "feature-colors"}),
        (url("checkout", repo), {"branch": "feature-colors"}),
        (url("commit_revert", repo, commit_id=head), {}),
        (url("console", repo), {"branch": "feature-colors", "sql": "CREATE TABLE public.t ()"}),
    ]


# who sees what -------------------------------------------------------------------------------

def test_anonymous_is_sent_to_sign_in_on_every_page_and_action(client, repo):
    for page in read_pages(repo) + ["/", url("repository_add")]:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/accounts/login/"), page
    for action, data in post_actions(repo):
        response = client.post(action, data)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), action
    assert branch_names(repo) == {"main", "feature-colors"}


def test_outsider_gets_404_on_every_page_and_action(as_user, repo, outsider):
    c = as_user(outsider)
    for page in read_pages(repo):
        assert c.get(page).status_code == 404, page
    for action, data in post_actions(repo):
        assert c.post(action, data).status_code == 404, action
    assert branch_names(repo) == {"main", "feature-colors"}
    assert c.get("/repos/no-such-repo/branches/").status_code == 404


def test_viewer_reads_every_page(as_user, repo, viewer):
    c = as_user(viewer)
    for page in read_pages(repo):
        response = c.get(page)
        assert response.status_code == 200, page
        assert "widgets" in body(response)


def test_repository_list_shows_only_repositories_the_user_belongs_to(as_user, repo, viewer):
    Repository.objects.create(name="secret-billing", dsn="postgresql://u@h/billing")
    response = as_user(viewer).get("/")
    assert response.status_code == 200
    assert 'href="/repos/widgets/"' in body(response)
    assert "secret-billing" not in body(response)
    assert url("repository_add") not in body(response)  # viewers may not add repositories


# repositories ------------------------------------------------------------------------------

def can_add(user):
    user.user_permissions.add(Permission.objects.get(codename="add_repository"))
    return user


def test_add_repository_installs_the_engine_and_makes_the_user_maintainer(as_user, outsider, throwaway_db):
    c = as_user(can_add(outsider))
    assert url("repository_add") in body(c.get("/"))
    response = c.post(url("repository_add"), {"name": "Orders DB", "dsn": throwaway_db, "description": "orders",
                                              "default_branch": "main", "install": "on"})
    assert response.status_code == 302
    repo = Repository.objects.get(name="Orders DB")
    assert response["Location"] == repo.get_absolute_url()
    assert role_of(outsider, repo) == Role.MAINTAINER
    with Client(throwaway_db) as engine_client:
        version = engine_client.installed_version()
    assert version
    page = c.get(repo.get_absolute_url())
    assert f"pgGit {version}" in body(page)
    assert "Added repository Orders DB" in body(page)


def test_add_repository_with_an_unreachable_database_shows_why_and_saves_nothing(as_user, outsider, server):
    c = as_user(can_add(outsider))
    response = c.post(url("repository_add"), {"name": "gone", "dsn": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
                                              "default_branch": "main", "install": "on"})
    assert response.status_code == 503
    assert "did not answer" in body(response)
    assert 'value="gone"' in body(response)  # the form keeps what was typed
    assert not Repository.objects.filter(name="gone").exists()


def test_add_repository_needs_the_permission(as_user, maintainer, repo):
    c = as_user(maintainer)
    assert c.get(url("repository_add")).status_code == 403
    assert c.post(url("repository_add"), {"name": "x", "dsn": repo.dsn, "default_branch": "main"}).status_code == 403
    assert not Repository.objects.filter(name="x").exists()


def test_install_engine_reports_the_version_and_needs_a_maintainer(as_user, repo, maintainer, author):
    assert as_user(author).post(url("install_engine", repo)).status_code == 403
    response = as_user(maintainer).post(url("install_engine", repo), follow=True)
    with engine(repo) as c:
        version = c.installed_version()
    assert f"pgGit engine {version} is installed in widgets" in body(response)


# dashboard ---------------------------------------------------------------------------------

def test_dashboard_shows_head_engine_version_and_open_merge_requests(as_user, repo, viewer, author):
    from merges.models import MergeRequest

    MergeRequest.objects.create(repository=repo, number=7, title="Add colours", source="feature-colors",
                                target="main", author=author)
    MergeRequest.objects.create(repository=repo, number=8, title="Old and closed", source="feature-colors",
                                target="main", author=author, state="closed")
    response = as_user(viewer).get(url("dashboard", repo))
    assert response.status_code == 200
    page = body(response)
    assert '<span class="branch head" id="current-branch">main</span>' in page
    with engine(repo) as c:
        assert f"pgGit {c.installed_version()}" in page
    assert "Add colours" in page and "!7" in page
    assert f'href="{reverse("merges:detail", kwargs={"slug": repo.slug, "number": 7})}"' in page
    assert "Old and closed" not in page
    assert url("checkout", repo) not in page  # viewers get no checkout form


# branches ----------------------------------------------------------------------------------

def test_developer_creates_a_branch_from_a_ref(as_user, repo, author):
    with engine(repo) as c:
        first = c.log("main", 50)[-1]["commit_id"]
    response = as_user(author).post(url("branch_create", repo), {"name": "feature/index", "from_ref": first[:12]})
    assert response.status_code == 302
    with engine(repo) as c:
        heads = {b["name"]: b["head"] for b in c.branches()}
    assert heads["feature/index"] == first
    assert "Created branch feature/index" in body(as_user(author).get(url("branch_list", repo)))


def test_viewer_may_not_create_or_delete_a_branch(as_user, repo, viewer):
    c = as_user(viewer)
    assert c.post(url("branch_create", repo), {"name": "nope"}).status_code == 403
    assert c.post(url("branch_create", repo), {"name": ""}).status_code == 403
    assert c.post(url("branch_delete", repo), {"name": "feature-colors"}).status_code == 403
    assert branch_names(repo) == {"main", "feature-colors"}


def test_creating_an_existing_branch_shows_the_engine_error_in_the_form(as_user, repo, author):
    response = as_user(author).post(url("branch_create", repo), {"name": "feature-colors"})
    assert response.status_code == 409
    assert "already exists" in body(response)
    assert 'value="feature-colors"' in body(response)


def test_invalid_branch_name_is_refused_with_the_hint(as_user, repo, author):
    response = as_user(author).post(url("branch_create", repo), {"name": "bad:name"})
    assert response.status_code == 400
    assert "invalid branch name" in body(response)
    assert "HINT" in body(response)
    assert "bad:name" not in branch_names(repo)


def test_hostile_branch_name_works_through_create_compare_and_delete(as_user, repo, author):
    c = as_user(author)
    assert c.post(url("branch_create", repo), {"name": HOSTILE_BRANCH}).status_code == 302
    assert HOSTILE_BRANCH in branch_names(repo)
    with engine(repo) as e:
        e.apply(HOSTILE_BRANCH, "CREATE TABLE public.odd (id integer)")

    listing = body(c.get(url("branch_list", repo)))
    assert "fix it&#x27;s &quot;odd&quot; ünïcødé" in listing

    response = c.get(url("compare", repo), {"from": "main", "to": HOSTILE_BRANCH})
    assert response.status_code == 200
    assert response.context["cmp"].counts == {"added": 1, "modified": 0, "deleted": 0}
    assert "table public.odd" in body(response)

    log = c.get(url("commit_log", repo), {"ref": HOSTILE_BRANCH})
    assert log.status_code == 200 and "CREATE TABLE public.odd" in body(log)

    # not merged anywhere: the engine refuses, the page offers to force
    refused = c.post(url("branch_delete", repo), {"name": HOSTILE_BRANCH})
    assert refused.status_code == 409
    assert "not merged" in body(refused) and 'name="force" value="1"' in body(refused)
    assert HOSTILE_BRANCH in branch_names(repo)
    assert c.post(url("branch_delete", repo), {"name": HOSTILE_BRANCH, "force": "1"}).status_code == 302
    assert HOSTILE_BRANCH not in branch_names(repo)


def test_developer_deletes_a_merged_branch(as_user, repo, author):
    response = as_user(author).post(url("branch_delete", repo), {"name": "feature-colors"}, follow=True)
    assert "Deleted branch feature-colors" in body(response)
    assert branch_names(repo) == {"main"}


def test_deleting_head_is_refused_with_a_message(as_user, repo, maintainer):
    response = as_user(maintainer).post(url("branch_delete", repo), {"name": "main"}, follow=True)
    assert "because it is HEAD" in body(response)
    assert "main" in branch_names(repo)


def test_branch_list_counts_commits_ahead_and_behind_the_default_branch(as_user, repo, viewer):
    with engine(repo) as e:
        e.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
        e.apply("feature-colors", "CREATE TABLE public.colors (name text)")
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.audit (id integer)")
    response = as_user(viewer).get(url("branch_list", repo))
    assert response.status_code == 200
    rows = {b.name: b for b in response.context["branches"]}
    assert (str(rows["feature-colors"].ahead), str(rows["feature-colors"].behind)) == ("2", "1")
    assert rows["main"].ahead is None and rows["main"].is_head and rows["main"].is_default
    page = body(response)
    assert url("compare", repo) + "?from=main&amp;to=feature-colors" in page


def test_ahead_behind_stops_at_the_limit_and_after_a_merge_counts_only_the_other_side(repo):
    with engine(repo) as e:
        for i in range(4):
            e.apply("feature-colors", f"CREATE TABLE public.t{i} (id integer)")
        heads = {b["name"]: b["head"] for b in e.branches()}
        assert ahead_behind(e, heads["feature-colors"], heads["main"]) == (Count(4), Count(0))
        assert ahead_behind(e, heads["feature-colors"], heads["main"], limit=3) == (Count(3, more=True), Count(0))
        with psycopg.connect(repo.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.m (id integer)")
        e.merge("feature-colors", "main")
        heads = {b["name"]: b["head"] for b in e.branches()}
        # main has the merge and its own commit; feature-colors has nothing main lacks
        assert ahead_behind(e, heads["feature-colors"], heads["main"]) == (Count(0), Count(2))


def test_ahead_behind_of_many_heads_in_one_statement_is_each_head_against_the_base(repo):
    with engine(repo) as e:
        e.create_branch("twin")  # the same head as main
        for i in range(3):
            e.apply("feature-colors", f"CREATE TABLE public.t{i} (id integer)")
        e.create_branch("older", "main")
        with psycopg.connect(repo.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.m (id integer)")
        heads = {b["name"]: b["head"] for b in e.branches()}
        many = e.ahead_behind_many([heads["feature-colors"], heads["twin"], heads["older"], heads["older"]],
                                   heads["main"], limit=2)
        assert set(many) == {heads["feature-colors"], heads["twin"]}  # twin and older share a head
        for head in many:
            one = e.ahead_behind(head, heads["main"], 2)
            assert {k: many[head][k] for k in one} == one
        fc = many[heads["feature-colors"]]
        assert (fc["ahead"], fc["ahead_more"], fc["behind"], fc["behind_more"]) == (2, True, 1, False)
        assert e.ahead_behind_many([], heads["main"]) == {}


# checkout ----------------------------------------------------------------------------------

def test_maintainer_checks_out_a_branch_and_the_live_schema_follows(as_user, repo, maintainer, author):
    with engine(repo) as e:
        e.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    assert as_user(author).post(url("checkout", repo), {"branch": "feature-colors"}).status_code == 403
    assert "color" not in columns(repo.dsn)
    response = as_user(maintainer).post(url("checkout", repo), {"branch": "feature-colors"})
    assert response.status_code == 302
    with engine(repo) as e:
        assert e.current_branch() == "feature-colors"
    assert "color" in columns(repo.dsn)


def test_checkout_that_would_lose_data_is_refused_then_forced(as_user, repo, maintainer):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.orders (id integer)")
        conn.execute("INSERT INTO public.orders VALUES (1)")
    c = as_user(maintainer)
    refused = c.post(url("checkout", repo), {"branch": "feature-colors"})
    assert refused.status_code == 409
    assert 'id="refusal"' in body(refused) and 'name="force" value="1"' in body(refused)
    with engine(repo) as e:
        assert e.current_branch() == "main"
    assert columns(repo.dsn, "orders") == ["id"]
    forced = c.post(url("checkout", repo), {"branch": "feature-colors", "force": "1"})
    assert forced.status_code == 302
    with engine(repo) as e:
        assert e.current_branch() == "feature-colors"
    assert columns(repo.dsn, "orders") == []


# history -----------------------------------------------------------------------------------

def test_commit_log_draws_a_merge_joining_two_lanes(as_user, repo, viewer):
    with engine(repo) as e:
        e.apply("feature-colors", "CREATE TABLE public.colors (name text)")
        with psycopg.connect(repo.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.audit (id integer)")
        merge = e.merge("feature-colors", "main")["commit_id"]
    response = as_user(viewer).get(url("commit_log", repo))
    assert response.status_code == 200
    rows = response.context["log"].rows
    assert rows[0].commit["commit_id"] == merge
    assert rows[0].svg.count("<path") == 2  # two lines leave the merge commit, one per parent
    assert 'class="lane-0 merge"' in rows[0].svg
    assert {r.column for r in rows} == {0, 1}  # the feature commit sits in its own lane
    side = next(r for r in rows if "CREATE TABLE public.colors" in r.commit["message"])
    assert side.column == 1
    assert url("commit_detail", repo, commit_id=merge) in body(response)


def test_commit_log_labels_branch_heads_with_their_names_and_marks_head(as_user, repo, viewer, outsider):
    with engine(repo) as e:
        side = e.apply("feature-colors", "CREATE TABLE public.colors (name text)", "Colors")
        e.create_branch("rel'ease <b>", "main")
        main = e.resolve("main")
    response = as_user(viewer).get(url("commit_log", repo), {"ref": "feature-colors"})
    assert response.status_code == 200
    rows = {r.commit["commit_id"]: r for r in response.context["log"].rows}
    assert [(x.name, x.is_head) for x in rows[side].refs] == [("feature-colors", False)]
    assert [(x.name, x.is_head) for x in rows[main].refs] == [("main", True), ("rel'ease <b>", False)]
    page = body(response)
    tip = page[page.index(f'data-commit="{side}"'):]
    tip = tip[:tip.index("</tr>")]
    assert 'data-branch="feature-colors"' in tip and "HEAD" not in tip
    at_main = page[page.index(f'data-commit="{main}"'):]
    at_main = at_main[:at_main.index("</tr>")]
    assert 'class="ref-label ref-head"' in at_main and "HEAD →</span> main" in at_main
    assert "rel&#x27;ease &lt;b&gt;" in at_main and "<b>" not in at_main
    assert as_user(outsider).get(url("commit_log", repo)).status_code == 404


def test_commit_graph_of_a_linear_history_is_one_lane():
    commits = [{"commit_id": c, "parent_ids": [p] if p else []} for c, p in (("c", "b"), ("b", "a"), ("a", None))]
    rows = commit_graph(commits)
    assert [r.column for r in rows] == [0, 0, 0]
    assert "M9 18 L9 37" in rows[0].svg and "M9 -1 L9 18" not in rows[0].svg  # nothing above the tip
    assert "M9 -1 L9 18" in rows[2].svg and "M9 18 L9 37" not in rows[2].svg  # nothing below the root


def test_commit_log_is_paginated(as_user, repo, viewer):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        for i in range(50):
            conn.execute(f"CREATE TABLE public.p{i} (id integer)")
    with engine(repo) as e:
        total = len(e.log("main", 500))
    c = as_user(viewer)
    first = c.get(url("commit_log", repo))
    assert len(first.context["log"].rows) == 50 and first.context["log"].has_next
    second = c.get(url("commit_log", repo), {"page": 2})
    assert len(second.context["log"].rows) == total - 50
    assert not second.context["log"].has_next
    assert not {r.commit["commit_id"] for r in first.context["log"].rows} & {
        r.commit["commit_id"] for r in second.context["log"].rows}


def test_commit_log_of_an_unknown_ref_says_so(as_user, repo, viewer):
    response = as_user(viewer).get(url("commit_log", repo), {"ref": "no-such-branch"})
    assert response.status_code == 404
    assert "unknown ref" in body(response)


def test_commit_page_shows_message_parents_and_changes_side_by_side(as_user, repo, viewer):
    with engine(repo) as e:
        log = e.log("main", 50)
    commit = next(c for c in log if "ADD COLUMN weight_grams" in c["message"])
    response = as_user(viewer).get(url("commit_detail", repo, commit_id=commit["commit_id"]))
    assert response.status_code == 200
    page = body(response)
    assert "ADD COLUMN weight_grams" in page
    assert url("commit_detail", repo, commit_id=commit["parent_ids"][0]) in page
    change = response.context["changes"][0]
    assert change["identity"] == "table public.widgets" and change["change"] == "modified"
    assert any(r.kind in ("insert", "replace") and "weight_grams" in r.right for r in change["rows"])
    assert 'class="diff-' in page
    assert url("commit_revert", repo, commit_id=commit["commit_id"]) not in page  # viewers cannot revert


def test_maintainer_reverts_a_commit_on_head_and_the_live_table_changes(as_user, repo, maintainer, author):
    with engine(repo) as e:
        commit = next(c for c in e.log("main", 50) if "ADD COLUMN weight_grams" in c["message"])["commit_id"]
        before = e.resolve("main")
    assert as_user(author).post(url("commit_revert", repo, commit_id=commit)).status_code == 403
    assert "weight_grams" in columns(repo.dsn)
    response = as_user(maintainer).post(url("commit_revert", repo, commit_id=commit))
    assert response.status_code == 302
    with engine(repo) as e:
        after = e.resolve("main")
        assert after != before and e.log("main", 1)[0]["parent_ids"] == [before]
    assert response["Location"] == url("commit_detail", repo, commit_id=after)
    assert "weight_grams" not in columns(repo.dsn)


# compare and object history ------------------------------------------------------------------

def test_compare_lists_changes_with_counts_migration_and_escapes_definitions(as_user, repo, viewer):
    with engine(repo) as e:
        e.apply("feature-colors", f"COMMENT ON TABLE public.widgets IS '{SCRIPT}'; CREATE TABLE public.colors (name text)")
    response = as_user(viewer).get(url("compare", repo), {"from": "main", "to": "feature-colors"})
    assert response.status_code == 200
    page = body(response)
    assert response.context["cmp"].counts == {"added": 1, "modified": 1, "deleted": 0}
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="migration"' in page and "COMMENT" in page and '<pre class="sql">' in page
    assert "table public.colors" in page and "table public.widgets" in page


def test_compare_without_a_target_offers_the_branches(as_user, repo, viewer):
    response = as_user(viewer).get(url("compare", repo))
    assert response.status_code == 200
    assert "?from=main&amp;to=feature-colors" in body(response)


def test_compare_of_an_unknown_ref_shows_the_error(as_user, repo, viewer):
    response = as_user(viewer).get(url("compare", repo), {"from": "main", "to": "nope"})
    assert response.status_code == 404
    assert "unknown ref" in body(response)


def test_compare_pages_many_objects(as_user, repo, viewer):
    sql = "".join(f"CREATE TABLE public.many_{i:03d} (id integer);" for i in range(60))
    with engine(repo) as e:
        e.apply("feature-colors", sql)
    c = as_user(viewer)
    first = c.get(url("compare", repo), {"from": "main", "to": "feature-colors"})
    assert first.context["cmp"].total == 60 and first.context["cmp"].pages == 2
    assert body(first).count('class="filebox"') == 50
    second = c.get(url("compare", repo), {"from": "main", "to": "feature-colors", "page": 2})
    assert body(second).count('class="filebox"') == 10
    assert "table public.many_059" in body(second) and "table public.many_059" not in body(first)


def test_object_history_shows_every_version_escaped(as_user, repo, viewer):
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute(f"COMMENT ON TABLE public.widgets IS '{SCRIPT}'")
    c = as_user(viewer)
    response = c.get(url("object_history", repo), {"identity": "table public.widgets"})
    assert response.status_code == 200
    versions = response.context["versions"]
    assert [v["change"] for v in versions] == ["modified", "modified", "added"]
    assert versions[0]["previous"] == versions[1]["definition"]
    page = body(response)
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('class="filebox"') == 3

    listing = c.get(url("object_history", repo))
    assert "?identity=table+public.widgets" in body(listing)


def test_object_history_of_an_unknown_object_is_404(as_user, repo, viewer):
    response = as_user(viewer).get(url("object_history", repo), {"identity": "table public.nothing"})
    assert response.status_code == 404
    assert "touched" in body(response)


# console -----------------------------------------------------------------------------------

def test_developer_applies_sql_to_a_branch_and_sees_the_commit(as_user, repo, author):
    c = as_user(author)
    response = c.post(url("console", repo), {"branch": "feature-colors", "sql": "CREATE TABLE public.colors (name text)",
                                             "message": "Add colours"})
    assert response.status_code == 302
    with engine(repo) as e:
        head = e.resolve("feature-colors")
        assert "table public.colors" in {o["identity"] for o in e.tree("feature-colors")}
        assert e.log("feature-colors", 1)[0]["message"].startswith("Add colours")
    assert columns(repo.dsn, "colors") == []  # the live database is untouched
    assert f"commit={head}" in response["Location"]
    page = c.get(response["Location"])
    assert url("commit_detail", repo, commit_id=head) in body(page)
    assert "table public.colors" in body(page)


def test_console_error_shows_postgres_message_and_keeps_the_sql(as_user, repo, author):
    sql = "ALTER TABLE public.widgets ADD COLUMN id integer"
    response = as_user(author).post(url("console", repo), {"branch": "feature-colors", "sql": sql})
    assert response.status_code == 422
    page = body(response)
    assert 'id="apply-error"' in page and "already exists" in page
    assert "ALTER TABLE public.widgets ADD COLUMN id integer</textarea>" in page


def test_console_roles(as_user, repo, viewer, author):
    with engine(repo) as e:
        before = {b["name"]: b["head"] for b in e.branches()}
    assert as_user(viewer).post(url("console", repo), {"branch": "feature-colors",
                                                       "sql": "CREATE TABLE public.v (id int)"}).status_code == 403
    # main is HEAD (and protected): a developer may not run SQL on the live database
    assert as_user(author).post(url("console", repo), {"branch": "main",
                                                       "sql": "CREATE TABLE public.v (id int)"}).status_code == 403
    with engine(repo) as e:
        assert {b["name"]: b["head"] for b in e.branches()} == before
    assert columns(repo.dsn, "v") == []


def test_console_on_head_warns_and_maintainer_changes_the_live_table(as_user, repo, maintainer):
    c = as_user(maintainer)
    page = c.get(url("console", repo), {"branch": "main"})
    assert 'id="live-warning" role="note">' in body(page)  # shown (not hidden) for HEAD
    response = c.post(url("console", repo), {"branch": "main", "sql": "ALTER TABLE public.widgets ADD COLUMN color text"})
    assert response.status_code == 302
    assert "color" in columns(repo.dsn)
    with engine(repo) as e:
        assert "color" in next(o for o in e.tree("main") if o["identity"] == "table public.widgets")["definition"]


def test_post_without_csrf_token_is_refused(repo, author):
    c = DjangoClient(enforce_csrf_checks=True)
    c.force_login(author)
    assert c.post(url("branch_create", repo), {"name": "csrf-less"}).status_code == 403
    assert "csrf-less" not in branch_names(repo)
    page = c.get(url("branch_list", repo))
    assert "csrfmiddlewaretoken" in body(page)


def test_compare_migration_downloads_as_a_sql_script(as_user, repo, viewer):
    with engine(repo) as e:
        e.apply("feature-colors", "CREATE TABLE public.colors (name text)")
    response = as_user(viewer).get(url("compare", repo), {"from": "main", "to": "feature-colors", "format": "sql"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "attachment" in response["Content-Disposition"]
    assert "CREATE TABLE public.colors" in response.content.decode()


def test_object_history_of_a_merge_diffs_against_the_first_parent(as_user, repo, viewer):
    with engine(repo) as e:
        e.apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
        with psycopg.connect(repo.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.audit (id integer)")
        merge = e.merge("feature-colors", "main")["commit_id"]
    response = as_user(viewer).get(url("object_history", repo), {"identity": "table public.widgets"})
    newest = response.context["versions"][0]
    assert newest["commit_id"] == merge
    assert "color" not in newest["previous"] and "color" in newest["definition"]
    assert any(r.kind in ("insert", "replace") and "color" in r.right for r in newest["rows"])


# drift -------------------------------------------------------------------------------------

def test_drift_box_lists_objects_changed_behind_the_engines_back(as_user, repo, viewer, outsider):
    url_ = reverse("branches:drift", kwargs={"slug": repo.slug})
    c = as_user(viewer)
    page = c.get(url_, HTTP_HX_REQUEST="true").content.decode()
    assert "None: the live schema matches HEAD" in page
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("SET pggit.capture = 'off'")
        conn.execute("CREATE TABLE public.sneaky (id integer)")
        conn.execute("COMMENT ON TABLE public.widgets IS '<script>alert(1)</script>'")
    box = c.get(url_, HTTP_HX_REQUEST="true").content.decode()
    assert "2 objects changed behind the engine" in box and "table public.sneaky" in box
    full = c.get(url_).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in full and "<script>alert(1)" not in full
    c.force_login(outsider)
    assert c.get(url_).status_code == 404


def test_a_developer_makes_a_data_branch_from_the_page_and_the_api(as_user, repo, author):
    """The branch list's "Carry the data" box and the API's with_data make a data branch; the list
    marks it and the API says so; the live tables are untouched."""
    import psycopg
    from pggit.client import Client

    page = as_user(author)
    response = page.post(reverse("branches:branch_create", args=[repo.slug]),
                         {"name": "with rows ✓", "from_ref": "", "with_data": "on"})
    assert response.status_code == 302
    listing = page.get(reverse("branches:branch_list", args=[repo.slug])).content.decode()
    assert 'title="carries the live rows' in listing
    response = page.post(reverse("api:branches", args=[repo.slug]), {"name": "api-data", "with_data": True},
                         content_type="application/json")
    assert response.status_code == 201, response.content
    branches = {b["name"]: b for b in page.get(reverse("api:branches", args=[repo.slug])).json()["results"]}
    assert branches["with rows ✓"]["data"] is True and branches["api-data"]["data"] is True
    assert branches["main"]["data"] is False
    assert branches["api-data"]["created_by"] == author.get_username()
    with Client(repo.dsn) as client:
        assert {d["branch"] for d in client.data_branches()} == {"with rows ✓", "api-data"}
        for name in ("with rows ✓", "api-data"):
            client.delete_branch(name, force=True)
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pggit_data%%'").fetchone()[0] <= 1


def test_compare_shows_the_rows_a_data_branch_changed_with_the_changed_cells(as_user, repo, author):
    import psycopg
    from pggit.client import Client

    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO public.widgets VALUES (1, 'bolt'), (2, 'nut')")
    with Client(repo.dsn) as client:
        client.create_branch("rows", with_data=True)
        with psycopg.connect(client.data_dsn("rows"), autocommit=True) as conn:
            conn.execute("UPDATE widgets SET label = '<b>washer</b>' WHERE id = 1")
            conn.execute("DELETE FROM widgets WHERE id = 2")
            conn.execute("INSERT INTO widgets VALUES (3, 'screw')")
    page = as_user(author)
    html = page.get(reverse("branches:compare", args=[repo.slug]) + "?from=main&to=rows").content.decode()
    assert 'id="data-diff"' in html and "3 rows differ" in html
    assert "<del>bolt</del> <ins>&lt;b&gt;washer&lt;/b&gt;</ins>" in html  # escaped, the cell marked
    api = page.get(reverse("api:compare", args=[repo.slug]) + "?from=main&to=rows").json()
    assert {r["key"]["id"]: (r["change"], r["columns"]) for r in api["data"]} == {
        1: ("changed", ["label"]), 2: ("deleted", None), 3: ("added", None)}
    assert page.get(reverse("api:compare", args=[repo.slug]) + "?from=main&to=main").json()["data"] is None
    with psycopg.connect(repo.dsn) as conn:  # the live table is untouched
        assert conn.execute("SELECT id, label FROM public.widgets ORDER BY id").fetchall() == [(1, "bolt"), (2, "nut")]
    with Client(repo.dsn) as client:
        client.delete_branch("rows", force=True)
