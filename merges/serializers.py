"""REST API shapes of merge requests, their tabs, reviews, comments, merges and conflicts.

Outputs read the models and the dataclasses of ``merges.reads`` / ``merges.actions``; inputs only
check types and lengths (``merges.actions`` checks the rest and says why, as it does for the pages).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from branches.serializers import (REF_MAX, CommitSerializer, DataDiffRowSerializer, MigrationStepSerializer,
                                  StrictCharField)
from merges.actions import MAX_TITLE
from merges.models import STRATEGIES, Label, MergeRequest, Review

CHOICES = ["source", "target", "base", "custom"]
# Texts in a request: a description, a comment, a custom definition.
TEXT_MAX = 100_000
IDENTITY_MAX = 1000


class UsernameField(serializers.CharField):
    """A user, as its user name (null when there is none)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, user):
        return user.get_username() if user is not None else None

    def get_attribute(self, instance):
        try:
            return super().get_attribute(instance)
        except (AttributeError, KeyError):
            return None


class ApprovalsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    required = serializers.IntegerField(help_text="What the target's protection rule asks for.")
    met = serializers.BooleanField()
    approvers = serializers.ListField(child=serializers.CharField(), help_text="User names.")
    self_approval_allowed = serializers.BooleanField()

    def to_representation(self, status):
        return {"count": status.count, "required": status.required, "met": status.met,
                "approvers": [u.get_username() for u in status.approvers],
                "self_approval_allowed": status.self_approval_allowed}


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["name", "color", "description"]


class LabelCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=50)
    color = StrictCharField(max_length=7, required=False, default=None, help_text="#rrggbb")
    description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class LabelEditSerializer(serializers.Serializer):
    """Only the fields given change."""

    name = StrictCharField(max_length=50, required=False, help_text="A new name.")
    color = StrictCharField(max_length=7, required=False, help_text="#rrggbb")
    description = StrictCharField(max_length=200, required=False, allow_blank=True)


class LabelsSetSerializer(serializers.Serializer):
    labels = serializers.ListField(child=StrictCharField(max_length=50), max_length=100,
                                   help_text="Label names: the request's labels become exactly these.")


class AssigneesSetSerializer(serializers.Serializer):
    assignees = serializers.ListField(child=StrictCharField(max_length=150), max_length=100,
                                      help_text="User names of members: the request's assignees become exactly these.")


BADGE_KINDS = ["open", "draft", "approved", "changes_requested", "conflicts", "blocked", "merged", "closed"]


class BadgeSerializer(serializers.Serializer):
    """The request's state as the pages' pill says it (``merges.reads.badge``)."""

    kind = serializers.ChoiceField(choices=BADGE_KINDS, help_text=(
        "open, draft, approved, changes_requested, conflicts (open conflicts to resolve), blocked (a branch was "
        "deleted, or the last merge attempt was refused), merged or closed."))
    label = serializers.CharField(help_text='What the pill says, e.g. "open · approvals 0/1", "2 conflicts".')
    mergeable = serializers.BooleanField(help_text="Nothing the pill shows stops a merge.")


class MergeRequestSerializer(serializers.ModelSerializer):
    author = UsernameField()
    merged_by = UsernameField()
    auto_merge_by = UsernameField()
    in_progress = serializers.SerializerMethodField(help_text="An engine merge is open (conflicts being resolved).")
    approvals = serializers.SerializerMethodField()
    labels = LabelSerializer(many=True, read_only=True)
    assignees = serializers.SerializerMethodField(help_text="User names.")
    badge = serializers.SerializerMethodField(help_text="The state badge the pages show.")

    class Meta:
        model = MergeRequest
        fields = ["number", "title", "description", "source", "target", "state", "draft", "strategy", "author",
                  "auto_merge", "auto_merge_by", "source_head", "in_progress", "merge_commit", "merge_error",
                  "merged_by", "merged_at", "closed_at", "created_at", "updated_at", "approvals", "labels",
                  "assignees", "badge"]

    def get_assignees(self, mr) -> list[str]:
        return sorted(u.get_username() for u in mr.assignees.all())

    def get_in_progress(self, mr) -> bool:
        return mr.engine_merge_id is not None

    def get_badge(self, mr) -> BadgeSerializer:
        """From the context (``badges`` by pk, or the detail's ``header``), else read from the engine
        now (unless the context says ``read_engine: False``)."""
        from merges import reads

        found = self.context.get("badges", {}).get(mr.pk)
        head = self.context.get("header")
        if found is None and head is not None and head.badge is not None:
            found = head.badge
        if found is None and self.context.get("read_engine", True):
            found = reads.badges(mr.repository, [mr])[mr.pk]
        if found is None:  # (an event's payload: written without asking the engine, conflicts not counted)
            found = reads.badge(mr, self.context.get("approvals", {}).get(mr.pk), None, bool(mr.merge_error))
        return BadgeSerializer(found).data

    def get_approvals(self, mr) -> ApprovalsSerializer:
        from merges import actions

        status = self.context.get("approvals", {}).get(mr.pk) or actions.approvals(mr)
        return ApprovalsSerializer(status).data


# the request, with the header and merge box ------------------------------------------------

class WarningSerializer(serializers.Serializer):
    kind = serializers.CharField()
    table = serializers.CharField()
    message = serializers.CharField()
    statement = serializers.CharField()
    loses_data = serializers.BooleanField()


class PreviewConflictSerializer(serializers.Serializer):
    identity = serializers.CharField()
    kind = serializers.CharField()
    conflict_type = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["up_to_date", "fast_forward", "merge"])
    base = serializers.CharField(allow_null=True)
    source_head = serializers.CharField()
    target_head = serializers.CharField()
    step_count = serializers.SerializerMethodField()
    conflicts = PreviewConflictSerializer(many=True)
    warnings = WarningSerializer(many=True)
    in_progress = serializers.BooleanField()

    def get_step_count(self, preview) -> int:
        return len(preview.steps)


class SidesSerializer(serializers.Serializer):
    source_commit = serializers.CharField(source="sides.source")
    target_commit = serializers.CharField(source="sides.target")
    merge_base = serializers.CharField(source="sides.base", allow_null=True)
    commits = serializers.IntegerField(source="commits_count.n", help_text="Commits on the source not on the target.")
    commits_more = serializers.BooleanField(source="commits_count.more")
    changes = serializers.IntegerField(source="changes_count", allow_null=True,
                                       help_text="Objects the source changed since the merge base.")


class MergeBoxSerializer(serializers.Serializer):
    """What the caller may do now, and what a merge would do."""

    can_merge = serializers.BooleanField()
    merge_blocked = serializers.CharField(help_text="Why the caller cannot merge; empty when they can.")
    merge_role = serializers.SerializerMethodField(help_text="The lowest role that may merge into the target.")
    can_review = serializers.BooleanField()
    can_approve = serializers.BooleanField()
    can_edit = serializers.BooleanField()
    can_resolve = serializers.BooleanField()
    preview = PreviewSerializer(allow_null=True)
    preview_error = serializers.SerializerMethodField()

    def get_merge_role(self, box) -> str:
        return box.merge_role.label

    def get_preview_error(self, box) -> dict | None:
        exc = box.preview_error
        return {"code": exc.code, "message": exc.message} if exc else None


class MergeRequestDetailSerializer(MergeRequestSerializer):
    compare = serializers.SerializerMethodField(help_text="The commits compared; null when the engine did not answer.")
    compare_error = serializers.SerializerMethodField()
    merge_box = serializers.SerializerMethodField()

    class Meta(MergeRequestSerializer.Meta):
        fields = MergeRequestSerializer.Meta.fields + ["compare", "compare_error", "merge_box"]

    def get_compare(self, mr) -> SidesSerializer(allow_null=True):
        head = self.context.get("header")
        return SidesSerializer(head).data if head is not None and head.sides is not None else None

    def get_compare_error(self, mr) -> dict | None:
        head = self.context.get("header")
        exc = head.engine_error if head is not None else None
        return {"code": exc.code, "message": exc.message} if exc else None

    def get_merge_box(self, mr) -> MergeBoxSerializer(allow_null=True):
        box = self.context.get("merge_box")
        return MergeBoxSerializer(box).data if box is not None else None


# inputs of the request ---------------------------------------------------------------------

class MergeRequestCreateSerializer(serializers.Serializer):
    source = StrictCharField(max_length=REF_MAX, trim_whitespace=False)
    target = StrictCharField(max_length=REF_MAX, trim_whitespace=False)
    title = StrictCharField(max_length=MAX_TITLE)
    description = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
    draft = serializers.BooleanField(required=False, default=False)
    strategy = serializers.ChoiceField(choices=STRATEGIES, required=False, default="auto")


class MergeRequestEditSerializer(serializers.Serializer):
    """Only the fields given change."""

    title = StrictCharField(max_length=MAX_TITLE, required=False)
    description = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)
    draft = serializers.BooleanField(required=False)
    strategy = serializers.ChoiceField(choices=STRATEGIES, required=False)
    target = StrictCharField(max_length=REF_MAX, required=False, trim_whitespace=False,
                             help_text="Retarget the request to this branch (e.g. when its target was deleted).")


class DraftSerializer(serializers.Serializer):
    draft = serializers.BooleanField(help_text="true: mark as a draft; false: ready for review.")


class AutoMergeSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    strategy = serializers.ChoiceField(choices=STRATEGIES, required=False, allow_null=True, default=None)


class MergeActionSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=STRATEGIES, required=False, allow_null=True, default=None,
                                       help_text="The request's own strategy when absent.")
    force = serializers.BooleanField(required=False, default=False,
                                     help_text="Merge although steps lose data (a refused merge says which).")


# reviews and comments ----------------------------------------------------------------------

class ReviewSerializer(serializers.ModelSerializer):
    reviewer = UsernameField()

    class Meta:
        model = Review
        fields = ["id", "reviewer", "verdict", "body", "source_head", "dismissed", "dismissed_reason", "created_at"]


class ReviewCreateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Review.Verdict.values)
    body = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="",
                                 help_text="Required to request changes, and for a plain comment.")


class ReviewRequestSerializer(serializers.Serializer):
    reviewer = UsernameField(help_text="Who was asked for a review.")
    requested_by = UsernameField(help_text="Who asked (null when that account is gone).")
    created_at = serializers.DateTimeField()


class ReviewRequestCreateSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150, help_text="A member with the reviewer role or above, not the author.")


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = UsernameField()
    body = serializers.CharField()
    object_identity = serializers.CharField(help_text="The object commented on; empty for the request itself.")
    line = serializers.IntegerField(allow_null=True, help_text="The line of the source's definition commented on.")
    line_text = serializers.CharField(allow_blank=True, help_text="That line's text when the comment was written.")
    parent = serializers.IntegerField(source="parent_id", allow_null=True, help_text="The thread's first comment.")
    resolved_at = serializers.DateTimeField(allow_null=True, help_text="A thread is resolved on its first comment.")
    resolved_by = UsernameField()
    suggestion = serializers.CharField(allow_blank=True, help_text="SQL suggested for the source branch (a line "
                                                                   "comment); empty when it suggests nothing.")
    suggestion_applied_at = serializers.DateTimeField(allow_null=True)
    suggestion_applied_by = UsernameField()
    suggestion_commit = serializers.CharField(allow_blank=True, help_text="The commit that applied it on the source.")
    created_at = serializers.DateTimeField()


class CommentCreateSerializer(serializers.Serializer):
    body = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="",
                           help_text="Required unless the comment carries a suggestion.")
    suggestion = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="",
                                 trim_whitespace=False,
                                 help_text="SQL to suggest for the source branch, on a line (`line`) of a new thread.")
    object_identity = StrictCharField(max_length=IDENTITY_MAX, required=False, allow_blank=True, default="",
                                            help_text="e.g. `table public.orders`: comment on that object.")
    line = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=1_000_000,
                                    help_text="Comment on this line of the source's definition of the object.")
    parent = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                      help_text="Reply in the thread of this comment.")


class RestoreBranchSerializer(serializers.Serializer):
    branch = serializers.ChoiceField(choices=[("source", "source"), ("target", "target")], required=False,
                                     default="source", help_text="Which deleted branch to restore.")


class ThreadResolveSerializer(serializers.Serializer):
    resolved = serializers.BooleanField(default=True)


# the four tabs -----------------------------------------------------------------------------

class DataResolutionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    table_identity = serializers.CharField()
    key = serializers.JSONField(help_text="The row's primary key, e.g. {\"id\": 3}.")
    column = serializers.CharField(allow_blank=True, help_text="Empty: the whole row.")
    take = serializers.CharField(help_text="source, target, base or value.")
    value = serializers.JSONField(allow_null=True, help_text="With take=value: the cell's value (null: NULL).")
    resolved_by = serializers.CharField(source="resolved_by.get_username")
    created_at = serializers.DateTimeField()
    dismissed = serializers.BooleanField()
    dismissed_reason = serializers.CharField(allow_blank=True)


class TimelineResolutionSerializer(serializers.Serializer):
    object_identity = serializers.CharField()
    resolution = serializers.CharField(help_text="source, target, base or custom")
    definition = serializers.CharField(allow_blank=True, help_text="A custom resolution's definition, as recorded.")


class TimelineEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["opened", "review", "comment", "merged", "closed", "reopened", "pushed",
                                            "draft", "ready", "retitled", "auto_merge", "dismissed",
                                            "review_requested", "conflicts", "merge_failed", "resolved",
                                            "data_resolved", "labeled", "assigned",
                                            "suggestion_applied", "retargeted", "branch_restored"])
    at = serializers.DateTimeField()
    user = UsernameField()
    review = ReviewSerializer(allow_null=True)
    comment = CommentSerializer(allow_null=True)
    detail = serializers.DictField(help_text="What the entry says: pushed {head}, retitled {old, new}, auto_merge "
                                             "{on}, dismissed {count, reason}, review_requested {reviewer}, "
                                             "conflicts {count}, merge_failed {error}, labeled and "
                                             "assigned {added, removed} (label names, user names), suggestion_applied {commit, "
                                             "comment, suggested_by, identity, line}, retargeted {old, new}, "
                                             "branch_restored {which, head}.")
    commits = CommitSerializer(many=True, help_text="pushed: the new commits, newest first.")
    more_commits = serializers.BooleanField()
    resolution = serializers.SerializerMethodField()
    data_resolution = serializers.SerializerMethodField()

    @extend_schema_field(TimelineResolutionSerializer(allow_null=True))
    def get_resolution(self, event):
        if event.kind != "resolved" or event.resolution is None:
            return None
        return TimelineResolutionSerializer(event.resolution).data

    @extend_schema_field(DataResolutionSerializer(allow_null=True))
    def get_data_resolution(self, event):
        """data_resolved: a row or a cell of a data conflict."""
        if event.kind != "data_resolved" or event.resolution is None:
            return None
        return DataResolutionSerializer(event.resolution).data


class ConversationSerializer(serializers.Serializer):
    description = serializers.CharField()
    timeline = TimelineEventSerializer(many=True)


class CommitsTabSerializer(serializers.Serializer):
    source_commit = serializers.CharField()
    target_commit = serializers.CharField()
    merge_base = serializers.CharField(allow_null=True)
    commits = CommitSerializer(many=True)
    truncated = serializers.BooleanField(help_text="Only the newest commits are listed.")


class ChangedObjectSerializer(serializers.Serializer):
    identity = serializers.CharField()
    kind = serializers.CharField()
    change = serializers.ChoiceField(choices=["added", "modified", "deleted"])
    old_definition = serializers.CharField(allow_null=True, help_text="At the merge base.")
    new_definition = serializers.CharField(allow_null=True, help_text="On the source.")
    comments = CommentSerializer(many=True)


class ResolutionChangeSerializer(serializers.Serializer):
    identity = serializers.CharField()
    resolved_by = serializers.CharField(source="resolution.resolved_by.username")
    resolved_at = serializers.DateTimeField(source="resolution.created_at")
    definition = serializers.CharField(source="resolution.definition", help_text="What the merge records.")
    source_definition = serializers.CharField(allow_null=True, help_text="On the source.")


class ChangesTabSerializer(serializers.Serializer):
    source_commit = serializers.CharField()
    merge_base = serializers.CharField(allow_null=True)
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    objects = ChangedObjectSerializer(many=True, help_text="This page's objects.")
    resolutions = ResolutionChangeSerializer(many=True, help_text="The custom conflict resolutions in force (first "
                                                                  "page only): definitions someone wrote.")
    data = DataDiffRowSerializer(many=True, allow_null=True, default=None,
                                 help_text="When the source is a data branch (open requests): the rows it changed, "
                                           "against the checked-out tables; else null.")


class MigrationTabSerializer(serializers.Serializer):
    live = serializers.BooleanField(help_text="The target is checked out: merging runs this on the live database.")
    kind = serializers.CharField(allow_null=True, help_text="up_to_date, fast_forward or merge (open requests).")
    steps = MigrationStepSerializer(many=True)
    warnings = WarningSerializer(many=True)
    open_conflicts = serializers.IntegerField(help_text="Conflicts to resolve first: the steps change with them.")


# merging and conflicts ---------------------------------------------------------------------

class ConflictItemSerializer(serializers.Serializer):
    identity = serializers.CharField()
    kind = serializers.CharField()
    conflict_type = serializers.CharField()
    auto_resolvable = serializers.BooleanField(allow_null=True)
    resolution = serializers.CharField(allow_null=True, help_text="null while open; source, target, base or custom.")
    error = serializers.CharField(allow_null=True)
    base_definition = serializers.CharField(allow_null=True)
    source_definition = serializers.CharField(allow_null=True)
    target_definition = serializers.CharField(allow_null=True)
    result_definition = serializers.CharField(allow_null=True)


class ConflictsSerializer(serializers.Serializer):
    in_progress = serializers.BooleanField(help_text="false: no merge is open (POST to open one).")
    merge_id = serializers.IntegerField(allow_null=True)
    open = serializers.IntegerField()
    items = ConflictItemSerializer(many=True)


class ResolveSerializer(serializers.Serializer):
    identity = StrictCharField(max_length=IDENTITY_MAX, trim_whitespace=False)
    choice = serializers.ChoiceField(choices=CHOICES, required=False, allow_null=True, default=None,
                                     help_text="Without it, `result` is compared with the three versions.")
    result = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True, allow_null=True,
                                   default=None, trim_whitespace=False,
                                   help_text="The definition (custom); checked in the shadow database.")
    force = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if attrs["choice"] in (None, "custom") and attrs["result"] is None:
            raise serializers.ValidationError({"result": ["a custom resolution needs the result text"]})
        return attrs


class OutcomeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["merged", "up_to_date", "ready", "conflicts"],
                                     help_text="conflicts: resolved, others still open (open_conflicts)")
    commit = serializers.CharField(allow_null=True)
    merge_id = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    open_conflicts = serializers.SerializerMethodField()
    merge_request = serializers.SerializerMethodField()

    def get_open_conflicts(self, outcome) -> list[str]:
        return [i["identity"] for i in outcome.conflicts]

    def get_merge_request(self, outcome) -> MergeRequestSerializer:
        return MergeRequestSerializer(self.context["mr"], context=self.context).data


# data conflicts (the source is a data branch) ------------------------------------------------
# (plain CharFields for take and the like: an enum named after them would collide in the schema)

class StaleDataResolutionSerializer(DataResolutionSerializer):
    stale_reason = serializers.CharField()


class DataConflictSerializer(serializers.Serializer):
    table_identity = serializers.CharField()
    key = serializers.JSONField()
    conflict = serializers.CharField(help_text="Why, in the engine's words (e.g. changed on both sides).")
    columns = serializers.ListField(child=serializers.CharField(), help_text="The cells changed differently on both sides.")
    base = serializers.JSONField(allow_null=True)
    source = serializers.JSONField(allow_null=True)
    target = serializers.JSONField(allow_null=True)
    open = serializers.BooleanField(help_text="false: the resolutions in force settle it.")
    resolutions = DataResolutionSerializer(many=True)


class DataViolationSerializer(serializers.Serializer):
    table_identity = serializers.CharField()
    message = serializers.CharField()


class DataConflictsSerializer(serializers.Serializer):
    data = serializers.BooleanField(help_text="false: the source carries no data (nothing else is set).")
    target_checked_out = serializers.BooleanField(
        help_text="The engine merges data into the checked-out tables only: false means merging is refused.")
    checked_out = serializers.CharField(allow_null=True)
    open = serializers.IntegerField()
    items = DataConflictSerializer(many=True)
    violations = DataViolationSerializer(many=True, help_text="Constraints the merged rows would break.")
    stale = StaleDataResolutionSerializer(many=True, help_text="Stored resolutions no longer in force.")


class DataResolveSerializer(serializers.Serializer):
    table = StrictCharField(max_length=IDENTITY_MAX, help_text="`table public.orders` or `public.orders`.")
    key = serializers.DictField(help_text="The row's primary key, e.g. {\"id\": 3}.")
    column = StrictCharField(max_length=200, required=False, allow_blank=True, default="", trim_whitespace=False,
                             help_text="A cell; empty or absent: the whole row.")
    take = StrictCharField(max_length=10, help_text="source, target, base, or value (a cell).")
    value = serializers.JSONField(required=False, allow_null=True, default=None,
                                  help_text="With take=value: a string, number, boolean or null, cast by the column's type.")


# search ------------------------------------------------------------------------------------

class SearchObjectSerializer(serializers.Serializer):
    kind = serializers.CharField()
    identity = serializers.CharField()


class SearchResultsSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="What was searched for (trimmed, at most 200 characters).")
    merge_requests = MergeRequestSerializer(many=True)
    commits = CommitSerializer(many=True, help_text="Of the checked-out branch's history, newest first.")
    objects = SearchObjectSerializer(many=True, help_text="Of the checked-out branch's tree, by identity.")
    engine_error = serializers.SerializerMethodField(help_text="Why commits and objects could not be searched.")

    def get_engine_error(self, found) -> dict | None:
        exc = found.engine_error
        return {"code": exc.code, "message": exc.message} if exc else None
