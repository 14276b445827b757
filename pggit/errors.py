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


class InvalidArgument(PggitError):
    """Invalid strategy, resolution or custom definition."""

    sqlstate = "PGG07"
    code = "invalid_argument"


class WrongObject(InvalidArgument):
    """A custom resolution's text creates another object than the one it resolves, or more than
    it: ``identity`` is the object resolved, ``created`` what the text created (the same SQLSTATE
    as any invalid custom definition)."""

    code = "resolution_wrong_object"

    def __init__(self, identity: str, created: list[str], extra: list[str] | None = None):
        self.identity, self.created, self.extra = identity, list(created), list(extra or [])
        if self.extra:
            message = (f"The text creates {', '.join(self.extra)} besides {identity}: "
                       "a resolution holds one object.")
        elif self.created:
            message = (f"The text creates {', '.join(self.created)}, not {identity}: "
                       "a resolution must create the object it resolves.")
        else:
            message = f"The text creates no object: a resolution must create {identity}."
        super().__init__(message, sqlstate="PGG07")


class StaleHead(PggitError):
    """The merge is not open, or a branch head moved since it was read (abort and retry)."""

    sqlstate = "PGG08"
    code = "stale_head"


MergeNotOpen = StaleHead  # same SQLSTATE: the engine does not tell the two apart


class RevertConflict(PggitError):
    """A revert conflicts with later changes of the same objects."""

    sqlstate = "PGG09"
    code = "revert_conflict"


class DataLossRefused(PggitError):
    """Migrating the live schema would lose data (use force)."""

    sqlstate = "PGG10"
    code = "data_loss_refused"


class WrongBranch(PggitError):
    """Not allowed on HEAD's branch, or on a branch that is not HEAD."""

    sqlstate = "PGG11"
    code = "wrong_branch"


class StateMismatch(PggitError):
    """The live schema did not reach the target state; everything was rolled back."""

    sqlstate = "PGG12"
    code = "state_mismatch"


class NoBranchData(PggitError):
    """The branch carries no data (a data branch operation on a schema-only branch), or a data
    operation between two refs it cannot compare."""

    sqlstate = "PGG13"
    code = "no_branch_data"


class AppendOnly(PggitError):
    sqlstate = "PGG20"
    code = "append_only"


class NotInstalled(PggitError):
    code = "not_installed"


class ShadowUnavailable(PggitError):
    """The shadow database cannot be created or used (CREATEDB or superuser missing)."""

    code = "shadow_unavailable"


class ShadowReplayError(PggitError):
    """PostgreSQL rejected a statement in the shadow database: a step of a replayed state
    (``step``, ``identity``, ``statement``) or SQL given by the user (``statement``).

    ``message`` is PostgreSQL's own message; ``pg_sqlstate``, ``pg_detail`` and ``pg_hint`` are
    PostgreSQL's too (``sqlstate`` stays None: this is not an engine error).
    """

    code = "shadow_replay_error"

    def __init__(self, message: str, *, pg_sqlstate: str | None = None, pg_detail: str | None = None,
                 pg_hint: str | None = None, step: int | None = None, identity: str | None = None,
                 statement: str | None = None):
        super().__init__(message, hint=pg_hint)
        self.pg_sqlstate = pg_sqlstate
        self.pg_detail = pg_detail
        self.step = step
        self.identity = identity
        self.statement = statement

    def __str__(self) -> str:
        where = f" (step {self.step}, {self.identity})" if self.identity else ""
        text = f"{self.message}{where}"
        if self.pg_detail:
            text += f"\nDETAIL: {self.pg_detail}"
        if self.statement and self.identity:
            text += f"\nstatement: {self.statement}"
        return text


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
