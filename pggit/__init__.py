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
    DataLossRefused,
    InvalidArgument,
    InvalidName,
    NotInstalled,
    PggitError,
    RefNotFound,
    RevertConflict,
    ShadowReplayError,
    ShadowUnavailable,
    StaleHead,
    StateMismatch,
    WrongBranch,
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
    "InvalidArgument",
    "StaleHead",
    "RevertConflict",
    "DataLossRefused",
    "WrongBranch",
    "StateMismatch",
    "ShadowReplayError",
    "ShadowUnavailable",
]
