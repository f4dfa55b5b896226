"""WhatsApp Cloud API: signed JSON webhooks in, the Graph API out (facts: ../shared/reference/whatsapp.md).

Meta signs every notification with the app secret (`X-Hub-Signature-256`) and retries for days,
so events repeat and arrive out of order; intake de-duplicates on the wamid. Free-form replies
are allowed only within 24 hours of the person's last message: outside that window the outbox
marks the reply failed instead of sending what Meta would refuse. Voice notes are downloaded from
the Graph API and transcribed with Deepgram's pre-recorded API before the turn.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

import httpx
from deepgram import AsyncDeepgramClient
from deepgram.core.api_error import ApiError
from deepgram.core.parse_error import ParsingError
from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone

from channels_app.messaging import formatting
from channels_app.messaging import payload as read
from channels_app.messaging.base import (
    Adapter,
    BadPayload,
    Incoming,
    Outgoing,
    SendError,
    StatusUpdate,
    register,
    webhook_url,
)
from config import tls
from conversations.models import Delivery
from dialogue.events import Inbound
from voice.stt import deepgram_environment

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
TIMEOUT = httpx.Timeout(10, connect=5)
TRANSCRIBE_TIMEOUT = httpx.Timeout(60, connect=5)  # a minute-long voice note takes Deepgram a few seconds
MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own cap on audio
STATUSES = {"sent": Delivery.SENT, "delivered": Delivery.DELIVERED, "read": Delivery.READ, "failed": Delivery.FAILED}
# Error codes a builder meets, in words that say what to do.
ERRORS = {
    131047: (
        "The person last wrote more than 24 hours ago, so WhatsApp's customer-service window has closed: "
        "only approved template messages reach them until they write again."
    ),
    131026: (
        "WhatsApp could not deliver the message: the number may not use WhatsApp, or the person has not "
        "accepted WhatsApp's latest terms or uses an old version of the app."
    ),
    131030: (
        "The number is not in your test number's list of allowed recipients: add it in Meta's WhatsApp › "
        "API setup page, or connect a production number."
    ),
    190: (
        "Meta refused the access token (expired or revoked): create a permanent system-user token and paste "
        "it in this channel's credentials."
    ),
    130429: "This number reached WhatsApp's sending rate limit; messages go out again once it eases.",
    131056: "Too many messages were sent to this person in a short time; WhatsApp asks to wait before sending more.",
    131031: "The WhatsApp Business account is locked or restricted: check it in Meta Business Manager.",
    131051: "WhatsApp does not support this type of message.",
}
RETRYABLE_CODES = {130429, 131056, 131000, 131016}  # rate limits, "something went wrong", "service unavailable"
WINDOW_CLOSED = ERRORS[131047] + " The reply was not sent."
MEDIA_REPLY = "I can read text and voice notes. Please type your question or send it as a voice note."
NO_TRANSCRIPTION = "Sorry, I can't listen to voice notes right now. Please type your message."
NOTHING_HEARD = "I couldn't make out any words in that voice note. Could you say it again, or type it?"


def _credentials(connection) -> tuple[str, str]:
    creds = connection.credentials
    return creds.get("access_token", ""), creds.get("app_secret", "")


def _phone_number_id(connection) -> str:
    return str(connection.settings.get("phone_number_id") or connection.external_id)


@register
class WhatsAppAdapter(Adapter):
    kind = "whatsapp"

    def webhook_urls(self, connection) -> dict[str, str]:
        return {"Callback URL (WhatsApp › Configuration › Webhook)": webhook_url(connection)}

    def configure(self, connection) -> list[str]:
        if not connection.settings.get("verify_token"):
            connection.settings = {**connection.settings, "verify_token": secrets.token_urlsafe(24)}
        number = str(connection.settings.get("phone_number_id") or "").strip()
        connection.external_id = number
        problems = []
        if not number.isdigit():
            problems.append(
                'Add the setting "phone_number_id": the digits shown as "Phone number ID" under the number on '
                "Meta's WhatsApp › API setup page (not the phone number itself)."
            )
        token, secret = _credentials(connection)
        if not token or not secret:
            problems.append(
                'Add credentials {"access_token": "…", "app_secret": "…"}: a system user\'s access token with '
                "whatsapp_business_messaging, and the app secret from the Meta app's Settings › Basic page."
            )
        return problems

    def setup_values(self, connection) -> dict[str, str]:
        return {"Verify token": connection.settings.get("verify_token", "")}

    def address_for(self, connection, recipient: str) -> dict:
        recipient = recipient.strip()
        if "." in recipient:  # a business-scoped user id (US.1349…), for people known only by username
            return {"recipient": recipient}
        return {"to": "".join(ch for ch in recipient if ch.isdigit())}

    def handshake(self, request, connection) -> HttpResponse | None:
        if request.method != "GET":
            return None
        token = connection.settings.get("verify_token", "")
        given = request.GET.get("hub.verify_token", "")
        if request.GET.get("hub.mode") == "subscribe" and token and hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponseForbidden("The verify token does not match: copy it again from this channel's page.")

    def verify(self, request, connection) -> bool:
        _, secret = _credentials(connection)
        if not secret:
            return False
        # The raw bytes as received: Meta escapes non-ASCII, so re-serialised JSON would not match.
        expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), request.headers.get("X-Hub-Signature-256", "").encode())

    def parse(self, request, connection) -> list[Incoming | StatusUpdate]:
        data = read.json_object(request.body)
        own = _phone_number_id(connection)
        items: list[Incoming | StatusUpdate] = []
        for entry in read.objects(data, "entry"):
            for change in read.objects(entry, "changes"):
                if (read.text(change, "field") or "messages") != "messages":
                    continue
                value = read.obj(change, "value")
                number = read.text(read.obj(value, "metadata"), "phone_number_id")
                if number != own:
                    log.warning(
                        "WhatsApp notification for phone number id %s reached the channel of %s: ignored", number, own
                    )
                    continue
                contacts = read.objects(value, "contacts")
                items += [_incoming(m, contacts) for m in read.objects(value, "messages")]
                items += [s for s in map(_status, read.objects(value, "statuses")) if s is not None]
        return items

    async def prepare(self, connection, item: Incoming) -> Inbound | Outgoing:
        if item.kind != "media":
            return item.inbound()
        if not item.media.get("id"):
            return Outgoing(text=MEDIA_REPLY)
        if not settings.DEEPGRAM_API_KEY:
            log.warning("a WhatsApp voice note arrived but DEEPGRAM_API_KEY is not set: it cannot be transcribed")
            return Outgoing(text=NO_TRANSCRIPTION)
        try:
            audio = await _download(connection, item.media["id"])
            text = await _transcribe(audio)
        except (httpx.HTTPError, ApiError, ParsingError, OSError, KeyError, ValueError, MediaError) as exc:
            log.warning("WhatsApp voice note not transcribed: %s", exc)
            return Outgoing(text=NO_TRANSCRIPTION)
        if not text.strip():
            return Outgoing(text=NOTHING_HEARD)
        return Inbound(kind="text", text=text, ref=item.event_id)

    async def send(self, connection, address: dict, message: Outgoing) -> str:
        text = to_whatsapp(message.text)
        if message.citations:
            text += "\n\nSources:\n" + formatting.sources(message.citations)
        content = _choices(text, message.buttons) if message.buttons else _text(text)
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **address, **content}
        token, _ = _credentials(connection)
        url = f"{settings.WHATSAPP_API_URL.rstrip('/')}/{_phone_number_id(connection)}/messages"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, verify=tls.for_httpx()) as client:
                response = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise SendError(f"WhatsApp could not be reached: {exc}", permanent=False) from exc
        if response.is_success:
            try:
                return response.json()["messages"][0]["id"]
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise SendError("WhatsApp accepted the message but did not say its id.", permanent=True) from exc
        code, reason = _error_body(response)
        retry = response.status_code == 429 or response.status_code >= 500 or code in RETRYABLE_CODES
        raise SendError(_words(code, reason), permanent=not retry, retry_after=_retry_after(response))

    def window_closed(self, thread) -> str:
        last = thread.last_inbound_at
        if last is None or timezone.now() - last > WINDOW:
            return WINDOW_CLOSED
        return ""


# --- Inbound ------------------------------------------------------------------------------------


def _incoming(message: dict, contacts: list[dict]) -> Incoming:
    wamid = read.text(message, "id")
    if not wamid:
        raise BadPayload("a message without an id.")
    phone, user_id = read.text(message, "from"), read.text(message, "from_user_id")
    contact = next(
        (
            c
            for c in contacts
            if (user_id and read.text(c, "user_id") == user_id) or (phone and read.text(c, "wa_id") == phone)
        ),
        contacts[0] if len(contacts) == 1 else {},
    )
    user_id = user_id or read.text(contact, "user_id")
    phone = phone or read.text(contact, "wa_id")
    # Business-scoped user ids outlive phone numbers, and people with a username may have no number.
    key = user_id or phone
    if not key:
        raise BadPayload("a message without a sender.")
    address = {"to": phone} if phone else {"recipient": user_id}
    fields = {"event_id": wamid, "thread_key": key, "address": address, "contact": f"whatsapp:{key}"}
    fields["name"] = read.text(read.obj(contact, "profile"), "name")
    # Meta retries for days: the service window counts from when the person wrote, not from delivery.
    fields["sent_at"] = read.whole_number(message, "timestamp") or 0
    kind = read.text(message, "type")
    if kind == "text":
        return Incoming(**fields, text=read.text(read.obj(message, "text"), "body"))
    if kind == "interactive":
        interactive = read.obj(message, "interactive")
        choice = read.text(interactive, "type")
        if choice in ("button_reply", "list_reply"):
            reply = read.obj(interactive, choice)
            return Incoming(**fields, kind="button", payload=read.text(reply, "id"), text=read.text(reply, "title"))
    if kind == "button":  # a quick-reply tap on a template
        button = read.obj(message, "button")
        return Incoming(**fields, kind="button", payload=read.text(button, "payload"), text=read.text(button, "text"))
    if kind == "audio":
        audio = read.obj(message, "audio")
        if read.text(audio, "id"):
            return Incoming(
                **fields, kind="media", media={"id": read.text(audio, "id"), "mime": read.text(audio, "mime_type")}
            )
    # Images, documents, stickers, locations, unsupported types: nothing the bot can read.
    return Incoming(**fields, kind="media", media={"unreadable": kind})


def _status(status: dict) -> StatusUpdate | None:
    delivery = STATUSES.get(read.text(status, "status"))
    external_id = read.text(status, "id")
    if delivery is None or not external_id:
        return None
    error = ""
    if delivery == Delivery.FAILED:
        errors = read.objects(status, "errors")
        error = _words(*_refusal(errors[0])) if errors else "WhatsApp did not deliver the message and gave no reason."
    return StatusUpdate(external_id=external_id, status=delivery, error=error)


class MediaError(Exception):
    """A voice note that could not be fetched (gone, too large)."""


async def _download(connection, media_id: str) -> bytes:
    token, _ = _credentials(connection)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=TIMEOUT, headers=headers, verify=tls.for_httpx()) as client:
        info = await client.get(f"{settings.WHATSAPP_API_URL.rstrip('/')}/{media_id}")
        info.raise_for_status()
        meta = info.json()
        if int(meta.get("file_size") or 0) > MAX_MEDIA_BYTES:
            raise MediaError(f"the voice note is larger than {MAX_MEDIA_BYTES} bytes")
        # The download URL wants the same Bearer token, and is valid for a few minutes only.
        async with client.stream("GET", meta["url"]) as response:
            response.raise_for_status()
            audio = bytearray()
            async for chunk in response.aiter_bytes():
                audio += chunk
                if len(audio) > MAX_MEDIA_BYTES:
                    raise MediaError(f"the voice note is larger than {MAX_MEDIA_BYTES} bytes")
    return bytes(audio)


async def _transcribe(audio: bytes) -> str:
    # A client per voice note: each Celery thread runs its own event loop, and an httpx client
    # belongs to the loop it was first used on.
    async with httpx.AsyncClient(timeout=TRANSCRIBE_TIMEOUT, verify=tls.for_httpx()) as http:
        client = AsyncDeepgramClient(
            api_key=settings.DEEPGRAM_API_KEY, environment=deepgram_environment(), httpx_client=http
        )
        result = await client.listen.v1.media.transcribe_file(
            request=audio,
            model="nova-3",
            smart_format=True,
            detect_language=True,
        )
    results = getattr(result, "results", None)
    if results is None or not results.channels or not results.channels[0].alternatives:
        return ""
    return results.channels[0].alternatives[0].transcript or ""


# --- Outbound -----------------------------------------------------------------------------------


def to_whatsapp(text: str) -> str:
    """Markdown as WhatsApp shows it: *bold*, _italic_, ~strike~, links as "text (address)", • bullets."""
    bold = "\x02"  # stands for WhatsApp's single "*" until markdown's single-star italics are converted
    text = formatting._LINK.sub(r"\1 (\2)", text)
    text = formatting._BULLET.sub(r"\1• ", text)
    text = formatting._HEADING.sub(rf"{bold}\1{bold}", text)
    text = formatting._BOLD.sub(lambda m: bold + (m.group(1) or m.group(2)) + bold, text)
    text = formatting._ITALIC.sub(r"_\1_", text)
    text = formatting._STRIKE.sub(r"~\1~", text)
    return text.replace(bold, "*")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(text: str) -> dict:
    return {"type": "text", "text": {"preview_url": False, "body": _cut(text, 4096)}}


def _choices(text: str, buttons: list[dict]) -> dict:
    """Up to 3 choices as reply buttons, more as a list message. Reply ids are the button payloads
    (the schema caps them at 200 characters), so a tap maps straight back to the choice."""
    text = text.strip() or "Please choose:"
    if len(buttons) <= 3:
        replies = [
            {"type": "reply", "reply": {"id": b["payload"][:256], "title": _cut(b["title"], 20)}} for b in buttons
        ]
        return {
            "type": "interactive",
            "interactive": {"type": "button", "body": {"text": _cut(text, 1024)}, "action": {"buttons": replies}},
        }
    rows = []
    for b in buttons[:10]:
        row = {"id": b["payload"][:200], "title": _cut(b["title"], 24)}
        if len(b["title"]) > 24:
            row["description"] = _cut(b["title"], 72)
        rows.append(row)
    if len(buttons) > 10:  # a list holds 10 rows: the others can still be typed
        text += "\n\nOr type one of: " + ", ".join(b["title"] for b in buttons[10:])
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": _cut(text, 4096)},
            "action": {"button": "Choose", "sections": [{"title": "Options", "rows": rows}]},
        },
    }


def _error_body(response: httpx.Response) -> tuple[int | None, str]:
    """Meta's error code and reason from the answer refusing a send."""
    unexplained = None, f"WhatsApp answered HTTP {response.status_code}."
    try:
        error = read.obj(response.json(), "error")
        return _refusal(error) if error else unexplained
    except (ValueError, AttributeError):  # not JSON, not an object, or an error of another shape
        return unexplained


def _refusal(error: dict) -> tuple[int | None, str]:
    """The code and reason of one of Meta's error objects (a send's answer, a failed delivery report)."""
    reason = (
        read.text(read.obj(error, "error_data"), "details") or read.text(error, "message") or read.text(error, "title")
    )
    return read.number(error, "code"), reason or "no reason given"


def _words(code: int | None, reason: str) -> str:
    if code in ERRORS:
        return ERRORS[code]
    return (
        f"WhatsApp refused the message (error {code}): {reason}" if code else f"WhatsApp refused the message: {reason}"
    )


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
