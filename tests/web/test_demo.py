"""The demo repository that `python3 dev.py run` (manage.py runapp) sets up."""

import psycopg
import pytest

from branches.demo import DEMO_BRANCH, demo_console_role, ensure_demo_repository
from branches.models import Repository
from pggit_web.dbconfig import database_url
from web.conftest import drop_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_role_dropped(server, throwaway_dbname):
    """The demo's console role is per server: dropped after each test."""
    yield
    drop_role(server, demo_console_role(throwaway_dbname))


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


def test_demo_console_on_head_runs_as_its_own_role_and_changes_the_demo_tables(server, throwaway_dbname, admin_user):
    from branches.actions import apply_sql
    from branches.models import BranchProtection, Role
    from pggit.client import Client

    repo = ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)
    repo.refresh_from_db()
    dsn = database_url(server, throwaway_dbname)
    assert repo.console_role == demo_console_role(throwaway_dbname) and repo.console_password
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT rolsuper OR rolcreaterole OR rolcreatedb, rolcanlogin FROM pg_roles "
                            "WHERE rolname = %s", [repo.console_role]).fetchone() == (False, True)
    rule = BranchProtection.objects.get(repository=repo, pattern="main")
    assert (rule.required_approvals, rule.allow_self_approval, rule.merge_role) == (1, False, Role.MAINTAINER)

    commit = apply_sql(admin_user, repo, "main", "ALTER TABLE public.customers ADD COLUMN phone text;\n"
                                                "CREATE TABLE public.notes (body text)", "Phones and notes")
    with Client(dsn) as engine:
        head = engine.log("main", 1)[0]
    assert commit == head["commit_id"] and head["committer"] == repo.console_role  # the role that ran it
    assert head["author"] == admin_user.get_username()  # for the person
    assert head["message"].startswith("Phones and notes")
    assert tables(dsn) == ["customers", "notes", "orders"]
    # a second start keeps it working (a new password is set and stored)
    ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)
    repo.refresh_from_db()
    assert apply_sql(admin_user, repo, "main", "DROP TABLE public.notes") is not None
    assert tables(dsn) == ["customers", "orders"]


def test_a_demo_console_role_given_superuser_is_not_used(server, throwaway_dbname):
    from psycopg import sql

    ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)
    role = demo_console_role(throwaway_dbname)
    with psycopg.connect(database_url(server, throwaway_dbname), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} SUPERUSER").format(sql.Identifier(role)))
    repo = ensure_demo_repository(name="demo", dbname=throwaway_dbname, server=server)  # still starts
    repo.refresh_from_db()
    assert (repo.console_role, repo.console_password) == ("", "")
