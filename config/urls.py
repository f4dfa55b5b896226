from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from bots import demo_api
from channels_app import views as chat_views
from config import health, metrics
from config.api import api

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("demo-api/orders/<str:order_id>", demo_api.order_status, name="demo-order-status"),
    path("admin/", admin.site.urls),
    path("voice/", include("voice.urls")),
    path("hooks/", include("channels_app.urls")),
    path("demo/", chat_views.demo, name="demo"),
    path("studio/", include("studio.urls")),
    path("inbox/", include("inbox.urls")),
]
