"""When nobody can answer: a queue set up in the admin (no code) closed now, or a chat nobody
took in time; the customer is told so and leaves a way to reach them or goes on with the bot.
Round-robin queues give chats to online agents by themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from bots.models import Membership
from conversations.models import Conversation, Handoff
from inbox import services
from inbox.models import Ticket
from tests.inbox.conftest import Agent, customer
from tests.inbox.test_handoffs import db, handoff_of

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE_FORM = {
    "name": "support",
    "assignment": "manual",
    "opens_at": "",
    "closes_at": "",
    "timezone": "Europe/Paris",
    "claim_timeout_s": "0",
    "fallback": "callback",
    "closed_message": "Our team is away for the weekend.",
    "busy_message": "Sorry, everyone is busy right now.",
    "callback_prompt": "Leave your email or phone number and we'll get back to you, or continue with the assistant.",
    "callback_thanks": "Thanks! We'll contact you at {contact}.",
    "back_to_bot_message": "You're back with the assistant.",
}


@db
def set_up_queue(workspace, **fields):
    """A team lead fills in the queue form of the admin."""
    lead = get_user_model().objects.create_user("lea", "lea@example.com", "pw-for-tests-1", is_staff=True)
    Membership.objects.create(user=lead, workspace=workspace, role=Membership.Role.OWNER)
    client = Client()
    client.force_login(lead)
    data = {**QUEUE_FORM, "workspace": str(workspace.pk), **fields}
    response = client.post("/admin/inbox/queue/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]


@db
def ticket_of(handoff_id):
    return Ticket.objects.get(handoff_id=handoff_id)


async def test_outside_business_hours_the_customer_leaves_an_email_and_a_ticket_is_opened(asgi_server, bot, ana):
    await set_up_queue(bot.workspace, open_days=[])  # no open day: closed whenever the test runs
    async with Agent(asgi_server, ana) as agent, customer(asgi_server, bot.public_key) as user:
        await agent.connect()
        ready = await user.start()
        _, offer = await user.answered("Can I talk to a real person?")
        assert offer["type"] == "bot_message"
        assert offer["text"].startswith("Our team is away for the weekend. Leave your email or phone number")
        assert offer["buttons"] == [{"title": "Continue with the assistant", "payload": "Continue with the assistant"}]

        _, again = await user.answered("tomorrow maybe")
        assert "doesn't look like an email address" in again["text"]

        frames, thanks = await user.answered("sure, it's Jane.Doe@Example.com")
        assert [f["type"] for f in frames] == ["done"]  # the bot stays quiet: the inbox answers
        assert thanks["text"] == "Thanks! We'll contact you at j•••@example.com."

        handoff = await handoff_of(ready["conversation_id"])
        assert handoff["status"] == "callback"
        ticket = await ticket_of(handoff["id"])
        assert ticket.kind == "email" and ticket.contact_masked == "j•••@example.com"
        assert "example.com" not in ticket.contact_encrypted  # encrypted at rest
        packet = (await agent.get(f"handoffs/{handoff['id']}/")).json()
        assert packet["ticket"] == {"kind": "email", "contact": "jane.doe@example.com", "status": "open"}
        assert "jane.doe@example.com" not in str(packet["messages"])  # the transcript stays redacted

        frames = await user.say("What are your opening hours?")
        assert next(f for f in frames if f["type"] == "message")["text"] == "You asked: What are your opening hours?"


async def test_nobody_claims_in_time_and_the_customer_continues_with_the_bot(asgi_server, bot):
    await set_up_queue(bot.workspace, open_days=[0, 1, 2, 3, 4, 5, 6], claim_timeout_s="120")
    async with customer(asgi_server, bot.public_key) as user:
        ready = await user.start()
        await user.say("I want to speak to an agent")
        # Beat runs this every few seconds; here it runs as if three minutes had gone by.
        assert await db(services.expire_unclaimed)(now=timezone.now() + timedelta(minutes=3)) == 1
        offer = await user.recv()
        assert offer["text"].startswith("Sorry, everyone is busy right now.")
        assert await db(services.expire_unclaimed)(now=timezone.now() + timedelta(minutes=10)) == 0

        await user.send(type="button", title="Continue with the assistant", payload="Continue with the assistant")
        frames = await user.until("done")
        back = next((f for f in frames if f["type"] == "bot_message"), None) or await user.recv()
        assert back["text"] == "You're back with the assistant."
        frames = await user.say("Where is my parcel?")
        assert next(f for f in frames if f["type"] == "message")["text"] == "You asked: Where is my parcel?"
    assert (await handoff_of(ready["conversation_id"]))["status"] == "returned"
    status = await db(lambda: Conversation.objects.get(pk=ready["conversation_id"]).status)()
    assert status == "active"


async def test_a_round_robin_queue_gives_chats_to_online_agents_in_turn(asgi_server, bot, ana, ben):
    await set_up_queue(bot.workspace, open_days=[0, 1, 2, 3, 4, 5, 6], assignment="round_robin")
    async with Agent(asgi_server, ana) as a, Agent(asgi_server, ben) as b:
        for agent in (a, b):
            answer = await agent.post("presence", workspace_id=bot.workspace_id, presence="online")
            assert answer.json() == {"presence": "online"}
        owners = []
        for _ in range(3):
            async with customer(asgi_server, bot.public_key) as user:
                ready = await user.start()
                _, joined = await user.answered("human please", "agent_joined")
                assert joined["type"] == "agent_joined"
                owners.append(joined["author"])
            assert (await handoff_of(ready["conversation_id"]))["status"] == Handoff.Status.ASSIGNED
        assert owners == ["Ana", "Ben", "Ana"]
        await a.post("presence", workspace_id=bot.workspace_id, presence="away")
        async with customer(asgi_server, bot.public_key) as user:
            await user.start()
            _, joined = await user.answered("human please", "agent_joined")
            assert joined["author"] == "Ben"
