"""Zendesk's Tickets API, as the connector uses it (https://developer.zendesk.com/api-reference/).

    POST /api/v2/tickets.json        {"ticket": {...}}  → 201 {"ticket": {"id": 35436, ...}}
    PUT  /api/v2/tickets/{id}.json   {"ticket": {"comment": {...}, "status": "solved"}}

Basic auth is `{email}/token:{api_token}`. 422 is a validation error (`details` says which field),
429 comes with Retry-After. The host is Zendesk's (`{subdomain}.zendesk.com`) or the operator's
`ZENDESK_API_URL`, never a URL a builder typed, so plain httpx is enough here.
"""

from __future__ import annotations

import httpx
from django.conf import settings

from integrations import retry
from integrations.models import ZendeskConnection

TIMEOUT_S = 15


class ZendeskError(Exception):
    def __init__(self, message: str, *, retry: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.retry, self.retry_after = retry, retry_after


def base_url(connection: ZendeskConnection) -> str:
    return settings.ZENDESK_API_URL.format(subdomain=connection.subdomain).rstrip("/")


def _request(connection: ZendeskConnection, method: str, path: str, ticket: dict) -> dict:
    auth = (f"{connection.email}/token", connection.reveal_token())
    try:
        resp = httpx.request(method, base_url(connection) + path, json={"ticket": ticket}, auth=auth, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise ZendeskError(f"Could not reach Zendesk ({type(exc).__name__}).", retry=True) from exc
    if resp.is_success:
        return resp.json()
    raise ZendeskError(
        f"Zendesk answered {resp.status_code}: {_reason(resp)}",
        retry=retry.retryable(resp.status_code),
        retry_after=retry.retry_after_s(resp.headers.get("retry-after")),
    )


def _reason(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:200]
    details = data.get("details") or {}
    fields = "; ".join(d.get("description", "") for items in details.values() for d in items if isinstance(d, dict))
    return (fields or data.get("description") or str(data.get("error", "")))[:200]


def create_ticket(connection: ZendeskConnection, ticket: dict) -> int:
    return _request(connection, "POST", "/api/v2/tickets.json", ticket)["ticket"]["id"]


def update_ticket(connection: ZendeskConnection, ticket_id: int, ticket: dict) -> None:
    _request(connection, "PUT", f"/api/v2/tickets/{ticket_id}.json", ticket)
