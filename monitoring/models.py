"""Monitoring: what the engine and the app report about themselves.

Events (docs/events.md): every event is a row of ``Event`` written in the same transaction as
what it reports — by the app's actions for its own events (``monitoring.events.record``), and by
the listener (``monitoring.listener``) for the engine's, read from each repository's audit trail
from the position in ``ListenerCursor``. A task per event (``monitoring.tasks.deliver``) fans it
out once: Channels groups (live pages), notifications, alert rules.
"""

from django.conf import settings
from django.db import models

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
    serializers when the event is recorded; ``delivered_at`` is set once it has been fanned out."""

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
