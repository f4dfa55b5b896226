"""Django's ASGI handler without the middleware stack, for the messaging platforms' webhooks.

A webhook is signed by its sender and needs no session, CSRF, authentication or messages, while
each middleware hook Django runs on an async request is a hop to another thread (MiddlewareMixin
adapts its sync hooks with `sync_to_async`): together most of a webhook's cost. Everything else
the view relies on stays: URL resolution, the request object, error responses and their logging.

The body is read up to a limit only: Django's handler would first buffer any size to disk, and
the view refuses a body over the limit (413) whatever follows. What follows still arrives while
the view runs, so the disconnect listener discards it rather than treat it as a protocol error.
"""

from __future__ import annotations

import io

from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response


class BareASGIHandler(ASGIHandler):
    def __init__(self, *, body_limit: int):
        super().__init__()
        self.body_limit = body_limit

    async def read_body(self, receive):
        """At most one byte past the limit, so the view can tell the body was too long."""
        body = bytearray()
        while len(body) <= self.body_limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestAborted()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        return io.BytesIO(bytes(body[: self.body_limit + 1]))

    async def listen_for_disconnect(self, receive):
        # Django's listener asserts that nothing but a disconnect follows the body it read: true of
        # a full read, not of one stopped at the limit, where the sender's remaining chunks come next.
        while (await receive())["type"] != "http.disconnect":
            pass
        raise RequestAborted()

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)
