"""The repository list and the dashboard, read from a real engine.

Every page needs a signed-in user; these tests sign in as a superuser (a maintainer of every
repository). Role checks per page are in test_branch_pages.py.
"""

import re

import psycopg
import pytest
from django.urls import reverse

from branches.models import Repository
from pggit_web.dbconfig import database_url

pytestmark = pytest.mark.django_db


def test_repository_list_links_every_repository(admin_client):
    Repository.objects.create(name="Shop", dsn="postgresql://u@h/shop", description="The shop schema")
    Repository.objects.create(name="Billing", dsn="postgresql://u@h/billing")
    response = admin_client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/repos/shop/"' in body and 'href="/repos/billing/"' in body
    assert "The shop schema" in body
    assert body.index("Billing") < body.index("Shop")  # ordered by name


def test_repository_list_without_repositories_says_how_to_add_one(admin_client):
    response = admin_client.get("/")
    assert response.status_code == 200
    assert "No repositories yet" in response.content.decode()
    assert 'href="/repos/new/"' in response.content.decode()


def test_repository_slug_defaults_to_the_slugified_name():
    repo = Repository.objects.create(name="My Shop DB", dsn="postgresql://u@h/shop")
    assert repo.slug == "my-shop-db"
    assert repo.get_absolute_url() == "/repos/my-shop-db/"


def test_dashboard_shows_branches_and_log_from_the_engine(admin_client, engine_db):
    from pggit.client import Client

    repo = Repository.objects.create(name="widgets", dsn=engine_db)
    engine = Client(engine_db)
    commits = engine.log(limit=20)
    heads = {b["name"]: b["head"] for b in engine.branches()}

    response = admin_client.get(reverse("branches:dashboard", kwargs={"slug": "widgets"}))

    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    assert dashboard.current_branch == "main"
    assert {b["name"] for b in dashboard.branches} == {"main", "feature-colors"}
    assert dashboard.branches[0]["name"] == "main" and dashboard.branches[0]["is_head"]
    messages = [c["message"] for c in dashboard.commits]
    assert any("CREATE TABLE public.widgets" in m for m in messages), messages
    assert any("ADD COLUMN weight_grams" in m for m in messages), messages
    assert messages.index(next(m for m in messages if "ADD COLUMN" in m)) < messages.index(
        next(m for m in messages if "CREATE TABLE" in m)
    )  # newest first

    body = response.content.decode()
    assert '<span class="branch head" id="current-branch">main</span>' in body
    assert "feature-colors" in body
    assert heads["feature-colors"][:12] in body
    for commit in commits:
        assert commit["commit_id"][:12] in body
    assert "ADD COLUMN weight_grams" in body


def test_dashboard_reflects_new_ddl_without_copying_it(admin_client, engine_db):
    repo = Repository.objects.create(name="widgets", dsn=engine_db)
    first = admin_client.get(repo.get_absolute_url()).context["dashboard"]
    with psycopg.connect(engine_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.gadgets (id integer PRIMARY KEY)")
    second = admin_client.get(repo.get_absolute_url()).context["dashboard"]
    assert len(second.commits) == len(first.commits) + 1
    assert "CREATE TABLE public.gadgets" in second.commits[0]["message"]


def test_dashboard_of_unknown_repository_is_404(admin_client):
    assert admin_client.get("/repos/no-such-repo/").status_code == 404


def test_dashboard_of_unreachable_database_is_503_with_the_reason(admin_client, server):
    missing = database_url(server, "pggit_webtest_does_not_exist")
    Repository.objects.create(name="gone", dsn=missing)
    response = admin_client.get("/repos/gone/")
    assert response.status_code == 503
    body = response.content.decode()
    assert "did not answer" in body
    assert "pggit_webtest_does_not_exist" in body


def test_dashboard_hides_the_password_of_the_connection_url(admin_client, server):
    Repository.objects.create(name="secret", dsn="postgresql://alice:hunter2@127.0.0.1:1/nothing?connect_timeout=1")
    response = admin_client.get("/repos/secret/")
    assert response.status_code == 503
    body = response.content.decode()
    assert "hunter2" not in body
    assert "alice:***@127.0.0.1:1/nothing" in body


def test_admin_lists_repositories(admin_client):
    Repository.objects.create(name="demo-admin", dsn="postgresql://u@h/d")
    response = admin_client.get("/admin/branches/repository/")
    assert response.status_code == 200
    assert "demo-admin" in response.content.decode()


def test_dashboard_of_database_without_the_engine_is_503_saying_so(admin_client, throwaway_db):
    Repository.objects.create(name="plain", dsn=throwaway_db)
    response = admin_client.get("/repos/plain/")
    assert response.status_code == 503
    # The client's NotInstalled message, or PostgreSQL's own for the missing schema.
    assert re.search(r'pgGit is not installed|schema (&quot;|")pggit(&quot;|") does not exist', response.content.decode())


def test_pages_need_sign_in(client):
    Repository.objects.create(name="Shop", dsn="postgresql://u@h/shop")
    for page in ("/", "/repos/shop/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={page}"


def test_repository_list_hides_repositories_of_others(client, django_user_model):
    Repository.objects.create(name="Shop", dsn="postgresql://u@h/shop")
    client.force_login(django_user_model.objects.create_user("nobody"))
    response = client.get("/")
    assert response.status_code == 200
    assert "Shop" not in response.content.decode()
    assert client.get("/repos/shop/").status_code == 404
