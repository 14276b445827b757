"""REST endpoints of alerts and alert rules (docs/api.md): the list with filters and cursor
pagination, one alert, acknowledge, resolve, the counts, and the rules (maintainers change them).

Each view authorizes (``branches.access.repository_for`` / ``monitoring.actions.get_alert``: an
outsider gets 404), parses, calls the function the page calls (``monitoring.actions`` /
``monitoring.reads``) and serializes; errors become the one error body in ``api.errors``.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import DefaultCursorPagination
from branches.access import repository_for
from monitoring import actions, reads
from monitoring import serializers as s
from monitoring.models import AlertKind, Severity

CURSOR = OpenApiParameter("cursor", str, description="From a previous page's next/previous link.")
PAGE_SIZE = OpenApiParameter("page_size", int, description="1 to 200 (default 50).")
FILTERS = [
    OpenApiParameter("state", str, enum=list(reads.STATE_FILTERS),
                     description="active (open and acknowledged; the default), open, acknowledged, resolved or all."),
    OpenApiParameter("severity", str, enum=Severity.values),
    OpenApiParameter("kind", str, enum=AlertKind.values),
]


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AlertList(APIView):
    pagination_class = DefaultCursorPagination

    @extend_schema(operation_id="alerts_list", parameters=[*FILTERS, CURSOR, PAGE_SIZE],
                   responses=s.AlertSerializer(many=True))
    def get(self, request, slug):
        """The repository's alerts, newest first."""
        repo = repository_for(request.user, slug)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(reads.alerts(repo, reads.Filters.parse(request.query_params)), request,
                                           view=self)
        return paginator.get_paginated_response(s.AlertSerializer(page, many=True).data)


class AlertStats(APIView):
    @extend_schema(operation_id="alerts_stats", responses=s.AlertStatsSerializer)
    def get(self, request, slug):
        """Counts by state (every alert), by severity and by kind (those not resolved)."""
        repo = repository_for(request.user, slug)
        found = reads.stats(repo)
        return Response(s.AlertStatsSerializer({"total": found.total, "by_state": found.by_state,
                                                "by_severity": found.by_severity, "by_kind": found.by_kind}).data)


class AlertDetail(APIView):
    @extend_schema(operation_id="alerts_retrieve", responses=s.AlertSerializer)
    def get(self, request, slug, alert_id):
        return Response(s.AlertSerializer(actions.get_alert(request.user, slug, alert_id)).data)


class Acknowledge(APIView):
    @extend_schema(operation_id="alerts_acknowledge", request=None, responses=s.AlertSerializer)
    def post(self, request, slug, alert_id):
        """An open alert becomes acknowledged (developers and above); 409 when it is not open."""
        alert = actions.get_alert(request.user, slug, alert_id)
        actions.check_can_respond(request.user, alert)
        alert = actions.acknowledge(request.user, alert)
        return Response(s.AlertSerializer(actions.get_alert(request.user, slug, alert.pk)).data)


class Resolve(APIView):
    @extend_schema(operation_id="alerts_resolve", request=s.AlertResolveSerializer, responses=s.AlertSerializer)
    def post(self, request, slug, alert_id):
        """An open or acknowledged alert is resolved (developers and above); 409 when it is resolved."""
        alert = actions.get_alert(request.user, slug, alert_id)
        actions.check_can_respond(request.user, alert)
        data = _valid(s.AlertResolveSerializer, request)
        alert = actions.resolve(request.user, alert, data["reason"])
        return Response(s.AlertSerializer(actions.get_alert(request.user, slug, alert.pk)).data)


class RuleList(APIView):
    @extend_schema(operation_id="alert_rules_list", responses=inline_serializer(
        "AlertRuleList", {"results": s.AlertRuleSerializer(many=True)}))
    def get(self, request, slug):
        """Every rule of the repository (the defaults until a maintainer changes them)."""
        repo = repository_for(request.user, slug)
        return Response({"results": s.AlertRuleSerializer(actions.rules(request.user, repo), many=True).data})


class RuleDetail(APIView):
    @extend_schema(operation_id="alert_rules_partial_update", request=s.AlertRuleUpdateSerializer,
                   responses=s.AlertRuleSerializer)
    def patch(self, request, slug, kind):
        """Turn a rule on or off, set its severity or threshold (maintainers)."""
        from branches.access import check_role

        repo = repository_for(request.user, slug)
        check_role(request.user, repo, actions.RULES_ROLE)
        data = _valid(s.AlertRuleUpdateSerializer, request)
        rule = actions.save_rule(request.user, repo, kind, **data)
        return Response(s.AlertRuleSerializer(rule).data)


REPO = "repositories/<slug:slug>/"

urlpatterns = [
    path(REPO + "alerts/", AlertList.as_view(), name="alerts"),
    path(REPO + "alerts/stats/", AlertStats.as_view(), name="alert_stats"),
    path(REPO + "alerts/<int:alert_id>/", AlertDetail.as_view(), name="alert"),
    path(REPO + "alerts/<int:alert_id>/acknowledge/", Acknowledge.as_view(), name="alert_acknowledge"),
    path(REPO + "alerts/<int:alert_id>/resolve/", Resolve.as_view(), name="alert_resolve"),
    path(REPO + "alert-rules/", RuleList.as_view(), name="alert_rules"),
    path(REPO + "alert-rules/<str:kind>/", RuleDetail.as_view(), name="alert_rule"),
]
