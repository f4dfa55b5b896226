"""Turns run from async code, as the channels run them: several conversations at once."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from conversations.models import Message, TurnTrace
from conversations.services import conversation_start
from dialogue.events import Inbound
from dialogue.turn import run_turn
from tests.dialogue.conftest import demo_snapshot
from tests.fakes.openai_server import Reply

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

    @sync_to_async
    def traces():  # what each turn found and met, should an answer come out wrong
        rows = TurnTrace.objects.filter(conversation__in=conversations).values_list("conversation_id", "debug")
        return {
            cid: {k: debug.get(k) for k in ("chunks", "llm_unavailable", "canary_tripped", "path")}
            for cid, debug in rows
        }

    for i, events in enumerate(results):
        message = next(e for e in events if e.type == "message")
        expected = "Shipping times" if i % 2 == 0 else "Returns policy"
        if [c.title for c in message.citations[:1]] != [expected]:
            pytest.fail(f"turn {i} answered {message.text!r}; traces: {await traces()}")

    @sync_to_async
    def stored():
        return [list(Message.objects.filter(conversation=c).values_list("role", flat=True)) for c in conversations]

    assert await stored() == [["user", "bot"]] * 6
    await sync_to_async(connections.close_all)()  # this test's ORM thread: let the test database go


async def test_a_turn_that_outlives_its_lock_keeps_the_conversation_to_itself(
    acme_bot, tool_server, help_center, fake_openai, settings
):
    settings.TURN_LOCK_TTL_S = 0.3  # renewed every 0.1 s while the turn runs
    fake_openai.token_interval = 0.05
    fake_openai.script(Reply(text=" ".join(["Our returns policy is generous."] * 6)))  # ~1.5 s of stream
    snapshot = demo_snapshot(tool_server, help_center)
    conversation = await sync_to_async(conversation_start)(bot=acme_bot)
    seen: list[tuple[str, str]] = []

    async def turn(name: str, text: str) -> None:
        async for event in run_turn(conversation.pk, snapshot, Inbound(kind="text", text=text)):
            seen.append((name, event.type))
        seen.append((name, "end"))

    first = asyncio.create_task(turn("first", "tell me about returns"))
    while ("first", "text_delta") not in seen:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.6)  # twice the lock's life: only its renewal still holds it
    await turn("second", "how long does express shipping take?")  # from another tab, say
    await first
    second_began = next(i for i, (name, _) in enumerate(seen) if name == "second")
    assert seen.index(("first", "end")) < second_began, seen  # never two turns of one conversation at once
    await sync_to_async(connections.close_all)()
