from django.urls import path

from voice.consumers import MediaStreamConsumer

websocket_urlpatterns = [path("ws/twilio/media/", MediaStreamConsumer.as_asgi())]
