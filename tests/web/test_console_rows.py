"""The console shows a query's rows (issue 14, item 10): on the checked-out branch read on the live
database as the console role, on other branches in the shadow (the branch's schema, no data) as
the shadow role; the first 100 with the count; the branch picker starts on HEAD."""

from __future__ import annotations

import re

import psycopg
import pytest
from django.urls import reverse

from pggit.client import Client

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


def console_url(repo) -> str:
    return reverse("branches:console", kwargs={"slug": repo.slug})


def live(repo, statement: str, params=None) -> None:
    with psycopg.connect(repo.dsn, autocommit=True) as conn:
        conn.execute(statement, params)


def head(repo) -> str:
    with Client(repo.dsn) as client:
        return client.resolve("main")


def test_branch_picker_defaults_to_head(as_user, repo, author):
    page = as_user(author).get(console_url(repo)).content.decode()
    assert re.search(r'<option value="main" selected>main \(HEAD, live database\)</option>', page)
    assert '<option value="feature-colors">' in page


def test_select_on_head_shows_the_rows_as_the_console_role_and_commits_nothing(as_user, repo, maintainer, console_role):
    live(repo, "INSERT INTO public.widgets (id, label) VALUES (1, %s), (2, 'it''s \"quoted\" ü'), (3, 'plain')",
         (SCRIPT,))
    before = head(repo)
    sql = 'SELECT id, label, weight_grams AS "gr""ams", current_user AS who FROM public.widgets ORDER BY id'
    response = as_user(maintainer).post(console_url(repo), {"branch": "main", "sql": sql})
    assert response.status_code == 200
    page = response.content.decode()
    section = page[page.index('<section id="rows">'):]
    assert "<h2>3 rows" in section and "first" not in section.split("</h2>")[0]
    assert "<th>gr&quot;ams</th>" in section and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert SCRIPT not in page and "it&#x27;s &quot;quoted&quot; ü" in section
    assert section.count('class="muted null">NULL<') == 3
    assert f"<td>{console_role[0]}</td>" in section  # read as the console role, not the repository's
    assert "SELECT id, label" in page.split('<section id="rows">')[0]  # the SQL stays in the form
    assert head(repo) == before


def test_long_result_shows_the_first_100_rows_and_the_count(as_user, repo, maintainer):
    response = as_user(maintainer).post(console_url(repo), {"branch": "main",
                                                            "sql": "SELECT g FROM generate_series(1, 250) g"})
    section = response.content.decode().split('<section id="rows">')[1]
    assert "250 rows" in section and "(the first 100 shown)" in section
    assert section.count("<tr>") == 101 and "<td>100</td>" in section and "<td>101</td>" not in section


def test_console_role_cannot_read_the_engine_or_tables_it_was_not_given(as_user, repo, maintainer):
    live(repo, "CREATE TABLE public.secrets (value text)")
    live(repo, "INSERT INTO public.secrets VALUES ('hunter2')")
    web = as_user(maintainer)
    for sql in ("SELECT * FROM public.secrets", "SELECT author, message FROM pggit.commits",
                "SELECT * FROM pg_catalog.pg_authid"):
        response = web.post(console_url(repo), {"branch": "main", "sql": sql})
        assert response.status_code == 422, sql
        page = response.content.decode()
        assert "permission denied" in page and 'id="rows"' not in page
        assert "hunter2" not in page


def test_select_on_another_branch_reads_the_shadow_without_live_data(as_user, repo, author):
    live(repo, "INSERT INTO public.widgets (id, label) VALUES (1, 'live only')")
    before = Client(repo.dsn).resolve("feature-colors")
    response = as_user(author).post(console_url(repo), {
        "branch": "feature-colors",
        "sql": "SELECT count(*) AS n, current_user AS who, current_database() AS db FROM public.widgets"})
    assert response.status_code == 200
    section = response.content.decode().split('<section id="rows">')[1]
    assert "1 row" in section and "<td>0</td>" in section and "live only" not in section
    who = re.findall(r"<td>([^<]*)</td>", section)[1:3]
    assert who[0].startswith("pggit_sh"), who  # the shadow's own role, not the repository's
    assert "shadow" in who[1] and who[1] != repo.dsn.rsplit("/", 1)[-1], who  # in the shadow database
    assert Client(repo.dsn).resolve("feature-colors") == before


def test_ddl_and_select_together_commit_and_show_the_rows(as_user, repo, author):
    response = as_user(author).post(console_url(repo), {
        "branch": "feature-colors",
        "sql": "CREATE TABLE public.colors (name text); INSERT INTO public.colors VALUES ('red'); "
               "SELECT name FROM public.colors"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<td>red</td>" in page and "Committed " in page
    with Client(repo.dsn) as client:
        assert "table public.colors" in {o["identity"] for o in client.tree("feature-colors")}


def test_viewer_may_not_run_a_select_and_outsider_gets_404(as_user, repo, viewer, outsider):
    assert as_user(viewer).post(console_url(repo), {"branch": "feature-colors", "sql": "SELECT 1"}).status_code == 403
    assert as_user(outsider).post(console_url(repo), {"branch": "main", "sql": "SELECT 1"}).status_code == 404
