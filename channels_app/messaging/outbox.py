"""Sending a conversation's messages on its messaging channel, in order, with retries.

The bot's and agents' messages are stored (redacted) with `delivery="pending"` in the same
transaction as the turn; the text to send, unredacted, waits in Redis next to it (`put`). The
sender holds the conversation's lock, so two workers never send the same message, and replies
go out in the order they were written. A send refused for good (a closed WhatsApp window, a
revoked token) is recorded on the message with the platform's reason; it is never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict

from django.core.cache import cache

from bots.models import ChannelConnection
from channels_app.messaging.base import Outgoing, SendError, StatusUpdate, adapter_for
from channels_app.models import ChannelThread
from conversations.models import Conversation, Delivery, Message
from dialogue.db import db
from dialogue.turn import conversation_lock

log = logging.getLogger(__name__)

RAW_TTL_S = 24 * 3600
RETRY_DELAYS_S = (0.5, 1, 2, 4, 8)  # then the message is marked failed
MAX_RETRY_AFTER_S = 30  # a longer Retry-After is capped: the worker must not sleep for minutes
_RANK = {Delivery.PENDING: 0, Delivery.SENT: 1, Delivery.DELIVERED: 2, Delivery.READ: 3}


def _key(message_id: int) -> str:
    return f"messaging:outbox:{message_id}"


def put(message_id: int, message: Outgoing) -> None:
    """Keep the unredacted text to send for a stored pending message."""
    cache.set(_key(message_id), asdict(message), RAW_TTL_S)


def _pending(conversation_id: int):
    messages = list(Message.objects.filter(conversation_id=conversation_id, delivery=Delivery.PENDING).order_by("id"))
    if not messages:
        return None, []
    metadata = Conversation.objects.filter(pk=conversation_id).values_list("metadata", flat=True).first() or {}
    thread = ChannelThread.objects.select_related("connection").filter(pk=metadata.get("thread_id")).first()
    return thread, messages


def _mark(message_id: int, delivery: str, *, external_id: str = "", error: str = "") -> None:
    fields = {"delivery": delivery, "delivery_error": error[:300]}
    if external_id:
        fields["external_id"] = external_id
    Message.objects.filter(pk=message_id).update(**fields)


async def deliver_pending(conversation_id: int, *, owner: str | None = None) -> int:
    """Send every pending message of the conversation, oldest first; returns how many went out."""
    sent = 0
    async with conversation_lock(conversation_id, owner):
        thread, messages = await db(_pending)(conversation_id)
        if thread is None:
            for m in messages:
                await db(_mark)(m.pk, Delivery.FAILED, error="This conversation has no messaging channel to send on.")
            return 0
        adapter = adapter_for(thread.connection.kind)
        for m in messages:
            raw = await cache.aget(_key(m.pk))
            outgoing = Outgoing(**raw) if raw else Outgoing(text=m.text, buttons=m.buttons, citations=m.citations)
            closed = adapter.window_closed(thread)  # every message sent is free-form (no templates)
            if closed:
                await db(_mark)(m.pk, Delivery.FAILED, error=closed)
            else:
                try:
                    external_id = await send_with_retries(thread.connection, thread.address, outgoing)
                except SendError as exc:
                    log.warning("message not delivered: %s", exc, extra={"conversation_id": conversation_id})
                    await db(_mark)(m.pk, Delivery.FAILED, error=str(exc))
                else:
                    await db(_mark)(m.pk, Delivery.SENT, external_id=external_id)
                    sent += 1
            await cache.adelete(_key(m.pk))
    return sent


async def send_with_retries(connection: ChannelConnection, address: dict, message: Outgoing) -> str:
    """Send through the connection's platform; retry 429s and server errors with backoff, honouring
    Retry-After. Raises `SendError` when the platform refuses for good or keeps failing."""
    adapter = adapter_for(connection.kind)
    for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
        try:
            return await adapter.send(connection, address, message)
        except SendError as exc:
            if exc.permanent or delay is None:
                if not exc.permanent:
                    raise SendError(f"Gave up after {attempt + 1} attempts: {exc}", permanent=True) from exc
                raise
            wait = min(exc.retry_after, MAX_RETRY_AFTER_S) if exc.retry_after is not None else delay
            log.info("send failed (%s), retrying in %.1f s", exc, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def record_status(connection: ChannelConnection, update: StatusUpdate) -> int:
    """Apply a platform's delivery report to the message it names. Reports arrive out of order:
    a later state never goes back (read, then a late "delivered"); a failure always shows."""
    messages = Message.objects.filter(
        external_id=update.external_id,
        conversation__bot_id=connection.bot_id,
        role__in=[Message.Role.BOT, Message.Role.AGENT],
    )
    if update.status == Delivery.FAILED:
        return messages.update(delivery=Delivery.FAILED, delivery_error=update.error[:300])
    rank = _RANK.get(update.status)
    if rank is None:
        return 0
    earlier = [d for d, r in _RANK.items() if r < rank]
    return messages.filter(delivery__in=earlier).update(delivery=update.status)
