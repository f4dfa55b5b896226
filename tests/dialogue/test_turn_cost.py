"""What one turn costs the database: one read and one write of its own, plus the knowledge
search's own few, the same on the tenth turn as on the first."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import LlmCall, Message, TurnTrace
from dialogue.events import Inbound
from dialogue.state import redis_client
from dialogue.turn import prefetch_context, run_turn
from tests.dialogue.conftest import Talk, demo_snapshot, first


@pytest.fixture
def talk(acme_bot, tool_server, help_center, fake_openai):
    talk = Talk(acme_bot, demo_snapshot(tool_server, help_center))
    talk.start()
    return talk


def _own(queries) -> list[str]:
    """The turn's own queries: everything but the knowledge search."""
    return [q["sql"] for q in queries.captured_queries if "knowledge_" not in q["sql"]]


def test_a_knowledge_answer_reads_once_and_writes_once_on_the_first_and_the_tenth_turn(talk):
    totals = []
    for _ in range(10):
        with CaptureQueriesContext(connection) as queries:
            assert "[1]" in first(talk.send("how many days do I have to return an item?"), "message").text
        own = _own(queries)
        assert len(own) == 2, own
        assert own[0].startswith("SELECT") and own[1].startswith("WITH")
        # The search (this help center has no embeddings, so no nearest-neighbour query): full
        # text, the knowledge bases' embedding models, the best passages with their documents.
        assert len(queries) - len(own) == 3, [q["sql"][:60] for q in queries.captured_queries]
        totals.append(len(queries))
    assert totals == [totals[0]] * 10, totals
    conversation = talk.refresh()
    assert conversation.turn_count == 10
    assert Message.objects.filter(conversation=conversation, role="user").count() == 10
    assert TurnTrace.objects.filter(conversation=conversation).count() == 11  # and the greeting's
    assert LlmCall.objects.filter(conversation=conversation, outcome="ok").count() == 10


def test_the_bot_messages_of_a_turn_are_stored_after_the_users_in_order(talk):
    talk.say("where is my order?")
    roles = list(Message.objects.filter(conversation=talk.conversation).order_by("id").values_list("role", "text"))
    assert roles[-2][0] == "user" and roles[-2][1] == "where is my order?"
    assert roles[-1][0] == "bot" and roles[-1][1].startswith("Sure! What's your order number?")


def test_a_turn_whose_context_was_read_ahead_only_writes(talk):
    """A call reads the coming turn's context while the caller is still speaking: the turn
    then answers without a read of its own before the knowledge search and its one write."""
    talk.say("hello")  # the session exists: its later turns read no contact memory

    async def answer_with_context_read_ahead():
        context = prefetch_context(talk.conversation.pk)
        await context  # the caller is still speaking
        queries = CaptureQueriesContext(connection)  # entered on the thread the turn's ORM work runs on
        await sync_to_async(queries.__enter__)()
        events = [
            e
            async for e in run_turn(
                talk.conversation,
                talk.snapshot,
                Inbound(kind="text", text="how many days do I have to return an item?"),
                context=context,
            )
        ]
        await sync_to_async(queries.__exit__)(None, None, None)
        await redis_client().aclose()
        return events, queries

    events, queries = async_to_sync(answer_with_context_read_ahead)()
    assert "[1]" in first(events, "message").text
    own = _own(queries)
    assert len(own) == 1 and own[0].startswith("WITH"), own
    assert talk.refresh().turn_count == 2
