"""A local WhatsApp Cloud API (Graph API) server, and Meta's side of the webhooks, for tests
(wire facts: ../shared/reference/whatsapp.md).

`FakeWhatsApp` answers `POST /{version}/{phone_number_id}/messages` as Meta does: it checks the
Bearer token, validates the message's shape and the limits Meta enforces (error 100 otherwise),
and returns the real success body with a new wamid. `GET /{version}/{media_id}` returns the
media's metadata with a download URL on this server, which again wants the Bearer token.
Failures are scripted with `fail(...)` (HTTP 429 with Retry-After, 500, Meta error codes).

The module-level helpers build the notifications Meta posts to our webhook (messages, status
reports) and sign them with the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass

from tests.fakes.server import FakeVendor, read_body

VERSION = "v23.0"


@dataclass
class Failure:
    """One scripted refusal of the next send: an HTTP status and Meta's error code."""

    status: int = 500
    code: int = 1
    message: str = "An unknown error occurred"
    retry_after: float | None = None


class FakeWhatsApp(FakeVendor):
    path_prefix = f"/{VERSION}"

    def __init__(self, access_token: str):
        self.access_token = access_token
        self.sent: list[dict] = []  # accepted messages: {"phone_number_id", "body", "id", "time"}
        self.attempts: list[dict] = []  # every POST to /messages, refused or not: {"body", "time"}
        self.media: dict[str, tuple[bytes, str]] = {}  # media id -> (bytes, mime type)
        self.downloads: list[str] = []
        self._failures: list[Failure] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__()

    # --- control -------------------------------------------------------------------------

    def fail(self, *failures: Failure) -> None:
        """Refuse the next sends, one failure each, in order."""
        with self._lock:
            self._failures.extend(failures)

    def add_media(self, media_id: str, data: bytes, mime: str = "audio/ogg; codecs=opus") -> None:
        self.media[media_id] = (data, mime)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
        self.sent.clear()
        self.attempts.clear()
        self.media.clear()
        self.downloads.clear()

    # --- ASGI ------------------------------------------------------------------------------

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return await _error(send, 401, 190, "Error validating access token: Session has expired.")
        parts = scope["path"].strip("/").split("/")
        if scope["method"] == "GET" and len(parts) == 2 and parts[0] == "download":
            return await self._download(send, parts[1])
        if len(parts) < 2 or parts[0] != VERSION:
            return await _error(send, 404, 100, "Unknown path components")
        if scope["method"] == "GET" and len(parts) == 2:
            return await self._media_info(send, parts[1])
        if scope["method"] == "POST" and len(parts) == 3 and parts[2] == "messages":
            return await self._message(send, parts[1], body, headers)
        return await _error(send, 400, 100, "Unsupported request")

    async def _media_info(self, send, media_id: str):
        if media_id not in self.media:
            return await _error(send, 400, 100, f"Unsupported get request. Object with ID '{media_id}' does not exist")
        data, mime = self.media[media_id]
        url = f"{self._server.base_url}/download/{media_id}"
        info = {"url": url, "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data)}
        await _json(send, 200, {**info, "id": media_id, "messaging_product": "whatsapp"})

    async def _download(self, send, media_id: str):
        if media_id not in self.media:
            return await _error(send, 404, 100, "Media not found")
        self.downloads.append(media_id)
        data, mime = self.media[media_id]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", mime.encode())]})
        await send({"type": "http.response.body", "body": data})

    async def _message(self, send, phone_number_id: str, raw: bytes, headers: dict):
        if not headers.get("content-type", "").startswith("application/json"):
            return await _error(send, 400, 100, "Content-Type must be application/json")
        try:
            body = json.loads(raw)
        except ValueError:
            return await _error(send, 400, 100, "Invalid JSON")
        self.attempts.append({"body": body, "time": time.monotonic()})
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            extra = [(b"retry-after", str(failure.retry_after).encode())] if failure.retry_after is not None else []
            return await _error(send, failure.status, failure.code, failure.message, extra)
        problem = invalid_message(body)
        if problem:
            return await _error(send, 400, 100, f"Invalid parameter: {problem}")
        wamid = f"wamid.FAKE{next(self._ids):06d}"
        self.sent.append({"phone_number_id": phone_number_id, "body": body, "id": wamid, "time": time.monotonic()})
        recipient = body.get("to") or body.get("recipient")
        contact = {"input": recipient, "wa_id": body["to"]} if "to" in body else {"input": recipient}
        await _json(
            send,
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            },
        )


def invalid_message(body: dict) -> str:
    """What Meta would refuse in a message body (its documented limits), or ""."""
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not body.get("to") and not body.get("recipient"):
        return "to is required"
    kind = body.get("type", "text")
    if kind == "text":
        text = body.get("text") or {}
        if not isinstance(text.get("body"), str) or not text["body"].strip():
            return "text.body is required"
        return "text.body is longer than 4096" if len(text["body"]) > 4096 else ""
    if kind != "interactive":
        return f"unsupported type {kind}"
    interactive = body.get("interactive") or {}
    for part in ("header", "footer"):
        if len((interactive.get(part) or {}).get("text", "")) > 60:
            return f"{part}.text is longer than 60"
    text = (interactive.get("body") or {}).get("text", "")
    action = interactive.get("action") or {}
    if not text.strip():
        return "body.text is required"
    if interactive.get("type") == "button":
        buttons = action.get("buttons") or []
        ids = [b.get("reply", {}).get("id", "") for b in buttons]
        if not 1 <= len(buttons) <= 3:
            return "buttons must have 1 to 3 items"
        if len(text) > 1024:
            return "body.text is longer than 1024"
        if any(b.get("type") != "reply" for b in buttons) or any(not i or len(i) > 256 for i in ids):
            return "each button needs type reply and an id of 1 to 256 characters"
        if len(set(ids)) != len(ids):
            return "button ids must be unique"
        titles = [b["reply"].get("title", "") for b in buttons]
        return "button title must be 1 to 20 characters" if any(not t or len(t) > 20 for t in titles) else ""
    if interactive.get("type") == "list":
        sections = action.get("sections") or []
        rows = [r for s in sections for r in s.get("rows") or []]
        if len(text) > 4096:
            return "body.text is longer than 4096"
        if not action.get("button") or len(action["button"]) > 20:
            return "action.button must be 1 to 20 characters"
        if not 1 <= len(sections) <= 10 or any(len(s.get("title", "")) > 24 for s in sections):
            return "1 to 10 sections with titles of at most 24 characters"
        if not 1 <= len(rows) <= 10:
            return "a list holds 1 to 10 rows"
        if any(not r.get("id") or len(r["id"]) > 200 or not r.get("title") or len(r["title"]) > 24 for r in rows):
            return "row id at most 200 and title 1 to 24 characters"
        return "row description is longer than 72" if any(len(r.get("description", "")) > 72 for r in rows) else ""
    return f"unsupported interactive type {interactive.get('type')}"


async def _json(send, status: int, data: dict, headers: list | None = None):
    raw = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def _error(send, status: int, code: int, message: str, headers: list | None = None):
    error = {
        "message": f"(#{code}) {message}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": message},
        "fbtrace_id": "AFakeTrace",
    }
    await _json(send, status, {"error": error}, headers)


# --- Meta's webhooks --------------------------------------------------------------------------------


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header Meta sends with `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def notification(phone_number_id: str, **value) -> bytes:
    """A webhook body with one change whose value holds `value` (messages, statuses, contacts)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        **value,
    }
    entry = {"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}
    # Meta escapes non-ASCII characters: the signature covers exactly these bytes.
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


_wamids = itertools.count(1)


def message(
    phone_number_id: str,
    kind: str = "text",
    *,
    sender: str = "16505551234",
    name: str = "Sheena Nelson",
    wamid: str | None = None,
    user_id: str | None = None,
    **content,
) -> bytes:
    """A notification of one message a person sent: `content` is its type's object, e.g.
    `message(pnid, text={"body": "hi"})` or `message(pnid, "audio", audio={...})`."""
    msg = {
        "from": sender,
        "id": wamid or f"wamid.IN{next(_wamids):08d}",
        "timestamp": str(int(time.time())),
        "type": kind,
    }
    contact = {"profile": {"name": name}, "wa_id": sender}
    if user_id:
        msg["from_user_id"] = contact["user_id"] = user_id
    return notification(phone_number_id, contacts=[contact], messages=[{**msg, **content}])


def status(
    phone_number_id: str,
    wamid: str,
    state: str,
    *,
    recipient: str = "16505551234",
    error_code: int | None = None,
    error_title: str = "",
) -> bytes:
    """A delivery report on a message we sent: sent, delivered, read or failed (with an error code)."""
    report = {"id": wamid, "status": state, "timestamp": str(int(time.time())), "recipient_id": recipient}
    if error_code is not None:
        report["errors"] = [{"code": error_code, "title": error_title, "error_data": {"details": error_title}}]
    return notification(phone_number_id, statuses=[report])
