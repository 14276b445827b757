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
