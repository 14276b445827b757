"""URL configuration: sign-in (allauth), the admin, repositories and branches, merge requests."""

from django.contrib import admin
from django.urls import include, path

from pggit_web import account_views

urlpatterns = [
    # Before admin.site.urls and allauth.urls, which they replace (see pggit_web/account_views.py).
    path("admin/login/", account_views.admin_login, name="admin_login_redirect"),
    path("accounts/password/reset/", account_views.PasswordResetView.as_view(), name="account_reset_password"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("merges.urls")),
    path("", include("branches.urls")),
]
