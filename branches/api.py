"""REST endpoints of repositories, branches, history, objects, compare, migration, drift and the
maintainer operations. Each view parses (a serializer), authorizes (``branches.access``, or the
action itself), calls the function the page calls (``branches.reads`` / ``branches.actions``) and
serializes. Errors are exceptions, turned into the one error body by ``api.errors``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import EngineCursor, NameCursorPagination
from api.renderers import SQLRenderer
from branches import actions, reads
from branches import serializers as s
from branches.access import repository_for, visible_repositories
from branches.models import Role
from pggit_web.errors import ActionError

REF = OpenApiParameter("ref", str, description="Branch, commit or tag; HEAD's branch when absent.")
FROM = OpenApiParameter("from", str, description="Branch, commit or tag; the default branch when absent.")
TO = OpenApiParameter("to", str, required=True, description="Branch, commit or tag.")
CURSOR = OpenApiParameter("cursor", str, description="From a previous page's next/previous link.")
PAGE_SIZE = OpenApiParameter("page_size", int, description="1 to 200 (default 50).")


def _param(request, name: str, *, required: bool = False, default: str | None = None) -> str | None:
    value = request.query_params.get(name, "")
    if len(value) > s.REF_MAX * 4:
        raise ActionError(f"{name} is too long", code="invalid_parameter")
    value = value.strip()
    if not value and required:
        raise ActionError(f"the query parameter {name!r} is required", code="missing_parameter")
    return value or default


def _results(name: str, serializer) -> serializers.Serializer:
    """The schema of ``{"results": [...]}`` (a short list that is not paginated)."""
    return inline_serializer(name, {"results": serializer(many=True)})


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# repositories -----------------------------------------------------------------------------------

class RepositoryList(APIView):
    pagination_class = NameCursorPagination

    @extend_schema(responses=s.RepositorySerializer(many=True), parameters=[CURSOR, PAGE_SIZE])
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(visible_repositories(request.user), request, view=self)
        return paginator.get_paginated_response(s.RepositorySerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request=s.RepositoryCreateSerializer, responses={201: s.RepositoryDetailSerializer})
    def post(self, request):
        actions.check_can_add_repository(request.user)
        data = _valid(s.RepositoryCreateSerializer, request)
        repo, version = actions.add_repository(request.user, **data)
        return Response(s.RepositoryDetailSerializer(repo, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class RepositoryDetail(APIView):
    @extend_schema(responses=s.RepositoryDetailSerializer)
    def get(self, request, slug):
        repo = repository_for(request.user, slug)
        context = {"request": request}
        try:
            context["state"] = reads.read_repository_state(repo)
        except ActionError as exc:  # the repository is listed even when its database does not answer
            context["state_error"] = {"code": exc.code, "message": exc.message}
        return Response(s.RepositoryDetailSerializer(repo, context=context).data)


# branches ---------------------------------------------------------------------------------------

class BranchList(APIView):
    @extend_schema(responses=inline_serializer("BranchList", {
        "current": serializers.CharField(), "default": serializers.CharField(allow_null=True),
        "results": s.BranchSerializer(many=True)}))
    def get(self, request, slug):
        repo = repository_for(request.user, slug)
        current, branches, default = reads.read_branches(repo)
        return Response({"current": current, "default": default, "results": s.BranchSerializer(branches, many=True).data})

    @extend_schema(request=s.BranchCreateSerializer, responses={201: inline_serializer(
        "BranchCreated", {"name": serializers.CharField(), "head": serializers.CharField()})})
    def post(self, request, slug):
        repo = repository_for(request.user, slug)
        data = _valid(s.BranchCreateSerializer, request)
        head = actions.create_branch(request.user, repo, data["name"], data["from_ref"].strip() or None,
                                     with_data=data["with_data"])
        return Response({"name": data["name"], "head": head}, status=status.HTTP_201_CREATED)


class BranchDetail(APIView):
    @extend_schema(parameters=[OpenApiParameter("force", bool, description="Delete even if not merged.")],
                   responses={200: inline_serializer("BranchDeleted", {"name": serializers.CharField(),
                                                                     "head": serializers.CharField()})})
    def delete(self, request, slug, name):
        repo = repository_for(request.user, slug)
        force = request.query_params.get("force", "").lower() in ("1", "true", "yes")
        head = actions.delete_branch(request.user, repo, name, force)
        return Response({"name": name, "head": head})


class Checkout(APIView):
    @extend_schema(request=s.CheckoutSerializer, responses=inline_serializer(
        "CheckedOut", {"branch": serializers.CharField(), "head": serializers.CharField()}))
    def post(self, request, slug):
        repo = repository_for(request.user, slug)
        data = _valid(s.CheckoutSerializer, request)
        head = actions.checkout(request.user, repo, data["branch"], data["force"])
        return Response({"branch": data["branch"], "head": head})


# history ----------------------------------------------------------------------------------------

class CommitList(APIView):
    @extend_schema(operation_id="repositories_commits_list", parameters=[REF, CURSOR, PAGE_SIZE],
                   responses=inline_serializer("CommitPage", {
        "next": serializers.URLField(allow_null=True), "previous": serializers.URLField(allow_null=True),
        "results": s.CommitSerializer(many=True)}))
    def get(self, request, slug):
        repo = repository_for(request.user, slug)
        cursor = EngineCursor(request)
        page = reads.read_history(repo, cursor.pinned or _param(request, "ref"), cursor.offset, cursor.size)
        return Response(cursor.response(page.head, page.commits, lambda rows: s.CommitSerializer(rows, many=True).data))


class AuditList(APIView):
    @extend_schema(operation_id="repositories_audit_list", parameters=[CURSOR, PAGE_SIZE],
                   responses=inline_serializer("AuditPage", {
        "next": serializers.URLField(allow_null=True), "previous": serializers.URLField(allow_null=True),
        "results": s.AuditEntrySerializer(many=True)}))
    def get(self, request, slug):
        """The engine's audit trail (maintainers), newest first."""
        repo = repository_for(request.user, slug, Role.MAINTAINER)
        cursor = EngineCursor(request)
        page = reads.read_audit(repo, int(cursor.pinned, 16) if cursor.pinned else None, cursor.offset, cursor.size)
        pinned = format(page.max_id, "x") if page.max_id is not None else "0"
        return Response(cursor.response(pinned, page.entries, lambda rows: s.AuditEntrySerializer(rows, many=True).data))


class CommitDetail(APIView):
    @extend_schema(responses=s.CommitDetailSerializer)
    def get(self, request, slug, commit_id):
        repo = repository_for(request.user, slug)
        return Response(s.CommitDetailSerializer(reads.read_commit(repo, commit_id)).data)


class Revert(APIView):
    @extend_schema(request=s.RevertSerializer, responses={201: s.CommitResultSerializer})
    def post(self, request, slug, commit_id):
        repo = repository_for(request.user, slug)
        data = _valid(s.RevertSerializer, request)
        new = actions.revert(request.user, repo, commit_id, data["branch"].strip() or None, data["force"])
        return Response({"commit_id": new}, status=status.HTTP_201_CREATED)


# objects, compare, migration, drift -------------------------------------------------------------

class Tree(APIView):
    @extend_schema(parameters=[REF], responses=s.TreeSerializer)
    def get(self, request, slug):
        repo = repository_for(request.user, slug)
        ref, commit, objects = reads.read_tree(repo, _param(request, "ref"))
        return Response(s.TreeSerializer({"ref": ref, "commit_id": commit, "objects": objects}).data)


class ObjectDetail(APIView):
    @extend_schema(parameters=[OpenApiParameter("identity", str, required=True,
                                                description="e.g. `table public.orders`"), REF],
                   responses=s.ObjectSerializer)
    def get(self, request, slug):
        repo = repository_for(request.user, slug)
        view = reads.read_object(repo, _param(request, "identity", required=True), _param(request, "ref"))
        return Response(s.ObjectSerializer(view).data)


class Compare(APIView):
    @extend_schema(parameters=[FROM, TO], responses=s.CompareSerializer)
    def get(self, request, slug):
        repo = repository_for(request.user, slug)
        cmp = reads.read_compare(repo, _param(request, "from", default=repo.default_branch),
                                 _param(request, "to", required=True), page=1, per_page=1_000_000, data_limit=None)
        return Response(s.CompareSerializer(cmp).data)


class MigrationView(APIView):
    """JSON steps, or the script as ``text/sql`` (``Accept: text/sql`` or ``?format=sql``)."""

    renderer_classes = [JSONRenderer, SQLRenderer]

    @extend_schema(parameters=[FROM, TO], responses={(200, "application/json"): s.MigrationSerializer,
                                                     (200, "text/sql"): OpenApiTypes.STR})
    def get(self, request, slug, format=None):
        repo = repository_for(request.user, slug)
        migration = reads.read_migration(repo, _param(request, "from", default=repo.default_branch),
                                         _param(request, "to", required=True))
        if isinstance(request.accepted_renderer, SQLRenderer):
            return Response(migration.script)
        return Response(s.MigrationSerializer(migration).data)

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and isinstance(getattr(request, "accepted_renderer", None), SQLRenderer):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class Drift(APIView):
    @extend_schema(responses=_results("DriftList", s.DriftSerializer))
    def get(self, request, slug):
        repo = repository_for(request.user, slug)
        return Response({"results": s.DriftSerializer(reads.read_drift(repo), many=True).data})


class DriftRecord(APIView):
    @extend_schema(request=inline_serializer("DriftRecordRequest", {"message": serializers.CharField(required=False)}),
                   responses={200: inline_serializer("DriftRecorded", {"commit": serializers.CharField(allow_null=True)})})
    def post(self, request, slug):
        repo = repository_for(request.user, slug)
        message = request.data.get("message") if isinstance(request.data, dict) else None
        if message is not None and not isinstance(message, str):
            raise ActionError("message must be a string", code="invalid_message")
        return Response({"commit": actions.record_drift(request.user, repo, message)})


class DriftDiscard(APIView):
    @extend_schema(request=inline_serializer("DriftDiscardRequest", {"force": serializers.BooleanField(required=False)}),
                   responses={200: inline_serializer("DriftDiscarded", {"head": serializers.CharField(allow_null=True)})})
    def post(self, request, slug):
        repo = repository_for(request.user, slug)
        force = request.data.get("force", False) if isinstance(request.data, dict) else False
        if not isinstance(force, bool):
            raise ActionError("force must be true or false", code="invalid_force")
        return Response({"head": actions.discard_drift(request.user, repo, force)})


# console ----------------------------------------------------------------------------------------

class Console(APIView):
    """Run DDL on a branch: in the shadow database on a branch that is not checked out, on the
    live database as the repository's console role on the checked-out one (``actions.apply_sql``)."""

    @extend_schema(request=s.ApplySerializer, responses={201: s.ConsoleResultSerializer, 200: s.ConsoleResultSerializer})
    def post(self, request, slug):
        repo = repository_for(request.user, slug)
        data = _valid(s.ApplySerializer, request)
        done = actions.run_console(request.user, repo, data["branch"], data["sql"], data["message"],
                                   with_drift=data["with_drift"])
        rows = s.RowsSerializer(done.rows).data if done.rows is not None else None
        return Response({"commit_id": done.commit, "rows": rows},
                        status=status.HTTP_201_CREATED if done.commit else status.HTTP_200_OK)


# settings: protection and members ---------------------------------------------------------------

class ProtectionList(APIView):
    @extend_schema(responses=_results("ProtectionList", s.ProtectionSerializer))
    def get(self, request, slug):
        repo = repository_for(request.user, slug, Role.MAINTAINER)
        return Response({"results": s.ProtectionSerializer(repo.protections.all(), many=True).data})

    @extend_schema(request=s.ProtectionSerializer, responses=s.ProtectionSerializer)
    def post(self, request, slug):
        """Create or update the rule for a pattern."""
        repo = repository_for(request.user, slug, Role.MAINTAINER)
        data = _valid(s.ProtectionSerializer, request)
        data["merge_role"] = s.ROLE_BY_LABEL[data["merge_role"]]
        rule = actions.save_protection(request.user, repo, **data)
        return Response(s.ProtectionSerializer(rule).data)


class ProtectionDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, slug, pattern):
        repo = repository_for(request.user, slug, Role.MAINTAINER)
        actions.delete_protection(request.user, repo, pattern)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberList(APIView):
    @extend_schema(responses=_results("MemberList", s.MemberSerializer))
    def get(self, request, slug):
        repo = repository_for(request.user, slug, Role.MAINTAINER)
        rows = [{"username": user.get_username(), "role": role.label} for user, role in actions.members(request.user, repo)]
        return Response({"results": s.MemberSerializer(rows, many=True).data})

    @extend_schema(request=s.MemberSerializer, responses=s.MemberSerializer)
    def post(self, request, slug):
        """Give a user exactly this role (null: no role)."""
        repo = repository_for(request.user, slug, Role.MAINTAINER)
        data = _valid(s.MemberSerializer, request)
        role = s.ROLE_BY_LABEL[data["role"]] if data["role"] else None
        actions.set_member_role(request.user, repo, data["username"], role)
        return Response({"username": data["username"].strip(), "role": data["role"]})

