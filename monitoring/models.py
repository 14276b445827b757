"""Monitoring: what the engine and the app report about themselves.

Events (docs/events.md): every event is a row of ``Event`` written in the same transaction as
what it reports — by the app's actions for its own events (``monitoring.events.record``), and by
the listener (``monitoring.listener``) for the engine's, read from each repository's audit trail
from the position in ``ListenerCursor``. A task per event (``monitoring.tasks.deliver``) fans it
out once: Channels groups (live pages), notifications, alert rules.
"""

from django.conf import settings
from django.db import models

from branches.crypto import EncryptedTextField
from branches.models import Repository


class EventKind(models.TextChoices):
    # engine events (read from the repository's audit trail by the listener)
    COMMIT = "commit.captured", "commit captured"
    BRANCH_CREATED = "branch.created", "branch created"
    BRANCH_DELETED = "branch.deleted", "branch deleted"
    BRANCH_MOVED = "branch.moved", "branch moved"
    CHECKOUT = "checkout", "checkout"
    MERGE_COMPLETED = "merge.completed", "merge completed"
    MERGE_FAILED = "merge.failed", "merge failed"
    REVERT = "revert", "revert"
    # merge requests (written by the app's actions)
    MR_OPENED = "merge_request.opened", "merge request opened"
    MR_UPDATED = "merge_request.updated", "merge request updated"
    MR_REVIEWED = "merge_request.reviewed", "merge request reviewed"
    MR_APPROVED = "merge_request.approved", "merge request approved"
    MR_CHANGES_REQUESTED = "merge_request.changes_requested", "changes requested"
    MR_DISMISSED = "merge_request.approval_dismissed", "approval dismissed"
    MR_MERGED = "merge_request.merged", "merge request merged"
    MR_CLOSED = "merge_request.closed", "merge request closed"
    MR_REOPENED = "merge_request.reopened", "merge request reopened"
    MR_REVIEW_REQUESTED = "merge_request.review_requested", "review requested"
    COMMENT = "comment.created", "comment"
    CONFLICT_FOUND = "conflict.found", "conflict found"
    CONFLICT_RESOLVED = "conflict.resolved", "conflict resolved"
    # monitoring
    DRIFT_FOUND = "drift.found", "drift found"
    ALERT_RAISED = "alert.raised", "alert raised"
    ALERT_ACKNOWLEDGED = "alert.acknowledged", "alert acknowledged"
    ALERT_RESOLVED = "alert.resolved", "alert resolved"


class Event(models.Model):
    """One thing that happened, kept in order (id). ``payload`` is built from the REST API's
    serializers when the event is recorded; ``sent_at`` is set once it has been sent to the live pages
    (the Channels groups), ``delivered_at`` once the hooks (alerts, notifications) have run too."""

    class Source(models.TextChoices):
        APP = "app"
        ENGINE = "engine"

    kind = models.CharField(max_length=60, choices=EventKind.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.APP)
    repository = models.ForeignKey(Repository, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    merge_request = models.ForeignKey("merges.MergeRequest", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(max_length=200, blank=True, help_text="Who did it: a user, or the engine's role.")
    payload = models.JSONField(default=dict, blank=True)
    engine_id = models.BigIntegerField(null=True, blank=True, help_text="The engine's audit row (engine events).")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="Sent to the live pages (websockets).")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["repository", "-id"], name="event_repository_recent")]
        constraints = [
            models.UniqueConstraint(fields=["repository", "engine_id"], condition=models.Q(engine_id__isnull=False),
                                    name="event_engine_row_once"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind}"


class ListenerCursor(models.Model):
    """Where the listener reads a repository's audit trail from next (``pggit.audit_since``)."""

    repository = models.OneToOneField(Repository, on_delete=models.CASCADE, related_name="listener_cursor")
    position = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)
    last_error = models.TextField(blank=True)

    def __str__(self):
        return f"{self.repository}: {self.position}"


# alerts ------------------------------------------------------------------------------------

class Severity(models.TextChoices):
    INFO = "info", "info"
    WARNING = "warning", "warning"
    CRITICAL = "critical", "critical"


class AlertKind(models.TextChoices):
    """What an alert rule watches (one rule of each kind per repository)."""

    DRIFT = "drift", "drift found"
    MERGE_FAILED = "merge_failed", "merge failed"
    DATA_LOSS_FORCED = "data_loss_forced", "data loss forced through"
    CAPTURE_OFF = "capture_off", "capture turned off"
    STALE_REVIEW = "stale_review", "merge request waiting for review"
    WEBHOOK_FAILING = "webhook_failing", "webhook paused after failures"


class AlertRule(models.Model):
    """Whether a kind of alert is raised for a repository, how severe it is, and its threshold
    (minutes between periodic checks for drift and capture; hours a merge request may wait for a
    review). Made with the defaults (``monitoring.alerts.DEFAULTS``) the first time a
    repository's rules are read (``monitoring.alerts.rules_for``); maintainers edit them."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    threshold = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="drift, capture off: minutes between periodic checks; stale review: hours without a review.")
    checked_at = models.DateTimeField(null=True, blank=True, editable=False,
                                      help_text="When the periodic check of this rule was last claimed.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["repository", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "kind"], name="one_alert_rule_per_kind"),
            models.CheckConstraint(condition=models.Q(threshold__isnull=True) | models.Q(threshold__gte=1),
                                   name="alert_rule_threshold_positive"),
        ]

    def __str__(self):
        return f"{self.repository.slug}: {self.kind}"


class Alert(models.Model):
    """A condition someone should look at. ``dedup_key`` names the condition (``drift``,
    ``merge_failed:main``, ``stale_review:mr:7``): while an alert with that key is open or
    acknowledged, the condition raises no second one (a unique index, so two workers raising it at
    once make one row); seeing it again counts ``occurrences``."""

    class State(models.TextChoices):
        OPEN = "open", "open"
        ACKNOWLEDGED = "acknowledged", "acknowledged"
        RESOLVED = "resolved", "resolved"

    ACTIVE = (State.OPEN, State.ACKNOWLEDGED)

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    title = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)
    dedup_key = models.CharField(max_length=300)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts",
                              help_text="The event that raised it (none for a periodic check's finding).")
    merge_request = models.ForeignKey("merges.MergeRequest", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="alerts")
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=300, blank=True,
                                  help_text="Why it was resolved (a person, or the condition cleared).")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["repository", "state", "-id"], name="alert_repository_state")]
        constraints = [
            models.UniqueConstraint(fields=["repository", "dedup_key"],
                                    condition=models.Q(state__in=["open", "acknowledged"]),
                                    name="one_active_alert_per_condition"),
            models.CheckConstraint(condition=models.Q(state__in=["open", "acknowledged", "resolved"]),
                                   name="alert_state_valid"),
            models.CheckConstraint(condition=models.Q(severity__in=["info", "warning", "critical"]),
                                   name="alert_severity_valid"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE


AlertState = Alert.State  # (a module-level name: settings.SPECTACULAR_SETTINGS names it)
class NotificationReason(models.TextChoices):
    REVIEW_REQUESTED = "review_requested", "review requested of you"
    REVIEW_SUBMITTED = "review_submitted", "review of your merge request"
    MERGED = "merged", "your merge request merged"
    CLOSED = "closed", "your merge request closed"
    MENTIONED = "mentioned", "you were mentioned"
    ALERT = "alert", "alert on a repository you maintain"


class Notification(models.Model):
    """What one user is told about one event (``monitoring.notifications.on_event``): at most one
    per event and user, so a delivery run again makes no second one. ``emailed_at`` is set by the
    mail task in the transaction that sends it (never a second mail)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    reason = models.CharField(max_length=30, choices=NotificationReason.choices)
    repository = models.ForeignKey(Repository, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    merge_request = models.ForeignKey("merges.MergeRequest", null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="+")
    title = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "read_at", "-id"], name="notification_user_unread")]
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="notification_once_per_event_user")]

    def __str__(self):
        return f"{self.user}: {self.title}"

    def get_absolute_url(self):
        if self.merge_request_id:
            return self.merge_request.get_absolute_url()
        if self.repository_id:
            return self.repository.get_absolute_url()
        return ""


class NotificationPreference(models.Model):
    """Which notifications a user also gets by email (all of them without a row)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preference")
    email_review_requested = models.BooleanField(default=True)
    email_review_submitted = models.BooleanField(default=True)
    email_merged = models.BooleanField(default=True, help_text="Your merge request was merged.")
    email_closed = models.BooleanField(default=True, help_text="Your merge request was closed.")
    email_mentioned = models.BooleanField(default=True)
    email_alert = models.BooleanField(default=True)

    def __str__(self):
        return f"{self.user}'s notification preferences"

    def wants_email(self, reason: str) -> bool:
        return bool(getattr(self, f"email_{reason}", False))


# webhooks (docs/webhooks.md) -----------------------------------------------------------------

class WebhookFormat(models.TextChoices):
    JSON = "json", "JSON (the event as the API shows it)"
    SLACK = "slack", "Slack-compatible message ({\"text\": ...})"


class Webhook(models.Model):
    """An HTTP endpoint told about events: of one repository (maintainers manage it), or of every
    repository when ``repository`` is empty (site-wide: superusers). ``events``: the kinds wanted
    (an ``EventKind`` value each; empty: every kind). ``secret`` is stored encrypted (it must be
    read to sign) and never shown again. The circuit breaker: ``consecutive_failures`` counts
    tries that failed in a row; at ``PGGIT_WEBHOOK_BREAKER_FAILURES`` the hook is paused until
    ``paused_until`` (its deliveries wait, they are not dropped), then one try decides."""

    repository = models.ForeignKey(Repository, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="webhooks", help_text="Empty: a site-wide hook (every repository).")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, blank=True, help_text="Event kinds wanted; empty: every kind.")
    format = models.CharField(max_length=10, choices=WebhookFormat.choices, default=WebhookFormat.JSON)
    secret = EncryptedTextField(blank=True, help_text="Signs each body (HMAC-SHA256); stored encrypted.")
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    paused_until = models.DateTimeField(null=True, blank=True, editable=False,
                                        help_text="The circuit breaker is open until then.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.repository.slug if self.repository_id else '(site)'} → {self.url}"

    def wants(self, kind: str) -> bool:
        return not self.events or kind in self.events


class WebhookDelivery(models.Model):
    """One event (or a ping) to one hook: its body is built once, so every try sends the same
    bytes with the same ``delivery_id`` (the receiver's idempotency key). ``state``: pending
    (waiting for ``next_attempt_at``), delivered, failed (out of tries; a person may redeliver)."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    delivery_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=60, help_text="The event's kind, or ping.")
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    tries = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True,
                                         help_text="A worker is sending it (until then, another does not).")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due")]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], condition=models.Q(event__isnull=False),
                                    name="webhook_delivery_once_per_event"),
            models.CheckConstraint(condition=models.Q(state__in=["pending", "delivered", "failed"]),
                                   name="webhook_delivery_state_valid"),
        ]

    def __str__(self):
        return f"{self.delivery_id} {self.kind} ({self.state})"


WebhookDeliveryState = WebhookDelivery.State  # (a module-level name: SPECTACULAR_SETTINGS names it)


class WebhookAttempt(models.Model):
    """One try of a delivery: what was sent, what came back (or why nothing did), how long."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField(help_text="1 for the first try.")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    address = models.CharField(max_length=100, blank=True, help_text="The checked address it connected to.")
    request_headers = models.JSONField(default=dict)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_head = models.TextField(blank=True, help_text="The response body's first 1,024 bytes.")
    error = models.CharField(max_length=500, blank=True)
    ok = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_once")]

    def __str__(self):
        return f"{self.delivery_id} try {self.number}: {self.status_code or self.error}"
