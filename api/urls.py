"""/api/v1/: the REST API (docs/api.md). /health/ and /health/deep/ are in pggit_web/urls.py."""

from importlib import import_module
from importlib.util import find_spec

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework_simplejwt.views import TokenBlacklistView, TokenRefreshView

from api import errors, views
from branches import api as branches

app_name = "api"

repo = "repositories/<slug:slug>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", views.RedocView.as_view(url_name="api:schema"), name="redoc"),
    path("auth/token/", views.LoginTokenObtainView.as_view(), name="token_obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("auth/token/revoke/", TokenBlacklistView.as_view(), name="token_revoke"),
    path("tokens/", views.TokenList.as_view(), name="tokens"),
    path("tokens/<str:token_id>/", views.TokenDetail.as_view(), name="token"),
    path("repositories/", branches.RepositoryList.as_view(), name="repositories"),
    path(repo, branches.RepositoryDetail.as_view(), name="repository"),
    path(repo + "branches/", branches.BranchList.as_view(), name="branches"),
    path(repo + "branches/<path:name>/", branches.BranchDetail.as_view(), name="branch"),
    path(repo + "checkout/", branches.Checkout.as_view(), name="checkout"),
    path(repo + "commits/", branches.CommitList.as_view(), name="commits"),
    path(repo + "audit/", branches.AuditList.as_view(), name="audit"),
    path(repo + "commits/<str:commit_id>/", branches.CommitDetail.as_view(), name="commit"),
    path(repo + "commits/<str:commit_id>/revert/", branches.Revert.as_view(), name="revert"),
    path(repo + "tree/", branches.Tree.as_view(), name="tree"),
    path(repo + "objects/", branches.ObjectDetail.as_view(), name="object"),
    path(repo + "compare/", branches.Compare.as_view(), name="compare"),
    path(repo + "migration/", branches.MigrationView.as_view(), name="migration"),
    path(repo + "drift/", branches.Drift.as_view(), name="drift"),
    path(repo + "drift/record/", branches.DriftRecord.as_view(), name="drift_record"),
    path(repo + "drift/discard/", branches.DriftDiscard.as_view(), name="drift_discard"),
    path(repo + "console/", branches.Console.as_view(), name="console"),
    path(repo + "protections/", branches.ProtectionList.as_view(), name="protections"),
    path(repo + "protections/<path:pattern>/", branches.ProtectionDetail.as_view(), name="protection"),
    path(repo + "members/", branches.MemberList.as_view(), name="members"),
]

# merges/api.py adds the merge-request endpoints by defining ``urlpatterns`` (relative to /api/v1/).
if find_spec("merges.api") is not None and hasattr(import_module("merges.api"), "urlpatterns"):
    urlpatterns.append(path("", include("merges.api")))
if find_spec("monitoring.api") is not None:
    urlpatterns.append(path("", include("monitoring.api")))

urlpatterns.append(path("", include("monitoring.notification_api")))  # notifications (docs/api.md)
urlpatterns.append(path("", include("monitoring.webhook_api")))  # webhooks (docs/webhooks.md)
urlpatterns.append(re_path(r"^repos/(?P<rest>[\s\S]*)$", errors.repos_alias))  # /repos/ = /repositories/
urlpatterns.append(re_path(r"^[\s\S]*$", errors.not_found))  # [\s\S]: also a path with a newline
