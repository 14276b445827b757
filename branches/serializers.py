"""REST API shapes of repositories, branches, commits, objects, compare, migration, drift and the
repository's settings. Outputs read the dataclasses and dicts of ``branches.reads``; inputs only
check types and lengths (the actions check the rest and say why)."""

from __future__ import annotations

from rest_framework import serializers

from branches.models import BranchProtection, Repository, Role



class StrictCharField(serializers.CharField):
    """Text in a request: a JSON number, list or object is refused, not turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


ROLE_LABELS = [r.label for r in Role]
MERGE_ROLE_LABELS = [r.label for r in (Role.DEVELOPER, Role.REVIEWER, Role.MAINTAINER)]
ROLE_BY_LABEL = {r.label: r for r in Role}
# A name or ref in a request: long enough for any branch name, short enough to refuse junk early.
REF_MAX = 200


class RepositorySerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in the repository.")

    class Meta:
        model = Repository
        fields = ["slug", "name", "description", "default_branch", "created_at", "role"]

    def get_role(self, repo) -> str | None:
        from branches.access import role_of

        role = role_of(self.context["request"].user, repo)
        return role.label if role is not None else None


class RepositoryStateSerializer(serializers.Serializer):
    current_branch = serializers.CharField()
    engine_version = serializers.CharField(allow_null=True)
    branch_count = serializers.IntegerField()
    head = serializers.CharField()


class RepositoryDetailSerializer(RepositorySerializer):
    database = serializers.CharField(source="masked_dsn", help_text="Where the database is; never its password.")
    state = serializers.SerializerMethodField()
    state_error = serializers.SerializerMethodField()

    class Meta(RepositorySerializer.Meta):
        fields = RepositorySerializer.Meta.fields + ["database", "state", "state_error"]

    def get_state(self, repo) -> RepositoryStateSerializer(allow_null=True):
        state = self.context.get("state")
        return RepositoryStateSerializer(state).data if state else None

    def get_state_error(self, repo) -> dict | None:
        return self.context.get("state_error")


class RepositoryCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    dsn = StrictCharField(max_length=2000, write_only=True,
                                help_text="postgresql:// URL of the managed database; stored encrypted, never shown.")
    description = StrictCharField(required=False, allow_blank=True, default="", max_length=10_000)
    default_branch = StrictCharField(required=False, default="main", max_length=REF_MAX)
    install = serializers.BooleanField(required=False, default=True,
                                       help_text="Install (or upgrade) the engine in the database first.")


class CommitSerializer(serializers.Serializer):
    commit_id = serializers.CharField()
    parent_ids = serializers.ListField(child=serializers.CharField())
    author = serializers.CharField(help_text="Who the commit is by: the person a client acted for, else the role.")
    message = serializers.CharField()
    committed_at = serializers.DateTimeField()
    committer = serializers.CharField(
        allow_null=True, required=False, default=None,
        help_text="The database role that made the commit, when the author is a person it acted for.")


class AuditEntrySerializer(serializers.Serializer):
    """One row of the engine's audit trail: who (the database role), what, when, the outcome."""
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    role_name = serializers.CharField()
    operation = serializers.CharField()
    args = serializers.JSONField()
    outcome = serializers.ChoiceField(choices=["ok", "error", "refused"])
    detail = serializers.CharField(allow_null=True)
    duration_ms = serializers.FloatField(allow_null=True)
    person = serializers.CharField(allow_null=True, required=False, default=None,
                                   help_text="The person the role acted for (the web app's user), if any.")


class CountField(serializers.Field):
    """A commit count; ``null`` when not computed (the default branch itself)."""

    def to_representation(self, value):
        return value.n


class BranchSerializer(serializers.Serializer):
    name = serializers.CharField()
    head = serializers.CharField()
    is_head = serializers.BooleanField(help_text="Checked out: the live database reflects it.")
    is_default = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(help_text="The person (or role) that made it.")
    created_by_role = serializers.CharField(allow_null=True, default=None,
                                            help_text="The database role, when a person made it through the app.")
    data = serializers.BooleanField(source="carries_data", default=False,
                                    help_text="A data branch: it carries rows (docs/engine.md, \"Data branches\").")
    ahead = serializers.IntegerField(source="ahead.n", allow_null=True, default=None,
                                     help_text="Commits on this branch not on the default branch.")
    ahead_more = serializers.BooleanField(source="ahead.more", default=False,
                                          help_text="The true count is larger than `ahead`.")
    behind = serializers.IntegerField(source="behind.n", allow_null=True, default=None)
    behind_more = serializers.BooleanField(source="behind.more", default=False)
    last_commit = CommitSerializer(allow_null=True)


class BranchCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=REF_MAX, trim_whitespace=False)
    from_ref = StrictCharField(max_length=REF_MAX, required=False, allow_blank=True, default="",
                                     help_text="Branch, commit or tag to start from; HEAD when empty.")
    with_data = serializers.BooleanField(required=False, default=False,
                                         help_text="Carry the live rows of every table with a primary key (a data "
                                                   "branch); it then starts at HEAD.")


class ChangeSerializer(serializers.Serializer):
    identity = serializers.CharField()
    kind = serializers.CharField()
    change = serializers.ChoiceField(choices=["added", "modified", "deleted"])
    old_definition = serializers.CharField(allow_null=True)
    new_definition = serializers.CharField(allow_null=True)


class CommitDetailSerializer(serializers.Serializer):
    commit = CommitSerializer()
    branches = serializers.ListField(child=serializers.CharField(), help_text="Branches whose head it is.")
    changes = ChangeSerializer(many=True)


class TreeEntrySerializer(serializers.Serializer):
    identity = serializers.CharField()
    kind = serializers.CharField()
    hash = serializers.CharField()


class TreeSerializer(serializers.Serializer):
    ref = serializers.CharField()
    commit_id = serializers.CharField()
    objects = TreeEntrySerializer(many=True)


class ObjectVersionSerializer(CommitSerializer):
    change = serializers.CharField()
    definition = serializers.CharField(allow_null=True)
    previous_definition = serializers.CharField(allow_null=True)


class ObjectSerializer(serializers.Serializer):
    identity = serializers.CharField()
    ref = serializers.CharField()
    commit_id = serializers.CharField()
    kind = serializers.CharField(allow_null=True)
    definition = serializers.CharField(allow_null=True, help_text="At the ref; null when deleted there.")
    hash = serializers.CharField(allow_null=True)
    history = ObjectVersionSerializer(many=True)


class DataDiffRowSerializer(serializers.Serializer):
    table_identity = serializers.CharField()
    key = serializers.JSONField(help_text="The primary key's columns and values.")
    change = serializers.CharField(help_text="added, deleted or changed (going from `from` to `to`).")
    columns = serializers.ListField(child=serializers.CharField(), allow_null=True)
    old_row = serializers.JSONField(allow_null=True)
    new_row = serializers.JSONField(allow_null=True)


class CompareSerializer(serializers.Serializer):
    from_ref = serializers.CharField()
    to_ref = serializers.CharField()
    from_id = serializers.CharField()
    to_id = serializers.CharField()
    merge_base = serializers.CharField(allow_null=True)
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    objects = ChangeSerializer(many=True)
    data = DataDiffRowSerializer(many=True, allow_null=True, default=None,
                                 help_text="When one side is a data branch and the other HEAD: the rows that differ.")


class DataLossSerializer(serializers.Serializer):
    identity = serializers.CharField()
    statement = serializers.CharField()
    reason = serializers.CharField()


class MigrationStepSerializer(serializers.Serializer):
    """One step of a migration, as the engine's ``pggit.migration()`` returns it."""

    step = serializers.IntegerField(help_text="1, 2, ...: the order the statements run in.")
    kind = serializers.CharField(help_text="The kind of the object the step is for (table, index, view, ...), "
                                           "or setting for a SET the migration starts with.")
    identity = serializers.CharField(allow_null=True, help_text="The object the step is for; null for a setting.")
    statement = serializers.CharField()
    reason = serializers.CharField(allow_null=True, help_text=(
        "Why the step is there: added, dropped, changed, renamed, label added, or rebuilt: ... "
        "(the object it depends on, or a change no ALTER can make)."))


class MigrationSerializer(serializers.Serializer):
    from_ref = serializers.CharField()
    to_ref = serializers.CharField()
    from_id = serializers.CharField()
    to_id = serializers.CharField()
    steps = MigrationStepSerializer(many=True)
    data_loss = DataLossSerializer(many=True)


class DriftSerializer(serializers.Serializer):
    identity = serializers.CharField()
    kind = serializers.CharField()
    change = serializers.CharField()
    head_definition = serializers.CharField(allow_null=True)
    live_definition = serializers.CharField(allow_null=True)


# maintainer operations -------------------------------------------------------------------------

class CheckoutSerializer(serializers.Serializer):
    branch = StrictCharField(max_length=REF_MAX, trim_whitespace=False)
    force = serializers.BooleanField(default=False, help_text="Lose data where the migration would (dropped columns...).")


class RevertSerializer(serializers.Serializer):
    branch = StrictCharField(max_length=REF_MAX, required=False, allow_blank=True, default="",
                                   help_text="Branch to commit the revert on; HEAD's when empty.")
    force = serializers.BooleanField(default=False)


class ApplySerializer(serializers.Serializer):
    branch = StrictCharField(max_length=REF_MAX, trim_whitespace=False)
    sql = StrictCharField(max_length=1_000_000, trim_whitespace=False)
    message = StrictCharField(max_length=10_000, required=False, allow_blank=True, default="")
    with_drift = serializers.BooleanField(
        required=False, default=False,
        help_text="On the checked-out branch: run although the live database has drift (else 409 live_drift); "
                  "a statement that changes a drifted object records its drift with it.")


class RowsSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.CharField(allow_null=True)),
                                 help_text="The first 100 rows, each value as text (null for NULL).")
    total = serializers.IntegerField(help_text="How many rows the statement returned.")


class CommitResultSerializer(serializers.Serializer):
    commit_id = serializers.CharField(allow_null=True, help_text="The new commit; null when nothing changed.")


class ConsoleResultSerializer(CommitResultSerializer):
    rows = RowsSerializer(allow_null=True, required=False,
                          help_text="The rows of the last statement that returned some (a SELECT), else null.")


class ProtectionSerializer(serializers.ModelSerializer):
    merge_role = serializers.ChoiceField(choices=MERGE_ROLE_LABELS, default=Role.MAINTAINER.label)
    required_approvals = serializers.IntegerField(min_value=0, max_value=20, default=1)
    position = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    pattern = StrictCharField(max_length=200)

    class Meta:
        model = BranchProtection
        fields = ["pattern", "position", "required_approvals", "allow_self_approval", "merge_role",
                  "dismiss_stale_approvals"]
        extra_kwargs = {"allow_self_approval": {"default": False}, "dismiss_stale_approvals": {"default": True}}

    def to_representation(self, rule):
        data = super().to_representation(rule)
        data["merge_role"] = Role(rule.merge_role).label
        return data


class MemberSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    role = serializers.ChoiceField(choices=ROLE_LABELS, allow_null=True,
                                   help_text="The member's role; null removes the member.")
