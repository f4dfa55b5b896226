"""Twilio SMS (and WhatsApp through Twilio): signed form webhooks in, the REST API out.

Replies go through the REST API rather than TwiML in the webhook's answer, so a long turn never
runs into Twilio's 15-second webhook timeout. Opt-out keywords (STOP, HELP, …) are Twilio's to
answer; the bot never does.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

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
from channels_app.models import ChannelThread
from conversations.models import Delivery, Message
from dialogue.db import db
from dialogue.events import Inbound

log = logging.getLogger(__name__)

# Twilio's default opt-out, opt-in and help keywords: Twilio answers them and keeps the opt-out list.
OPT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "START", "YES", "UNSTOP", "HELP", "INFO"}
STATUSES = {
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
    "failed": Delivery.FAILED,
    "undelivered": Delivery.FAILED,
}
# Error codes a builder meets, in words that say what to do.
ERRORS = {
    21610: "The person replied STOP to this number; they must text START before they can receive messages again.",
    21211: "The phone number is not valid.",
    21408: "Your Twilio account may not send SMS to this country: enable it in Twilio's geographic permissions.",
    21606: "The sending number cannot send SMS: check that it is SMS-capable and belongs to your account.",
    20003: "Twilio refused the account SID or auth token: paste them again in this channel's credentials.",
    30003: "The phone is unreachable (switched off or out of coverage).",
    30005: "The number does not exist or is no longer in service.",
    30006: "The number is a landline or cannot receive SMS.",
    30007: "The carrier filtered the message as spam.",
}
MEDIA_REPLY = "I can read text messages only. Please type your question."


def _credentials(connection) -> tuple[str, str]:
    creds = connection.credentials
    return (
        creds.get("account_sid") or settings.TWILIO_ACCOUNT_SID,
        creds.get("auth_token") or settings.TWILIO_AUTH_TOKEN,
    )


@register
class SmsAdapter(Adapter):
    kind = "sms"

    def webhook_urls(self, connection) -> dict[str, str]:
        return {"A message comes in (Messaging webhook, HTTP POST)": webhook_url(connection)}

    def configure(self, connection) -> list[str]:
        problems = []
        if not connection.phone_number.startswith("+"):
            problems.append("Enter the Twilio number people text, in international form, e.g. +14155550100.")
        if not all(_credentials(connection)):
            problems.append(
                'Add credentials {"account_sid": "AC…", "auth_token": "…"} (or set TWILIO_ACCOUNT_SID and '
                "TWILIO_AUTH_TOKEN for the whole installation)."
            )
        return problems

    def address_for(self, connection, recipient: str) -> dict:
        return {"to": recipient, "from": connection.phone_number}

    def verify(self, request, connection) -> bool:
        _, token = _credentials(connection)
        # Behind a proxy the request's own URL is the internal one: Twilio signed the public one.
        url = settings.PUBLIC_BASE_URL + request.get_full_path()
        signature = request.headers.get("X-Twilio-Signature", "")
        return bool(token) and RequestValidator(token).validate(url, request.POST, signature)

    def ack(self, request) -> HttpResponse:
        return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml")

    def parse(self, request, connection) -> list[Incoming | StatusUpdate]:
        form = request.POST
        sid = read.text(form, "MessageSid")
        if not sid.startswith(("SM", "MM")):
            raise BadPayload("MessageSid is missing or malformed.")
        if request.endpoint == "status":
            status = STATUSES.get(read.text(form, "MessageStatus"))
            if status is None:  # queued, sending, accepted: nothing the builder needs to see
                return []
            code = read.whole_number(form, "ErrorCode")
            error = ERRORS.get(code, f"Twilio error {code}.") if code is not None else ""
            return [StatusUpdate(external_id=sid, status=status, error=error)]
        sender, receiver = read.text(form, "From"), read.text(form, "To")
        if not sender or not receiver:
            raise BadPayload("From and To are required.")
        if connection.phone_number and receiver.removeprefix("whatsapp:") != connection.phone_number:
            log.warning("SMS for %s reached the channel of %s: ignored", receiver, connection.phone_number)
            return []
        body = read.text(form, "Body")
        if body.strip().upper() in OPT_KEYWORDS:
            return []
        media = read.whole_number(form, "NumMedia") or 0
        return [
            Incoming(
                event_id=sid,
                thread_key=sender,
                address={"to": sender, "from": receiver},
                contact=f"sms:{sender.removeprefix('whatsapp:')}",
                kind="media" if media and not body.strip() else "text",
                text=body,
                name=read.text(form, "ProfileName"),
            )
        ]

    async def prepare(self, connection, item: Incoming):
        if item.kind == "media":
            return Outgoing(text=MEDIA_REPLY)
        buttons = await db(_last_buttons)(connection.pk, item.thread_key)
        choice = formatting.choice_for(item.text, buttons) if buttons else None
        if choice is not None:
            return Inbound(kind="button", text=choice["title"], payload=choice["payload"], ref=item.event_id)
        return item.inbound()

    async def send(self, connection, address: dict, message: Outgoing) -> str:
        text = formatting.markdown_to_plain(message.text)
        if message.buttons:
            text += "\n\n" + formatting.numbered_choices(message.buttons)
        if message.citations:
            text += "\n\n" + formatting.sources(message.citations)
        account_sid, token = _credentials(connection)
        client = Client(account_sid, token, http_client=AsyncTwilioHttpClient(timeout=10))
        if settings.TWILIO_API_BASE_URL:
            client.api.base_url = settings.TWILIO_API_BASE_URL.rstrip("/")
        try:
            sent = await client.messages.create_async(
                to=address["to"],
                from_=address["from"],
                body=text[:1600],  # Twilio's limit for one (concatenated) SMS
                status_callback=webhook_url(connection, "status"),
            )
        except TwilioRestException as exc:
            retry = exc.status == 429 or exc.status >= 500
            words = ERRORS.get(exc.code or 0, exc.msg or f"Twilio answered {exc.status}.")
            raise SendError(words, permanent=not retry) from exc
        except (TwilioException, OSError) as exc:
            raise SendError(f"Twilio could not be reached: {exc}", permanent=False) from exc
        finally:
            await client.http_client.close()
        return sent.sid


def _last_buttons(connection_id: int, key: str) -> list[dict]:
    conversation_id = (
        ChannelThread.objects.filter(connection_id=connection_id, key=key)
        .values_list("conversation_id", flat=True)
        .first()
    )
    last = (
        Message.objects.filter(conversation_id=conversation_id, role=Message.Role.BOT)
        .order_by("-id")
        .values_list("buttons", flat=True)
        .first()
    )
    return last or []
