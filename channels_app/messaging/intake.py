"""What a webhook does before it answers: record each message once and queue its turn.

A platform that retries (Slack after 3 s, WhatsApp for days, Twilio on errors) finds the event
id already recorded and nothing happens a second time. The raw message (it may hold personal
data) never reaches the database: it waits in Redis, for a day at most, until its turn has run.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bots.models import ChannelConnection
from channels_app.messaging import outbox
from channels_app.messaging.base import Incoming, StatusUpdate
from channels_app.models import ChannelThread, InboundEvent

log = logging.getLogger(__name__)

RAW_TTL_S = 24 * 3600
STALLED_AFTER = timedelta(seconds=150)  # longer than a turn task may run (its hard time limit)
MAX_ATTEMPTS = 3


def raw_key(event_id: int) -> str:
    return f"messaging:inbound:{event_id}"


def accept(connection: ChannelConnection, items: list[Incoming | StatusUpdate]) -> int:
    """Record the messages and status reports of one verified webhook; returns how many messages are new."""
    new = 0
    for item in items:
        if isinstance(item, StatusUpdate):
            outbox.record_status(connection, item)
        elif _accept_message(connection, item):
            new += 1
    return new


def _accept_message(connection: ChannelConnection, item: Incoming) -> bool:
    now = timezone.now()
    thread, created = ChannelThread.objects.get_or_create(
        connection=connection,
        key=item.thread_key,
        defaults={"address": item.address, "contact_id": item.contact, "last_inbound_at": now},
    )
    event, created = InboundEvent.objects.get_or_create(
        connection=connection, event_id=item.event_id, defaults={"thread": thread}
    )
    if not created:
        log.info("duplicate webhook delivery ignored", extra={"event_id": item.event_id})
        return False
    if thread.last_inbound_at != now:
        ChannelThread.objects.filter(pk=thread.pk).update(last_inbound_at=now, address=item.address)
    cache.set(raw_key(event.pk), item.as_dict(), RAW_TTL_S)
    transaction.on_commit(lambda: queue_turn(event.pk))
    return True


def queue_turn(event_id: int) -> None:
    from channels_app.tasks import handle_inbound

    handle_inbound.apply_async(args=[event_id], queue=settings.MESSAGING_QUEUE)


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
    ids = list(stalled.filter(attempts__lt=MAX_ATTEMPTS).values_list("pk", flat=True))
    InboundEvent.objects.filter(pk__in=ids).update(updated_at=timezone.now())
    for event_id in ids:
        queue_turn(event_id)
    return len(ids)


def claim(event_id: int) -> InboundEvent | None:
    """Mark the event as being answered (one more attempt); None when it is already finished."""
    updated = InboundEvent.objects.filter(
        pk=event_id, status__in=[InboundEvent.Status.QUEUED, InboundEvent.Status.PROCESSING]
    ).update(status=InboundEvent.Status.PROCESSING, attempts=F("attempts") + 1)
    if not updated:
        return None
    return InboundEvent.objects.select_related("connection__bot__workspace", "thread").get(pk=event_id)


def finish(event_id: int, *, error: str = "") -> None:
    status = InboundEvent.Status.FAILED if error else InboundEvent.Status.DONE
    InboundEvent.objects.filter(pk=event_id).update(status=status, error=error[:300])
    cache.delete(raw_key(event_id))
