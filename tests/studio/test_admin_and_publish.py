"""Test cases in the admin, the publish warning, and the console on a published version."""

from __future__ import annotations

import json

import pytest
from django.template.loader import render_to_string
from django.test import Client

from bots.models import Flow
from bots.services import publish_bot, save_flow
from studio.models import BotTestCase
from studio.services import run_test_cases
from tests.studio.factories import EMAIL_FLOW, make_bot, make_builder
from tests.studio.test_console_and_cases import say
from tests.studio.test_studio_pages import builder_client

pytestmark = pytest.mark.django_db

ASKS_EMAIL = [{"user": "hi", "expect": {"node": "ask_1", "contains": ["email"]}}]


def change_question(bot, prompt: str):
    flow = Flow.objects.get(bot=bot)
    graph = json.loads(json.dumps(EMAIL_FLOW))
    graph["nodes"][1]["prompt"] = prompt
    save_flow(flow=flow, revision=flow.revision, graph=graph)


def test_admin_lists_only_the_workspaces_test_cases_and_runs_them():
    bot = make_bot(graph=EMAIL_FLOW)
    other = make_bot(slug="other", graph=EMAIL_FLOW)
    BotTestCase.objects.create(bot=bot, name="Asks for the email", steps=ASKS_EMAIL)
    BotTestCase.objects.create(bot=other, name="Someone else's case", steps=ASKS_EMAIL)
    client = Client()
    client.force_login(make_builder(bot.workspace))

    page = client.get("/admin/studio/bottestcase/").content.decode()
    assert "Asks for the email" in page and "Someone else" not in page

    change_question(bot, "How can we reach you?")
    ids = list(BotTestCase.objects.values_list("pk", flat=True))  # a guessed id of another workspace is ignored
    res = client.post("/admin/studio/bottestcase/", {"action": "run_cases", "_selected_action": ids}, follow=True)
    assert "Shop: 0 passed, 1 failed." in res.content.decode()
    assert BotTestCase.objects.get(bot=bot).last_passed is False
    assert BotTestCase.objects.get(bot=other).last_passed is None


def test_the_publish_warning_names_the_failing_cases():
    bot = make_bot(graph=EMAIL_FLOW)
    BotTestCase.objects.create(bot=bot, name="Asks for the email", steps=ASKS_EMAIL)
    assert "All 1 test cases pass" in render_to_string(
        "studio/_test_report.html", {"report": run_test_cases(bot=bot).as_dict()}
    )
    change_question(bot, "How can we reach you?")
    html = render_to_string("studio/_test_report.html", {"report": run_test_cases(bot=bot).as_dict()})
    assert "1 of 1 test cases fail on this draft" in html
    assert "Asks for the email: Step 1" in html


def test_console_and_test_cases_run_a_published_version_unchanged_by_later_edits():
    bot = make_bot(graph=EMAIL_FLOW)
    version, _ = publish_bot(bot=bot, user=None)
    change_question(bot, "How can we reach you?")
    client = builder_client(bot)

    assert say(client, bot, "hi", version=version.id)["replies"][-1]["text"] == "What is your email?"
    assert say(client, bot, "hi")["replies"][-1]["text"] == "How can we reach you?"

    BotTestCase.objects.create(bot=bot, name="Asks for the email", steps=ASKS_EMAIL)
    assert run_test_cases(bot=bot, version=version.id).failed == 0
    assert run_test_cases(bot=bot).failed == 1


def test_the_admin_publish_page_warns_before_publishing_a_draft_that_fails_its_cases():
    bot = make_bot(graph=EMAIL_FLOW)
    BotTestCase.objects.create(bot=bot, name="Asks for the email", steps=ASKS_EMAIL)
    client = Client()
    client.force_login(make_builder(bot.workspace))
    url = f"/admin/bots/bot/{bot.pk}/publish/"

    page = client.post(url, {"run_tests": "1"}).content.decode()
    assert "All 1 test cases pass on this draft." in page and "Publish now" in page

    change_question(bot, "How can we reach you?")
    page = client.post(url, {"run_tests": "1"}).content.decode()
    assert "1 of 1 test cases fail on this draft." in page
    assert "Publish anyway" in page and "Publish now" not in page
