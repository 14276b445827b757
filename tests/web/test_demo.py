"""The demo repository that `python3 dev.py run` (manage.py runapp) sets up."""

import psycopg
import pytest

from branches.demo import DEMO_BRANCH, ensure_demo_repository
from branches.models import Repository
from pggit_web.dbconfig import database_url

pytestmark = pytest.mark.django_db


def tables(dsn):
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_demo_setup_creates_database_engine_history_and_repository(server, throwaway_dbname, db_exists):
    from pggit.client import Client

    assert not db_exists(throwaway_dbname)
    repo = ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)

    dsn = database_url(server, throwaway_dbname)
    assert db_exists(throwaway_dbname)
    assert Repository.objects.get(name="demo") == repo
    assert repo.slug == "demo" and repo.dsn == dsn
    assert tables(dsn) == ["customers", "orders"]
    engine = Client(dsn)
    assert engine.version()
    messages = [c["message"] for c in engine.log(limit=50)]
    assert sum("CREATE TABLE public.customers" in m for m in messages) == 1
    assert sum("CREATE TABLE public.orders" in m for m in messages) == 1
    assert {b["name"] for b in engine.branches()} == {"main", DEMO_BRANCH}
    assert engine.current_branch() == "main"


def test_demo_setup_twice_changes_nothing(server, throwaway_dbname):
    from pggit.client import Client

    first = ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)
    dsn = database_url(server, throwaway_dbname)
    log_before = Client(dsn).log(limit=50)

    second = ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)

    assert second.pk == first.pk
    assert Repository.objects.filter(name="demo").count() == 1
    assert Client(dsn).log(limit=50) == log_before
    assert tables(dsn) == ["customers", "orders"]


def test_demo_setup_updates_a_stale_repository_row(server, throwaway_dbname):
    Repository.objects.create(name="demo", dsn="postgresql://old@h/old", description="stale")
    repo = ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)
    repo.refresh_from_db()
    assert repo.dsn == database_url(server, throwaway_dbname)
    assert repo.description != "stale"


def test_dashboard_of_the_demo_repository_renders(admin_client, server, throwaway_dbname):
    ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)
    response = admin_client.get("/repos/demo/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "CREATE TABLE public.orders" in body
    assert DEMO_BRANCH in body
