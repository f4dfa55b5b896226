"""Setting up a messaging connection: what the admin and the API both call before saving one,
and what the connection's page shows the builder (where to paste what, what last happened)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from bots.models import ChannelConnection
from channels_app.messaging import outbox
from channels_app.messaging.base import Outgoing, SendError, adapter_for
from channels_app.models import InboundEvent
from conversations.models import Delivery, Message

TEST_MESSAGE = "This is a test message from Switchboard: your channel is connected."


def configure(connection: ChannelConnection) -> list[str]:
    """Fill generated values and check what the platform needs; the problems, in plain words."""
    adapter = adapter_for(connection.kind)
    problems = adapter.configure(connection) if adapter is not None else []
    clash = _claimed_elsewhere(connection)
    if clash:
        problems.append(clash)
    return problems


def _claimed_elsewhere(connection: ChannelConnection) -> str:
    """A number or account already connected (to any workspace) cannot be connected again."""
    others = ChannelConnection.objects.filter(kind=connection.kind).exclude(pk=connection.pk)
    if connection.phone_number and others.filter(phone_number=connection.phone_number).exists():
        return f"{connection.phone_number} is already connected to another bot. Disconnect it there first."
    if connection.external_id and others.filter(external_id=connection.external_id).exists():
        return f"This {connection.get_kind_display()} account is already connected to another bot."
    return ""


@dataclass
class Status:
    urls: dict[str, str]
    values: dict[str, str]
    last_event: InboundEvent | None
    last_failure: Message | None


def status(connection: ChannelConnection) -> Status | None:
    adapter = adapter_for(connection.kind)
    if adapter is None:
        return None
    failed = Q(delivery=Delivery.FAILED, conversation__bot_id=connection.bot_id, conversation__channel=connection.kind)
    return Status(
        urls=adapter.webhook_urls(connection),
        values=adapter.setup_values(connection),
        last_event=connection.inbound_events.order_by("-received_at").first(),
        last_failure=Message.objects.filter(failed).order_by("-id").first(),
    )


async def send_test(connection: ChannelConnection, recipient: str) -> str:
    """Send the test message to `recipient`; returns the platform's id. Raises `SendError`."""
    adapter = adapter_for(connection.kind)
    if adapter is None:
        raise SendError("This kind of channel has no messages to send.", permanent=True)
    return await outbox.send_with_retries(
        connection, adapter.address_for(connection, recipient), Outgoing(TEST_MESSAGE)
    )
