"""What a webhook does before it answers: let each message through once and queue its turn.

The acknowledgement is on the platform's clock (Slack retries after 3 s, and a burst of people
writing at once must not queue behind each other's database writes), so the webhook touches
Redis only: an atomic "first time seen" mark per event id, the raw message (it may hold personal
data, so it never reaches the database and expires after a day), and the task. The worker then
records the event in the database, where a unique key is the final word on duplicates (Redis
restarted without its data, say): a platform that retries finds the event and nothing happens a
second time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from bots.models import ChannelConnection
from channels_app.messaging import outbox
from channels_app.messaging.base import Incoming, StatusUpdate
from channels_app.models import ChannelThread, InboundEvent
from config.redis_clients import async_client
from dialogue.db import db

log = logging.getLogger(__name__)

RAW_TTL_S = 24 * 3600
SEEN_TTL_S = 8 * 24 * 3600  # WhatsApp retries for up to 7 days
STALLED_AFTER = timedelta(seconds=150)  # longer than a turn task may run (its hard time limit)
MAX_ATTEMPTS = 3
EXPIRED = "The message expired before a worker could answer it."
SWITCHED_OFF = "The channel was switched off or removed before the message was answered."


def raw_key(connection_id: int, event_id: str) -> str:
    return f"messaging:inbound:{connection_id}:{event_id}"


def _seen_key(connection_id: int, event_id: str) -> str:
    return f"messaging:seen:{connection_id}:{event_id}"


async def accept(connection: ChannelConnection, items: list[Incoming | StatusUpdate]) -> int:
    """Let through the new messages of one verified webhook and apply its status reports;
    returns how many messages were new."""
    redis = async_client()
    new = 0
    for item in items:
        if isinstance(item, StatusUpdate):
            await db(outbox.record_status)(connection, item)
            continue
        seen = _seen_key(connection.pk, item.event_id)
        if not await redis.set(seen, 1, nx=True, ex=SEEN_TTL_S):
            log.info("duplicate webhook delivery ignored", extra={"event_id": item.event_id})
            continue
        try:
            await redis.set(raw_key(connection.pk, item.event_id), json.dumps(item.as_dict()), ex=RAW_TTL_S)
            await asyncio.to_thread(queue_turn, connection.pk, item.event_id)
        except Exception:
            # Not queued: forget having seen it, so the platform's retry (after our error) gets through.
            await redis.delete(seen)
            raise
        new += 1
    return new


def queue_turn(connection_id: int, event_id: str) -> None:
    from channels_app.tasks import handle_inbound

    handle_inbound.apply_async(args=[connection_id, event_id], queue=settings.MESSAGING_QUEUE)


def record(connection_id: int, item: Incoming) -> InboundEvent:
    """The event's row (made once, by the first worker that gets it) with its thread, the person's
    latest address and the time they last wrote (WhatsApp's service window counts from it)."""
    now = timezone.now()
    # Capped before the conversion: a time past the year 9999 is not a date at all.
    wrote = datetime.fromtimestamp(min(item.sent_at, now.timestamp()), tz=UTC) if item.sent_at else now
    thread, created = ChannelThread.objects.get_or_create(
        connection_id=connection_id,
        key=item.thread_key,
        defaults={"address": item.address, "contact_id": item.contact, "last_inbound_at": wrote},
    )
    if not created:  # a late retry of an older message never moves the time back
        ChannelThread.objects.filter(pk=thread.pk).filter(
            Q(last_inbound_at__lt=wrote) | Q(last_inbound_at__isnull=True)
        ).update(last_inbound_at=wrote, address=item.address)
    event, _ = InboundEvent.objects.get_or_create(
        connection_id=connection_id, event_id=item.event_id, defaults={"thread": thread}
    )
    return event


def resume_stalled(older_than: timedelta = STALLED_AFTER) -> int:
    """Queue again the messages whose worker died (killed, lost its broker); give up after a few tries.

    Safe with a live attempt: a turn that already ran is found by its stored message and not run again."""
    cutoff = timezone.now() - older_than
    stalled = InboundEvent.objects.filter(
        status__in=[InboundEvent.Status.QUEUED, InboundEvent.Status.PROCESSING], updated_at__lt=cutoff
    )
    stalled.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=InboundEvent.Status.FAILED, error=f"Gave up after {MAX_ATTEMPTS} attempts: the worker kept stopping."
    )
    events = list(stalled.filter(attempts__lt=MAX_ATTEMPTS).values_list("pk", "connection_id", "event_id"))
    InboundEvent.objects.filter(pk__in=[pk for pk, _, _ in events]).update(updated_at=timezone.now())
    for _, connection_id, event_id in events:
        queue_turn(connection_id, event_id)
    return len(events)


def claim(event_pk: int) -> InboundEvent | None:
    """Mark the event as being answered (one more attempt); None when it is already finished."""
    updated = InboundEvent.objects.filter(
        pk=event_pk, status__in=[InboundEvent.Status.QUEUED, InboundEvent.Status.PROCESSING]
    ).update(status=InboundEvent.Status.PROCESSING, attempts=F("attempts") + 1)
    if not updated:
        return None
    return InboundEvent.objects.select_related("connection__bot__workspace", "thread").get(pk=event_pk)


def finish(event: InboundEvent, *, error: str = "") -> None:
    status = InboundEvent.Status.FAILED if error else InboundEvent.Status.DONE
    InboundEvent.objects.filter(pk=event.pk).update(status=status, error=error[:300])


def switched_on(connection_id: int) -> bool:
    """Whether the connection still exists and answers: it may have changed since the webhook."""
    return ChannelConnection.objects.filter(pk=connection_id, is_active=True).exists()


def expire(connection_id: int, event_id: str, *, error: str = EXPIRED) -> None:
    InboundEvent.objects.filter(
        connection_id=connection_id,
        event_id=event_id,
        status__in=[InboundEvent.Status.QUEUED, InboundEvent.Status.PROCESSING],
    ).update(status=InboundEvent.Status.FAILED, error=error)
