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


# webhooks (docs/webhooks.md): site-wide hooks (no repository) are made here, by superusers ----

from django import forms  # noqa: E402

from monitoring.models import EventKind, Webhook, WebhookAttempt, WebhookDelivery  # noqa: E402


class WebhookAdminForm(forms.ModelForm):
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                             help_text="Write-only: never shown again; leave empty to keep the current one.")
    events = forms.MultipleChoiceField(choices=EventKind.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple, help_text="None ticked: every event.")

    class Meta:
        model = Webhook
        fields = ["repository", "url", "events", "format", "secret", "active"]

    def clean_url(self):
        from monitoring.webhook_actions import check_url
        from pggit_web.errors import ActionError

        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except ActionError as exc:
            raise forms.ValidationError(str(exc)) from None
        return url

    def clean_secret(self):
        secret = self.cleaned_data.get("secret")
        return secret or (self.instance.secret if self.instance.pk else "")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookAdminForm
    list_display = ("id", "repository", "url", "format", "active", "consecutive_failures", "paused_until")
    list_filter = ("active", "format")
    search_fields = ("url", "repository__slug")
    readonly_fields = ("consecutive_failures", "paused_until", "created_by", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("number", "started_at", "duration_ms", "address", "status_code", "error",
                                "response_head", "ok")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "delivery_id", "webhook", "kind", "state", "tries", "created_at", "finished_at")
    list_filter = ("state", "kind")
    search_fields = ("delivery_id", "webhook__url")
    readonly_fields = ("webhook", "event", "delivery_id", "kind", "body", "state", "tries", "next_attempt_at",
                       "claimed_until", "created_at", "finished_at")
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False  # made by events and pings

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request, queryset):
        from monitoring.webhooks import redeliver

        for delivery in queryset:
            redeliver(delivery)
        self.message_user(request, f"{queryset.count()} deliveries queued again.")
