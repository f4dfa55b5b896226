"""How outgoing webhooks are signed (receivers: see docs/webhooks.md).

    X-Switchboard-Timestamp: 1718000000
    X-Switchboard-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{raw body}" with the endpoint's secret>

The timestamp is inside the signed text, so a captured request cannot be replayed later with a
fresh timestamp; receivers refuse timestamps more than five minutes old. "v1=" names the scheme,
so a second one can be added during a key or algorithm change without breaking receivers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Switchboard-Signature"
TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
EVENT_HEADER = "X-Switchboard-Event"
DELIVERY_HEADER = "X-Switchboard-Delivery"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"
