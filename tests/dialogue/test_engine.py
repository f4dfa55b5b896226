"""The pure dialogue core with inline YAML bots: flows, slots, routing, voice — no database."""

from __future__ import annotations

import pytest

from dialogue import expressions
from dialogue.events import Inbound
from tests.dialogue.bots import ORDER_BOT, Chat, bot


async def test_greeting_then_intent_routes_into_slot_filling_with_reprompt():
    chat = Chat(bot(ORDER_BOT))
    events = await chat.send(Inbound(kind="event", event="conversation_started"))
    assert [e.text for e in events if e.type == "message"] == ["Hi! How can I help?"]
    assert await chat.say("where is my parcel?") == "What's the email on the order?"
    reprompt = await chat.say("it's bob at example dot com")
    assert reprompt.startswith("Please give an email address") and reprompt.endswith("What's the email on the order?")
    events = await chat.send("bob@example.com")
    message = next(e for e in events if e.type == "message")
    assert message.text == "Which plan are you on?"
    assert message.buttons == [{"title": "basic", "payload": "basic"}, {"title": "pro", "payload": "pro"}]
    events = await chat.send(Inbound(kind="button", text="pro", payload="pro"))
    assert [e.text for e in events if e.type == "message"] == ["Priority high for bob@example.com!", "Goodbye!"]
    assert events[-1].type == "end"
    assert chat.state.slots == {"email": "bob@example.com", "plan": "pro", "priority": "high"}
    assert chat.state.status == "ended"
    assert chat.last.trace["path"][-3:] == ["main/vip", "main/vip_msg", "main/bye"]


async def test_last_failed_answer_routes_to_on_failure():
    chat = Chat(bot(ORDER_BOT))
    await chat.send("track my package")
    assert (await chat.say("nope")).startswith("Please give an email")
    assert await chat.say("still nope") == "Let's try again later."
    assert "email" not in chat.state.slots and chat.state.node is None


async def test_other_intent_and_fallback_routes():
    chat = Chat(bot(ORDER_BOT))
    assert await chat.say("refund please") == "Refunds take 5 days."
    assert await chat.say("what colour is the sky on mars") == "I can track orders and handle refunds."


async def test_flow_triggered_by_keyword_and_typed_slots():
    chat = Chat(
        bot(
            """
flows:
  - name: pin
    trigger_keywords: [pin]
    graph:
      entry: ask_pin
      nodes:
        - {id: ask_pin, kind: ask, slot: pin, type: digits, prompt: "Enter your PIN.", next: ask_age}
        - {id: ask_age, kind: ask, slot: age, type: number, prompt: "Your age?", next: ask_code}
        - {id: ask_code, kind: ask, slot: code, type: regex, pattern: "[A-Z]{3}-\\\\d{2}", prompt: "Code?", next: ask_day}
        - {id: ask_day, kind: ask, slot: day, type: date, prompt: "Which day?", next: ask_phone}
        - {id: ask_phone, kind: ask, slot: phone, type: phone, prompt: "Phone?", next: adult}
        - id: adult
          kind: branch
          conditions: [{when: "age >= 18", next: ok}]
          else: minor
        - {id: ok, kind: message, text: "Adult {{ pin }} {{ code }} {{ day }}"}
        - {id: minor, kind: message, text: "Minor"}
"""
        )
    )
    assert await chat.say("I forgot my PIN") == "Enter your PIN."
    assert (await chat.say("12ab")).startswith("Please answer with digits only")
    assert await chat.say("12 34") == "Your age?"
    assert await chat.say("I'm 42") == "Code?"
    assert (await chat.say("abc")).startswith("That doesn't look right")
    assert await chat.say("ABC-12") == "Which day?"
    assert await chat.say("14/03/2025") == "Phone?"
    assert await chat.say("+1 (415) 555-0100") == "Adult 1234 ABC-12 2025-03-14"
    assert chat.state.slots["age"] == 42 and chat.state.slots["phone"] == "+14155550100"


async def test_a_text_answer_keeps_no_sentence_full_stop():
    chat = Chat(
        bot(
            """
flows:
  - name: name
    is_entry: true
    graph:
      entry: ask_name
      nodes:
        - {id: ask_name, kind: ask, slot: name, prompt: "Your name?", next: thanks}
        - {id: thanks, kind: message, text: "Thanks {{ name }}, noted."}
"""
        )
    )
    assert await chat.say("hello") == "Your name?"
    assert await chat.say("Alice.") == "Thanks Alice, noted."
    assert chat.state.slots["name"] == "Alice"


async def test_templates_are_sandboxed():
    chat = Chat(
        bot(
            """
flows:
  - name: x
    trigger_keywords: [hack]
    graph:
      entry: m
      nodes: [{id: m, kind: message, text: "{{ ''.__class__.__mro__ }}"}]
"""
        )
    )
    reply = await chat.say("hack")
    assert "object" not in reply and "class" not in reply.replace("__class__", "")


async def test_voice_mode_strips_markdown_and_emits_sentences():
    chat = Chat(
        bot(
            """
flows:
  - name: x
    trigger_keywords: [hours]
    graph:
      entry: m
      nodes: [{id: m, kind: message, text: "**We are open** from 9 to 5. See [our page](https://x.example) for more!"}]
"""
        ),
        mode="voice",
    )
    events = await chat.send("what are your hours")
    sentences = [e.text for e in events if e.type == "sentence"]
    assert sentences == ["We are open from 9 to 5.", "See our page for more!"]
    assert "**" not in next(e for e in events if e.type == "message").text


async def test_handed_off_conversation_keeps_the_bot_quiet():
    chat = Chat(
        bot(
            """
flows:
  - name: h
    trigger_keywords: [help]
    graph:
      entry: h
      nodes: [{id: h, kind: handoff, queue: billing, message: "A person will take over."}]
"""
        )
    )
    events = await chat.send("help me")
    handoff = next(e for e in events if e.type == "handoff")
    assert handoff.queue == "billing" and handoff.reason == "flow" and "help me" in handoff.summary
    assert await chat.send("hello?") == []


async def test_no_llm_and_no_prompt_says_it_did_not_understand():
    chat = Chat(bot("{}"))
    assert await chat.say("hello") == "Sorry, I didn't quite get that. Could you say it another way?"


@pytest.mark.parametrize(
    "expr, context, expected",
    [
        ('plan == "pro" and age >= 18', {"plan": "pro", "age": "20"}, True),
        ('intent in ["refund", "cancel"]', {"intent": "refund"}, True),
        ("not email", {}, True),
        ('user.tier == "gold" or false', {"user": {"tier": "gold"}}, True),
        ("age < 18", {"age": "abc"}, False),
        ('channel != "voice" and not (hour < 9)', {"channel": "web", "hour": 10}, True),
    ],
)
def test_expressions(expr, context, expected):
    assert expressions.evaluate(expr, context) is expected


@pytest.mark.parametrize(
    "expr, message",
    [
        ("plan ==", "Expected a value"),
        ("plan = 1", "Unexpected character “=” at position 6"),
        ("a b", "did you miss"),
        ("", "empty"),
        ("__import__('os')", r"Unexpected “\(”"),
    ],
)
def test_expression_errors_say_what_is_wrong(expr, message):
    with pytest.raises(expressions.ExpressionError, match=message):
        expressions.parse(expr)


async def test_keypad_digits_answer_and_silence_reprompts_the_question():
    chat = Chat(
        bot(
            """
flows:
  - name: pin
    is_entry: true
    graph:
      entry: ask
      nodes:
        - {id: ask, kind: ask, slot: pin, type: digits, prompt: "Type your PIN on the keypad.", next: ok}
        - {id: ok, kind: message, text: "Thanks, {{ pin }}."}
"""
        ),
        mode="voice",
        channel="voice",
    )
    events = await chat.send(Inbound(kind="event", event="call_started"))
    assert [e.text for e in events if e.type == "sentence"] == ["Type your PIN on the keypad."]
    silence = await chat.send(Inbound(kind="event", event="silence_timeout"))
    assert [e.text for e in silence if e.type == "message"] == ["Type your PIN on the keypad."]
    assert await chat.say_inbound(Inbound(kind="dtmf", text="4821#")) == "Thanks, 4821."


async def test_a_pattern_that_backtracks_without_end_refuses_the_answer_instead_of_hanging():
    chat = Chat(
        bot(
            """
flows:
  - name: code
    trigger_keywords: [code]
    graph:
      entry: ask_code
      nodes:
        - {id: ask_code, kind: ask, slot: code, type: regex, pattern: "(a+)+$", prompt: "Code?", next: done}
        - {id: done, kind: message, text: "Got {{ code }}"}
"""
        )
    )
    assert await chat.say("my code") == "Code?"
    assert (await chat.say("a" * 60 + "!")).startswith("That doesn't look right")
    assert await chat.say("aaa") == "Got aaa"
