"""A WhatsApp customer reaches a person and comes back to the bot: the customer's messages arrive
as Meta-signed webhooks at the real server, the agent works the real inbox (socket and HTTP), and
everything the customer sees arrives through the fake Graph API."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from bots.services import create_api_key
from conversations.models import Message
from tests.fakes import whatsapp_server as meta
from tests.fakes.whatsapp_server import FakeWhatsApp
from tests.inbox.conftest import Agent
from tests.messaging.conftest import start_turns_worker

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_NUMBER_ID, ACCESS_TOKEN, APP_SECRET, PERSON = "2055", "wa-inbox-token", "wa-inbox-secret", "16505550142"


@pytest.fixture(scope="module")
def graph():
    fake = FakeWhatsApp(ACCESS_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def turns(django_db_setup, django_db_blocker, fake_openai_server, graph):
    # The session's ASGI server queues on the default queue: this worker serves it.
    proc, _ = start_turns_worker(fake_openai_server, queue="turns", WHATSAPP_API_URL=graph.base_url)
    yield
    proc.stop()


def connect_whatsapp(bot) -> str:
    _, key = create_api_key(workspace=bot.workspace, name="setup", scopes=["bots:read", "bots:write"])
    created = Client(headers={"Authorization": f"Bearer {key}"}).post(
        f"/api/v1/bots/{bot.id}/channels",
        data={
            "kind": "whatsapp",
            "settings": {"phone_number_id": PHONE_NUMBER_ID},
            "credentials": {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET},
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    return created.json()["webhook_urls"]


async def whatsapp(base: str, path: str, text: str) -> None:
    body = meta.message(PHONE_NUMBER_ID, sender=PERSON, text={"body": text})
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            path,
            content=body,
            headers={"X-Hub-Signature-256": meta.sign(body, APP_SECRET), "Content-Type": "application/json"},
        )
    assert response.status_code == 200


async def received(graph, count: int) -> list[str]:
    """The texts the customer has received once there are `count` of them."""
    for _ in range(400):
        texts = [s["body"].get("text", {}).get("body", "") for s in list(graph.sent)]
        if len(texts) >= count:
            return texts
        await asyncio.sleep(0.05)
    raise AssertionError(f"the customer received {texts}, expected {count} messages")


async def test_a_whatsapp_customer_is_answered_by_an_agent_and_then_by_the_bot_again(
    turns, asgi_server, bot, ana, graph, fake_openai
):
    graph.reset()
    urls = await sync_to_async(connect_whatsapp)(bot)
    path = next(iter(urls.values())).removeprefix("http://testserver")
    async with Agent(asgi_server, ana) as agent:
        await agent.connect()
        await whatsapp(asgi_server, path, "I want to talk to a human about my invoice")
        waiting = await agent.until(lambda f: f["type"] == "handoff" and f["status"] == "open")
        assert waiting["channel"] == "whatsapp" and waiting["contact"] == f"whatsapp:{PERSON}"
        texts = await received(graph, 2)
        assert texts[0] == "Hello from Help Bot!" and "connecting you with a person" in texts[1]

        assert (await agent.post(f"handoffs/{waiting['id']}/claim")).status_code == 200
        asked_model = len(fake_openai.chat_requests())
        await whatsapp(asgi_server, path, "It's invoice 42, charged twice")
        said = await agent.until(lambda f: f["type"] == "message" and f["message"]["role"] == "user")
        assert said["message"]["text"] == "It's invoice 42, charged twice"

        reply = await agent.post(f"handoffs/{waiting['id']}/reply", text="Refunded. My direct line is +1 415 555 0100.")
        assert reply.status_code == 200
        texts = await received(graph, 3)  # "Ana joined" is a widget notice, not a WhatsApp message
        assert "Refunded. My direct line is +1 415 555 0100." in texts
        assert len(fake_openai.chat_requests()) == asked_model  # the bot stayed silent
        stored = await sync_to_async(lambda: Message.objects.get(role="agent"))()
        assert "+1 415 555 0100" not in stored.text  # sent as written, stored redacted
        assert graph.sent[-1]["body"]["to"] == PERSON

        assert (await agent.post(f"handoffs/{waiting['id']}/return")).status_code == 200
        texts = await received(graph, 4)
        assert "back with the assistant" in texts[-1]

    await whatsapp(asgi_server, path, "Will it show on my card?")
    texts = await received(graph, 5)
    assert texts[-1] == "You asked: Will it show on my card?"
    context = " ".join(str(m.get("content")) for m in fake_openai.chat_requests()[-1]["body"]["messages"])
    assert "Refunded." in context and "invoice 42" in context
