"""pgGit: Git-like version control for PostgreSQL schemas.

The engine is PL/pgSQL in schema ``pggit`` (sources in ``sql/src``); this package installs it,
calls it, and offers a command-line interface (``python -m pggit``).
"""

from .client import Client
from .errors import (
    AmbiguousRef,
    AppendOnly,
    BranchExists,
    BranchIsHead,
    BranchNotMerged,
    InvalidName,
    NotInstalled,
    PggitError,
    RefNotFound,
)

__all__ = [
    "Client",
    "PggitError",
    "RefNotFound",
    "AmbiguousRef",
    "BranchExists",
    "InvalidName",
    "BranchIsHead",
    "BranchNotMerged",
    "AppendOnly",
    "NotInstalled",
]
