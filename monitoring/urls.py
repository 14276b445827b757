from django.urls import path

from monitoring import views, webhook_views

app_name = "monitoring"

urlpatterns = [
    path("repos/<slug:slug>/alerts/", views.alert_list, name="alerts"),
    path("repos/<slug:slug>/alerts/<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("repos/<slug:slug>/alerts/<int:alert_id>/resolve/", views.resolve, name="resolve"),
    path("repos/<slug:slug>/settings/alerts/", views.rules, name="rules"),
    path("repos/<slug:slug>/settings/webhooks/", webhook_views.webhook_list, name="webhooks"),
    path("repos/<slug:slug>/settings/webhooks/<int:hook_id>/", webhook_views.webhook_detail, name="webhook"),
    path("repos/<slug:slug>/settings/webhooks/<int:hook_id>/ping/", webhook_views.ping, name="webhook_ping"),
    path("repos/<slug:slug>/settings/webhooks/<int:hook_id>/delete/", webhook_views.delete, name="webhook_delete"),
    path("repos/<slug:slug>/settings/webhooks/<int:hook_id>/deliveries/<int:delivery_id>/redeliver/",
         webhook_views.redeliver, name="webhook_redeliver"),
]
