"""The widget's WebSocket protocol against the real ASGI server and the fake LLM."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from channels_app import protocol, services
from conversations.models import Message
from tests.chat.conftest import make_bot, open_chat

pytestmark = pytest.mark.django_db(transaction=True)


# Database work of these async tests runs in helper threads; each closes its connection so the
# test database can be dropped at the end of the session.
@sync_to_async
def stored_messages(conversation_id):
    try:
        return list(Message.objects.filter(conversation_id=conversation_id).order_by("id").values_list("role", "text"))
    finally:
        connection.close()


@sync_to_async
def another_bot(workspace_slug: str, **kwargs):
    try:
        return make_bot(workspace_slug, **kwargs)
    finally:
        connection.close()


@sync_to_async
def agent_says(conversation_id: int, text: str, author: str):
    try:
        message = Message.objects.create(conversation_id=conversation_id, role="agent", text=text)
        services.broadcast(conversation_id, protocol.agent_message(message, author))
    finally:
        connection.close()


async def test_answer_streams_in_pieces_and_the_conversation_resumes(asgi_server, bot, fake_openai):
    fake_openai.token_interval = 0.04  # tokens trickle in, so coalesced frames arrive one by one
    async with open_chat(asgi_server, bot.public_key) as chat:
        await chat.send(type="start")
        ready = await chat.recv()
        assert ready["type"] == "ready" and ready["resumed"] is False
        greeting = await chat.until("done")
        assert any(f["type"] == "message" and "Hello from Help Bot" in f["text"] for f in greeting)

        await chat.send(type="message", text="What are your opening hours on public holidays?")
        frames = await chat.until("done")
    deltas = [f["text"] for f in frames if f["type"] == "text_delta"]
    final = next(f for f in frames if f["type"] == "message")
    assert len(deltas) > 1, "the answer arrives in several frames, not at once"
    assert "".join(deltas).strip() == final["text"].strip()
    assert "opening hours" in final["text"]
    assert frames[-1]["type"] == "done" and frames[-1]["last_message_id"]

    # Reconnect with the token: same conversation, and everything after `after` is replayed.
    async with open_chat(asgi_server, bot.public_key) as chat:
        await chat.send(type="start", token=ready["token"], after=0)
        again = await chat.recv()
        history = await chat.recv()
    # The token is issued afresh on resuming (it expires), so only it may differ.
    assert again["token"] and {**again, "token": None} == {**ready, "resumed": True, "token": None}
    replayed = [(m["role"], m["text"]) for m in history["messages"]]
    assert replayed == await stored_messages(ready["conversation_id"])
    assert ("user", "What are your opening hours on public holidays?") in replayed

    async with open_chat(asgi_server, bot.public_key) as chat:
        await chat.send(type="start", token=ready["token"], after=frames[-1]["last_message_id"])
        await chat.recv()
        assert (await chat.recv())["messages"] == []


async def test_a_forged_or_foreign_token_starts_a_new_conversation(asgi_server, bot):
    other = await another_bot("globex", name="Other Bot")
    async with open_chat(asgi_server, other.public_key) as chat:
        await chat.send(type="start")
        foreign = await chat.recv()
    for token in (foreign["token"], "WzEsMV0:forged"):
        async with open_chat(asgi_server, bot.public_key) as chat:
            await chat.send(type="start", token=token)
            ready = await chat.recv()
        assert ready["resumed"] is False and ready["conversation_id"] != foreign["conversation_id"]


async def test_unknown_key_and_foreign_origin_are_refused_with_a_reason(asgi_server, bot):
    async with open_chat(asgi_server, "pk_doesnotexist") as chat:
        assert await chat.recv() == protocol.error("unknown_bot")
    shop = await another_bot("shop", name="Shop Bot", origins=["https://shop.example.com"])
    async with open_chat(asgi_server, shop.public_key, Origin="https://evil.example.net") as chat:
        assert await chat.recv() == protocol.error("origin_not_allowed")
    async with open_chat(asgi_server, shop.public_key, Origin="https://shop.example.com") as chat:
        await chat.send(type="start")
        assert (await chat.recv())["type"] == "ready"


async def test_oversize_and_malformed_frames_get_an_error_and_change_nothing(asgi_server, bot):
    async with open_chat(asgi_server, bot.public_key) as chat:
        await chat.send(type="start")
        ready = await chat.recv()
        await chat.until("done")
        before = await stored_messages(ready["conversation_id"])
        await chat.send(type="message", text="x" * (protocol.MAX_TEXT_CHARS + 1))
        assert await chat.recv() == protocol.error("message_too_long", turn=True)
        await chat.ws.send("not json")
        assert await chat.recv() == protocol.error("bad_frame")
        await chat.send(type="shout", text="hi")
        assert await chat.recv() == protocol.error("bad_frame")
        await chat.send(type="ping")
        assert await chat.recv() == {"type": "pong"}
    assert await stored_messages(ready["conversation_id"]) == before


async def test_one_turn_at_a_time(asgi_server, bot, fake_openai):
    async with open_chat(asgi_server, bot.public_key) as chat:
        await chat.send(type="start")
        await chat.until("done")
        fake_openai.ttft = 0.5
        await chat.send(type="message", text="first question")
        await chat.send(type="message", text="second question")
        frames = await chat.until("done")
    assert protocol.error("busy", turn=True) in frames
    assert [f["text"] for f in frames if f["type"] == "message"] == ["You asked: first question."]


async def test_limits_per_connection_and_per_ip(strict_server, bot):
    # strict_server: 3 frames per connection and 5 per IP a minute. The IP comes from
    # X-Forwarded-For (uvicorn trusts it from the local proxy), so this test has its own.
    async with open_chat(strict_server, bot.public_key, **{"X-Forwarded-For": "10.9.0.1"}) as first:
        for _ in range(3):
            await first.send(type="ping")
            assert await first.recv() == {"type": "pong"}
        await first.send(type="ping")
        assert await first.recv() == protocol.error("rate_limited", turn=True)
    async with open_chat(strict_server, bot.public_key, **{"X-Forwarded-For": "10.9.0.1"}) as second:
        for _ in range(2):
            await second.send(type="ping")
            assert await second.recv() == {"type": "pong"}
        await second.send(type="ping")
        assert await second.recv() == protocol.error("rate_limited", turn=True)
    async with open_chat(strict_server, bot.public_key, **{"X-Forwarded-For": "10.9.0.2"}) as elsewhere:
        await elsewhere.send(type="ping")
        assert await elsewhere.recv() == {"type": "pong"}


async def test_a_message_from_another_process_reaches_the_open_socket(asgi_server, bot):
    async with open_chat(asgi_server, bot.public_key) as chat:
        await chat.send(type="start")
        ready = await chat.recv()
        await chat.until("done")
        await agent_says(ready["conversation_id"], "Hi, I'm Dana.", "Dana")
        frame = await chat.recv()
    assert frame["type"] == "agent_message" and frame["text"] == "Hi, I'm Dana." and frame["author"] == "Dana"
