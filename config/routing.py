"""WebSocket paths. Each app adds its own `routing.websocket_urlpatterns` here."""

from channels.generic.websocket import WebsocketConsumer
from django.urls import path, re_path

from channels_app.routing import websocket_urlpatterns as chat_urlpatterns
from config.health import HealthSocket
from inbox.routing import websocket_urlpatterns as inbox_urlpatterns
from voice.routing import websocket_urlpatterns as voice_urlpatterns


class UnknownPath(WebsocketConsumer):
    """Refuses the handshake (HTTP 403) instead of letting URLRouter fail with a 500."""

    def connect(self):
        self.close()


websocket_urlpatterns = [
    path("ws/health/", HealthSocket.as_asgi()),
    *chat_urlpatterns,
    *voice_urlpatterns,
    *inbox_urlpatterns,
    re_path(r"", UnknownPath.as_asgi()),  # must stay last
]
