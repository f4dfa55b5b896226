"""ASGI entry point: Django over HTTP, the chat and media-stream consumers over WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi = get_asgi_application()  # must run before importing anything that touches models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from channels_app.messaging.webhooks import MAX_BODY_BYTES  # noqa: E402
from config import heap, telemetry, tls  # noqa: E402
from config.bare_http import BareASGIHandler  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from dialogue import tokens  # noqa: E402

# One-time work done now rather than in the first requests, which would stall every call and
# chat of the process meanwhile: the tokenizer, the URLs (they import every view and API module)
# and the vendors' TLS contexts.
tokens.preload()
get_resolver().url_patterns  # noqa: B018 - evaluated for its imports
tls.warm()
telemetry.setup("web")
webhooks = BareASGIHandler(body_limit=MAX_BODY_BYTES)
WEBHOOKS = "/hooks/"  # channels_app.urls: signed by the platforms, answered without the middleware stack


async def http(scope, receive, send):
    app = webhooks if scope["path"].startswith(WEBHOOKS) else django_asgi
    await app(scope, receive, send)


application = ProtocolTypeRouter({"http": http, "websocket": URLRouter(websocket_urlpatterns)})

heap.settle()  # after the imports above: what they created stays out of garbage collection
