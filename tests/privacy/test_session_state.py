"""Where raw values live: a flow's slots stay usable for the conversation, encrypted in Redis,
expiring with the session, and never in what is stored."""

from __future__ import annotations

import pytest
import redis

from conversations import services
from conversations.models import ContactMemory, Message, TurnTrace
from dialogue import state as session
from tests.dialogue.conftest import Talk, demo_snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_flow_uses_the_raw_email_while_redis_holds_it_encrypted(acme_bot, tool_server, settings, fake_openai):
    snapshot = demo_snapshot(tool_server)
    talk = Talk(acme_bot, snapshot)
    talk.say("please cancel my order")
    assert talk.say("bob.stone@example.com") == "Cancel the order for bob.stone@example.com?"

    client = redis.Redis.from_url(settings.REDIS_URL)
    raw = client.get(session.key(talk.conversation.pk))
    ttl = client.ttl(session.key(talk.conversation.pk))
    assert raw and b"bob.stone" not in raw and b"cancel" not in raw.lower()
    assert 0 < ttl <= snapshot.session_ttl_s
    assert session.SessionState.from_json(raw).slots["email"] == "bob.stone@example.com"

    stored = " ".join(Message.objects.filter(conversation=talk.conversation).values_list("text", flat=True))
    traces = str(list(TurnTrace.objects.filter(conversation=talk.conversation).values_list("debug", flat=True)))
    assert "bob.stone" not in stored and "bob.stone" not in traces
    assert "Cancel the order for [EMAIL]?" in stored


def test_memory_keeps_only_memorable_answers_as_said_and_never_a_card(acme_bot, tool_server, fake_openai):
    talk = Talk(acme_bot, demo_snapshot(tool_server), contact_id="+15550002")
    talk.say("where is my order?")
    talk.say("1001")  # order_id: marked `remember` in the demo bot
    talk.say("please cancel my order")
    talk.say("ann.lee@example.com")  # email: not marked
    assert ContactMemory.objects.get(contact_id="+15550002").facts == {"order_id": "1001"}

    services.remember_contact(
        workspace_id=acme_bot.workspace_id, contact_id="+15550002", facts={"order_id": "4111 1111 1111 1111"}
    )
    assert ContactMemory.objects.get(contact_id="+15550002").facts == {"order_id": "1001"}
