from django.contrib import admin
from django.urls import path

from channels_app import views as chat_views
from config import health
from config.api import api

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("demo/", chat_views.demo, name="demo"),
]
