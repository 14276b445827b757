"""Shared fixtures for the PostgreSQL servers under test (Django-free).

``pg_server`` is parametrized over every server under test (ids ``pg15``, ``pg18``, ... from the
server's major version): always the embedded PostgreSQL 18 (data directory from
``PGGIT_TEST_EMBEDDED_DIR``, default ``/tmp/pggit-test-pg18``), plus the server named by
``PGGIT_TEST_DSN`` or ``DATABASE_URL`` when set. Servers are started/contacted only when a
collected test asks for ``pg_server``, so Django-only runs never touch them.

``make_db()`` creates a fresh, uniquely named database (``pggit_t_<hex>``) on that server and
drops it at teardown. Helpers (``dump_schema``, ``assert_same_dump``, ...) live in
``tests/pgtools.py``; the server object also offers them as methods.
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
