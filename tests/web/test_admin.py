"""The Django admin: every model's pages, merge request actions through the real engine, the
engine's branches and commits read (not copied) into the repository admin."""

import uuid

import psycopg
import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from branches.access import grant
from branches.models import BranchProtection, Repository, RepositoryGroup, Role
from merges import actions
from merges.models import Comment, ConflictResolution, Label, MergeRequest, Review
from pggit.client import Client

pytestmark = pytest.mark.django_db(transaction=True)

OUR_MODELS = [Repository, RepositoryGroup, BranchProtection, MergeRequest, Review, Comment, ConflictResolution, Label]


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def open_request(repo, author, **kw):
    return actions.open_merge_request(author, repo, source="feature-colors", target="main",
                                      title=kw.pop("title", "Colors for widgets"), **kw)


def run_action(client, action, *requests, follow=True):
    return client.post(changelist(MergeRequest), {"action": action, "_selected_action": [mr.pk for mr in requests]},
                       follow=follow)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root_admin", "root@example.com", "x-admin-password-1")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def mr(repo, author):
    """An open request from feature-colors (one new column) into main."""
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text")
    return open_request(repo, author)


# --- pages ----------------------------------------------------------------------------------

def test_every_model_is_registered():
    for model in OUR_MODELS:
        assert admin.site.is_registered(model), model


def test_every_changelist_and_change_page_renders_for_a_superuser(admin_client, repo, mr, author, reviewer):
    actions.approve(reviewer, mr, "fine")
    actions.add_comment(author, mr, "a comment", "table public.widgets")
    ConflictResolution.objects.create(merge_request=mr, engine_merge_id=1, object_identity="table public.widgets",
                                      resolution="source", resolved_by=reviewer)
    actions.set_labels(author, mr, [Label.objects.create(repository=repo, name="bug", color="#d73a4a").name])
    for model in OUR_MODELS:
        response = admin_client.get(changelist(model))
        assert response.status_code == 200, model
        obj = model.objects.first()
        assert obj is not None, model
        response = admin_client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                                            args=[obj.pk]))
        assert response.status_code == 200, model
    page = admin_client.get(reverse("admin:merges_mergerequest_change", args=[mr.pk])).content.decode()
    assert "a comment" in page and "fine" in page and "table public.widgets" in page  # inlines
    page = admin_client.get(reverse("admin:branches_repository_change", args=[repo.pk])).content.decode()
    assert "widgets:maintainer" in page and "mia_maintainer" in page  # role groups inline with members
    assert reverse("admin:branches_repository_branches", args=[repo.pk]) in page


def test_admin_adds_a_label_and_refuses_a_taken_name_or_a_bad_colour(admin_client, repo):
    add = reverse("admin:merges_label_add")
    response = admin_client.post(add, {"repository": repo.pk, "name": " Needs DBA ", "color": "#ABCDEF",
                                       "description": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(Label.objects.values_list("name", "color")) == [("Needs DBA", "#abcdef")]
    for data in ({"name": "needs dba", "color": "#000000"}, {"name": "other", "color": "red"}):
        response = admin_client.post(add, {"repository": repo.pk, "description": "", **data})
        assert response.status_code == 200 and response.context["adminform"].form.errors
    assert Label.objects.count() == 1


def test_changelist_search_and_filters_work(admin_client, repo, mr):
    response = admin_client.get(changelist(MergeRequest), {"q": "Colors", "state__exact": "open"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mr]
    response = admin_client.get(changelist(MergeRequest), {"state__exact": "merged"})
    assert list(response.context["cl"].result_list) == []


def test_repository_list_does_not_show_the_dsn_password(admin_client):
    Repository.objects.create(name="secretive", dsn="postgresql://alice:hunter2@db.example.com/shop")
    page = admin_client.get(changelist(Repository)).content.decode()
    assert "alice:***@db.example.com" in page
    assert "hunter2" not in page


def test_engine_owned_fields_are_read_only(admin_client, mr):
    form = admin_client.get(reverse("admin:merges_mergerequest_change", args=[mr.pk])).context["adminform"].form
    for name in ("engine_merge_id", "merge_commit", "source_head", "merged_at", "closed_at", "state"):
        assert name not in form.fields, name
    assert "title" in form.fields


def test_a_non_staff_user_is_sent_to_the_admin_login(as_user, repo, maintainer):
    client = as_user(maintainer)  # a maintainer of the repository, but not staff
    for url in (reverse("admin:index"), changelist(MergeRequest),
                reverse("admin:branches_repository_branches", args=[repo.pk])):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


# --- merge request actions ------------------------------------------------------------------

def test_approve_action_approves_as_the_signed_in_admin(admin_client, mr, superuser):
    response = run_action(admin_client, "approve", mr)
    assert response.status_code == 200
    mr.refresh_from_db()
    assert mr.state == "approved"
    assert Review.objects.get(merge_request=mr).reviewer == superuser
    assert any("approved" in m for m in messages_of(response))


def test_merge_action_merges_through_the_engine(admin_client, repo, mr, reviewer):
    # main moves too, so the merge is a real two-parent commit and not a fast-forward
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.sizes (id integer PRIMARY KEY)")
    actions.approve(reviewer, mr)
    main_before = Client(repo.dsn).resolve("main")

    response = run_action(admin_client, "merge", mr)

    assert response.status_code == 200
    mr.refresh_from_db()
    assert mr.state == "merged" and mr.merge_commit
    with Client(repo.dsn) as client:
        head = client.log("main", 1)[0]
        assert head["commit_id"] == mr.merge_commit
        assert sorted(head["parent_ids"]) == sorted([main_before, client.resolve("feature-colors")])
    with psycopg.connect(repo.dsn) as conn:  # main is checked out: the live schema has the new column
        assert conn.execute("SELECT 1 FROM pg_attribute WHERE attrelid = 'public.widgets'::regclass "
                            "AND attname = 'color'").fetchone()
    assert any(f"merged as {mr.merge_commit[:12]}" in m for m in messages_of(response))


def test_merge_action_without_approval_reports_why_and_leaves_everything(admin_client, repo, mr):
    main_before = Client(repo.dsn).resolve("main")
    response = run_action(admin_client, "merge", mr)
    assert response.status_code == 200
    mr.refresh_from_db()
    assert mr.state == "open"
    assert Client(repo.dsn).resolve("main") == main_before
    assert any("0 of 1 required approvals" in m for m in messages_of(response))


def test_close_action_closes_and_reopen_reopens(admin_client, mr):
    response = run_action(admin_client, "close", mr)
    mr.refresh_from_db()
    assert mr.state == "closed" and mr.closed_at is not None
    assert any("closed" in m for m in messages_of(response))
    response = run_action(admin_client, "close", mr)  # closing twice is refused, not a 500
    assert response.status_code == 200
    assert any("is closed" in m for m in messages_of(response))
    run_action(admin_client, "reopen", mr)
    mr.refresh_from_db()
    assert mr.state == "open"


def test_actions_report_each_request_on_its_own(admin_client, repo, mr, author, reviewer):
    with Client(repo.dsn) as client:
        client.create_branch("feature-sizes")
        client.apply("feature-sizes", "CREATE TABLE public.sizes (id integer)")
    other = actions.open_merge_request(author, repo, source="feature-sizes", target="main", title="Sizes")
    actions.close(author, other)
    response = run_action(admin_client, "close", mr, other)
    texts = messages_of(response)
    assert any(f"!{mr.number}: closed" in t for t in texts)
    assert any(f"!{other.number}: merge request !{other.number} is closed" in t for t in texts)
    mr.refresh_from_db()
    assert mr.state == "closed"


def test_staff_without_a_repository_role_gets_a_message_not_an_error(client, django_user_model, mr):
    staff = django_user_model.objects.create_user("sam_staff", "sam@example.com", "pw-staff-123", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_mergerequest", "change_mergerequest"]))
    client.force_login(staff)
    response = run_action(client, "close", mr)
    assert response.status_code == 200
    mr.refresh_from_db()
    assert mr.state == "open"
    assert any("you have no role in this repository" in m for m in messages_of(response))


def test_staff_developer_cannot_merge_into_protected_main(client, django_user_model, repo, mr, reviewer):
    staff = django_user_model.objects.create_user("dev_staff", "dev@example.com", "pw-staff-123", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_mergerequest", "change_mergerequest"]))
    grant(repo, staff, Role.DEVELOPER)
    actions.approve(reviewer, mr)
    client.force_login(staff)
    response = run_action(client, "merge", mr)
    mr.refresh_from_db()
    assert mr.state == "approved"
    assert any("needs the maintainer role" in m for m in messages_of(response))


# --- repository: install action and engine pages ---------------------------------------------

def test_install_engine_action_reports_the_version(admin_client, repo):
    response = admin_client.post(changelist(Repository), {"action": "install_engine", "_selected_action": [repo.pk]},
                                 follow=True)
    version = Client(repo.dsn).version()
    assert any(f"widgets: engine {version} installed" in m for m in messages_of(response))


def test_install_engine_action_on_an_unreachable_database_reports_the_error(admin_client, server):
    gone = Repository.objects.create(
        name="gone", dsn=f"postgresql://postgres@{server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}/no_such_db_x")
    response = admin_client.post(changelist(Repository), {"action": "install_engine", "_selected_action": [gone.pk]},
                                 follow=True)
    assert response.status_code == 200
    assert any(m.startswith("gone: the repository's database did not answer") for m in messages_of(response))


def test_branches_page_lists_the_engines_branches(admin_client, repo):
    response = admin_client.get(reverse("admin:branches_repository_branches", args=[repo.pk]))
    assert response.status_code == 200
    with Client(repo.dsn) as client:
        branches = client.branches()
    assert {b["name"] for b in response.context["branches"]} == {"main", "feature-colors"}
    page = response.content.decode()
    for branch in branches:
        assert branch["name"] in page and branch["head"][:12] in page
    assert response.context["current_branch"] == "main"


def test_branch_pages_follow_the_engine_not_a_copy(admin_client, repo):
    url = reverse("admin:branches_repository_branches", args=[repo.pk])
    Client(repo.dsn).create_branch("hotfix")
    assert "hotfix" in {b["name"] for b in admin_client.get(url).context["branches"]}


def test_commits_page_lists_the_log_of_a_ref(admin_client, repo):
    Client(repo.dsn).apply("feature-colors", "ALTER TABLE public.widgets ADD COLUMN color text", "add color")
    url = reverse("admin:branches_repository_commits", args=[repo.pk])
    with Client(repo.dsn) as client:
        main_log = client.log("main", 50)
        feature_log = client.log("feature-colors", 50)
    response = admin_client.get(url)
    assert [c["commit_id"] for c in response.context["commits"]] == [c["commit_id"] for c in main_log]
    response = admin_client.get(url, {"ref": "feature-colors"})
    assert [c["commit_id"] for c in response.context["commits"]] == [c["commit_id"] for c in feature_log]
    page = response.content.decode()
    assert feature_log[0]["commit_id"][:12] in page and "add color" in page
    assert "add color" not in admin_client.get(url).content.decode()


def test_commit_page_shows_the_object_changes(admin_client, repo):
    commit = Client(repo.dsn).apply("feature-colors", "CREATE TABLE public.colors (id integer PRIMARY KEY)", "colors")
    response = admin_client.get(reverse("admin:branches_repository_commit", args=[repo.pk, commit]))
    assert response.status_code == 200
    assert response.context["info"]["commit_id"] == commit
    assert "table public.colors" in {c["identity"] for c in response.context["changes"]}
    assert "CREATE TABLE public.colors" in response.content.decode()


def test_unknown_ref_is_a_message_on_the_page(admin_client, repo):
    response = admin_client.get(reverse("admin:branches_repository_commits", args=[repo.pk]), {"ref": "nope"})
    assert response.status_code == 503
    assert "nope" in response.context["error"]
    assert 'class="errornote"' in response.content.decode()


def test_unreachable_engine_is_a_message_on_the_page_not_a_500(admin_client, throwaway_db):
    plain = Repository.objects.create(name="plain", dsn=throwaway_db)  # a database without the engine
    for name in ("branches", "commits"):
        response = admin_client.get(reverse(f"admin:branches_repository_{name}", args=[plain.pk]))
        assert response.status_code == 503
        assert "not installed" in response.context["error"]
    closed = Repository.objects.create(name="closed", dsn="postgresql://postgres@127.0.0.1:1/nothing")
    response = admin_client.get(reverse("admin:branches_repository_branches", args=[closed.pk]))
    assert response.status_code == 503 and response.context["error"]


def test_engine_page_of_a_missing_repository_is_404(admin_client):
    assert admin_client.get(reverse("admin:branches_repository_branches", args=[987654])).status_code == 404


def test_repository_page_hides_the_password_and_keeps_it_on_save(admin_client):
    dsn = "postgresql://alice:hunter2@db.example.com/shop"
    repo = Repository.objects.create(name="secretive", dsn=dsn)
    url = reverse("admin:branches_repository_change", args=[repo.pk])
    page = admin_client.get(url).content.decode()
    assert "hunter2" not in page and "alice:***@db.example.com" in page
    assert 'type="password" name="dsn"' in page and 'name="dsn" value' not in page  # a password input, empty
    data = {"name": "secretive", "slug": "secretive", "dsn": "",
            "description": "now described", "default_branch": "main",
            "role_groups-TOTAL_FORMS": "4", "role_groups-INITIAL_FORMS": "4", "role_groups-MIN_NUM_FORMS": "0",
            "role_groups-MAX_NUM_FORMS": "0", "protections-TOTAL_FORMS": "0", "protections-INITIAL_FORMS": "0",
            "protections-MIN_NUM_FORMS": "0", "protections-MAX_NUM_FORMS": "1000"}
    for i, link in enumerate(repo.role_groups.order_by("repository", "role")):
        data[f"role_groups-{i}-id"] = str(link.pk)
        data[f"role_groups-{i}-repository"] = str(repo.pk)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    repo.refresh_from_db()
    assert repo.dsn == dsn and repo.description == "now described"
    data["dsn"] = "postgresql://alice:hunter3@127.0.0.1:1/shop?connect_timeout=2"
    response = admin_client.post(url, data)  # a new URL is checked by connecting: this one does not answer
    assert response.status_code == 200 and "did not answer" in response.content.decode()
    assert "hunter3" not in response.content.decode()
    repo.refresh_from_db()
    assert repo.dsn == dsn


def admin_change_data(repo, **changes):
    data = {"name": repo.name, "slug": repo.slug, "dsn": "", "description": repo.description,
            "default_branch": repo.default_branch, "console_role": repo.console_role, "console_password": "",
            "role_groups-TOTAL_FORMS": "4", "role_groups-INITIAL_FORMS": "4", "role_groups-MIN_NUM_FORMS": "0",
            "role_groups-MAX_NUM_FORMS": "0", "protections-TOTAL_FORMS": "0", "protections-INITIAL_FORMS": "0",
            "protections-MIN_NUM_FORMS": "0", "protections-MAX_NUM_FORMS": "1000"}
    for i, link in enumerate(repo.role_groups.order_by("repository", "role")):
        data[f"role_groups-{i}-id"] = str(link.pk)
        data[f"role_groups-{i}-repository"] = str(repo.pk)
    data.update(changes)
    return data


def test_admin_checks_the_console_role_and_never_shows_its_password(admin_client, repo, console_role, make_role):
    url = reverse("admin:branches_repository_change", args=[repo.pk])
    page = admin_client.get(url).content.decode()
    assert 'type="password" name="console_password"' in page and console_role[1] not in page
    boss = make_role(f"pggit_test_boss_{uuid.uuid4().hex[:8]}", "LOGIN SUPERUSER")  # roles are per server
    response = admin_client.post(url, admin_change_data(repo, console_role=boss))
    assert response.status_code == 200 and "SUPERUSER" in response.content.decode()
    repo.refresh_from_db()
    assert (repo.console_role, repo.console_password) == console_role  # unchanged
    # saved unchanged (empty password input): the stored password is kept
    assert admin_client.post(url, admin_change_data(repo, description="kept")).status_code == 302
    repo.refresh_from_db()
    assert (repo.console_role, repo.console_password, repo.description) == (*console_role, "kept")


def test_admin_refuses_a_url_reaching_the_apps_own_database(admin_client, repo):
    from django.conf import settings

    from pggit_web.dbconfig import database_url

    url = reverse("admin:branches_repository_change", args=[repo.pk])
    own = database_url(settings.DATABASES["default"]).replace("127.0.0.1", "localhost")
    response = admin_client.post(url, admin_change_data(repo, dsn=own))
    assert response.status_code == 200 and "pgGit&#x27;s own database" in response.content.decode()
    repo.refresh_from_db()
    assert "localhost" not in repo.dsn
