"""Websocket routes (pggit_web/asgi.py)."""

from django.urls import path

from monitoring import consumers

websocket_urlpatterns = [
    path("ws/repos/<str:slug>/", consumers.RepositoryConsumer.as_asgi()),
    path("ws/repos/<str:slug>/merge-requests/<int:number>/", consumers.MergeRequestConsumer.as_asgi()),
    path("ws/me/", consumers.UserConsumer.as_asgi()),
]
