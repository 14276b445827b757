"""Typed exceptions for the engine's SQLSTATEs (class PGG)."""

from __future__ import annotations

import psycopg


class PggitError(Exception):
    """An error reported by the pgGit engine."""

    sqlstate: str | None = None
    code = "pggit_error"

    def __init__(self, message: str, *, sqlstate: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if sqlstate:
            self.sqlstate = sqlstate


class RefNotFound(PggitError):
    sqlstate = "PGG01"
    code = "ref_not_found"


class AmbiguousRef(PggitError):
    sqlstate = "PGG02"
    code = "ambiguous_ref"


class BranchExists(PggitError):
    sqlstate = "PGG03"
    code = "branch_exists"


class InvalidName(PggitError):
    sqlstate = "PGG04"
    code = "invalid_name"


class BranchIsHead(PggitError):
    sqlstate = "PGG05"
    code = "branch_is_head"


class BranchNotMerged(PggitError):
    sqlstate = "PGG06"
    code = "branch_not_merged"


class AppendOnly(PggitError):
    sqlstate = "PGG20"
    code = "append_only"


class NotInstalled(PggitError):
    code = "not_installed"


_BY_SQLSTATE = {cls.sqlstate: cls for cls in PggitError.__subclasses__() if cls.sqlstate}


def translate(exc: psycopg.Error) -> Exception:
    """Map a psycopg error carrying an engine SQLSTATE to its typed exception."""
    diag = getattr(exc, "diag", None)
    sqlstate = getattr(exc, "sqlstate", None) or (diag.sqlstate if diag else None)
    cls = _BY_SQLSTATE.get(sqlstate or "")
    if cls is None:
        return exc
    message = (diag.message_primary if diag else None) or str(exc)
    return cls(message, sqlstate=sqlstate, hint=diag.message_hint if diag else None)
