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
    assert commit["author"] == "mia_maintainer"  # the person; the console role is the committer
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


# the drift page: record it as a commit, or undo it ------------------------------------------------

def test_a_maintainer_records_the_drift_as_its_own_commit(as_user, repo, maintainer):
    make_drift(repo)
    head, drifted = head_and_drift(repo)
    assert drifted == ["table public.widgets"]
    page = as_user(maintainer)
    assert 'id="drift-actions"' in page.get(reverse("branches:drift", kwargs={"slug": repo.slug})).content.decode()
    response = page.post(reverse("branches:drift_record", kwargs={"slug": repo.slug}), {"message": "Column made by hand"})
    assert response.status_code == 302
    with Client(repo.dsn) as client:
        top = client.log("main", 1)[0]
        assert top["parent_ids"] == [head] and top["message"] == "Column made by hand"
        assert (top["author"], top["committer"]) == (maintainer.get_username(), client._value("SELECT current_user"))
        assert [c["identity"] for c in client.show(top["commit_id"])] == ["table public.widgets"]
        assert client.drift() == []


def test_a_maintainer_undoes_the_drift_and_data_loss_is_asked_first(as_user, repo, maintainer):
    make_drift(repo)
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute(f'INSERT INTO public.widgets (id, label, "{SNEAKY.replace(chr(34), chr(34) * 2)}") VALUES (7, \'w\', \'x\')')
    head, _ = head_and_drift(repo)
    page = as_user(maintainer)
    url = reverse("branches:drift_discard", kwargs={"slug": repo.slug})
    refused = page.post(url)
    assert refused.status_code == 409 and "Undo anyway" in refused.content.decode()
    assert "column" in refused.content.decode().split('id="data-loss"')[1].split("</ul>")[0]  # the engine's own lossy step
    assert head_and_drift(repo) == (head, ["table public.widgets"])  # nothing undone, nothing recorded
    assert page.post(url, {"force": "1"}).status_code == 302
    assert head_and_drift(repo) == (head, [])
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'widgets' "
                            "AND column_name = %s", (SNEAKY,)).fetchone() == (0,)
        assert conn.execute("SELECT label FROM public.widgets WHERE id = 7").fetchone() == ("w",)


def test_only_maintainers_record_or_undo_drift_in_pages_and_api(as_user, repo, author, outsider, maintainer):
    make_drift(repo)
    for name in ("drift_record", "drift_discard"):
        assert as_user(author).post(reverse(f"branches:{name}", kwargs={"slug": repo.slug})).status_code == 403
        assert as_user(outsider).post(reverse(f"branches:{name}", kwargs={"slug": repo.slug})).status_code == 404
        assert as_user(author).post(reverse(f"api:{name}", args=[repo.slug]), {}, content_type="application/json").status_code == 403
    assert head_and_drift(repo)[1] == ["table public.widgets"]
    response = as_user(maintainer).post(reverse("api:drift_record", args=[repo.slug]), {"message": "via the API"},
                                        content_type="application/json")
    assert response.status_code == 200 and response.json()["commit"]
    again = as_user(maintainer).post(reverse("api:drift_discard", args=[repo.slug]), {}, content_type="application/json")
    assert again.status_code == 200 and again.json() == {"head": None}  # nothing left to undo
