"""Fixtures of the REST API's tests: the web tests' users and repository, an API client, tokens.

This folder has no __init__.py on purpose: as a package its name would be ``api``, the Django app's
(pytest's default import mode names a package after its folder). Its modules have names of their
own (``test_api_*``, ``api_support``) instead."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

# Users, the throwaway engine database and the repository with roles: the web tests' fixtures.
from web.conftest import (  # noqa: F401  (fixtures are found by name)
    PASSWORD,
    author,
    console_role,
    engine_db,
    make_role,
    make_user,
    maintainer,
    outsider,
    repo,
    reviewer,
    server,
    throwaway_db,
    throwaway_dbname,
    viewer,
)


@pytest.fixture
def api():
    """A DRF test client with no credentials."""
    return APIClient()


@pytest.fixture
def as_api():
    """``as_api(user)``: a client signed in as ``user`` (session); ``as_api(token=text)``: one that
    sends ``Authorization: Bearer text``."""

    def make(user=None, *, token: str | None = None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        if token is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def make_token():
    """``make_token(user, repos, role)``: a personal access token's text."""
    from api.tokens import create_token
    from branches.models import Role

    def make(user, repos, role=Role.MAINTAINER, expires_at=None, name="ci"):
        return create_token(user, name=name, repositories=list(repos), max_role=role, expires_at=expires_at)[1]

    return make
