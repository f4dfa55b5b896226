"""CSAT on WhatsApp: when the bot ends the conversation the person gets three quick replies; a tap
is stored as the conversation's rating and thanked, without running a turn."""

from __future__ import annotations

import pytest

from analytics.models import Rating
from bots.models import ChannelConnection, Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot
from conversations.models import Conversation
from tests.fakes import whatsapp_server as meta
from tests.messaging.conftest import wait_for
from tests.messaging.test_whatsapp import ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, _api, post, say

pytestmark = pytest.mark.django_db(transaction=True)

BOT = """
switchboard: 1
name: Bye Bot
slug: bye-bot
flows:
  - name: main
    is_entry: true
    graph:
      entry: bye
      nodes:
        - {id: bye, kind: message, text: "Glad I could help. Goodbye!", next: done}
        - {id: done, kind: end}
"""


@pytest.fixture
def connection(whatsapp_worker, messaging_queue, fake_openai, graph, deepgram) -> ChannelConnection:
    messaging_queue(whatsapp_worker)
    graph.reset()
    workspace = Workspace.objects.create(slug="bye", name="Bye")
    bot = import_bot(workspace=workspace, text=BOT)
    publish_bot(bot=bot, user=None)
    response = _api(workspace).post(
        f"/api/v1/bots/{bot.id}/channels",
        data={
            "kind": "whatsapp",
            "settings": {"phone_number_id": PHONE_NUMBER_ID},
            "credentials": {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return ChannelConnection.objects.get(pk=response.json()["id"])


def test_an_ended_whatsapp_conversation_asks_for_a_rating_and_records_the_tap(connection, graph):
    say(connection, "thanks, that's all")
    question = wait_for(lambda: [m for m in graph.sent if m["body"]["type"] == "interactive"], message="the question")
    interactive = question[0]["body"]["interactive"]
    assert interactive["body"]["text"] == "How did we do?"
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "csat:5", "title": "Great"},
        {"id": "csat:3", "title": "OK"},
        {"id": "csat:1", "title": "Not good"},
    ]
    conversation = Conversation.objects.get(channel="whatsapp")
    assert conversation.status == Conversation.Status.ENDED
    sent = len(graph.sent)

    tap = {"type": "button_reply", "button_reply": {"id": "csat:3", "title": "OK"}}
    post(connection, meta.message(PHONE_NUMBER_ID, "interactive", interactive=tap, context={"id": question[0]["id"]}))
    wait_for(lambda: len(graph.sent) == sent + 1, message="the thanks")
    assert graph.sent[-1]["body"]["text"]["body"] == "Thank you for your feedback."
    rating = Rating.objects.get()
    assert (rating.conversation_id, rating.score) == (conversation.pk, 3)
    assert Conversation.objects.count() == 1  # the tap started no new conversation
