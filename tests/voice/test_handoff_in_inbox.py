"""A call handed to a person shows up in the agents' inbox while the transfer rings: the chat is
marked as a phone call and carries the call's transcript and the bot's summary, so the agent can
read while they talk."""

from __future__ import annotations

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connection

from tests.fakes.openai_server import Reply
from tests.inbox.conftest import Agent, make_agent

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def agent_of(workspace):
    try:
        return make_agent(workspace, "ana", first_name="Ana")
    finally:
        connection.close()


async def test_a_call_handed_to_a_person_appears_in_the_inbox_with_its_transcript(
    fakes, flow_bot, place_call, voice_server
):
    openai, deepgram, _, _ = fakes
    ana = await agent_of(flow_bot.workspace)
    async with Agent(voice_server, ana) as agent:
        await agent.connect()
        call = await place_call()
        await call.wait_quiet()
        openai.script(Reply(text="Caller wants a person about their account."))  # the summary
        deepgram.say("I want an agent.")
        try:
            await call.say("another_question", trailing_silence=0.4)
        except websockets.ConnectionClosed:
            pass  # the transfer ends the media stream, as Twilio does

        waiting = await agent.until(lambda f: f["type"] == "handoff" and f["status"] == "open")
        assert waiting["channel"] == "voice"
        packet = (await agent.get(f"handoffs/{waiting['id']}/")).json()
    said = [m["text"] for m in packet["messages"] if m["role"] == "user"]
    assert said == ["I want an agent."]  # what the caller said, as transcribed
    assert packet["summary"] == "Caller wants a person about their account."
