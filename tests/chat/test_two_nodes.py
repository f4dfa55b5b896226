"""Two app nodes (two uvicorn processes against one Postgres and Redis) serving one conversation
in turn, as behind a load balancer without sticky sessions."""

from __future__ import annotations

import pytest

from tests.chat.conftest import open_chat
from tests.chat.test_websocket import agent_says, stored_messages
from tests.conftest import vendor_env
from tests.processes import start_asgi
from tests.services import subprocess_env


@pytest.fixture(scope="module")
def second_node(django_db_setup, fake_openai_server):
    proc, base = start_asgi(subprocess_env(**vendor_env(fake_openai_server)))
    yield base
    proc.stop()


async def test_a_widget_reconnecting_to_the_other_node_keeps_its_conversation(
    asgi_server, second_node, bot, fake_openai
):
    async with open_chat(asgi_server, bot.public_key) as chat:
        await chat.send(type="start")
        ready = await chat.recv()
        await chat.until("done")
        await chat.send(type="message", text="My parcel number is 4411, where is it?")
        await chat.until("done")

    async with open_chat(second_node, bot.public_key) as chat:
        await chat.send(type="start", token=ready["token"], after=0)
        again = await chat.recv()
        history = await chat.recv()
        assert again["resumed"] is True and again["conversation_id"] == ready["conversation_id"]
        assert ("user", "My parcel number is 4411, where is it?") in [
            (m["role"], m["text"]) for m in history["messages"]
        ]

        await chat.send(type="message", text="And when will it arrive?")
        frames = await chat.until("done")
        assert any(f["type"] == "message" and f["text"] for f in frames)
        # The LLM on the second node saw the turn answered by the first (session state is in Redis).
        said = [m["content"] for m in fake_openai.chat_requests()[-1]["body"]["messages"] if m["role"] == "user"]
        assert said[-2:] == ["My parcel number is 4411, where is it?", "And when will it arrive?"]

        # A message from another process (an agent's reply) reaches the socket on this node.
        await agent_says(ready["conversation_id"], "Hi, I'm Dana, I'll check the parcel.", "Dana")
        frame = await chat.recv()
        assert frame["type"] == "agent_message" and frame["author"] == "Dana"

    roles = [role for role, _ in await stored_messages(ready["conversation_id"])]
    assert roles.count("user") == 2 and roles.count("bot") >= 3
