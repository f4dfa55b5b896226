from django.urls import path

from channels_app.messaging.webhooks import webhook

urlpatterns = [
    path("<str:kind>/<str:key>/", webhook, name="channel-webhook"),
    path("<str:kind>/<str:key>/<str:endpoint>/", webhook, name="channel-webhook-endpoint"),
]
