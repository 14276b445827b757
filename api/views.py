"""The API's own endpoints: personal access tokens, JWT, health, and the schema's pages."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.views.decorators.csp import csp_override
from django.utils.csp import CSP
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView

from api import tokens
from api.pagination import CreatedCursorPagination
from api.serializers import LoginTokenObtainSerializer, TokenCreatedSerializer, TokenCreateSerializer, TokenSerializer
from branches import reads
from branches.access import visible_repositories
from branches.models import Role


# personal access tokens ---------------------------------------------------------------------------

class TokenList(APIView):
    pagination_class = CreatedCursorPagination

    @extend_schema(responses=TokenSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tokens.user_tokens(request.user), request, view=self)
        return paginator.get_paginated_response(TokenSerializer(page, many=True).data)

    @extend_schema(request=TokenCreateSerializer, responses={201: TokenCreatedSerializer})
    def post(self, request):
        tokens.check_can_manage_tokens(request.user)
        serializer = TokenCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token, text = tokens.create_token(request.user, name=data["name"], repositories=data["repositories"],
                                          max_role={r.label: r for r in Role}[data["max_role"]],
                                          expires_at=data["expires_at"])
        token.token = text
        return Response(TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetail(APIView):
    @extend_schema(responses=TokenSerializer)
    def get(self, request, token_id):
        token = tokens.user_tokens(request.user).filter(token_key=token_id).first()
        if token is None:
            from pggit_web.errors import NotFound

            raise NotFound(f"you have no token {token_id!r}", code="token_not_found")
        return Response(TokenSerializer(token).data)

    @extend_schema(responses={204: None})
    def delete(self, request, token_id):
        tokens.revoke_token(request.user, token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# JWT ------------------------------------------------------------------------------------------------

class LoginTokenObtainView(TokenObtainPairView):
    """A JWT access token (short-lived) and refresh token for a user name or email and password."""

    serializer_class = LoginTokenObtainSerializer


# health ---------------------------------------------------------------------------------------------

class Health(APIView):
    """The process answers (no authentication, nothing else is checked)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(responses=inline_serializer("Health", {"status": serializers.CharField()}))
    def get(self, request):
        return Response({"status": "ok"})


def _timed(check):
    start = time.monotonic()
    result = check()
    result["ms"] = round((time.monotonic() - start) * 1000, 1)
    return result


def _app_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # the report says what failed instead of failing itself
        return {"ok": False, "error": str(exc).strip()}


def _redis() -> dict:
    from django.core.cache import cache

    try:
        cache.set("pggit:health", "1", 10)
        return {"ok": cache.get("pggit:health") == "1"}
    except Exception as exc:
        return {"ok": False, "error": str(exc).strip()}


def _repository(repo) -> dict:
    reach = reads.check_reachable(repo)
    out = {"slug": repo.slug, "ok": reach.ok, "engine_version": reach.engine_version}
    if reach.error:
        out["error"] = reach.error
    return out


class DeepHealth(APIView):
    """The app's database, each repository you can see (reachable, engine version), and Redis when
    REDIS_URL is set. 200 when all answered, 503 otherwise; the body says which did not."""

    @extend_schema(responses={200: inline_serializer("DeepHealth", {
        "status": serializers.CharField(), "database": serializers.DictField(),
        "repositories": serializers.ListField(child=serializers.DictField()),
        "redis": serializers.DictField(allow_null=True)}), 503: None})
    def get(self, request):
        report = {"database": _timed(_app_database),
                  "repositories": [_timed(lambda r=r: _repository(r)) for r in visible_repositories(request.user)],
                  "redis": _timed(_redis) if settings.REDIS_URL else None}
        ok = report["database"]["ok"] and all(r["ok"] for r in report["repositories"]) and (
            report["redis"] is None or report["redis"]["ok"])
        report = {"status": "ok" if ok else "failing", **report}
        return Response(report, status=200 if ok else 503)


# the schema's pages (assets from drf-spectacular-sidecar, served from our static files) ----------------

class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI; its start script is a second request (``?script``), so no inline script."""

    template_name = "api/swagger_ui.html"


# Redoc injects its styles as <style> elements and runs a web worker from a blob: URL.
REDOC_CSP = {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE], "worker-src": [CSP.SELF, "blob:"]}


@method_decorator(csp_override(REDOC_CSP), name="dispatch")
class RedocView(SpectacularRedocView):
    template_name = "api/redoc.html"
