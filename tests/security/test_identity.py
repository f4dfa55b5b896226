"""Item: a contact's long-term memory is reachable from a public channel only with the site's
signature. Tried as an attacker would: the bot's public key from the page, a victim's contact id,
no signature or a forged one, a resume token lifted from the victim's browser."""

from __future__ import annotations

import httpx
import pytest
from asgiref.sync import async_to_sync

from conversations.models import ContactMemory, Conversation
from tests.security.conftest import new_address, signed, widget_socket

pytestmark = pytest.mark.django_db(transaction=True)


def system_prompt_of_last_llm_call(fake_openai) -> str:
    return fake_openai.chat_requests()[-1]["body"]["messages"][0]["content"]


async def tell_city(base: str, bot, city: str, **start) -> list[dict]:
    """Open the widget, let the bot ask, answer with `city`, then ask the bot's AI something;
    the frames of the whole exchange."""
    async with widget_socket(base, bot.public_key) as widget:
        await widget.send(type="start", **start)
        frames = await widget.until("done")
        for text in (city, "What should I visit?"):
            await widget.send(type="message", text=text)
            frames += await widget.until("done")
        return frames


def test_a_signed_contact_is_remembered_from_the_widget(security_server, memory_bot, fake_openai):
    async_to_sync(tell_city)(security_server, memory_bot, "Lisbon", **signed("alice"))
    assert ContactMemory.objects.get(contact_id="alice").facts == {"city": "Lisbon"}

    frames = async_to_sync(tell_city)(security_server, memory_bot, "Porto", **signed("alice"))
    assert not [f for f in frames if f["type"] == "error"]
    assert "city: Lisbon" in system_prompt_of_last_llm_call(fake_openai)


def test_an_unsigned_contact_id_gets_an_anonymous_chat_and_cannot_read_or_poison_memory(
    security_server, memory_bot, fake_openai
):
    async_to_sync(tell_city)(security_server, memory_bot, "Lisbon", **signed("alice"))

    frames = async_to_sync(tell_city)(security_server, memory_bot, "Mallory Street", contact_id="alice")
    refused = [f for f in frames if f["type"] == "error"]
    assert [f["code"] for f in refused] == ["identity_not_verified"]
    assert "Lisbon" not in system_prompt_of_last_llm_call(fake_openai)

    forged = {"contact_id": "alice", "contact_signature": "0" * 64}
    async_to_sync(tell_city)(security_server, memory_bot, "Mallory Street", **forged)
    guessed = signed("alice", secret="a-guessed-secret")
    async_to_sync(tell_city)(security_server, memory_bot, "Mallory Street", **guessed)

    assert ContactMemory.objects.get(contact_id="alice").facts == {"city": "Lisbon"}
    attacker_chats = Conversation.objects.filter(bot=memory_bot).exclude(contact_id="alice")
    assert attacker_chats.count() == 3 and set(attacker_chats.values_list("contact_id", flat=True)) == {""}


def test_a_signature_for_one_contact_does_not_name_another(security_server, memory_bot, fake_openai):
    stolen = signed("mallory")
    frames = async_to_sync(tell_city)(
        security_server, memory_bot, "Anywhere", contact_id="alice", contact_signature=stolen["contact_signature"]
    )
    assert [f["code"] for f in frames if f["type"] == "error"] == ["identity_not_verified"]
    assert not ContactMemory.objects.filter(contact_id="alice").exists()


def test_the_chat_api_with_a_public_key_refuses_an_unproven_contact(security_server, memory_bot):
    url = "/api/v1/chat/conversations"
    headers = {"X-Bot-Key": memory_bot.public_key, **new_address()}
    with httpx.Client(base_url=security_server, timeout=20) as client:
        bare = client.post(url, json={"contact_id": "alice"}, headers=headers)
        forged = client.post(url, json=signed("alice", secret="a-guessed-secret"), headers=headers)
        proven = client.post(url, json=signed("alice"), headers=headers)
    for refused in (bare, forged):
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "identity_not_verified"
        assert "identity secret" in refused.json()["error"]["message"]
    assert proven.status_code == 201, proven.text
    assert list(Conversation.objects.filter(bot=memory_bot).values_list("contact_id", flat=True)) == ["alice"]


def test_a_resume_token_reopens_a_conversation_only_for_its_own_contact(security_server, memory_bot, fake_openai):
    async def scenario():
        async with widget_socket(security_server, memory_bot.public_key) as alice:
            await alice.send(type="start", **signed("alice"))
            ready = (await alice.until("ready"))[-1]
            await alice.until("done")
        # The token lifted from Alice's browser, used without her identity, or as someone else:
        async with widget_socket(security_server, memory_bot.public_key) as thief:
            await thief.send(type="start", token=ready["token"])
            anonymous = (await thief.until("ready"))[-1]
        async with widget_socket(security_server, memory_bot.public_key) as other:
            await other.send(type="start", token=ready["token"], **signed("bob"))
            bob = (await other.until("ready"))[-1]
        async with widget_socket(security_server, memory_bot.public_key) as again:
            await again.send(type="start", token=ready["token"], **signed("alice"))
            back = (await again.until("ready"))[-1]
        return ready, anonymous, bob, back

    ready, anonymous, bob, back = async_to_sync(scenario)()
    assert not anonymous["resumed"] and anonymous["conversation_id"] != ready["conversation_id"]
    assert not bob["resumed"] and bob["conversation_id"] != ready["conversation_id"]
    assert back["resumed"] and back["conversation_id"] == ready["conversation_id"]


def test_the_identity_secret_is_made_for_a_new_web_channel_and_shown_to_its_builders_only(transactional_db):
    from django.test import Client

    from bots.models import ChannelConnection, Membership, Workspace
    from bots.yaml_io import import_bot
    from tests.bots.conftest import make_user
    from tests.security.conftest import MEMORY_BOT

    workspace = Workspace.objects.create(slug="site", name="Site")
    bot = import_bot(workspace=workspace, text=MEMORY_BOT.format(slug="site-bot"))
    builder, viewer = Client(), Client()
    builder.force_login(make_user(workspace, Membership.Role.BUILDER, "bea"))
    viewer.force_login(make_user(workspace, Membership.Role.VIEWER, "vic"))
    added = builder.post(
        "/admin/bots/channelconnection/add/",
        {"bot": bot.id, "kind": "web", "settings": "{}", "new_credentials": "", "phone_number": "", "is_active": "on"},
    )
    assert added.status_code == 302, added.content.decode()[-2000:]
    channel = ChannelConnection.objects.get(bot=bot, kind="web")
    secret = channel.credentials["identity_secret"]
    assert len(secret) == 64 and secret not in channel.credentials_encrypted  # encrypted at rest
    page = f"/admin/bots/channelconnection/{channel.id}/change/"
    assert secret in builder.get(page).content.decode()
    assert secret not in viewer.get(page).content.decode()
    second = builder.post(
        "/admin/bots/channelconnection/add/",
        {"bot": bot.id, "kind": "web", "settings": "{}", "new_credentials": "", "phone_number": "", "is_active": "on"},
    )
    assert "already has a website chat channel" in second.content.decode()
