"""Fixtures shared by the engine tests (the servers and scratch databases are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from pggit import Client


@pytest.fixture
def repo(pg_server, make_db):
    """A fresh database with the engine installed: (server, dbname, client). A shadow database
    the client made is dropped at teardown."""
    db = make_db()
    client = Client(pg_server.dsn_for(db))
    client.install()
    yield pg_server, db, client
    if client._shadow is not None:
        client.drop_shadow()
    client.close()
