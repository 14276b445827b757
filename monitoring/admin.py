"""Admin registrations for monitoring: alert rules (editable) and alerts (read, and their state)."""

from django.contrib import admin

from monitoring.models import Alert, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("repository", "kind", "enabled", "severity", "threshold", "checked_at", "updated_by")
    list_filter = ("kind", "enabled", "severity")
    search_fields = ("repository__name", "repository__slug")
    readonly_fields = ("checked_at", "updated_at", "updated_by")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "repository", "kind", "severity", "state", "title", "occurrences", "created_at")
    list_filter = ("state", "severity", "kind")
    search_fields = ("title", "dedup_key", "repository__slug")
    readonly_fields = ("repository", "kind", "dedup_key", "event", "merge_request", "detail", "occurrences",
                       "created_at", "last_seen_at", "acknowledged_by", "acknowledged_at", "resolved_by",
                       "resolved_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # alerts are raised by their rules
