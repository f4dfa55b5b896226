"""CSAT on the widget's socket: the person rates the conversation once it has started; a bad rating
gets an error frame and stores nothing."""

from __future__ import annotations

import pytest

from analytics.models import Rating
from tests.chat.conftest import open_chat
from tests.operations.conftest import make_bot

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_widget_rates_the_conversation_and_bad_ratings_are_refused(asgi_server, fake_openai):
    from asgiref.sync import sync_to_async

    bot = await sync_to_async(make_bot)()
    async with open_chat(asgi_server, bot.public_key) as chat:
        await chat.send(type="rating", score=5)
        assert (await chat.recv())["code"] == "not_started"
        await chat.send(type="start")
        ready = (await chat.until("done"))[0]
        for bad, code in (({"score": 9}, "bad_frame"), ({"thumbs": "sideways"}, "bad_frame"), ({}, "bad_rating")):
            await chat.send(type="rating", **bad)
            frame = await chat.recv()
            assert (frame["type"], frame["code"]) == ("error", code) and frame["message"]
        assert not await Rating.objects.filter(conversation_id=ready["conversation_id"]).aexists()
        await chat.send(type="rating", thumbs="down")
        assert await chat.recv() == {"type": "rated", "score": 1}
        await chat.send(type="rating", score=4)  # changed their mind
        assert await chat.recv() == {"type": "rated", "score": 4}
    rating = await Rating.objects.aget(conversation_id=ready["conversation_id"])
    assert (rating.score, rating.source, rating.satisfied) == (4, "stars", True)
