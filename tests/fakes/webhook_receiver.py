"""A customer's webhook receiver, checking Switchboard's signature as docs/webhooks.md tells them to.

It recomputes HMAC-SHA256 over "{X-Switchboard-Timestamp}.{raw body}" with the secret it was
given, refuses a signature that does not match or a timestamp over five minutes old (401), and
otherwise answers with the next scripted status (200 when the script is empty).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from tests.fakes.server import FakeVendor, read_body

TOLERANCE_S = 300


class WebhookReceiver(FakeVendor):
    def __init__(self):
        self.secret = ""
        self.received: list[dict] = []  # every request: {"headers", "body", "verified"}
        self.script: list[tuple[int, dict]] = []  # (status, extra headers) answered in order
        super().__init__()

    def reset(self, secret: str = "") -> None:
        self.secret = secret
        self.received.clear()
        self.script.clear()

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        timestamp = headers.get("x-switchboard-timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_S:
            return False
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        offered = [
            s.strip()[3:] for s in headers.get("x-switchboard-signature", "").split(",") if s.strip()[:3] == "v1="
        ]
        return any(hmac.compare_digest(expected, s) for s in offered)

    def accepted(self) -> list[dict]:
        """Bodies of the events that were verified and answered with a success."""
        return [r["json"] for r in self.received if r["verified"] and 200 <= r["status"] < 300]

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        verified = self.verify(headers, body)
        status, extra = (self.script.pop(0) if self.script else (200, {})) if verified else (401, {})
        self.received.append(
            {"headers": headers, "body": body, "json": json.loads(body), "verified": verified, "status": status}
        )
        response_headers = [(b"content-type", b"text/plain")] + [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send(
            {
                "type": "http.response.body",
                "body": b"ok" if status < 300 else b"bad signature" if not verified else b"nope",
            }
        )
