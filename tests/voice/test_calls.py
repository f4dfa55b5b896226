"""Phone calls end to end: the real ASGI server, the real vendor SDKs, fakes at the vendor edge."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from conversations.models import Message
from tests.fakes.openai_server import Reply
from voice.models import Call, CallTurn

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def messages(call_sid: str) -> list[tuple[str, str, bool]]:
    call = Call.objects.get(call_sid=call_sid)
    return [(m.role, m.text, m.interrupted) for m in Message.objects.filter(conversation_id=call.conversation_id)]


@sync_to_async
def call_row(call_sid: str) -> Call:
    return Call.objects.get(call_sid=call_sid)


async def test_greeted_call_asks_and_hears_the_answer(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()  # the greeting played to the end
    assert elevenlabs.texts() == ["Thanks for calling Acme."]
    assert elevenlabs.requests[0]["output_format"] == "ulaw_8000"
    assert deepgram.connections[0]["query"]["encoding"] == "mulaw"

    openai.script(Reply(text="We are open from nine to five. Anything else I can help with?"))
    deepgram.say("What are your opening hours?")
    await call.say("what_are_your_opening_hours", trailing_silence=0.4)
    await call.wait_for(lambda: len(call.marks_acked) >= 3)
    assert elevenlabs.texts()[1:] == ["We are open from nine to five.", "Anything else I can help with?"]
    assert len(call.audio) > 0

    await call.hang_up()
    rows = await messages(call.call_sid)
    assert ("user", "What are your opening hours?", False) in rows
    assert ("bot", "We are open from nine to five. Anything else I can help with?", False) in rows
    turn = await sync_to_async(CallTurn.objects.get)(call__call_sid=call.call_sid, input_kind="speech")
    assert turn.first_audio_ms > turn.stt_ms > 0 and turn.platform_ms is not None

    # A second call hears the greeting from the cache: it is synthesised once per bot version.
    second = await place_call()
    await second.wait_quiet()
    assert elevenlabs.texts().count("Thanks for calling Acme.") == 1
