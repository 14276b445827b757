"""The SQL console on a branch that is not checked out, tried as an attacker with the developer
role would (issue: least privilege). The repository's DSN is a superuser; the SQL still runs in
the shadow database as its unprivileged role, and PostgreSQL's permission error is shown."""

from __future__ import annotations

import os
import re
import uuid

import psycopg
import pytest
from django.urls import reverse

from pggit.client import Client

ATTACKS = [
    ("COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "pg_execute_server_program"),
    ("SELECT pg_read_file('/etc/passwd')", "permission denied for function pg_read_file"),
    ('CREATE ROLE "{role}" SUPERUSER LOGIN', "superuser|permission denied to create role"),
    ("CREATE EXTENSION IF NOT EXISTS dblink", "dblink"),
    ("SELECT set_config('pggit.dropped', 'D1259/1', true); DELETE FROM pggit.audit_log", "pggit"),
]


@pytest.mark.parametrize("attack,expected", ATTACKS)
def test_console_on_a_branch_runs_as_the_shadow_role(as_user, repo, author, attack, expected):
    marker = f"/tmp/pggit_web_attack_{uuid.uuid4().hex}"
    role = f"pggit_t_web_evil_{uuid.uuid4().hex[:8]}"
    with Client(repo.dsn) as engine:
        head_before = engine.resolve("feature-colors")
        audit_before = engine._value("SELECT count(*) FROM pggit.audit_log")
    text = attack.format(marker=marker, role=role)
    response = as_user(author).post(reverse("branches:console", kwargs={"slug": repo.slug}),
                                    {"branch": "feature-colors", "sql": f"CREATE TABLE public.harmless (x int); {text}"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="apply-error"' in page and re.search(expected, page, re.IGNORECASE)
    assert not os.path.exists(marker)
    with Client(repo.dsn) as engine:
        assert engine.resolve("feature-colors") == head_before
        assert engine._value("SELECT count(*) FROM pggit.audit_log") >= audit_before
        assert "table public.harmless" not in {o["identity"] for o in engine.tree("feature-colors")}
    with psycopg.connect(repo.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,)).fetchone()[0] == 0
        assert conn.execute("SELECT to_regclass('public.harmless')").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'dblink'").fetchone()[0] == 0
