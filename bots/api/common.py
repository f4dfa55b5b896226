"""What every module of the bots API shares: authentication, the error responses, small helpers."""

from ninja import Schema
from ninja.security import django_auth

from bots import access
from bots.models import ApiKey
from config.api import ApiError, ErrorOut

# A workspace API key (scoped) or a logged-in admin session (the flow builder).
AUTH = [access.WorkspaceKeyAuth(), django_auth]
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def user_of(request):
    """The logged-in person behind the request, or None for an API key (versions record who published)."""
    return None if isinstance(request.auth, ApiKey) else request.auth


def conflict(message: str, **details):
    return ApiError(409, "conflict", message, details or None)


class Problem(Schema):
    code: str
    message: str
    path: str
    flow: str | None
    node: str | None
    field: str | None
