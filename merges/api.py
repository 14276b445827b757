"""REST endpoints of merge requests: list and filter, open, edit, draft, close and reopen, the four
tabs (conversation, commits, changes, migration), reviews, comments, auto-merge, merge, conflicts
and their resolution, abort, restoring a deleted source branch.

Each view authorizes (``merges.actions.get_merge_request``, then the action's own ``check_*``: an
outsider gets 404, a role too low 403, both before the body is read), parses (a serializer), calls the function the page calls
(``merges.actions`` / ``merges.reads``) and serializes. Errors are exceptions turned into the one
error body by ``api.errors``; a merge that stops on conflicts or on data loss is a 409 with that
body too (``merge_conflicts``, ``data_loss_refused``), its ``detail`` naming the merge and objects.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import body as error_body
from api.pagination import MAX_PAGE_SIZE, page_size
from api.renderers import SQLRenderer
from branches.access import repository_for
from branches.actions import client_for
from merges import actions, reads
from merges import serializers as s
from merges.models import MergeRequest
from pggit_web.errors import ActionError

ERROR = inline_serializer("MergeError", {"error": inline_serializer("MergeErrorBody", {
    "code": serializers.CharField(), "message": serializers.CharField(), "detail": serializers.DictField()})})
PAGE = OpenApiParameter("page", int, description="Page of the changed objects (1 when absent).")
PAGE_SIZE = OpenApiParameter("page_size", int, description=f"1 to {MAX_PAGE_SIZE}.")
OBJECT = OpenApiParameter("object", str, description="Open the page holding this object, e.g. `table public.orders`.")
CURSOR = OpenApiParameter("cursor", str, description="From a previous page's next/previous link.")


def _valid(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _mr(request, slug: str, number: int) -> MergeRequest:
    """The request if the caller may read it; an outsider, unknown repository or number is a 404."""
    return actions.get_merge_request(request.user, slug, number)


def _fresh(mr: MergeRequest) -> MergeRequest:
    return MergeRequest.objects.select_related("repository", "author", "merged_by", "auto_merge_by").get(pk=mr.pk)


def _request_data(mr: MergeRequest) -> dict:
    return s.MergeRequestSerializer(_fresh(mr)).data


def _outcome(outcome: actions.MergeOutcome, mr: MergeRequest) -> Response:
    """A merge's or resolution's outcome: 200 when merged, resolved or ready; the error body with a
    409 when it stopped on conflicts (merge) or would lose data (a maintainer may ``force``)."""
    mr = _fresh(mr)
    detail = {"merge_id": outcome.merge_id, "state": mr.state}
    if outcome.status == "refused":
        return Response(error_body("data_loss_refused", outcome.message or "the merge would lose data", detail),
                        status=status.HTTP_409_CONFLICT)
    if outcome.status == "data_conflicts":
        return Response(error_body("data_conflicts", outcome.message, dict(detail, rows=[
            {"table_identity": r["table_identity"], "key": r["key"], "conflict": r["conflict"]}
            for r in outcome.conflicts])), status=status.HTTP_409_CONFLICT)
    return Response(s.OutcomeSerializer(outcome, context={"mr": mr}).data)


# the list and opening ----------------------------------------------------------------------

class MergeRequestFilter(django_filters.FilterSet):
    """The page's state filter (``open`` when absent, as on the page), and a few more."""

    state = django_filters.ChoiceFilter(choices=[(name, name) for name in reads.FILTERS], method="filter_state",
                                        help_text="open (open, changes requested, approved), merged, closed or all.")
    source = django_filters.CharFilter(help_text="Source branch.")
    target = django_filters.CharFilter(help_text="Target branch.")
    author = django_filters.CharFilter(method="filter_people", help_text="The author's user name.")
    draft = django_filters.BooleanFilter()
    label = django_filters.CharFilter(method="filter_people", help_text="A label's name (any case).")
    assignee = django_filters.CharFilter(method="filter_people", help_text="An assignee's user name.")
    reviewer = django_filters.CharFilter(method="filter_people",
                                         help_text="The user name of someone whose review was requested.")

    class Meta:
        model = MergeRequest
        fields = ["state", "source", "target", "author", "draft", "label", "assignee", "reviewer"]

    def filter_people(self, queryset, name, value):
        """label, assignee, author, reviewer: as the page filters (``reads.filtered``)."""
        return reads.filtered(queryset, **{name: value})

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and not data.get("state"):
            data = data.copy()
            data["state"] = "open"
        super().__init__(data, *args, **kwargs)

    def filter_state(self, queryset, name, value):
        states = reads.FILTERS.get(value)
        return queryset.filter(state__in=states) if states else queryset


class NumberCursorPagination(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-number"


class OldestFirstCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "id"


class MergeRequestList(GenericAPIView):
    serializer_class = s.MergeRequestSerializer
    filterset_class = MergeRequestFilter
    pagination_class = NumberCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or not hasattr(self, "repo"):
            return MergeRequest.objects.none()
        return reads.merge_requests(self.repo, "all")

    @extend_schema(operation_id="merge_requests_list", responses=s.MergeRequestSerializer(many=True))
    def get(self, request, slug):
        self.repo = repository_for(request.user, slug)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        found = reads.badges(self.repo, list(page))
        return self.get_paginated_response(s.MergeRequestSerializer(page, many=True, context={"badges": found}).data)

    @extend_schema(operation_id="merge_requests_create", request=s.MergeRequestCreateSerializer,
                   responses={201: s.MergeRequestSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request, slug):
        repo = repository_for(request.user, slug)
        actions.check_can_open(request.user, repo)
        data = _valid(s.MergeRequestCreateSerializer, request)
        mr = actions.open_merge_request(request.user, repo, **data)
        return Response(_request_data(mr), status=status.HTTP_201_CREATED)


# one request -------------------------------------------------------------------------------

class MergeRequestDetail(APIView):
    @extend_schema(operation_id="merge_requests_retrieve", responses=s.MergeRequestDetailSerializer)
    def get(self, request, slug, number):
        """The request, the commits it compares, and its merge box for the caller (what they may
        do, what a merge would do now: conflicts, risky steps)."""
        mr = _mr(request, slug, number)
        try:
            mr = actions.sync(mr)
        except ActionError:
            pass  # the engine did not answer: compare_error says why
        with client_for(mr.repository) as client:
            box = reads.merge_box(request.user, mr, client, cached_only=False)
            head = reads.header(request.user, mr, client)  # (after the preview: its badge counts the conflicts)
        mr = _fresh(mr)
        return Response(s.MergeRequestDetailSerializer(mr, context={"header": head, "merge_box": box}).data)

    @extend_schema(operation_id="merge_requests_partial_update", request=s.MergeRequestEditSerializer,
                   responses={200: s.MergeRequestSerializer, 400: ERROR, 403: ERROR, 409: ERROR})
    def patch(self, request, slug, number):
        """Edit title, description, draft flag, strategy or target (the author or a maintainer)."""
        mr = _mr(request, slug, number)
        actions.check_can_edit(request.user, mr)
        data = _valid(s.MergeRequestEditSerializer, request)
        actions.edit(request.user, mr, **data)
        return Response(_request_data(mr))


class Draft(APIView):
    @extend_schema(request=s.DraftSerializer, responses={200: s.MergeRequestSerializer, 403: ERROR, 409: ERROR})
    def post(self, request, slug, number):
        mr = _mr(request, slug, number)
        actions.check_can_edit(request.user, mr)
        data = _valid(s.DraftSerializer, request)
        actions.edit(request.user, mr, draft=data["draft"])
        return Response(_request_data(mr))


class Close(APIView):
    @extend_schema(request=None, responses={200: s.MergeRequestSerializer, 403: ERROR, 409: ERROR})
    def post(self, request, slug, number):
        mr = _mr(request, slug, number)
        actions.close(request.user, mr)
        return Response(_request_data(mr))


class Reopen(APIView):
    @extend_schema(request=None, responses={200: s.MergeRequestSerializer, 403: ERROR, 409: ERROR})
    def post(self, request, slug, number):
        mr = _mr(request, slug, number)
        actions.reopen(request.user, mr)
        return Response(_request_data(mr))


# the four tabs -----------------------------------------------------------------------------

class Conversation(APIView):
    @extend_schema(responses=s.ConversationSerializer)
    def get(self, request, slug, number):
        """The description and the timeline: the request's events, reviews and comments in time order."""
        mr = _mr(request, slug, number)
        with client_for(mr.repository) as client:
            timeline = reads.timeline(mr, client)
        return Response(s.ConversationSerializer({"description": mr.description, "timeline": timeline}).data)


class Commits(APIView):
    @extend_schema(responses=s.CommitsTabSerializer)
    def get(self, request, slug, number):
        """The commits on the source that the target does not have, newest first."""
        mr = _mr(request, slug, number)
        with client_for(mr.repository) as client:
            sides = reads.sides(client, mr)
            tab = reads.commits(client, sides)
        return Response(s.CommitsTabSerializer({
            "source_commit": sides.source, "target_commit": sides.target, "merge_base": sides.base,
            "commits": tab.commits, "truncated": tab.truncated}).data)


def _page(request) -> int:
    raw = request.query_params.get("page", "1")
    try:
        return max(1, int(raw))
    except ValueError:
        raise ActionError("page is a whole number", code="invalid_page") from None


class Changes(APIView):
    @extend_schema(parameters=[PAGE, PAGE_SIZE, OBJECT], responses=s.ChangesTabSerializer)
    def get(self, request, slug, number):
        """What the source changed since the merge base, a page of objects with their comments."""
        mr = _mr(request, slug, number)
        size = page_size(request, reads.CHANGES_PER_PAGE)
        wanted = request.query_params.get("object", "")[:s.IDENTITY_MAX]
        with client_for(mr.repository) as client:
            sides = reads.sides(client, mr)
            tab = reads.changes(client, mr, sides, _page(request), wanted, per_page=size, side_by_side_rows=False)
            data = reads.data_changes(client, mr, limit=None)
        return Response(s.ChangesTabSerializer({
            "source_commit": sides.source, "merge_base": sides.base, "total": tab.total, "counts": tab.counts,
            "page": tab.page.number, "pages": tab.page.paginator.num_pages, "objects": tab.objects,
            "resolutions": tab.resolutions, "data": None if data is None else data.rows}).data)


class Migration(APIView):
    """JSON steps with the risky ones, or the script as ``text/sql`` (``Accept: text/sql`` or
    ``?format=sql``): what merging would run on the target (for a merged request, what it ran)."""

    renderer_classes = [JSONRenderer, SQLRenderer]

    @extend_schema(responses={(200, "application/json"): s.MigrationTabSerializer, (200, "text/sql"): OpenApiTypes.STR})
    def get(self, request, slug, number, format=None):
        mr = _mr(request, slug, number)
        with client_for(mr.repository) as client:
            sides = reads.sides(client, mr)
            tab = reads.migration(client, mr, sides)
        if isinstance(request.accepted_renderer, SQLRenderer):
            return Response(tab.script)
        preview = tab.preview
        return Response(s.MigrationTabSerializer({
            "live": tab.live, "kind": preview.kind if preview else None,
            "steps": [dict(step, statement=statement) for step, statement in zip(tab.steps, tab.statements)],
            "warnings": preview.warnings if preview else [],
            "open_conflicts": len(preview.conflicts) if preview else 0}).data)

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and isinstance(getattr(request, "accepted_renderer", None), SQLRenderer):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


# reviews and comments ----------------------------------------------------------------------

class Reviews(APIView):
    pagination_class = OldestFirstCursorPagination

    @extend_schema(operation_id="merge_requests_reviews_list", parameters=[CURSOR, PAGE_SIZE],
                   responses=s.ReviewSerializer(many=True))
    def get(self, request, slug, number):
        mr = _mr(request, slug, number)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(reads.reviews(mr), request, view=self)
        return paginator.get_paginated_response(s.ReviewSerializer(page, many=True).data)

    @extend_schema(operation_id="merge_requests_reviews_create", request=s.ReviewCreateSerializer,
                   responses={201: inline_serializer("ReviewCreated", {
                       "review": s.ReviewSerializer(), "merge_request": s.MergeRequestSerializer()}),
                       400: ERROR, 403: ERROR, 409: ERROR})
    def post(self, request, slug, number):
        """Comment, approve or request changes. The last approval may merge (auto-merge)."""
        mr = _mr(request, slug, number)
        data = _valid(s.ReviewCreateSerializer, request)
        review = actions.review(request.user, mr, data["verdict"], data["body"])
        return Response({"review": s.ReviewSerializer(review).data, "merge_request": _request_data(mr)},
                        status=status.HTTP_201_CREATED)


class Reviewers(APIView):
    @extend_schema(operation_id="merge_requests_reviewers_list", responses=s.ReviewRequestSerializer(many=True))
    def get(self, request, slug, number):
        """Who was asked for a review, in the order they were asked."""
        mr = _mr(request, slug, number)
        return Response(s.ReviewRequestSerializer(reads.review_requests(mr), many=True).data)

    @extend_schema(operation_id="merge_requests_reviewers_create", request=s.ReviewRequestCreateSerializer,
                   responses={201: s.ReviewRequestSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request, slug, number):
        """Ask a member for a review (the author or a maintainer); they are notified. Asking again
        changes nothing."""
        mr = _mr(request, slug, number)
        actions.check_can_request_review(request.user, mr)
        data = _valid(s.ReviewRequestCreateSerializer, request)
        review_request = actions.request_review(request.user, mr, data["username"])
        return Response(s.ReviewRequestSerializer(review_request).data, status=status.HTTP_201_CREATED)


class MergeRequestLabels(APIView):
    @extend_schema(operation_id="merge_requests_labels_set", request=s.LabelsSetSerializer,
                   responses={200: s.MergeRequestSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def put(self, request, slug, number):
        """Set the request's labels (developers and above): exactly the names given, labels of
        the repository (400 ``unknown_label`` otherwise). Added and removed labels are in the timeline."""
        mr = _mr(request, slug, number)
        actions.check_can_triage(request.user, mr)
        data = _valid(s.LabelsSetSerializer, request)
        actions.set_labels(request.user, mr, data["labels"])
        return Response(_request_data(mr))


class MergeRequestAssignees(APIView):
    @extend_schema(operation_id="merge_requests_assignees_set", request=s.AssigneesSetSerializer,
                   responses={200: s.MergeRequestSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def put(self, request, slug, number):
        """Set the request's assignees (developers and above): exactly the members given (404
        ``user_not_found`` for anyone else). Changes are in the timeline."""
        mr = _mr(request, slug, number)
        actions.check_can_triage(request.user, mr)
        data = _valid(s.AssigneesSetSerializer, request)
        actions.set_assignees(request.user, mr, data["assignees"])
        return Response(_request_data(mr))


class Labels(APIView):
    @extend_schema(operation_id="labels_list", responses=s.LabelSerializer(many=True))
    def get(self, request, slug):
        """The repository's labels, by name."""
        repo = repository_for(request.user, slug)
        return Response(s.LabelSerializer(reads.labels(repo), many=True).data)

    @extend_schema(operation_id="labels_create", request=s.LabelCreateSerializer,
                   responses={201: s.LabelSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request, slug):
        """A new label (maintainers); 409 ``label_exists`` for a name taken in any case."""
        repo = repository_for(request.user, slug)
        actions.check_can_manage_labels(request.user, repo)
        data = _valid(s.LabelCreateSerializer, request)
        label = actions.create_label(request.user, repo, data["name"], data["color"], data["description"])
        return Response(s.LabelSerializer(label).data, status=status.HTTP_201_CREATED)


class LabelDetail(APIView):
    @extend_schema(operation_id="labels_update", request=s.LabelEditSerializer,
                   responses={200: s.LabelSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def patch(self, request, slug, name):
        """Rename a label or change its colour or description (maintainers)."""
        repo = repository_for(request.user, slug)
        actions.check_can_manage_labels(request.user, repo)
        data = _valid(s.LabelEditSerializer, request)
        label = actions.edit_label(request.user, repo, name, new_name=data.get("name"), color=data.get("color"),
                                   description=data.get("description"))
        return Response(s.LabelSerializer(label).data)

    @extend_schema(operation_id="labels_destroy", request=None, responses={204: None, 403: ERROR, 404: ERROR})
    def delete(self, request, slug, name):
        """Delete a label (maintainers): it goes from every request that had it."""
        repo = repository_for(request.user, slug)
        actions.check_can_manage_labels(request.user, repo)
        actions.delete_label(request.user, repo, name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class Search(APIView):
    @extend_schema(operation_id="repositories_search", parameters=[
        OpenApiParameter("q", str, required=True, description="Text to find, literally, in any case (at most 200 "
                                                               "characters).")],
        responses={200: s.SearchResultsSerializer, 400: ERROR, 404: ERROR})
    def get(self, request, slug):
        """Merge requests (title, description, `!n`), commits of the checked-out branch's history
        (message, author) and objects of its tree (by name) that contain `q`."""
        repo = repository_for(request.user, slug)
        if not reads.search_text(request.query_params.get("q")):
            raise ActionError("say what to search for: ?q=", code="missing_parameter")
        return Response(s.SearchResultsSerializer(reads.search(repo, request.query_params.get("q"))).data)


class Reviewer(APIView):
    @extend_schema(operation_id="merge_requests_reviewers_destroy", request=None,
                   responses={204: None, 403: ERROR, 404: ERROR})
    def delete(self, request, slug, number, username):
        """Withdraw the request for this member's review (the author or a maintainer)."""
        mr = _mr(request, slug, number)
        actions.check_can_request_review(request.user, mr)
        actions.remove_review_request(request.user, mr, username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class Comments(APIView):
    pagination_class = OldestFirstCursorPagination

    @extend_schema(operation_id="merge_requests_comments_list", parameters=[
        CURSOR, PAGE_SIZE, OpenApiParameter("object_identity", str, description=(
            "Only the comments on this object; empty for those on the request itself."))],
        responses=s.CommentSerializer(many=True))
    def get(self, request, slug, number):
        mr = _mr(request, slug, number)
        identity = request.query_params.get("object_identity")
        paginator = self.pagination_class()
        found = reads.comments(mr, identity[:s.IDENTITY_MAX] if identity is not None else None)
        page = paginator.paginate_queryset(found, request, view=self)
        return paginator.get_paginated_response(s.CommentSerializer(page, many=True).data)

    @extend_schema(operation_id="merge_requests_comments_create", request=s.CommentCreateSerializer,
                   responses={201: s.CommentSerializer, 400: ERROR, 403: ERROR})
    def post(self, request, slug, number):
        """Comment on the request, or on one object of its changes (``object_identity``)."""
        mr = _mr(request, slug, number)
        data = _valid(s.CommentCreateSerializer, request)
        comment = actions.add_comment(request.user, mr, data["body"], data["object_identity"], line=data["line"],
                                      parent_id=data["parent"], suggestion=data["suggestion"])
        return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class ApplySuggestion(APIView):
    @extend_schema(operation_id="merge_requests_comments_apply_suggestion", request=None, responses={
        200: s.CommentSerializer, 400: OpenApiResponse(ERROR, description="not_a_suggestion"), 403: ERROR, 404: ERROR,
        409: OpenApiResponse(ERROR, description="suggestion_applied, suggestion_outdated, suggestion_no_change, "
                                                "not_open, source_deleted"),
        422: OpenApiResponse(ERROR, description="rejected_by_postgresql: the SQL failed on the source branch; "
                                                "nothing changed")})
    def post(self, request, slug, number, comment_id):
        """Run the comment's suggested SQL on the source branch (whoever may push to it): one commit
        on the source; the comment is marked applied and its thread resolved."""
        mr = _mr(request, slug, number)
        actions.check_can_apply_suggestion(request.user, mr)
        comment = actions.apply_suggestion(request.user, mr, comment_id)
        return Response(s.CommentSerializer(comment).data)


class ResolveThread(APIView):
    @extend_schema(operation_id="merge_requests_comments_resolve", request=s.ThreadResolveSerializer,
                   responses={200: s.CommentSerializer, 403: ERROR, 404: ERROR})
    def post(self, request, slug, number, comment_id):
        """Resolve the thread of a comment (``resolved: false`` opens it again); returns its first comment."""
        mr = _mr(request, slug, number)
        data = _valid(s.ThreadResolveSerializer, request)
        root = actions.set_thread_resolved(request.user, mr, comment_id, data["resolved"])
        return Response(s.CommentSerializer(root).data)


# merging -----------------------------------------------------------------------------------

class AutoMerge(APIView):
    @extend_schema(request=s.AutoMergeSerializer, responses={200: s.MergeRequestSerializer, 403: ERROR, 409: ERROR})
    def post(self, request, slug, number):
        """Merge as the caller once the required approvals are in (``enabled: false`` turns it off)."""
        mr = _mr(request, slug, number)
        actions.check_merge_role(request.user, mr)
        data = _valid(s.AutoMergeSerializer, request)
        actions.set_auto_merge(request.user, mr, data["enabled"], data["strategy"])
        return Response(_request_data(mr))


class Merge(APIView):
    @extend_schema(request=s.MergeActionSerializer, responses={
        200: s.OutcomeSerializer,
        409: OpenApiResponse(ERROR, description="merge_conflicts (resolve them), data_loss_refused (merge with "
                                                "force), data_conflicts (the data merge stopped: rows to resolve or a "
                                                "constraint broken; nothing applied, the schema neither), "
                                                "data_target_not_checked_out, draft, approvals_missing, "
                                                "changes_requested, not_open"),
        403: ERROR})
    def post(self, request, slug, number):
        """Merge through the engine: verified in the shadow database; into the checked-out branch the
        live schema migrates in the merge commit's transaction."""
        mr = _mr(request, slug, number)
        actions.check_merge_role(request.user, mr)
        data = _valid(s.MergeActionSerializer, request)
        outcome = actions.merge(request.user, mr, strategy=data["strategy"], force=data["force"])
        if outcome.status == "conflicts":
            return Response(error_body("merge_conflicts", f"the merge stopped on conflicts: {outcome.message}", {
                "merge_id": outcome.merge_id, "conflicts": [i["identity"] for i in outcome.conflicts]}),
                status=status.HTTP_409_CONFLICT)
        return _outcome(outcome, mr)


def _conflicts_data(found: reads.Conflicts | None) -> dict:
    if found is None:
        return {"in_progress": False, "merge_id": None, "open": 0, "items": []}
    return s.ConflictsSerializer({"in_progress": True, "merge_id": found.merge_id, "open": len(found.open_items),
                                  "items": found.items}).data


class Conflicts(APIView):
    @extend_schema(operation_id="merge_requests_conflicts_list", responses={200: s.ConflictsSerializer, 403: ERROR})
    def get(self, request, slug, number):
        """The objects of the request's merge in progress with base, source, target and the result
        so far (reads only; ``in_progress`` false when none is open)."""
        mr = _mr(request, slug, number)
        return Response(_conflicts_data(reads.conflicts(request.user, mr)))

    @extend_schema(operation_id="merge_requests_conflicts_open", request=None,
                   responses={200: s.ConflictsSerializer, 403: ERROR, 409: ERROR})
    def post(self, request, slug, number):
        """Open the request's engine merge to resolve it before merging (earlier resolutions are
        applied again); 409 ``no_conflicts`` when it has none."""
        mr = _mr(request, slug, number)
        return Response(_conflicts_data(reads.opened_conflicts(request.user, mr)))


class Resolve(APIView):
    @extend_schema(request=s.ResolveSerializer, responses={
        200: s.OutcomeSerializer, 403: ERROR, 404: ERROR,
        409: OpenApiResponse(ERROR, description="no_merge, data_loss_refused"),
        422: OpenApiResponse(ERROR, description="rejected_by_postgresql: the custom text failed in the shadow "
                                                "database; nothing changed")})
    def post(self, request, slug, number):
        """Resolve one object with source, target, base or a custom text (checked in the shadow
        database). The last one merges when the approvals are in and the caller may merge."""
        mr = _mr(request, slug, number)
        actions.check_can_resolve(request.user, mr)
        data = _valid(s.ResolveSerializer, request)
        outcome = actions.resolve(request.user, mr, data["identity"], data["result"], data["choice"],
                                  force=data["force"])
        return _outcome(outcome, mr)


def _data_conflicts_data(plan) -> dict:
    if plan is None:
        return {"data": False, "target_checked_out": False, "checked_out": None, "open": 0, "items": [],
                "violations": [], "stale": []}
    return s.DataConflictsSerializer({
        "data": True, "target_checked_out": plan.target_checked_out, "checked_out": plan.current,
        "open": len(plan.open_conflicts), "items": plan.conflicts, "violations": plan.violations,
        "stale": plan.stale}).data


class DataConflicts(APIView):
    @extend_schema(operation_id="merge_requests_data_conflicts_list",
                   responses={200: s.DataConflictsSerializer, 403: ERROR})
    def get(self, request, slug, number):
        """The rows of a data branch (the source) that the data merge cannot take by itself, with
        base, source and target rows and the resolutions in force; the constraints the merged rows
        would break (checked in a rolled-back transaction when no conflict is open); the stored
        resolutions no longer in force. ``data`` false when the source carries no data."""
        mr = _mr(request, slug, number)
        return Response(_data_conflicts_data(actions.read_data_conflicts(request.user, mr)))


class DataResolve(APIView):
    @extend_schema(request=s.DataResolveSerializer, responses={
        201: s.DataResolutionSerializer, 400: ERROR, 403: ERROR, 404: ERROR,
        409: OpenApiResponse(ERROR, description="no_data, not_open"),
        422: OpenApiResponse(ERROR, description="sql_error: PostgreSQL refused the value (it does not cast)")})
    def post(self, request, slug, number):
        """Resolve a data conflict: the whole row (no ``column``) or one cell, taking source,
        target, base or a typed value. It replaces earlier resolutions of that row or cell; the
        merge applies it (nothing is merged here)."""
        mr = _mr(request, slug, number)
        actions.check_can_resolve(request.user, mr)
        data = _valid(s.DataResolveSerializer, request)
        res = actions.resolve_data(request.user, mr, data["table"], data["key"], data["take"], data["column"],
                                   data["value"])
        return Response(s.DataResolutionSerializer(res).data, status=status.HTTP_201_CREATED)


class DataResolution(APIView):
    @extend_schema(request=None, responses={204: None, 403: ERROR, 404: ERROR})
    def delete(self, request, slug, number, resolution_id):
        """Remove a data resolution in force: its conflict is open again (the timeline keeps it,
        dismissed)."""
        mr = _mr(request, slug, number)
        actions.remove_data_resolution(request.user, mr, resolution_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RestoreBranch(APIView):
    @extend_schema(request=s.RestoreBranchSerializer,
                   responses={200: s.MergeRequestSerializer, 400: ERROR, 403: ERROR, 409: ERROR})
    def post(self, request, slug, number):
        """Create the request's deleted source branch again at the head the request last knew
        (``source_head``), or (``branch: target``) its deleted target at the head the engine
        recorded when it was deleted; 409 ``branch_exists`` when the branch is there."""
        mr = _mr(request, slug, number)
        which = request.data.get("branch", "source") if hasattr(request.data, "get") else "source"
        actions.check_can_restore_branch(request.user, mr, "target" if which == "target" else "source")
        data = _valid(s.RestoreBranchSerializer, request)
        actions.restore_branch(request.user, mr, data["branch"])
        return Response(_request_data(mr))


class Abort(APIView):
    @extend_schema(request=None, responses={200: s.MergeRequestSerializer, 403: ERROR})
    def post(self, request, slug, number):
        """Abort the merge in progress; resolutions are kept for the next attempt."""
        mr = _mr(request, slug, number)
        actions.abort(request.user, mr)
        return Response(_request_data(mr))


from merges.api_urls import urlpatterns  # noqa: E402,F401  (api/urls.py includes this module's urlpatterns)
