from django.urls import path

app_name = "merges"

urlpatterns: list = []
