"""REST API shapes of alerts and alert rules (and of the ``alert.*`` events' payloads)."""

from __future__ import annotations

from rest_framework import serializers

from merges.serializers import UsernameField
from monitoring.models import Alert, AlertKind, AlertRule, Severity


class AlertSerializer(serializers.ModelSerializer):
    merge_request = serializers.SerializerMethodField(help_text="The merge request's number, when it concerns one.")
    event = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True,
                                               help_text="The event that raised it (null for a periodic check's).")
    acknowledged_by = UsernameField()
    resolved_by = UsernameField()

    class Meta:
        model = Alert
        fields = ["id", "kind", "severity", "state", "title", "detail", "dedup_key", "event", "merge_request",
                  "occurrences", "created_at", "last_seen_at", "acknowledged_by", "acknowledged_at",
                  "resolved_by", "resolved_at", "resolution"]
        read_only_fields = fields

    def get_merge_request(self, alert) -> int | None:
        return alert.merge_request.number if alert.merge_request_id else None


class AlertResolveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="",
                                   help_text="Why it is resolved (shown on the alert).")


class CountsSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    resolved = serializers.IntegerField()


class AlertStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_state = CountsSerializer()
    by_severity = serializers.DictField(child=serializers.IntegerField(),
                                        help_text="Alerts not resolved, by severity (info, warning, critical).")
    by_kind = serializers.DictField(child=serializers.IntegerField(), help_text="Alerts not resolved, by kind.")


class AlertRuleSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()
    threshold_unit = serializers.SerializerMethodField(help_text="minutes, hours, or null when it takes none.")
    updated_by = UsernameField()

    class Meta:
        model = AlertRule
        fields = ["kind", "label", "enabled", "severity", "threshold", "threshold_unit", "updated_at", "updated_by"]
        read_only_fields = fields

    def get_label(self, rule) -> str:
        return AlertKind(rule.kind).label

    def get_threshold_unit(self, rule) -> str | None:
        from monitoring.alerts import THRESHOLD_UNITS

        return THRESHOLD_UNITS.get(rule.kind)


class AlertRuleUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    threshold = serializers.IntegerField(required=False, min_value=1, max_value=10_000_000)


# webhooks ----------------------------------------------------------------------------------

from monitoring.models import EventKind, Webhook, WebhookAttempt, WebhookDelivery, WebhookFormat  # noqa: E402


class WebhookSerializer(serializers.ModelSerializer):
    """A hook as the API shows it: the secret is never shown (``has_secret`` says whether one is set)."""

    events = serializers.ListField(child=serializers.ChoiceField(choices=EventKind.choices), required=False,
                                   help_text="Event kinds wanted; empty: every kind.")
    format = serializers.ChoiceField(choices=WebhookFormat.choices, required=False)
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                   help_text="Signs each body (X-Pggit-Signature-256). Write-only: never shown again; "
                                             "empty or absent on update keeps it.")
    has_secret = serializers.SerializerMethodField()
    paused = serializers.SerializerMethodField(help_text="The circuit breaker is open (until paused_until).")

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "format", "active", "secret", "has_secret", "paused", "paused_until",
                  "consecutive_failures", "created_at", "updated_at"]
        read_only_fields = ["id", "has_secret", "paused", "paused_until", "consecutive_failures", "created_at",
                            "updated_at"]

    def get_has_secret(self, hook) -> bool:
        return bool(hook.secret)

    def get_paused(self, hook) -> bool:
        from django.utils import timezone

        return hook.paused_until is not None and hook.paused_until > timezone.now()


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "duration_ms", "address", "request_headers", "status_code",
                  "response_head", "error", "ok"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    state = serializers.ChoiceField(choices=WebhookDelivery.State.choices, read_only=True)
    attempts = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "delivery_id", "kind", "event", "state", "tries", "next_attempt_at", "created_at",
                  "finished_at", "body", "attempts"]
        read_only_fields = fields
