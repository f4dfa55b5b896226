"""Zendesk's Tickets API as the connector uses it, with Zendesk's request and response shapes.

    POST /api/v2/tickets.json       {"ticket": {...}}  → 201 {"ticket": {"id": ..., "status": "new", ...}}
    PUT  /api/v2/tickets/{id}.json  {"ticket": {"comment": {...}, "status": ...}} → 200 {"ticket": {...}}

Basic auth `{email}/token:{api_token}` (401 otherwise); a ticket without a comment body or with a
malformed requester email is a 422 RecordInvalid with `details`, as Zendesk answers; `busy(n,
retry_after)` makes the next n requests 429 with Retry-After.
"""

from __future__ import annotations

import base64
import json
import re

from tests.fakes.server import FakeVendor, read_body

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FakeZendesk(FakeVendor):
    def __init__(self, email: str, token: str):
        self.email, self.token = email, token
        self.tickets: dict[int, dict] = {}
        self.requests: list[dict] = []  # {"method", "path", "json", "status"}
        self._busy: list[int] = []
        self._next_id = 1000
        super().__init__()

    def reset(self) -> None:
        self.tickets.clear()
        self.requests.clear()
        self._busy.clear()

    def busy(self, times: int, retry_after: int = 1) -> None:
        self._busy = [retry_after] * times

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        payload = json.loads(body) if body else {}
        status, answer, headers = self._handle(scope, payload)
        self.requests.append({"method": scope["method"], "path": scope["path"], "json": payload, "status": status})
        raw = [(b"content-type", b"application/json; charset=utf-8")] + [(k.encode(), v.encode()) for k, v in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    def _handle(self, scope, payload):
        auth = dict(scope["headers"]).get(b"authorization", b"")
        expected = b"Basic " + base64.b64encode(f"{self.email}/token:{self.token}".encode())
        if auth != expected:
            return 401, {"error": "Couldn't authenticate you"}, []
        if self._busy:
            return 429, {"error": "TooManyRequests"}, [("retry-after", str(self._busy.pop(0)))]
        ticket = payload.get("ticket") or {}
        path, method = scope["path"], scope["method"]
        if path == "/api/v2/tickets.json" and method == "POST":
            return self._create(ticket)
        match = re.fullmatch(r"/api/v2/tickets/(\d+)\.json", path)
        if match and method == "PUT":
            return self._update(int(match.group(1)), ticket)
        return 404, {"error": "InvalidEndpoint", "description": "Not found"}, []

    def _invalid(self, field: str, description: str):
        details = {field: [{"description": description, "error": "InvalidValue"}]}
        return 422, {"error": "RecordInvalid", "description": "Record validation errors", "details": details}, []

    def _create(self, ticket: dict):
        if not (ticket.get("comment") or {}).get("body"):
            return self._invalid("base", "Description: cannot be blank")
        requester = ticket.get("requester")
        if requester is not None and not _EMAIL.match(requester.get("email", "")):
            return self._invalid("requester", "Requester: Email is not properly formatted")
        self._next_id += 1
        stored = {**ticket, "id": self._next_id, "status": ticket.get("status", "new"), "comments": [ticket["comment"]]}
        self.tickets[self._next_id] = stored
        return 201, {"ticket": {k: v for k, v in stored.items() if k != "comments"}}, []

    def _update(self, ticket_id: int, change: dict):
        stored = self.tickets.get(ticket_id)
        if stored is None:
            return 404, {"error": "RecordNotFound", "description": "Not found"}, []
        if change.get("comment"):
            stored["comments"].append(change["comment"])
        if change.get("status"):
            stored["status"] = change["status"]
        return 200, {"ticket": {k: v for k, v in stored.items() if k != "comments"}}, []
