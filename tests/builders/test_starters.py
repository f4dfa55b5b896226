"""Every template a builder can start from: made from the admin's “New bot from template” page,
valid, publishable, and answering a conversation as the template promises."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.html import escape

from bots.models import Bot, Membership, Workspace
from bots.schema import BotSnapshot
from bots.selectors import draft_problems
from bots.services import publish_bot
from bots.starters import STARTERS
from tests.bots.conftest import make_user
from tests.dialogue.conftest import Talk, first

pytestmark = pytest.mark.django_db(transaction=True)

# The template, what the visitor says, and the bot's answers or the handoff's queue.
CONVERSATIONS = {
    "faq_handoff": (["can I talk to a real person please"], "support"),
    "order_status": (["where is my order", "12x"], "An order number is only digits"),
    "appointment_booking": (
        ["I'd like to book an appointment", "Consultation", "2031-05-14", "Ana", "ana@example.com", "Yes, book it"],
        "bookings",
    ),
    "phone_receptionist": (["I'd like a quote, put me through to sales"], "sales"),
}
PATH = "/admin/bots/bot/from-template/"


@pytest.fixture
def builder_client():
    workspace = Workspace.objects.create(name="Acme", slug="acme-starters")
    client = Client()
    client.force_login(make_user(workspace, Membership.Role.BUILDER, "starter-bea"))
    return client, workspace


def test_the_page_offers_every_template(builder_client):
    client, _ = builder_client
    page = client.get(PATH).content.decode()
    for starter in STARTERS:
        assert escape(starter.title) in page and escape(starter.description) in page


@pytest.mark.parametrize("key", [s.key for s in STARTERS])
def test_each_template_makes_a_bot_that_publishes_and_talks(builder_client, settings, key):
    settings.OPENAI_API_KEY = ""  # no LLM: extractive answers and summaries
    client, workspace = builder_client
    response = client.post(PATH, {"template": key, "name": "My new bot", "workspace": workspace.pk})
    bot = Bot.objects.get(workspace=workspace, name="My new bot")
    assert response.status_code == 302 and response["Location"].endswith(f"/bots/bot/{bot.pk}/change/")
    assert draft_problems(bot) == []
    version, created = publish_bot(bot=bot, user=None)
    assert created
    messages, expected = CONVERSATIONS[key]
    mode = "voice" if key == "phone_receptionist" else "chat"
    talk = Talk(bot, BotSnapshot.model_validate(version.snapshot), mode=mode)
    said = []
    for text in messages:
        events = talk.send(text)
        said += [e.text for e in events if e.type == "message"]
    handoff = first(events, "handoff") if any(e.type == "handoff" for e in events) else None
    if handoff is not None:
        assert handoff.queue == expected
        if mode == "voice":
            assert handoff.transfer_to == "+14155550100"
    else:
        assert any(expected in text for text in said), said


def test_a_second_bot_from_the_same_template_gets_its_own_short_name(builder_client):
    client, workspace = builder_client
    for _ in range(2):
        client.post(PATH, {"template": "faq_handoff", "name": "Helper", "workspace": workspace.pk})
    assert sorted(Bot.objects.filter(workspace=workspace).values_list("slug", flat=True)) == ["helper", "helper-2"]


def test_missing_choices_are_explained_and_nothing_is_made(builder_client):
    client, workspace = builder_client
    page = client.post(PATH, {"template": "nonsense", "name": "", "workspace": workspace.pk}).content.decode()
    assert "Choose a template." in page and "Give your bot a name." in page
    assert not Bot.objects.filter(workspace=workspace).exists()
