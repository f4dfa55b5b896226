"""The handoff lifecycle through the inbox's socket and actions, with a customer on the widget
socket, against the real ASGI server, Postgres, Redis and the fake LLM."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from bots.models import Membership
from conversations.models import Conversation, Handoff, Message
from privacy import tasks
from tests.inbox.conftest import Agent, customer, make_agent, make_bot

pytestmark = pytest.mark.django_db(transaction=True)


def db(fn):
    """ORM work of these async tests, on a helper thread that closes its connection (so the
    test database can be dropped at the end)."""

    @sync_to_async
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return run


@db
def agent_in(workspace, username, role=Membership.Role.AGENT, first_name=""):
    return make_agent(workspace, username, role=role, first_name=first_name)


@db
def stored(conversation_id):
    return list(Message.objects.filter(conversation_id=conversation_id).order_by("id").values_list("role", "text"))


@db
def handoff_of(conversation_id):
    return Handoff.objects.filter(conversation_id=conversation_id).values().get()


def new_handoff(frame, conversation_id):
    return frame["type"] == "handoff" and frame["conversation_id"] == conversation_id


async def test_a_customer_asks_for_a_person_an_agent_claims_replies_and_returns_it_to_the_bot(
    asgi_server, bot, ana, fake_openai
):
    async with Agent(asgi_server, ana) as agent, customer(asgi_server, bot.public_key) as user:
        snapshot = await agent.connect()
        assert snapshot["type"] == "snapshot" and snapshot["handoffs"] == []
        ready = await user.start()
        cid = ready["conversation_id"]
        frames = await user.say("I want to talk to a human about my invoice")
        assert any(f["type"] == "handoff" for f in frames)

        waiting = await agent.until(lambda f: new_handoff(f, cid))
        assert waiting["status"] == "open" and waiting["queue"] == "support" and waiting["channel"] == "web"
        packet = (await agent.get(f"handoffs/{waiting['id']}/")).json()
        assert packet["why"]["trigger"] == "explicit_request" and packet["why"]["explicit_ask"] is True
        assert packet["why"]["rule"] == "Asks for a person"
        assert "invoice" in packet["summary"] or packet["summary"]
        assert [m["role"] for m in packet["messages"]][-2:] == ["user", "bot"]

        claimed = await agent.post(f"handoffs/{waiting['id']}/claim")
        assert claimed.status_code == 200 and claimed.json()["handoff"]["assigned_to"]["name"] == "Ana"
        assert await user.recv() == {"type": "agent_joined", "author": "Ana"}

        # While Ana has it, the customer's message reaches her live and the bot says nothing.
        frames = await user.say("It's invoice 42, charged twice")
        assert [f["type"] for f in frames] == ["done"]
        said = await agent.until(lambda f: f["type"] == "message" and f["message"]["role"] == "user")
        assert said["conversation_id"] == cid and said["message"]["text"] == "It's invoice 42, charged twice"

        await agent.ws.send(json.dumps({"type": "typing", "conversation_id": cid}))
        assert await user.recv() == {"type": "agent_typing", "author": "Ana"}
        sent = await agent.post(f"handoffs/{waiting['id']}/reply", text="I've refunded the second charge.")
        assert sent.status_code == 200
        live = await user.recv()
        assert live["type"] == "agent_message" and live["author"] == "Ana"
        assert live["text"] == "I've refunded the second charge."
        note = await agent.post(f"handoffs/{waiting['id']}/note", text="Refund ref R-7 in the billing tool")
        assert note.status_code == 200

        back = await agent.post(f"handoffs/{waiting['id']}/return")
        assert back.json()["handoff"]["status"] == "returned"
        assert await user.recv() == {"type": "agent_left", "author": "Ana", "outcome": "returned"}
        welcome = await user.recv()
        assert welcome["type"] == "bot_message" and "back with the assistant" in welcome["text"]

        frames = await user.say("Thanks! Will it show on my card?")
        answer = next(f for f in frames if f["type"] == "message")
        assert answer["text"] == "You asked: Thanks! Will it show on my card?"
    # The bot answered knowing what the person said: the exchange is in its context.
    context = " ".join(str(m.get("content")) for m in fake_openai.chat_requests()[-1]["body"]["messages"])
    assert "(support agent Ana) I've refunded the second charge." in context
    assert "invoice 42" in context
    roles = [r for r, _ in await stored(cid)]
    assert roles.count("note") == 1 and roles.count("agent") == 1
    assert (await handoff_of(cid))["first_reply_at"] is not None


async def test_two_agents_claiming_at_once_exactly_one_wins_and_the_other_learns_who(asgi_server, bot, ana, ben):
    others = [await agent_in(bot.workspace, f"agent{i}", first_name=f"Agent{i}") for i in range(4)]
    async with customer(asgi_server, bot.public_key) as user:
        ready = await user.start()
        await user.say("Get me a real person please")
    handoff = await handoff_of(ready["conversation_id"])
    agents = [Agent(asgi_server, u) for u in (ana, ben, *others)]
    for a in agents:
        await a.__aenter__()
    try:
        answers = await asyncio.gather(*(a.post(f"handoffs/{handoff['id']}/claim") for a in agents))
    finally:
        for a in agents:
            await a.__aexit__(None, None, None)
    winners = [r for r in answers if r.status_code == 200]
    losers = [r.json() for r in answers if r.status_code != 200]
    assert len(winners) == 1 and len(losers) == len(agents) - 1
    who = winners[0].json()["handoff"]["assigned_to"]["name"]
    assert {(x["code"], x["claimed_by"]) for x in losers} == {("already_claimed", who)}
    assert all(x["detail"] == f"{who} has already taken this chat." for x in losers)


async def test_other_workspaces_and_viewers_see_nothing_and_cannot_act(asgi_server, bot, ana):
    other = await db(make_bot)("globex", "Other Bot")
    outsider = await agent_in(other.workspace, "otto", first_name="Otto")
    viewer = await agent_in(bot.workspace, "vera", role=Membership.Role.VIEWER)
    async with customer(asgi_server, bot.public_key) as user:
        ready = await user.start()
        await user.say("I want to speak to a person")
    handoff = await handoff_of(ready["conversation_id"])

    async with Agent(asgi_server, outsider) as otto:
        assert (await otto.connect())["handoffs"] == []
        for action in ("claim", "resolve", "return"):
            refused = await otto.post(f"handoffs/{handoff['id']}/{action}")
            assert refused.status_code == 404 and refused.json()["code"] == "not_found"
        assert (await otto.get(f"handoffs/{handoff['id']}/")).status_code == 404
        missing = await otto.post("handoffs/999999/claim")
        assert missing.status_code == 404 and missing.json() == refused.json()

    async with Agent(asgi_server, viewer) as vera:
        assert (await vera.get("")).status_code == 403
        assert (await vera.post(f"handoffs/{handoff['id']}/claim")).status_code == 404
        frame = await vera.connect()
        assert frame["code"] == "not_an_agent"
    assert (await handoff_of(ready["conversation_id"]))["status"] == "open"


async def test_a_resolved_conversation_refuses_replies_with_a_clear_error(asgi_server, bot, ana):
    async with Agent(asgi_server, ana) as agent, customer(asgi_server, bot.public_key) as user:
        ready = await user.start()
        await user.say("human please")
        handoff = await handoff_of(ready["conversation_id"])
        refused = await agent.post(f"handoffs/{handoff['id']}/reply", text="Hello?")
        assert refused.status_code == 409 and refused.json()["code"] == "not_claimed"
        await agent.post(f"handoffs/{handoff['id']}/claim")
        assert (await user.recv())["type"] == "agent_joined"
        done = await agent.post(f"handoffs/{handoff['id']}/resolve")
        assert done.json()["handoff"]["status"] == "resolved"
        assert await user.recv() == {"type": "agent_left", "author": "Ana", "outcome": "resolved"}
        late = await agent.post(f"handoffs/{handoff['id']}/reply", text="One more thing")
        assert late.status_code == 409
        assert late.json() == {
            "code": "closed",
            "detail": "This conversation was resolved, so it no longer takes replies.",
        }
        again = await agent.post(f"handoffs/{handoff['id']}/resolve")
        assert again.status_code == 409
    assert "One more thing" not in [t for _, t in await stored(ready["conversation_id"])]
    status = await db(lambda: Conversation.objects.get(pk=ready["conversation_id"]).status)()
    assert status == "ended"


async def test_an_agent_socket_dropping_mid_conversation_loses_nothing(asgi_server, bot, ana):
    async with Agent(asgi_server, ana) as agent, customer(asgi_server, bot.public_key) as user:
        await agent.connect()
        ready = await user.start()
        cid = ready["conversation_id"]
        await user.say("I need an agent now")
        handoff = await agent.until(lambda f: new_handoff(f, cid))
        await agent.post(f"handoffs/{handoff['id']}/claim")
        await agent.ws.close()  # the agent's network drops

        for text in ("Are you there?", "My order is 1001", "It never arrived"):
            frames = await user.say(text)
            assert [f["type"] for f in frames[-1:]] == ["done"]

        snapshot = await agent.connect()  # the page reconnects: a snapshot, then the chat is re-read
        mine = [h for h in snapshot["handoffs"] if h["id"] == handoff["id"]]
        assert mine and mine[0]["status"] == "assigned" and mine[0]["assigned_to"]["name"] == "Ana"
        packet = (await agent.get(f"handoffs/{handoff['id']}/")).json()
        said = [m["text"] for m in packet["messages"] if m["role"] == "user"]
        assert said[-3:] == ["Are you there?", "My order is 1001", "It never arrived"]
        assert [m["role"] for m in packet["messages"]].count("bot") == 2  # greeting and the handoff line

        # And live again after the reconnect.
        await user.say("Hello?")
        live = await agent.until(lambda f: f["type"] == "message" and f["message"]["role"] == "user")
        assert live["message"]["text"] == "Hello?"


async def test_a_returning_customer_sees_the_agents_replies_by_name_and_never_their_notes(asgi_server, bot, ana):
    async with Agent(asgi_server, ana) as agent, customer(asgi_server, bot.public_key) as user:
        await agent.connect()
        ready = await user.start()
        await user.say("I want to talk to a human")
        handoff = await agent.until(lambda f: new_handoff(f, ready["conversation_id"]))
        await agent.post(f"handoffs/{handoff['id']}/claim")
        await agent.post(f"handoffs/{handoff['id']}/note", text="Looks like a fraud attempt, check ID")
        await agent.post(f"handoffs/{handoff['id']}/reply", text="Hi, I can help with that.")
        await user.until("agent_message")
    # The customer reloads the page: the widget resumes with its token and gets the history again.
    async with customer(asgi_server, bot.public_key) as again:
        await again.send(type="start", token=ready["token"])
        assert (await again.recv())["resumed"] is True
        history = (await again.until("history"))[-1]["messages"]
    assert [m["author"] for m in history if m["role"] == "agent"] == ["Ana"]
    assert "fraud" not in json.dumps(history) and all(m["role"] != "note" for m in history)


async def test_an_agent_introducing_themselves_keeps_their_name_in_the_transcript(asgi_server, bot, ana, celery_worker):
    async with Agent(asgi_server, ana) as agent, customer(asgi_server, bot.public_key) as user:
        await agent.connect()
        cid = (await user.start())["conversation_id"]
        await user.say("I want to talk to a human")
        waiting = await agent.until(lambda f: new_handoff(f, cid))
        assert (await agent.post(f"handoffs/{waiting['id']}/claim")).status_code == 200
        said = "This is Ana from support. Ask for Maria Lopez at the desk."
        assert (await agent.post(f"handoffs/{waiting['id']}/reply", text=said)).status_code == 200
        note = "This is Ana: ask for Maria Lopez at the desk next time."
        assert (await agent.post(f"handoffs/{waiting['id']}/note", text=note)).status_code == 200
    kept = {
        "agent": "This is Ana from support. Ask for [NAME] at the desk.",
        "note": "This is Ana: ask for [NAME] at the desk next time.",
    }
    assert {r: t for r, t in await stored(cid) if r in kept} == kept
    # The worker's named-entity pass over stored messages keeps her name too.
    await sync_to_async(tasks.deep_redact.delay().get)(timeout=60)
    assert {r: t for r, t in await stored(cid) if r in kept} == kept
