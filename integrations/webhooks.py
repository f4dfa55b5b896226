"""Sending one signed webhook request. Endpoints are builder-typed URLs, so every request goes
through the SSRF guard (`dialogue.netguard`): private addresses are refused unless the workspace's
owner allowed private networks, metadata addresses always, hosts outside the workspace's allowed
hosts too, and we connect to the address that was checked."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from dialogue import netguard
from integrations import retry, signing
from integrations.models import WebhookDelivery

MAX_RESPONSE_BYTES = 64 * 1024  # receivers answer with a status; a big body is not read further


@dataclass
class Outcome:
    delivered: bool
    retry: bool = False
    response_code: int | None = None
    retry_after: float | None = None
    error: str = ""


def body(delivery: WebhookDelivery) -> bytes:
    envelope = {
        "id": str(delivery.delivery_id),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "workspace_id": delivery.endpoint.workspace_id,
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def check_url(url: str, workspace) -> None:
    """Raise `netguard.BlockedAddress`, with a message fit for the admin, if the URL may not be called."""
    netguard.resolve_sync(url, netguard.Policy.for_workspace(workspace))


def post(delivery: WebhookDelivery) -> Outcome:
    endpoint = delivery.endpoint
    content = body(delivery)
    # Signed at send time: a retry an hour later still falls inside the receiver's 5-minute window.
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Switchboard-Webhooks/1",
        signing.EVENT_HEADER: delivery.event,
        signing.DELIVERY_HEADER: str(delivery.delivery_id),
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.signature(endpoint.reveal_secret(), timestamp, content),
    }
    try:
        resp = netguard.fetch_sync(
            "POST",
            endpoint.url,
            headers=headers,
            content=content,
            policy=netguard.Policy.for_workspace(endpoint.workspace),
            timeout_s=settings.WEBHOOK_TIMEOUT_S,
            max_bytes=MAX_RESPONSE_BYTES,
        )
    except netguard.OutboundError as exc:
        return Outcome(delivered=False, error=str(exc))
    except httpx.HTTPError as exc:
        return Outcome(delivered=False, retry=True, error=f"Could not reach the receiver ({type(exc).__name__}).")
    if resp.ok:
        return Outcome(delivered=True, response_code=resp.status_code)
    snippet = resp.text.strip().replace("\n", " ")[:200]
    return Outcome(
        delivered=False,
        retry=retry.retryable(resp.status_code),
        response_code=resp.status_code,
        retry_after=retry.retry_after_s(resp.headers.get("retry-after")),
        error=f"The receiver answered {resp.status_code}" + (f": {snippet}" if snippet else "."),
    )
