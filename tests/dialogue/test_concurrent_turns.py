"""Turns run from async code, as the channels run them: several conversations at once."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from conversations.models import Message
from conversations.services import conversation_start
from dialogue.events import Inbound
from dialogue.turn import run_turn
from tests.dialogue.conftest import demo_snapshot

# From async code the turn's ORM work runs on its own threads (dialogue.db): data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


async def test_conversations_answered_at_the_same_time_each_get_their_own_answer(
    acme_bot, tool_server, help_center, fake_openai
):
    snapshot = demo_snapshot(tool_server, help_center)
    conversations = [await sync_to_async(conversation_start)(bot=acme_bot, contact_id=f"c{i}") for i in range(6)]
    questions = ["how long does express shipping take?", "how many days do I have to return an item?"]

    async def turn(i, conversation):
        inbound = Inbound(kind="text", text=questions[i % 2])
        return [e async for e in run_turn(conversation.pk, snapshot, inbound)]

    results = await asyncio.gather(*(turn(i, c) for i, c in enumerate(conversations)))
    for i, events in enumerate(results):
        message = next(e for e in events if e.type == "message")
        assert message.citations[0].title == ("Shipping times" if i % 2 == 0 else "Returns policy")

    @sync_to_async
    def stored():
        return [list(Message.objects.filter(conversation=c).values_list("role", flat=True)) for c in conversations]

    assert await stored() == [["user", "bot"]] * 6
    await sync_to_async(connections.close_all)()  # this test's ORM thread: let the test database go
