"""URL configuration: sign-in (allauth), the admin, repositories and branches, merge requests."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("merges.urls")),
    path("", include("branches.urls")),
]
