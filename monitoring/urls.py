from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("repos/<slug:slug>/alerts/", views.alert_list, name="alerts"),
    path("repos/<slug:slug>/alerts/<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("repos/<slug:slug>/alerts/<int:alert_id>/resolve/", views.resolve, name="resolve"),
    path("repos/<slug:slug>/settings/alerts/", views.rules, name="rules"),
]
