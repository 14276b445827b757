"""Merge requests and their reviews.

A merge request names a source and a target branch of a repository; the engine holds the
branches, commits and the merge itself (``engine_merge_id`` while conflicts are being resolved,
``merge_commit`` once merged). Reviews record the source head they looked at, so that new
commits on the source can dismiss earlier approvals.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from branches.models import Repository

STRATEGIES = [
    ("auto", "auto: take each side's change, stop on real conflicts"),
    ("source_wins", "source wins"),
    ("target_wins", "target wins"),
    ("union", "union: merge tables column by column"),
    ("manual_review", "manual review: confirm every object"),
]


class Label(models.Model):
    """A label of a repository's merge requests (maintainers manage them); ``color`` is
    ``#rrggbb``. Names are unique per repository whatever their case."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default="#6e7781", help_text="#rrggbb")
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "repository", name="label_name_per_repository"),
            models.CheckConstraint(condition=models.Q(color__regex=r"^#[0-9a-f]{6}$"), name="label_color_hex"),
            models.CheckConstraint(condition=~models.Q(name=""), name="label_name_not_empty"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        self.name = (self.name or "").strip()
        self.color = (self.color or "").strip().lower()


class MergeRequest(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "open"
        CHANGES_REQUESTED = "changes_requested", "changes requested"
        APPROVED = "approved", "approved"
        MERGED = "merged", "merged"
        CLOSED = "closed", "closed"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="merge_requests")
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=200)
    target = models.CharField(max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="merge_requests")
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    draft = models.BooleanField(default=False)
    strategy = models.CharField(max_length=20, choices=STRATEGIES, default="auto")
    auto_merge = models.BooleanField(default=False, help_text="Merge as soon as the required approvals are in.")
    auto_merge_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    source_head = models.CharField(max_length=64, blank=True, help_text="Source head last seen by the app.")
    engine_merge_id = models.BigIntegerField(null=True, blank=True, help_text="The engine's open merge, while resolving.")
    merge_commit = models.CharField(max_length=64, blank=True)
    merge_error = models.TextField(blank=True)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    merged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    labels = models.ManyToManyField(Label, blank=True, related_name="merge_requests")
    assignees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="assigned_merge_requests")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "number"], name="merge_request_number_per_repository"),
            models.CheckConstraint(condition=~models.Q(source=models.F("target")), name="merge_request_source_not_target"),
        ]

    def __str__(self):
        return f"!{self.number} {self.title}"

    def get_absolute_url(self):
        return reverse("merges:detail", kwargs={"slug": self.repository.slug, "number": self.number})

    @property
    def is_closed(self):
        return self.state in (self.State.MERGED, self.State.CLOSED)


class Review(models.Model):
    class Verdict(models.TextChoices):
        COMMENT = "comment", "comment"
        APPROVE = "approve", "approve"
        REQUEST_CHANGES = "request_changes", "request changes"

    merge_request = models.ForeignKey(MergeRequest, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    body = models.TextField(blank=True)
    source_head = models.CharField(max_length=64, help_text="The source head the reviewer looked at.")
    dismissed = models.BooleanField(default=False)
    dismissed_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.reviewer} {self.get_verdict_display()} !{self.merge_request.number}"


class Comment(models.Model):
    """A comment in the conversation, or on one object (``object_identity``) of the changes, or on
    one line of the source's definition of that object (``line``, with the line's text when it
    was written: the thread is *outdated* once the source's line there reads otherwise). A reply
    has a ``parent`` (the thread's first comment, whose object and line it shares); a thread is
    resolved on its first comment."""

    merge_request = models.ForeignKey(MergeRequest, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    object_identity = models.CharField(max_length=1000, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    line_text = models.TextField(blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    # A line comment may carry a suggestion: SQL that whoever may push to the source runs on it with
    # one click (``merges.actions.apply_suggestion``), making the commit ``suggestion_commit``.
    suggestion = models.TextField(blank=True)
    suggestion_applied_at = models.DateTimeField(null=True, blank=True)
    suggestion_applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                              on_delete=models.SET_NULL, related_name="+")
    suggestion_commit = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(suggestion="") | models.Q(line__isnull=False),
                                   name="comment_suggestion_on_a_line"),
        ]

    def __str__(self):
        return f"{self.author} on !{self.merge_request.number}"

    @property
    def suggestion_applied(self) -> bool:
        return self.suggestion_applied_at is not None


class ConflictResolution(models.Model):
    """Who resolved which object of a merge request's merge, and how (the engine holds the result)."""

    merge_request = models.ForeignKey(MergeRequest, on_delete=models.CASCADE, related_name="resolutions")
    engine_merge_id = models.BigIntegerField()
    object_identity = models.CharField(max_length=1000)
    resolution = models.CharField(max_length=10)  # source, target, base, custom
    definition = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.object_identity}: {self.resolution}"


class ReviewRequest(models.Model):
    """A member asked to review a merge request (by its author or a maintainer)."""

    merge_request = models.ForeignKey(MergeRequest, on_delete=models.CASCADE, related_name="review_requests")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["merge_request", "reviewer"], name="review_request_once_per_reviewer"),
        ]

    def __str__(self):
        return f"{self.reviewer} on !{self.merge_request.number}"


class DataResolution(models.Model):
    """How a row (``column`` empty) or one cell of a data conflict is resolved, for the data merge
    of a request whose source is a data branch (the engine's ``merge_data`` resolutions).

    ``source_row`` and ``target_row`` are the conflict's rows when it was resolved: a resolution
    is in force while the conflict still shows those rows; when either side's row changed since
    (new rows on the branch or on the target) it is dismissed (``dismissed_reason``) and the
    conflict is open again. A later resolution of the same row or cell replaces an earlier one;
    removing one keeps it (``removed_by``) for the timeline."""

    class Take(models.TextChoices):
        SOURCE = "source", "the source's value"
        TARGET = "target", "the target's value"
        BASE = "base", "the merge base's value"
        VALUE = "value", "a typed value"

    merge_request = models.ForeignKey(MergeRequest, on_delete=models.CASCADE, related_name="data_resolutions")
    table_identity = models.CharField(max_length=1000)  # 'table public.orders'
    key = models.JSONField()  # the row's primary key: {"id": 3}
    column = models.CharField(max_length=200, blank=True)  # empty: the whole row
    take = models.CharField(max_length=10, choices=Take.choices)
    value = models.JSONField(null=True, blank=True)  # with take=value: the cell's text (cast by its type), None: NULL
    source_row = models.JSONField(null=True, blank=True)
    target_row = models.JSONField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed = models.BooleanField(default=False)
    dismissed_reason = models.CharField(max_length=200, blank=True)
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(take__in=["source", "target", "base", "value"]),
                                   name="data_resolution_take_known"),
            models.CheckConstraint(condition=~models.Q(take="value") | ~models.Q(column=""),
                                   name="data_resolution_value_is_a_cell"),
        ]

    def __str__(self):
        return f"{self.table_identity} {self.key} {self.column or '(row)'}: {self.take}"

    def as_engine(self) -> dict:
        """The resolution as ``merge_data`` takes it."""
        out = {"table": self.table_identity, "key": self.key, "take": self.take}
        if self.column:
            out["column"] = self.column
        if self.take == self.Take.VALUE:
            out["value"] = self.value
        return out
