"""Twilio's Messages API for SMS tests, beside the call-update endpoint of `FakeTwilioRest`
(wire facts: ../shared/reference/twilio.md).

`POST /2010-04-01/Accounts/{AC}/Messages.json` (form: To, From, Body, StatusCallback) answers
201 with the message resource; `fail_next(...)` scripts Twilio's error bodies (429 with
Retry-After, 500, a 400 with an error code). Every accepted send is recorded in `sent`.
`inbound(...)` builds the signed form Twilio posts to a messaging webhook.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from urllib.parse import parse_qs

from tests.fakes.server import read_body
from tests.fakes.twilio_client import FakeTwilioRest, _json, sign


class FakeTwilioMessaging(FakeTwilioRest):
    def __init__(self, account_sid: str, auth_token: str):
        self.sent: list[dict] = []  # {"sid", "form", "time"}
        self._failures: list[tuple[int, dict, dict]] = []
        self._lock = threading.Lock()
        super().__init__(account_sid, auth_token)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.sent.clear()
            self._failures.clear()

    def fail_next(self, status: int, *, code: int = 0, message: str = "", retry_after: int | None = None) -> None:
        body = {"code": code or None, "message": message or f"HTTP {status}", "status": status}
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures.append((status, body, headers))

    async def app(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith("/Messages.json"):
            return await super().app(scope, receive, send)
        body = await read_body(receive)
        auth = dict(scope["headers"]).get(b"authorization", b"")
        if auth != b"Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()):
            return await _json(send, 401, {"code": 20003, "message": "Authenticate", "status": 401})
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, data, headers = failure
            return await _json(send, status, data, headers)
        if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")) or not form.get("Body"):
            return await _json(send, 400, {"code": 21604, "message": "A 'To' phone number is required.", "status": 400})
        if len(form["Body"]) > 1600:
            return await _json(
                send,
                400,
                {
                    "code": 21617,
                    "message": "The concatenated message body exceeds the 1600 character limit.",
                    "status": 400,
                },
            )
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self.sent.append({"sid": sid, "form": form, "time": time.monotonic()})
        await _json(
            send,
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form["To"],
                "from": form.get("From"),
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
            },
        )

    def inbound(self, url: str, *, sender: str, receiver: str, body: str = "", **extra: str) -> tuple[dict, str]:
        """The form Twilio posts for an incoming SMS, and its X-Twilio-Signature for `url`."""
        sid = extra.pop("MessageSid", "SM" + uuid.uuid4().hex)
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": self.account_sid,
            "From": sender,
            "To": receiver,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
            **extra,
        }
        return form, sign(self.auth_token, url, form)

    def status(self, url: str, *, sid: str, status: str, error_code: str = "") -> tuple[dict, str]:
        """The form of a StatusCallback Twilio posts when a message we sent changes state."""
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": self.account_sid, "SmsStatus": status}
        if error_code:
            form["ErrorCode"] = error_code
        return form, sign(self.auth_token, url, form)
