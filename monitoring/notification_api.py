"""REST endpoints of the caller's notifications: list (``?unread=true``), mark one read, mark all
read, and the email preferences. Every user has their own: nothing here takes a repository role,
and another user's notification is a 404."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import DefaultCursorPagination
from monitoring import notification_actions as actions
from monitoring import notification_reads as reads
from monitoring import notification_serializers as s
from pggit_web.errors import ActionError

ERROR = inline_serializer("NotificationError", {"error": inline_serializer("NotificationErrorBody", {
    "code": serializers.CharField(), "message": serializers.CharField(), "detail": serializers.DictField()})})
UNREAD = OpenApiParameter("unread", bool, description="Only the unread ones (`true`).")


def _unread_only(request) -> bool:
    raw = request.query_params.get("unread", "")
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise ActionError("unread is true or false", code="invalid_unread")


class NotificationList(APIView):
    pagination_class = DefaultCursorPagination

    @extend_schema(operation_id="notifications_list", parameters=[UNREAD], responses={
        200: s.NotificationSerializer(many=True), 400: ERROR})
    def get(self, request):
        """The caller's notifications, newest first."""
        paginator = self.pagination_class()
        found = reads.notifications(request.user, _unread_only(request))
        page = paginator.paginate_queryset(found, request, view=self)
        return paginator.get_paginated_response(s.NotificationSerializer(page, many=True).data)


class NotificationRead(APIView):
    @extend_schema(operation_id="notifications_read", request=None,
                   responses={200: s.NotificationSerializer, 404: ERROR})
    def post(self, request, notification_id):
        """Mark one notification read (again: no change)."""
        notification = actions.mark_read(request.user, notification_id)
        return Response(s.NotificationSerializer(notification).data)


class NotificationReadAll(APIView):
    @extend_schema(operation_id="notifications_read_all", request=None, responses=s.UnreadCountSerializer)
    def post(self, request):
        """Mark every unread notification read."""
        marked = actions.mark_all_read(request.user)
        return Response({"marked": marked, "unread": reads.unread_count(request.user)})


class NotificationPreferences(APIView):
    @extend_schema(operation_id="notifications_preferences_retrieve", responses=s.NotificationPreferenceSerializer)
    def get(self, request):
        """Which notifications the caller also gets by email."""
        return Response(s.NotificationPreferenceSerializer(reads.preferences(request.user)).data)

    @extend_schema(operation_id="notifications_preferences_partial_update",
                   request=s.NotificationPreferenceUpdateSerializer,
                   responses={200: s.NotificationPreferenceSerializer, 400: ERROR})
    def patch(self, request):
        """Turn emails on or off, per reason; the fields left out keep their value."""
        serializer = s.NotificationPreferenceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preference = actions.set_preferences(request.user, **serializer.validated_data)
        return Response(s.NotificationPreferenceSerializer(preference).data)


# relative to /api/v1/ (api/urls.py includes them)
urlpatterns = [
    path("notifications/", NotificationList.as_view(), name="notifications"),
    path("notifications/read-all/", NotificationReadAll.as_view(), name="notifications_read_all"),
    path("notifications/preferences/", NotificationPreferences.as_view(), name="notification_preferences"),
    path("notifications/<int:notification_id>/read/", NotificationRead.as_view(), name="notification_read"),
]
