"""Log context: request id, workspace, bot, conversation and call ids bound where known.

Code binds ids with `bind(bot_id=...)`; every log record then carries them (JSON fields in
production, a suffix in development). Message texts are never passed to loggers; secret values
from settings are masked by `ContextFilter` in case one slips into an exception message.
"""

from __future__ import annotations

import contextvars
import logging
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)
CONTEXT_KEYS = ("request_id", "workspace_id", "bot_id", "conversation_id", "call_id")


def bind(**values) -> contextvars.Token:
    return _context.set({**(_context.get() or {}), **{k: v for k, v in values.items() if v is not None}})


def reset(token: contextvars.Token) -> None:
    _context.reset(token)


def _secret_values() -> list[str]:
    from django.conf import settings

    names = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "ELEVENLABS_API_KEY", "TWILIO_AUTH_TOKEN", "SECRET_KEY")
    return [v for v in (getattr(settings, n, "") for n in names) if v and len(v) >= 8]


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            setattr(record, key, value)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not kill the log call
            return True
        masked = message
        for secret in _secret_values():
            masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


class ReadableFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_KEYS if hasattr(record, k))
        return f"{line} [{ids}]" if ids else line


class RequestContextMiddleware:
    """Gives every request an id (kept from X-Request-ID when a proxy sets one) and binds it.

    Async-capable: one sync-only middleware makes Django run every request, async views included,
    on a thread of its own with its own new database connection, which a burst of webhooks turns
    into hundreds of connections."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        request_id, token = self._bind(request)
        try:
            response = self.get_response(request)
        finally:
            reset(token)
        response["X-Request-ID"] = request_id
        return response

    async def _acall(self, request):
        request_id, token = self._bind(request)
        try:
            response = await self.get_response(request)
        finally:
            reset(token)
        response["X-Request-ID"] = request_id
        return response

    @staticmethod
    def _bind(request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        return request_id, bind(request_id=request_id)
