"""Shared fixtures for the PostgreSQL servers under test (Django-free).

``pg_server`` is parametrized over every server under test (ids ``pg15``, ``pg18``, ... from the
server's major version): always the embedded PostgreSQL 18 (data directory from
``PGGIT_TEST_EMBEDDED_DIR``, default ``/tmp/pggit-test-pg18``), plus the server named by
``PGGIT_TEST_DSN`` or ``DATABASE_URL`` when set. Servers are started/contacted only when a
collected test asks for ``pg_server``, so Django-only runs never touch them.

``make_db()`` creates a fresh, uniquely named database (``pggit_t_<hex>``) on that server and
drops it at teardown. Helpers (``dump_schema``, ``assert_same_dump``, ...) live in
``tests/pgtools.py``; the server object also offers them as methods.

Parallel runs (pytest-xdist, ``python3 dev.py test`` runs on several workers; pytest.ini sets
``--dist loadgroup``): every worker has databases of its own. pytest-django suffixes Django's
test database per worker (``test_<name>_gw0``, ...); the databases and roles the tests make have
random names (``pggit_t_gw0_<hex>``, their shadows and shadow roles derive from those); the
embedded server is shared (started once, under an inter-process lock); the live server of the
browser tests listens on a free port. Tests that share a module-scoped fixture that is costly to
build (``SHARED_MODULE_FIXTURES``) are kept on one worker per module and server, so that it is
built once rather than once per worker.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _TESTS_DIR.parent
# ``pgtools`` is importable from every test module whatever pytest's import mode, and the
# ``pggit`` package (for ``pggit.embedded`` and the client) without installing the project.
for _p in (str(_TESTS_DIR), str(_REPO_ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import pgtools  # noqa: E402


# Module-scoped fixtures that take seconds to build: the tests using one run on a single worker
# (one xdist group per module and server), which builds it once.
SHARED_MODULE_FIXTURES = {"history"}  # tests/engine/test_replay.py: a live database taken through every step


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        shared = sorted(SHARED_MODULE_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        if not shared:
            continue
        callspec = getattr(item, "callspec", None)
        server = getattr(callspec.params.get("pg_server"), "id", "") if callspec is not None else ""
        module = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(f"{module}:{'+'.join(shared)}:{server}"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database (one per xdist worker, ``test_<name>_gwN``), less the tables
    of swapped-out models. A third-party migration that does not declare its model swappable
    (django-rest-knox 5.1.0's AuthToken, swapped for api.PersonalAccessToken by KNOX_TOKEN_MODEL)
    still creates its table; the flush after every transactional test (live server, browser
    tests) leaves it out as the model is swapped, and TRUNCATE auth_user then fails on its
    foreign key. Nothing uses such a table."""
    from django.apps import apps
    from django.db import connections

    swapped = {m._meta.db_table for m in apps.get_models(include_swapped=True) if m._meta.swapped}
    with django_db_blocker.unblock():
        for connection in connections.all():
            stale = swapped.intersection(connection.introspection.table_names())
            with connection.cursor() as cursor:
                for table in sorted(stale):
                    cursor.execute(f"DROP TABLE {connection.ops.quote_name(table)} CASCADE")
    yield


def pytest_generate_tests(metafunc):
    if "pg_server" in metafunc.fixturenames:
        servers = pgtools.discover_servers()
        metafunc.parametrize("pg_server", servers, ids=[s.id for s in servers], indirect=True, scope="session")


@pytest.fixture(scope="session")
def pg_server(request) -> pgtools.PgServer:
    """One server under test (see the module docstring); parametrized by pytest_generate_tests."""
    return request.param


@pytest.fixture
def make_db(pg_server):
    """Factory: ``make_db()`` returns the name of a fresh empty database on ``pg_server``;
    every database it made is dropped (WITH (FORCE)) at teardown."""
    made: list[str] = []

    def factory() -> str:
        name = pgtools.create_database(pg_server)
        made.append(name)
        return name

    yield factory
    for name in made:
        pgtools.drop_database(pg_server, name)


@pytest.fixture
def dump_schema():
    """``dump_schema(server, dbname) -> str``: normalized schema-only dump (see pgtools)."""
    return pgtools.dump_schema
