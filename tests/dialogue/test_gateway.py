"""LLM faults as users would meet them, and the LLM intent classifier."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync

from conversations.models import LlmCall, Message
from dialogue import gateway
from dialogue.events import Inbound
from dialogue.state import redis_client
from dialogue.turn import record_interrupted, run_turn
from tests.dialogue.conftest import Talk, demo_snapshot, first
from tests.fakes.openai_server import Reply


def _talk(acme_bot, tool_server, help_center=None, **prompt_changes):
    snapshot = demo_snapshot(tool_server, help_center)
    prompt = snapshot.prompts[0].model_copy(update=prompt_changes)
    return Talk(acme_bot, snapshot.model_copy(update={"prompts": [prompt]}))


def test_a_hanging_model_times_out_and_the_fallback_answers(acme_bot, tool_server, fake_openai, settings):
    settings.LLM_TIMEOUT_S = 1
    talk = _talk(acme_bot, tool_server, model="gpt-4o", fallback_models=["gpt-4o-mini"])
    fake_openai.script(Reply(hang=3, model="gpt-4o"), Reply(hang=3, model="gpt-4o"))
    message = first(talk.send("what is the returns policy?"), "message")
    assert message.text.startswith("You asked")
    outcomes = list(LlmCall.objects.values_list("model", "outcome", "error"))
    assert [o[:2] for o in outcomes] == [("gpt-4o", "fell_back"), ("gpt-4o", "fell_back"), ("gpt-4o-mini", "ok")]
    assert "Timeout" in outcomes[0][2]


def test_a_stream_cut_midway_keeps_what_was_said_and_apologises(acme_bot, tool_server, fake_openai):
    talk = _talk(acme_bot, tool_server)
    fake_openai.script(Reply(text="Returns are free within thirty days of delivery.", cut_after=3))
    message = first(talk.send("what is the returns policy?"), "message")
    assert message.text == "Returns are free Sorry, I was cut off there."
    assert LlmCall.objects.get().outcome == "error"


def test_the_llm_classifier_routes_intents_in_json_mode(acme_bot, tool_server, fake_openai):
    snapshot = demo_snapshot(tool_server).model_copy(update={"nlu": "llm"})
    talk = Talk(acme_bot, snapshot)
    fake_openai.script(Reply(text='{"intent": "order_status", "confidence": 0.93}'))
    assert talk.say("has the thing I bought left your warehouse").startswith("Sure! What's your order number?")
    request = fake_openai.chat_requests()[0]["body"]
    assert request["response_format"] == {"type": "json_object"}
    assert LlmCall.objects.get().purpose == "classify"


def test_voice_keeps_only_what_the_caller_heard(acme_bot, tool_server, fake_openai):
    talk = _talk(acme_bot, tool_server)
    talk.mode = "voice"
    fake_openai.script(Reply(text="Returns are free. You have thirty days. Refunds take a week."))
    talk.send("returns?")
    async_to_sync(_heard)(talk.conversation.pk, "Returns are free.")
    last = Message.objects.filter(role="bot").last()
    assert last.interrupted and last.text == "Returns are free."


async def _heard(conversation_id, text):
    from dialogue.state import redis_client

    try:
        await record_interrupted(conversation_id, heard=text)
    finally:
        await redis_client().aclose()


def test_each_prompt_sends_its_own_model_temperature_and_token_limit(acme_bot, tool_server, fake_openai):
    talk = _talk(acme_bot, tool_server, model="gpt-4.1-nano", temperature=1.1, max_tokens=77)
    talk.say("what is the returns policy?")
    body = fake_openai.chat_requests()[-1]["body"]
    assert (body["model"], body["temperature"], body["max_completion_tokens"]) == ("gpt-4.1-nano", 1.1, 77)
    assert body["stream"] is True and [t["function"]["name"] for t in body["tools"]] == ["order_status"]


def test_a_connection_opened_ahead_carries_the_first_question(acme_bot, tool_server, fake_openai):
    """What a call does as it starts: the LLM host is connected before the caller's first
    question, which then goes over that connection instead of waiting for a new one."""
    talk = _talk(acme_bot, tool_server)
    seen = len(fake_openai.requests)

    async def call():
        await gateway.warm()
        events = [
            e
            async for e in run_turn(
                talk.conversation, talk.snapshot, Inbound(kind="text", text="what is the returns policy?")
            )
        ]
        await gateway.warm()  # used a moment ago: nothing to open
        await redis_client().aclose()
        return events

    events = async_to_sync(call)()
    assert first(events, "message").text.startswith("You asked")
    requests = fake_openai.requests[seen:]
    assert [r["path"] for r in requests] == ["/v1/models", "/v1/chat/completions"]
    assert requests[0]["connection"] == requests[1]["connection"]


def test_the_llms_requests_are_not_logged_one_by_one(acme_bot, tool_server, fake_openai, caplog):
    # At the default INFO level the SDK's HTTP client would write a line for every request: one
    # per answer, on every process, drowning the lines an operator reads.
    with caplog.at_level(logging.INFO):
        assert first(_talk(acme_bot, tool_server).send("what is the returns policy?"), "message").text
    assert fake_openai.chat_requests()
    assert not [r for r in caplog.records if "HTTP Request" in r.getMessage()]
