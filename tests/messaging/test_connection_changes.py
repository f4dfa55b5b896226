"""A connection switched off, deleted or given a new secret through the API is refused from the
very next webhook, by a running server that had just looked it up and remembers it; a message let
through just before the change is not answered once the channel is off or gone."""

from __future__ import annotations

import httpx
import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client

from bots.models import ChannelConnection
from channels_app.models import ChannelThread, InboundEvent
from channels_app.tasks import handle_inbound
from conversations.models import Conversation, Message
from tests.fakes import whatsapp_server as meta

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_NUMBER_ID, SECRET, NEW_SECRET = "106540352242922", "meta-app-secret", "meta-app-secret-rotated"


@pytest.fixture
def builder(bot_api) -> Client:
    """The builder's API client; turns are queued where no worker reads them."""
    return bot_api[1]


@pytest.fixture
def channel(bot_api) -> ChannelConnection:
    bot, builder = bot_api
    created = builder.post(f"/api/v1/bots/{bot.id}/channels", data=spec(), content_type="application/json")
    assert created.status_code == 201, created.content
    return ChannelConnection.objects.get(pk=created.json()["id"])


def spec(**changes) -> dict:
    return {
        "kind": "whatsapp",
        "settings": {"phone_number_id": PHONE_NUMBER_ID},
        "credentials": {"access_token": "meta-token", "app_secret": SECRET},
        **changes,
    }


def deliver(base: str, channel: ChannelConnection, *, secret: str = SECRET, wamid: str | None = None) -> int:
    """Meta delivering a new message to the running server; the status code it sees."""
    body = meta.message(PHONE_NUMBER_ID, text={"body": "hello"}, wamid=wamid)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta.sign(body, secret)}
    return httpx.post(f"{base}/hooks/whatsapp/{channel.webhook_key}/", content=body, headers=headers).status_code


def let_through(channel: ChannelConnection) -> int:
    """Messages the webhook accepted for the connection (each leaves a first-seen mark)."""
    return len(redis.Redis.from_url(django_settings.REDIS_URL).keys(f"messaging:seen:{channel.pk}:*"))


def test_a_new_secret_applies_from_the_next_webhook(asgi_server, builder, channel):
    assert deliver(asgi_server, channel) == 200  # the server now remembers the connection
    rotated = builder.put(
        f"/api/v1/channels/{channel.pk}",
        data=spec(credentials={"access_token": "meta-token", "app_secret": NEW_SECRET}),
        content_type="application/json",
    )
    assert rotated.status_code == 200, rotated.content
    assert deliver(asgi_server, channel, secret=SECRET) == 403
    assert let_through(channel) == 1
    assert deliver(asgi_server, channel, secret=NEW_SECRET) == 200
    assert let_through(channel) == 2


def test_a_channel_switched_off_or_deleted_is_refused_from_the_next_webhook(asgi_server, builder, channel):
    assert deliver(asgi_server, channel) == 200
    off = builder.put(f"/api/v1/channels/{channel.pk}", data=spec(is_active=False), content_type="application/json")
    assert off.status_code == 200, off.content
    assert deliver(asgi_server, channel) == 404
    assert (
        builder.put(f"/api/v1/channels/{channel.pk}", data=spec(), content_type="application/json").status_code == 200
    )
    assert deliver(asgi_server, channel) == 200  # switched on again: answered again
    assert builder.delete(f"/api/v1/channels/{channel.pk}").status_code == 204
    assert deliver(asgi_server, channel) == 404
    assert let_through(channel) == 2


@pytest.mark.parametrize("change", ["switch off", "delete"])
def test_a_message_let_through_before_the_change_is_not_answered(builder, channel, change):
    body = meta.message(PHONE_NUMBER_ID, text={"body": "hello"}, wamid="wamid.BEFORE")
    accepted = Client().post(
        f"/hooks/whatsapp/{channel.webhook_key}/",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": meta.sign(body, SECRET)},
    )
    assert accepted.status_code == 200
    if change == "switch off":
        builder.put(f"/api/v1/channels/{channel.pk}", data=spec(is_active=False), content_type="application/json")
    else:
        builder.delete(f"/api/v1/channels/{channel.pk}")
    # The queued turn runs after the change, as a worker that was busy would run it.
    assert handle_inbound.apply(args=[channel.pk, "wamid.BEFORE"]).get() == "channel off"
    assert not ChannelThread.objects.exists() and not Conversation.objects.exists() and not Message.objects.exists()
    assert not InboundEvent.objects.exclude(status="failed").exists()
    assert not redis.Redis.from_url(django_settings.REDIS_URL).exists(f"messaging:inbound:{channel.pk}:wamid.BEFORE")
