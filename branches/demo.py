"""The demo repository that ``manage.py runapp`` sets up on a fresh machine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import logging
import secrets

import psycopg
from django.db import connection

from branches.actions import protect_default_branch
from branches.engine import engine_client
from branches.models import Repository
from pggit import console
from pggit.console import MAX_ROLE_BYTES
from pggit_web.dbconfig import database_url, ensure_database

logger = logging.getLogger(__name__)

DEMO_REPOSITORY = "demo"
DEMO_DATABASE = "pggit_demo"
DEMO_DESCRIPTION = "A small shop schema, set up when the app first starts, to show pgGit at work."

# Run as plain DDL: the engine's event triggers capture each statement as a commit on HEAD.
DEMO_DDL = [
    """CREATE TABLE public.customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)""",
    """CREATE TABLE public.orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES public.customers (id),
    total numeric(12, 2) NOT NULL CONSTRAINT orders_total_not_negative CHECK (total >= 0),
    placed_at timestamptz NOT NULL DEFAULT now()
)""",
    "CREATE INDEX orders_customer_id_idx ON public.orders (customer_id)",
]
DEMO_BRANCH = "develop"


def ensure_demo_repository(
    name: str = DEMO_REPOSITORY,
    dbname: str = DEMO_DATABASE,
    server: Mapping[str, Any] | None = None,
) -> Repository:
    """Make sure the demo repository exists and return its Repository row.

    Creates database ``dbname`` on the same server as Django's own database (``server``, a
    DATABASES entry, defaults to the default connection's), installs or upgrades the engine in
    it, and, while the engine's history holds no more than its initial commit, creates a couple
    of tables (captured as commits) and a second branch. Its console role (``<dbname>_console``)
    owns schema public and the tables; the default branch of a new demo row is protected. Safe to
    run on every start.
    """
    server = server if server is not None else connection.settings_dict
    ensure_database(server, dbname)
    dsn = database_url(server, dbname)
    role, password = demo_console_role(dbname), secrets.token_urlsafe(24)
    with engine_client(dsn) as client:
        client.install()
        if len(client.log(limit=2)) <= 1:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for statement in DEMO_DDL:
                    conn.execute(statement)
            if DEMO_BRANCH not in {b["name"] for b in client.branches()}:
                client.create_branch(DEMO_BRANCH)
    # The console on the checked-out branch logs in as a role of its own (a fresh password on
    # every start, so it works whatever the server's authentication), owning schema public and
    # its tables so that it can change them.
    console.ensure_login_role(dsn, role, password)
    console.hand_over_schema(dsn, "public", role)
    try:
        console.prepare_role(dsn, role)
    except console.ConsoleRoleRefused as exc:  # someone gave it more rights: the app still starts
        logger.warning("%s; the demo's console on the checked-out branch is off", exc)
        role = password = ""
    repo, created = Repository.objects.update_or_create(
        name=name, defaults={"dsn": dsn, "description": DEMO_DESCRIPTION, "console_role": role,
                             "console_password": password}
    )
    if created:
        protect_default_branch(repo)
    return repo


def demo_console_role(dbname: str) -> str:
    """``<dbname>_console``: the demo database's console role (roles are per server)."""
    return dbname.encode()[:MAX_ROLE_BYTES - len("_console")].decode(errors="ignore") + "_console"
