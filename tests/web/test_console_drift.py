"""Drift is not absorbed silently (issue 14, item 9): SQL run in the console on the checked-out
branch while the live database differs from HEAD is refused unless the person says to record the
drift with it, and the page says what would be recorded."""

from __future__ import annotations

import psycopg
import pytest
from django.urls import reverse

from pggit.client import Client

pytestmark = pytest.mark.django_db

SNEAKY = 'sneaky "col" ü'


def console_url(repo) -> str:
    return reverse("branches:console", kwargs={"slug": repo.slug})


def make_drift(repo) -> None:
    """A change behind the engine's back: capture off for one transaction (the repository's own role may)."""
    with psycopg.connect(repo.dsn) as conn:
        conn.execute("SET LOCAL pggit.capture = off")
        conn.execute(f'ALTER TABLE public.widgets ADD COLUMN "{SNEAKY.replace(chr(34), chr(34) * 2)}" text')


def head_and_drift(repo) -> tuple[str, list[str]]:
    with Client(repo.dsn) as client:
        return client.resolve("main"), [d["identity"] for d in client.drift()]


def test_console_on_head_shows_the_drift_it_would_record(as_user, repo, maintainer):
    make_drift(repo)
    page = as_user(maintainer).get(console_url(repo), {"branch": "main"}).content.decode()
    assert 'id="drift-warning"' in page and "<code>table public.widgets</code>" in page
    assert "records its whole live definition, the drift included" in page
    assert 'name="with_drift"' in page
    assert reverse("branches:drift", kwargs={"slug": repo.slug}) in page


def test_console_without_drift_shows_no_drift_warning(as_user, repo, maintainer):
    page = as_user(maintainer).get(console_url(repo), {"branch": "main"}).content.decode()
    assert 'id="drift-warning"' not in page and 'name="with_drift"' not in page


def test_sql_on_head_with_drift_is_refused_and_nothing_runs(as_user, repo, maintainer):
    make_drift(repo)
    before, drift = head_and_drift(repo)
    sql = "ALTER TABLE public.widgets ADD COLUMN color text -- it's \"mine\""
    response = as_user(maintainer).post(console_url(repo), {"branch": "main", "sql": sql})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="drift-refused"' in page and "table public.widgets (modified)" in page
    assert "ADD COLUMN color text -- it&#x27;s &quot;mine&quot;</textarea>" in page  # the SQL is kept
    assert head_and_drift(repo) == (before, drift)  # no commit, drift as it was
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT to_regclass('public.widgets')::text").fetchone()[0]
        columns = [r[0] for r in conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = "
                                              "'public.widgets'::regclass AND attnum > 0").fetchall()]
    assert "color" not in columns


def test_sql_on_head_with_drift_confirmed_records_it_and_says_so_in_the_message(as_user, repo, maintainer):
    make_drift(repo)
    before, _ = head_and_drift(repo)
    response = as_user(maintainer).post(console_url(repo), {
        "branch": "main", "sql": "ALTER TABLE public.widgets ADD COLUMN color text", "with_drift": "on"})
    assert response.status_code == 302
    after, drift = head_and_drift(repo)
    assert after != before and drift == []  # the statement touched the drifted table: recorded with it
    with Client(repo.dsn) as client:
        commit = client.log("main", 1)[0]
        widgets = next(o for o in client.tree("main") if o["identity"] == "table public.widgets")
    assert "Live-drift: table public.widgets (modified)" in commit["message"]
    assert "Applied-by: mia_maintainer" in commit["message"]
    assert '"sneaky ""col"" ü" text' in widgets["definition"] and "color text" in widgets["definition"]


def test_sql_on_a_branch_that_is_not_checked_out_is_not_held_up_by_live_drift(as_user, repo, author):
    make_drift(repo)
    response = as_user(author).post(console_url(repo), {"branch": "feature-colors",
                                                        "sql": "CREATE TABLE public.colors (name text)"})
    assert response.status_code == 302
    with Client(repo.dsn) as client:
        assert "table public.colors" in {o["identity"] for o in client.tree("feature-colors")}
        assert [d["identity"] for d in client.drift()] == ["table public.widgets"]  # untouched


def test_drift_refusal_does_not_let_a_developer_past_the_role_check(as_user, repo, author):
    make_drift(repo)
    response = as_user(author).post(console_url(repo), {"branch": "main", "with_drift": "on",
                                                        "sql": "ALTER TABLE public.widgets ADD COLUMN color text"})
    assert response.status_code == 403
    assert head_and_drift(repo)[1] == ["table public.widgets"]


def test_outsider_gets_404_on_the_console(as_user, repo, outsider):
    make_drift(repo)
    assert as_user(outsider).get(console_url(repo), {"branch": "main"}).status_code == 404
    assert as_user(outsider).post(console_url(repo), {"branch": "main", "with_drift": "on",
                                                      "sql": "DROP TABLE public.widgets"}).status_code == 404
