"""Domain errors of the web app's actions, and the one place that maps engine errors to them.

Actions (``branches.actions``, ``merges.actions``) raise ``ActionError`` with a stable ``code``
and an HTTP ``status``; pages show ``message`` (and PostgreSQL's ``detail`` when there is one),
the REST API will serialize the same fields. Authorization failures stay Django's own
``Http404`` (outsider) and ``PermissionDenied`` (role too low).
"""

from __future__ import annotations

from contextlib import contextmanager

import psycopg

from pggit import errors as pe


class ActionError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 detail: str | None = None, identity: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.identity = identity
        if code:
            self.code = code
        if status:
            self.status = status

    def __str__(self):
        return self.message + (f"\n{self.detail}" if self.detail else "")


class NotFound(ActionError):
    status, code = 404, "not_found"


class Conflict(ActionError):
    status, code = 409, "conflict"


class DataLoss(Conflict):
    """A step would lose data (the engine refused it; it may be forced): ``losses`` are the
    engine's data-loss rows (identity, statement, reason), which pages show and name."""

    code = "data_loss_refused"

    def __init__(self, message: str, losses: list[dict]):
        super().__init__(message)
        self.losses = list(losses)

    @property
    def loses_data_in(self) -> list[str]:
        return sorted({row["identity"] for row in self.losses})


class Unavailable(ActionError):
    status, code = 503, "engine_unavailable"


class Rejected(ActionError):
    """PostgreSQL rejected SQL the user gave (console, custom resolution)."""

    status, code = 422, "rejected_by_postgresql"


_STATUS = {
    pe.RefNotFound: 404, pe.AmbiguousRef: 400, pe.BranchExists: 409, pe.InvalidName: 400, pe.BranchIsHead: 409,
    pe.BranchNotMerged: 409, pe.InvalidArgument: 400, pe.StaleHead: 409, pe.RevertConflict: 409,
    pe.DataLossRefused: 409, pe.WrongBranch: 409, pe.StateMismatch: 409, pe.AppendOnly: 409, pe.NoBranchData: 409,
    pe.NotInstalled: 503, pe.ShadowUnavailable: 503,
}


# Hints of the engine that name its functions or parameters (``p_force => true``,
# ``pggit.resolve_conflict``), in the words of the pages (None: the page offers the forced action
# itself, e.g. "Merge anyway, dropping ...").
_PAGE_HINTS = {
    pe.DataLossRefused: None,
    pe.BranchNotMerged: None,
    pe.StaleHead: "a branch moved or the merge was closed since it was opened: abort it and merge again",
}


def from_engine(exc: Exception) -> ActionError:
    """The ActionError for an engine, shadow or connection error."""
    if isinstance(exc, pe.ShadowReplayError):
        detail = "\n".join(p for p in (exc.pg_detail and f"DETAIL: {exc.pg_detail}",
                                       exc.hint and f"HINT: {exc.hint}") if p) or None
        return Rejected(exc.message, detail=detail, identity=exc.identity)
    if isinstance(exc, pe.WrongObject):  # said to the person who typed it, as PostgreSQL's refusals are
        return Rejected(exc.message, code=exc.code, identity=exc.identity)
    if isinstance(exc, pe.PggitError):
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        # (some hints name the engine's functions and parameters: pages say what to do instead)
        hint = next((words for cls, words in _PAGE_HINTS.items() if isinstance(exc, cls)), exc.hint)
        return ActionError(exc.message, code=exc.code, status=status, detail=hint and f"HINT: {hint}")
    if isinstance(exc, psycopg.OperationalError):
        return Unavailable(f"the repository's database did not answer: {str(exc).strip()}")
    if isinstance(exc, psycopg.Error):
        diag = exc.diag
        detail = "\n".join(p for p in (diag.message_detail and f"DETAIL: {diag.message_detail}",
                                       diag.message_hint and f"HINT: {diag.message_hint}") if p) or None
        return Rejected(diag.message_primary or str(exc).strip(), code="sql_error", detail=detail)
    raise TypeError(f"not an engine error: {exc!r}")


@contextmanager
def engine_errors():
    """Turn engine, shadow and connection errors raised inside into ActionError."""
    try:
        yield
    except (pe.PggitError, psycopg.Error) as exc:
        raise from_engine(exc) from exc


def refusal_message(exc: Exception) -> str:
    """What to tell someone whose action was refused (admin actions report it per object)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    if isinstance(exc, Http404):
        return "you have no role in this repository"
    if isinstance(exc, PermissionDenied):
        return str(exc) or "permission denied"
    return str(exc)
