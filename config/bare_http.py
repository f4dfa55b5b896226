"""Django's ASGI handler without the middleware stack, for the messaging platforms' webhooks.

A webhook is signed by its sender and needs no session, CSRF, authentication or messages, while
each middleware hook Django runs on an async request is a hop to another thread (MiddlewareMixin
adapts its sync hooks with `sync_to_async`): together most of a webhook's cost. Everything else
the view relies on stays: URL resolution, the request object, error responses and their logging.
"""

from __future__ import annotations

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response


class BareASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)
