"""Setting up a messaging connection: what the admin and the API both call before saving one,
and what the connection's page shows the builder (where to paste what, what last happened)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from bots import claims
from bots.models import ChannelConnection
from channels_app import identity
from channels_app.messaging import outbox
from channels_app.messaging.base import Outgoing, SendError, adapter_for
from channels_app.models import InboundEvent
from conversations.models import Delivery, Message

TEST_MESSAGE = "This is a test message from Switchboard: your channel is connected."


def configure(connection: ChannelConnection) -> list[str]:
    """Fill generated values and check what the platform needs; the problems, in plain words."""
    problems = []
    if connection.phone_number:
        try:
            connection.phone_number = claims.normalise_number(connection.phone_number)
        except ValueError as exc:
            return [str(exc)]
    if connection.kind == ChannelConnection.Kind.WEB:
        problems += _configure_web(connection)
    adapter = adapter_for(connection.kind)
    problems += adapter.configure(connection) if adapter is not None else []
    clash = claims.claim_problem(
        kind=connection.kind,
        workspace_id=connection.bot.workspace_id,
        phone_number=connection.phone_number,
        external_id=connection.external_id,
        exclude_pk=connection.pk,
    )
    if clash:
        problems.append(clash)
    return problems


def _configure_web(connection: ChannelConnection) -> list[str]:
    """A bot has one website chat connection; it gets its identity secret when first saved."""
    if (
        ChannelConnection.objects.filter(bot_id=connection.bot_id, kind=connection.kind)
        .exclude(pk=connection.pk)
        .exists()
    ):
        return ["This bot already has a website chat channel. Change that one instead."]
    if not connection.credentials.get(identity.SECRET_FIELD):
        connection.credentials = {**connection.credentials, identity.SECRET_FIELD: identity.new_secret()}
    return []


def web_setup(connection: ChannelConnection) -> dict:
    """What the website chat's page shows: the snippet to paste and how to prove who the visitor is."""
    return {
        "channel": connection,
        "script_url": f"{settings.PUBLIC_BASE_URL}/static/switchboard/widget.js",
        "allowed_origins": connection.bot.widget.get("allowed_origins") or [],
        "identity_secret": connection.credentials.get(identity.SECRET_FIELD, ""),
        "example_signature": identity.sign(connection.credentials.get(identity.SECRET_FIELD, ""), "crm-4711"),
    }


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
