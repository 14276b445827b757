from django.urls import path

from branches import views

app_name = "branches"

urlpatterns = [
    path("", views.repository_list, name="repository_list"),
    path("repos/<slug:slug>/", views.dashboard, name="dashboard"),
]
