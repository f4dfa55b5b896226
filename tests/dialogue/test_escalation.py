"""Every escalation trigger hands off with a summary and the collected slots, stored as a Handoff."""

from __future__ import annotations

import pytest

from bots.schema import EscalationSpec
from conversations.models import Conversation, Handoff
from dialogue.escalation import _EXPLICIT
from tests.dialogue.conftest import Talk, demo_snapshot, first
from tests.fakes.openai_server import Reply


def _bot(tool_server, rule: dict, **changes):
    snapshot = demo_snapshot(tool_server, **changes)
    return snapshot.model_copy(update={"escalation_rules": [EscalationSpec(name="rule", queue="vip", **rule)]})


CASES = [
    ({"trigger": "explicit_request"}, ["where is my order", "can I speak with a real person please"]),
    ({"trigger": "low_confidence", "threshold": 2}, ["blorp zibble", "quux frobnicate"]),
    ({"trigger": "negative_sentiment", "threshold": -0.5}, ["This is terrible, I hate this useless awful service"]),
    ({"trigger": "intent", "intents": ["cancel_order"]}, ["please cancel my order"]),
    ({"trigger": "keyword", "keywords": ["lawyer"]}, ["my lawyer will hear about this"]),
    ({"trigger": "max_turns", "threshold": 2}, ["hello", "hello again"]),
]


@pytest.mark.parametrize("rule, messages", CASES, ids=[c[0]["trigger"] for c in CASES])
def test_each_trigger_hands_off_with_summary_and_slots(acme_bot, tool_server, settings, rule, messages):
    settings.OPENAI_API_KEY = ""  # extractive summary: no LLM needed to hand off
    talk = Talk(acme_bot, _bot(tool_server, rule))
    events = []
    for text in messages:
        events = talk.send(text)
    handoff = first(events, "handoff")
    assert handoff.reason == "rule" and handoff.queue == "vip"
    assert messages[-1][:40] in handoff.summary
    row = Handoff.objects.get(conversation=talk.conversation)
    assert row.reason == "rule" and row.summary == handoff.summary and row.status == "open"
    assert talk.refresh().status == Conversation.Status.HANDED_OFF
    assert talk.say("hello?") == ""  # the bot stays quiet while a person has the conversation


def test_tool_failures_hand_off_with_the_slots_collected(acme_bot, tool_server, settings):
    settings.OPENAI_API_KEY = ""
    snapshot = _bot(tool_server, {"trigger": "tool_failures", "threshold": 2})
    broken = snapshot.tools[0].model_copy(update={"url": tool_server.server.base_url + "/broken/{{ order_id }}"})
    talk = Talk(acme_bot, snapshot.model_copy(update={"tools": [broken]}))
    talk.say("where is my order")
    assert "couldn't find" in talk.say("1001")
    talk.say("where is my order")
    events = talk.send("1002")
    handoff = first(events, "handoff")
    assert handoff.slots["order_id"] == "1002" and "Details collected: order_id: 1002" in handoff.summary
    assert Handoff.objects.get(conversation=talk.conversation).slots["order_id"] == "1002"


def test_an_always_handoff_intent_and_the_llm_summary(acme_bot, tool_server, fake_openai):
    talk = Talk(acme_bot, demo_snapshot(tool_server).model_copy(update={"escalation_rules": []}))
    fake_openai.script(Reply(text="The customer wants a person."))
    events = talk.send("I want a human")
    handoff = first(events, "handoff")
    assert handoff.reason == "intent:talk_to_human" and handoff.summary == "The customer wants a person."
    assert fake_openai.chat_requests()[-1]["body"]["messages"][0]["content"].startswith("Summarise")


def test_voice_handoff_transfers_to_the_bots_number(acme_bot, tool_server, settings):
    settings.OPENAI_API_KEY = ""
    snapshot = demo_snapshot(tool_server)
    snapshot = snapshot.model_copy(
        update={"voice": snapshot.voice.model_copy(update={"transfer_number": "+15557654321"})}
    )
    talk = Talk(acme_bot, snapshot, mode="voice")
    handoff = first(talk.send("get me a real person"), "handoff")
    assert handoff.transfer_to == "+15557654321"


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a human",
        "agent please",
        "can I speak with a real person?",
        "get me a representative",
        "Human!",
        "connect me to an agent",
        "I need a human",
        "je veux parler à un conseiller",
    ],
)
def test_explicit_requests_in_many_phrasings(text):
    assert _EXPLICIT.search(text)


@pytest.mark.parametrize("text", ["my agent number is 5", "the human body", "I want a refund", "humane society"])
def test_ordinary_sentences_are_not_requests_for_a_person(text):
    assert not _EXPLICIT.search(text)


def test_the_bot_speaks_again_once_the_agent_hands_back(acme_bot, tool_server, settings):
    settings.OPENAI_API_KEY = ""
    talk = Talk(acme_bot, demo_snapshot(tool_server))
    first(talk.send("get me a real person"), "handoff")
    assert talk.say("hello?") == ""
    Conversation.objects.filter(pk=talk.conversation.pk).update(status=Conversation.Status.ACTIVE)
    assert talk.say("where is my order").startswith("Sure! What's your order number?")
