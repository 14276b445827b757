"""URL configuration: sign-in (allauth), the admin, the REST API, health checks and metrics, repositories and
branches, merge requests."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from api import pages as api_pages
from api import views as api_views
from monitoring.metrics_views import metrics_view
from pggit_web import account_views

urlpatterns = [
    # Before admin.site.urls and allauth.urls, which they replace (see pggit_web/account_views.py).
    path("admin/login/", account_views.admin_login, name="admin_login_redirect"),
    path("accounts/password/reset/", account_views.PasswordResetView.as_view(), name="account_reset_password"),
    path("admin/", admin.site.urls),
    path("accounts/tokens/", api_pages.tokens_page, name="api_tokens"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("api.urls")),
    path("notifications/", include("monitoring.urls_notifications")),
    # browsers ask for /favicon.ico whatever the page links: send them to the vendored icon
    path("favicon.ico", login_not_required(RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
         name="favicon"),
    path("health/", api_views.Health.as_view(), name="health"),
    path("health/deep/", api_views.DeepHealth.as_view(), name="health_deep"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("merges.urls")),
    path("", include("monitoring.urls")),
    path("", include("branches.urls")),
]
