"""REST API shapes of notifications and email preferences (also the bell's live message)."""

from __future__ import annotations

from rest_framework import serializers

from monitoring.models import Notification, NotificationPreference, NotificationReason


class NotificationSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="event.kind", help_text="The event's kind, e.g. `merge_request.approved`.")
    actor = serializers.SerializerMethodField(help_text="Who did it (null for the engine or the app itself).")
    repository = serializers.SerializerMethodField(help_text="The repository's slug.")
    merge_request = serializers.SerializerMethodField(help_text="The merge request's number.")
    url = serializers.SerializerMethodField(help_text="The page to open: the merge request, or the repository.")
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "reason", "kind", "title", "actor", "repository", "merge_request", "url", "unread",
                  "created_at", "read_at"]

    def get_actor(self, n) -> str | None:
        return n.event.actor_name or None

    def get_repository(self, n) -> str | None:
        return n.repository.slug if n.repository_id else None

    def get_merge_request(self, n) -> int | None:
        return n.merge_request.number if n.merge_request_id else None

    def get_url(self, n) -> str:
        return n.get_absolute_url()

    def get_unread(self, n) -> bool:
        return n.read_at is None


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(help_text="Unread notifications left.")
    marked = serializers.IntegerField(help_text="Notifications this call marked read.")


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    """Email on or off for each reason (``NotificationReason``); the bell shows everything."""

    class Meta:
        model = NotificationPreference
        fields = ["email_" + reason for reason in NotificationReason.values]


class StrictBooleanField(serializers.BooleanField):
    """true or false, not "yes" or 1."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class NotificationPreferenceUpdateSerializer(serializers.Serializer):
    email_review_requested = StrictBooleanField(required=False)
    email_review_submitted = StrictBooleanField(required=False)
    email_merged = StrictBooleanField(required=False)
    email_closed = StrictBooleanField(required=False)
    email_mentioned = StrictBooleanField(required=False)
    email_alert = StrictBooleanField(required=False)
