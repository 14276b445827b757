"""Reading a repository's state from its engine, for pages.

Everything here goes through ``pggit.client.Client`` on the repository's own database; nothing
is cached in Django's tables.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

from branches.models import Repository


class EngineUnavailable(Exception):
    """The repository's database cannot be reached or does not answer like a pgGit engine."""


@dataclass
class Dashboard:
    current_branch: str
    branches: list[dict] = field(default_factory=list)
    commits: list[dict] = field(default_factory=list)


@contextmanager
def engine_client(dsn: str):
    """A ``pggit.client.Client`` for ``dsn``, closed afterwards.

    Connection errors, SQL errors and the engine's own errors (e.g. not installed) become
    EngineUnavailable, so that pages can say why instead of failing with a 500.
    """
    from pggit.client import Client
    from pggit.errors import PggitError

    client = Client(dsn)
    try:
        yield client
    except (psycopg.Error, PggitError) as e:
        raise EngineUnavailable(str(e).strip() or e.__class__.__name__) from e
    finally:
        client.close()


def read_dashboard(repo: Repository, log_limit: int = 20) -> Dashboard:
    """The current branch, every branch and the newest ``log_limit`` commits on HEAD."""
    with engine_client(repo.dsn) as client:
        return Dashboard(
            current_branch=client.current_branch(),
            branches=sorted(client.branches(), key=lambda b: (not b["is_head"], b["name"])),
            commits=client.log(limit=log_limit),
        )
