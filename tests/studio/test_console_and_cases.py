"""The test console and bot test cases, through the real dialogue engine (no LLM configured:
flows run deterministically)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from bots.models import Flow
from bots.services import save_flow
from conversations.models import Conversation
from studio.models import BotTestCase
from tests.studio.factories import EMAIL_FLOW, make_bot
from tests.studio.test_studio_pages import builder_client, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot():
    return make_bot(graph=EMAIL_FLOW)


def say(client, bot, text, session=None, version="draft"):
    res = post(client, f"/studio/bots/{bot.id}/console/turn", {"text": text, "session": session, "version": version})
    assert res.status_code == 200, res.content
    return res.json()


def test_console_runs_the_draft_and_shows_each_turn_in_the_debug_panel(bot):
    client = builder_client(bot)
    first = say(client, bot, "hi")
    assert [r["text"] for r in first["replies"]][-1] == "What is your email?"
    assert first["trace"]["flow"] == "main" and first["trace"]["node"] == "ask_1"
    assert first["trace"]["slots_after"] == {}

    second = say(client, bot, "it is ann@example.com", session=first["session"])
    assert second["trace"]["slots_before"] == {}
    assert "email" in second["trace"]["slots_after"]
    assert second["trace"]["node"] == "message_2"
    assert second["replies"][-1]["text"].startswith("Thanks ")
    assert second["replies"][-1]["voice_text"]  # the voice preview of the same reply
    assert Conversation.objects.get(pk=first["session"]).channel == "studio"


def test_console_refuses_bad_input_and_other_bots_sessions(bot):
    client = builder_client(bot)
    assert post(client, f"/studio/bots/{bot.id}/console/turn", {"text": "  "}).status_code == 400
    assert post(client, f"/studio/bots/{bot.id}/console/turn", {"text": "x" * 2001}).status_code == 400
    assert post(client, f"/studio/bots/{bot.id}/console/turn", {"text": "hi", "version": 12345}).status_code == 404
    other = make_bot(slug="other")
    foreign = Conversation.objects.create(workspace=other.workspace, bot=other, channel="studio")
    res = post(client, f"/studio/bots/{bot.id}/console/turn", {"text": "hi", "session": foreign.id})
    assert res.status_code == 404
    assert not Conversation.objects.filter(bot=bot).exists()


def test_a_console_conversation_saved_as_a_test_case_passes_then_fails_when_the_flow_changes(bot):
    client = builder_client(bot)
    first = say(client, bot, "hi")
    second = say(client, bot, "ann@example.com", session=first["session"])
    steps = [{"user": "hi", "expect": first["expect"]}, {"user": "ann@example.com", "expect": second["expect"]}]
    steps[1]["expect"]["contains"] = ["on the list"]
    assert post(client, f"/studio/bots/{bot.id}/test-cases", {"name": "Signup", "steps": steps}).status_code == 201

    report = post(client, f"/studio/bots/{bot.id}/test-cases/run", {"version": "draft"}).json()
    assert report["failed"] == 0 and report["total"] == 1
    assert BotTestCase.objects.get().last_passed is True
    assert not Conversation.objects.filter(metadata__test_case__isnull=False).exists()  # runs leave no trace

    flow = Flow.objects.get(bot=bot)
    graph = json.loads(json.dumps(EMAIL_FLOW))
    graph["nodes"][3]["text"] = "Thanks, we will write to {{ email }}."
    save_flow(flow=flow, revision=flow.revision, graph=graph)

    report = post(client, f"/studio/bots/{bot.id}/test-cases/run", {}).json()
    assert report["failed"] == 1
    assert "should contain 'on the list'" in report["results"][0]["failures"][0]
    assert BotTestCase.objects.get().last_passed is False


def test_manage_py_test_bot_fails_when_a_test_case_no_longer_holds(bot, capsys):
    BotTestCase.objects.create(
        bot=bot,
        name="Asks for the email",
        steps=[{"user": "hi", "expect": {"node": "ask_1", "contains": ["email"], "handoff": False}}],
    )
    call_command("test_bot", "shop")
    assert "PASS  Asks for the email" in capsys.readouterr().out

    flow = Flow.objects.get(bot=bot)
    graph = json.loads(json.dumps(EMAIL_FLOW))
    graph["nodes"][1]["prompt"] = "How can we reach you?"
    save_flow(flow=flow, revision=flow.revision, graph=graph)

    with pytest.raises(CommandError, match="0 passed, 1 failed"):
        call_command("test_bot", "shop")
    out = capsys.readouterr().out
    assert "FAIL  Asks for the email" in out
    assert "should contain 'email'" in out


def test_test_bot_names_an_unknown_bot():
    with pytest.raises(CommandError, match="No bot with the slug “nope”"):
        call_command("test_bot", "nope")
