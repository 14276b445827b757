from django.urls import path

from branches import views

app_name = "branches"

urlpatterns = [
    path("", views.repository_list, name="repository_list"),
    path("repos/new/", views.repository_add, name="repository_add"),
    path("repos/<slug:slug>/", views.dashboard, name="dashboard"),
    path("repos/<slug:slug>/engine/", views.install_engine, name="install_engine"),
    path("repos/<slug:slug>/drift/", views.drift, name="drift"),
    path("repos/<slug:slug>/drift/record/", views.drift_record, name="drift_record"),
    path("repos/<slug:slug>/drift/discard/", views.drift_discard, name="drift_discard"),
    path("repos/<slug:slug>/branches/", views.branch_list, name="branch_list"),
    path("repos/<slug:slug>/branches/new/", views.branch_create, name="branch_create"),
    path("repos/<slug:slug>/branches/delete/", views.branch_delete, name="branch_delete"),
    path("repos/<slug:slug>/checkout/", views.checkout, name="checkout"),
    path("repos/<slug:slug>/commits/", views.commit_log, name="commit_log"),
    path("repos/<slug:slug>/commits/<str:commit_id>/", views.commit_detail, name="commit_detail"),
    path("repos/<slug:slug>/commits/<str:commit_id>/revert/", views.commit_revert, name="commit_revert"),
    path("repos/<slug:slug>/compare/", views.compare, name="compare"),
    path("repos/<slug:slug>/objects/", views.object_history, name="object_history"),
    path("repos/<slug:slug>/console/", views.console, name="console"),
    path("repos/<slug:slug>/settings/", views.settings_page, name="settings"),
    path("repos/<slug:slug>/settings/members/", views.settings_member, name="settings_member"),
    path("repos/<slug:slug>/settings/protection/", views.settings_protection, name="settings_protection"),
    path("repos/<slug:slug>/settings/console/", views.settings_console, name="settings_console"),
]
