"""The API's one error body, and the one place that maps every error to it.

    {"error": {"code": "stale_head", "message": "...", "detail": {...}}}

``code`` is stable: the code of the domain error (``pggit_web.errors.ActionError`` and its
subclasses, which carry the engine's codes: ``data_loss_refused``, ``stale_head``,
``branch_exists``...), DRF's code for a protocol error (``not_authenticated``, ``parse_error``,
``throttled``...), or one of the few below. The HTTP status is the one the pages use for the same
error. ``detail`` is an object: field errors of a request that did not validate, PostgreSQL's
DETAIL/HINT, the engine's SQLSTATE, the object concerned.
"""

from __future__ import annotations

import logging

import psycopg
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, JsonResponse
from django.urls import resolve
from django.contrib.auth.decorators import login_not_required
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from branches.engine import EngineUnavailable
from pggit import errors as pe
from pggit_web.errors import ActionError, from_engine

log = logging.getLogger(__name__)


def body(code: str, message: str, detail: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "detail": detail or {}}}


def _action_error(exc: ActionError) -> tuple[int, dict]:
    detail = {}
    if exc.detail:
        detail["postgresql"] = exc.detail
    if exc.identity:
        detail["identity"] = exc.identity
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pg_sqlstate", None)
    if sqlstate is None and isinstance(cause, psycopg.Error):
        sqlstate = cause.sqlstate
    if sqlstate:
        detail["sqlstate"] = sqlstate
    return exc.status, body(exc.code, exc.message, detail)


def _drf_error(exc: drf.APIException) -> tuple[int, dict]:
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return exc.status_code, body("invalid", "the request is not valid: see detail", detail)
    code = exc.get_codes()
    if not isinstance(code, str):  # simplejwt's InvalidToken carries a dict
        code = exc.default_code
    detail = {}
    if isinstance(exc.detail, dict):
        detail = {k: v for k, v in exc.detail.items() if k != "detail"}
        message = str(exc.detail.get("detail", exc.default_detail))
    else:
        message = str(exc.detail)
    if isinstance(exc, drf.Throttled) and exc.wait is not None:
        detail["retry_after_seconds"] = int(exc.wait)
    return exc.status_code, body(code, message, detail)


def describe(exc: Exception) -> tuple[int, dict] | None:
    """(status, body) for an error the API reports, None for one it does not know (a 500)."""
    if isinstance(exc, ActionError):
        return _action_error(exc)
    if isinstance(exc, (pe.PggitError, psycopg.Error)):
        translated = from_engine(exc)
        translated.__cause__ = exc
        return _action_error(translated)
    if isinstance(exc, EngineUnavailable):
        return 503, body("engine_unavailable", f"the repository's engine did not answer: {exc}")
    if isinstance(exc, Http404):
        return 404, body("not_found", str(exc) or "not found")
    if isinstance(exc, DjangoPermissionDenied):
        return 403, body("permission_denied", str(exc) or "permission denied")
    if isinstance(exc, RequestDataTooBig):
        return 413, body("request_too_large", "the request body is larger than the API accepts")
    if isinstance(exc, TooManyFieldsSent):
        return 400, body("too_many_fields", str(exc))
    if isinstance(exc, SuspiciousOperation):
        return 400, body("bad_request", "the request was refused")
    if isinstance(exc, drf.APIException):
        return _drf_error(exc)
    return None


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]."""
    described = describe(exc)
    if described is None:
        return None  # a bug: Django's 500
    status, data = described
    headers = {}
    if isinstance(exc, drf.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))
    set_rollback()
    return Response(data, status=status, headers=headers)


@login_not_required  # and not a redirect to the sign-in page
@csrf_exempt  # a POST to an unknown address is a 404 with the error body, not Django's CSRF page
def not_found(request, *args, **kwargs):
    """Any address under /api/ that no endpoint has."""
    return JsonResponse(body("not_found", f"no endpoint at {request.path}"), status=404)


@login_not_required  # the endpoint it names authenticates
@csrf_exempt  # (as DRF's views are: DRF enforces CSRF itself for session authentication)
def repos_alias(request, rest: str):
    """/api/v1/repos/<slug>/... is /api/v1/repositories/<slug>/... (the spelling the issues and
    some clients use): the same endpoint answers, with the same checks."""
    match = resolve(f"/api/v1/repositories/{rest}")
    return match.func(request, *match.args, **match.kwargs)
