"""The one NinjaAPI: each app mounts its router here. Docs at /api/docs."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.pagination import LimitOffsetPagination

api = NinjaAPI(
    title="Switchboard API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    description="Manage bots and talk to them. Every 4xx answers with the same error shape.",
)


# --- One error shape for every 4xx: {"error": {"code", "message", "details"}} -------------------------


class ErrorBody(Schema):
    code: str
    message: str
    details: list | dict | None = None


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    """Raise from any endpoint to answer `status` with the shared error shape."""

    def __init__(
        self, status: int, code: str, message: str, details: list | dict | None = None, *, headers: dict | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}  # e.g. Retry-After with a 429


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
_CODES |= {409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited"}


def error_response(request, status: int, code: str, message: str, details=None):
    return api.create_response(
        request, {"error": {"code": code, "message": message, "details": details}}, status=status
    )


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    response = error_response(request, exc.status, exc.code, exc.message, exc.details)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return error_response(request, 422, "invalid_input", "Some fields are missing or invalid.", exc.errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return error_response(request, 401, "unauthorized", "Send a valid API key (Authorization: Bearer ...) or log in.")


@api.exception_handler(AuthorizationError)
def _unauthorized(request, exc):
    return error_response(request, 403, "forbidden", str(exc) or "You may not do this.")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return error_response(request, 403, "forbidden", str(exc) or "You may not do this.")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "not_found", str(exc) or "Not found.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400 and exc.__cause__ is not None:
        # django-ninja could not parse the body: invalid input like any other, the one status every
        # operation documents for it.
        message = "The request body is not valid JSON. Send a JSON object with Content-Type: application/json."
        return error_response(request, 422, "invalid_input", message)
    return error_response(request, exc.status_code, _CODES.get(exc.status_code, "error"), str(exc))


class Pagination(LimitOffsetPagination):
    """`limit` and `offset` within what the database can count: a huge number is a 422, not a 500."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=500)
        offset: int = Field(0, ge=0, le=2**31 - 1)


# --- Routers (imported last: they use the error shape above) ----------------------------------------
api.add_router("/", "bots.api.router")  # workspaces, bots and their parts, versions, import/export
api.add_router("/chat", "channels_app.api.router")  # widget config; talk to a bot: JSON or SSE
api.add_router("/chat", "analytics.api.router")  # rate a conversation (CSAT)
api.add_router("/conversations", "conversations.api.router")  # a bot's conversations, transcripts
api.add_router("/", "knowledge.api.router")  # knowledge bases, documents, re-sync, search
api.add_router("/privacy", "privacy.api.router")  # erase or export a contact, retention, audit log
