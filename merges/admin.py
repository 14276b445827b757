"""Admin for merge requests, reviews, comments and conflict resolutions.

What the engine owns (the merge id, the merge commit, the source head the app last saw, the
times of merging and closing) and the request's state are read-only here: a request changes
state through the admin actions, which call ``merges.actions`` as the signed-in user, so the
same rules apply as on the site (roles, approvals, protected branches).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404

from merges.models import Comment, ConflictResolution, DataResolution, Label, MergeRequest, Review
from pggit_web.errors import ActionError, refusal_message


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    fields = ["reviewer", "verdict", "body", "source_head", "created_at", "dismissed", "dismissed_reason"]
    readonly_fields = ["reviewer", "verdict", "body", "source_head", "created_at"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # reviews are given on the site, against the source head of that moment


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    fields = ["author", "object_identity", "body", "created_at"]
    readonly_fields = ["author", "object_identity", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


class ResolutionInline(admin.TabularInline):
    model = ConflictResolution
    extra = 0
    fields = ["object_identity", "resolution", "resolved_by", "engine_merge_id", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


ENGINE_OWNED = ["source_head", "engine_merge_id", "merge_commit", "merge_error", "merged_by", "merged_at",
                "closed_at", "created_at", "updated_at"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    """A repository's labels (its maintainers manage them on its settings page too)."""

    list_display = ["name", "repository", "color", "description"]
    list_filter = ["repository"]
    search_fields = ["name", "description", "repository__name"]
    list_select_related = ["repository"]


@admin.register(MergeRequest)
class MergeRequestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "repository", "branches", "state", "draft", "author", "created_at", "merged_at"]
    list_display_links = ["__str__"]
    list_filter = ["state", "draft", "strategy", "auto_merge", "repository"]
    search_fields = ["title", "description", "source", "target", "author__username", "repository__name",
                     "merge_commit"]
    list_select_related = ["repository", "author"]
    date_hierarchy = "created_at"
    readonly_fields = ["repository", "number", "source", "target", "author", "state", "auto_merge_by",
                       "labels", "assignees", *ENGINE_OWNED]
    fieldsets = [
        (None, {"fields": ["repository", "number", "title", "description", "source", "target", "author", "state"]}),
        ("Triage (set on the site: changes are in the timeline)", {"fields": ["labels", "assignees"]}),
        ("Merging", {"fields": ["draft", "strategy", "auto_merge", "auto_merge_by"]}),
        ("Engine", {"fields": ENGINE_OWNED}),
    ]
    inlines = [ReviewInline, CommentInline, ResolutionInline]
    actions = ["approve", "merge", "close", "reopen"]

    @admin.display(description="source → target")
    def branches(self, obj):
        return f"{obj.source} → {obj.target}"

    def has_add_permission(self, request):
        return False  # opened on the site, where the engine checks that both branches exist

    # actions: each request on its own, reported one by one -------------------------------------

    def _each(self, request, queryset, do, done: str):
        for mr in queryset.select_related("repository"):
            label = f"{mr.repository.slug} !{mr.number}"
            try:
                result = do(mr)
            except (ActionError, PermissionDenied, Http404) as e:
                self.message_user(request, f"{label}: {refusal_message(e)}", messages.ERROR)
            else:
                level, text = result if isinstance(result, tuple) else (messages.SUCCESS, done)
                self.message_user(request, f"{label}: {text}", level)

    @admin.action(description="Approve the selected merge requests")
    def approve(self, request, queryset):
        from merges import actions

        self._each(request, queryset, lambda mr: actions.approve(request.user, mr) and None, "approved")

    @admin.action(description="Merge the selected merge requests (through the engine)")
    def merge(self, request, queryset):
        from merges import actions

        def do(mr):
            outcome = actions.merge(request.user, mr)
            if outcome.status == "merged":
                return messages.SUCCESS, f"merged as {outcome.commit[:12] if outcome.commit else '?'}"
            text = f"not merged ({outcome.status.replace('_', ' ')})"
            return messages.WARNING, text + (f": {outcome.message}" if outcome.message else "")

        self._each(request, queryset, do, "merged")

    @admin.action(description="Close the selected merge requests")
    def close(self, request, queryset):
        from merges import actions

        self._each(request, queryset, lambda mr: actions.close(request.user, mr) and None, "closed")

    @admin.action(description="Reopen the selected merge requests")
    def reopen(self, request, queryset):
        from merges import actions

        self._each(request, queryset, lambda mr: actions.reopen(request.user, mr) and None, "reopened")


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["merge_request", "reviewer", "verdict", "dismissed", "created_at"]
    list_filter = ["verdict", "dismissed", "merge_request__repository"]
    search_fields = ["body", "reviewer__username", "merge_request__title"]
    list_select_related = ["merge_request", "reviewer"]
    readonly_fields = ["merge_request", "reviewer", "verdict", "body", "source_head", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["merge_request", "author", "object_identity", "short_body", "created_at"]
    list_filter = ["merge_request__repository"]
    search_fields = ["body", "object_identity", "author__username", "merge_request__title"]
    list_select_related = ["merge_request", "author"]
    readonly_fields = ["merge_request", "author", "object_identity", "created_at"]

    @admin.display(description="comment")
    def short_body(self, obj):
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"

    def has_add_permission(self, request):
        return False


@admin.register(ConflictResolution)
class ConflictResolutionAdmin(admin.ModelAdmin):
    """Read-only record of who resolved what; the engine holds the merge result itself."""

    list_display = ["object_identity", "resolution", "merge_request", "resolved_by", "engine_merge_id", "created_at"]
    list_filter = ["resolution", "merge_request__repository"]
    search_fields = ["object_identity", "merge_request__title", "resolved_by__username"]
    list_select_related = ["merge_request", "resolved_by"]
    readonly_fields = ["merge_request", "engine_merge_id", "object_identity", "resolution", "definition",
                       "resolved_by", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False



@admin.register(DataResolution)
class DataResolutionAdmin(admin.ModelAdmin):
    """Read-only record of who resolved which row or cell of a data conflict (the pages and the API
    make and remove them)."""

    list_display = ["table_identity", "key", "column", "take", "merge_request", "resolved_by", "dismissed", "created_at"]
    list_filter = ["take", "dismissed", "merge_request__repository"]
    search_fields = ["table_identity", "column", "merge_request__title", "resolved_by__username"]
    list_select_related = ["merge_request", "resolved_by"]
    readonly_fields = ["merge_request", "table_identity", "key", "column", "take", "value", "source_row", "target_row",
                       "resolved_by", "created_at", "dismissed", "dismissed_reason", "removed_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
