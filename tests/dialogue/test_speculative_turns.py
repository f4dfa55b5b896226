"""Speculative turns (a call starts one when the caller pauses): the reply is prepared at once,
but no tool is called and nothing is stored until the turn is confirmed."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from conversations.models import LlmCall, Message, TurnTrace
from conversations.services import conversation_start
from dialogue.events import Inbound
from dialogue.turn import run_turn
from tests.dialogue.conftest import demo_snapshot
from tests.fakes.openai_server import Reply

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "what about my order 1001, what is its state"
LOOKUP = Reply(tool_calls=[{"name": "order_status", "arguments": {"order_id": "1001"}}])


@sync_to_async
def stored(conversation) -> tuple[list[str], int, list[str]]:
    roles = list(Message.objects.filter(conversation=conversation).order_by("id").values_list("role", flat=True))
    purposes = list(LlmCall.objects.filter(conversation=conversation).order_by("id").values_list("purpose", flat=True))
    return roles, TurnTrace.objects.filter(conversation=conversation).count(), purposes


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def speculate(conversation, snapshot, text: str, go_ahead: asyncio.Future, events: list) -> asyncio.Task:
    async def turn():
        async for event in run_turn(conversation.pk, snapshot, Inbound(kind="text", text=text), go_ahead=go_ahead):
            events.append(event)

    return asyncio.create_task(turn())


async def test_a_speculative_turn_calls_its_tool_and_stores_only_once_confirmed(acme_bot, tool_server, fake_openai):
    snapshot = demo_snapshot(tool_server)
    conversation = await sync_to_async(conversation_start)(bot=acme_bot)
    fake_openai.script(LOOKUP, Reply(text="Order 1001 has shipped."))
    tool_calls_before = len(tool_server.requests)
    go_ahead, events = asyncio.get_running_loop().create_future(), []
    task = await speculate(conversation, snapshot, QUESTION, go_ahead, events)

    await until(lambda: len(fake_openai.chat_requests()) == 1)  # the model was asked at once, and chose the tool
    await asyncio.sleep(0.3)
    assert len(tool_server.requests) == tool_calls_before  # the order system was not called yet
    assert not task.done() and await stored(conversation) == ([], 0, [])

    go_ahead.set_result(True)
    await task
    assert [r["path"] for r in tool_server.requests[tool_calls_before:]] == ["/orders/1001"]
    assert next(e for e in events if e.type == "message").text == "Order 1001 has shipped."
    assert await stored(conversation) == (["user", "bot"], 1, ["reply", "reply"])
    await sync_to_async(connections.close_all)()


async def test_a_dropped_speculative_turn_leaves_only_its_llm_cost(acme_bot, tool_server, fake_openai):
    snapshot = demo_snapshot(tool_server)
    conversation = await sync_to_async(conversation_start)(bot=acme_bot)
    fake_openai.token_interval = 0.05
    fake_openai.script(Reply(text="Let me check that order for you, it will take a moment, please hold on."))
    go_ahead, events = asyncio.get_running_loop().create_future(), []
    task = await speculate(conversation, snapshot, QUESTION, go_ahead, events)
    await until(lambda: any(e.type == "text_delta" for e in events))  # the reply is being written

    go_ahead.set_result(False)  # the caller went on talking
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await stored(conversation) == ([], 0, ["speculative"])
    call = await LlmCall.objects.aget(conversation=conversation)
    # Cut off mid-stream, the call still counts what it cost.
    assert call.outcome == LlmCall.Outcome.CANCELLED and call.input_tokens > 0 and call.output_tokens > 0

    # The conversation is free and forgot the dropped question: the next turn does not see it.
    fake_openai.token_interval = 0
    fake_openai.script(Reply(text="Happy to help."))
    confirmed = asyncio.get_running_loop().create_future()
    confirmed.set_result(True)
    task = await speculate(conversation, snapshot, "hello, I have a question", confirmed, events)
    await asyncio.wait_for(task, 10)
    sent = [m["content"] for m in fake_openai.chat_requests()[-1]["body"]["messages"] if m["role"] == "user"]
    assert QUESTION not in " ".join(sent)
    assert await stored(conversation) == (["user", "bot"], 1, ["speculative", "reply"])
    await sync_to_async(connections.close_all)()
