"""The reply starts during the caller's pause, and is spoken only once the pause ends their turn."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from conversations.models import LlmCall
from tests.fakes.openai_server import Reply
from tests.fakes.twilio_client import SILENCE, noise_burst, speech
from tests.voice.conftest import BOT_NUMBER, BOT_YAML, publish
from tests.voice.test_calls import messages
from voice.models import Call, CallTurn

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def unhurried_bot(transactional_db):
    """Waits a whole second of silence before it takes the caller's turn to be over."""
    text = BOT_YAML.format(sensitivity="medium", number=BOT_NUMBER)
    return publish(text.replace("voice:\n", "voice:\n  endpointing_ms: 1000\n"))


async def greeted_call(deepgram, place_call):
    """A call past its greeting, on a speech-to-text service slow to say a turn is over itself."""
    deepgram.final_delay = 3.0
    call = await place_call()
    await call.wait_quiet()
    return call


@sync_to_async
def llm_purposes(call_sid: str) -> list[str]:
    call = Call.objects.get(call_sid=call_sid)
    return list(
        LlmCall.objects.filter(conversation_id=call.conversation_id).order_by("id").values_list("purpose", flat=True)
    )


async def test_the_answer_is_spoken_when_the_bots_pause_has_passed_not_after_the_stt_endpointing(
    fakes, phone_bot, place_call
):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await greeted_call(deepgram, place_call)

    deepgram.say("What are your opening hours?")
    await call.say("what_are_your_opening_hours")
    stopped = call.last_voiced_sent_at
    await call.wait_for(lambda: any(e == "media" and t > stopped for t, e, _ in call.events))
    first_audio = next(t for t, e, _ in call.events if e == "media" and t > stopped)

    # The pipeline asked for the transcript at the pause; the bot's own 300 ms pause ended the
    # turn, so the caller heard the answer long before the service's endpointing would have.
    assert deepgram.finalize_requests and deepgram.finalize_requests[-1] > stopped
    assert not deepgram.turn_ends_sent or first_audio < deepgram.turn_ends_sent[-1]
    assert "You asked: What are your opening hours?" in elevenlabs.texts()
    await call.wait_quiet()
    await call.hang_up()
    rows = await messages(call.call_sid)
    assert [r for r in rows if r[0] == "user"] == [("user", "What are your opening hours?", False)]
    assert await llm_purposes(call.call_sid) == ["reply"]
    turn = await sync_to_async(CallTurn.objects.get)(call__call_sid=call.call_sid, input_kind="speech")
    assert turn.first_audio_ms > turn.stt_ms > 0


async def test_a_caller_who_goes_on_after_a_pause_gets_one_answer_to_all_they_said(fakes, unhurried_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await greeted_call(deepgram, place_call)
    requests_before = len(openai.chat_requests())

    # Two stretches of speech with a pause shorter than the bot's endpointing between them.
    openai.script(Reply(text="You want to know something?"), Reply(text="We are open from nine to five."))
    deepgram.say("I would like to know", "your opening hours.")
    await call.say("my_name_is_alice", trailing_silence=0.6)
    await call.say("what_are_your_opening_hours")
    await call.wait_for(lambda: "We are open from nine to five." in elevenlabs.texts())
    await call.wait_quiet()

    # The pause started a reply to the first half; the caller went on, so it was dropped unspoken.
    asked = [r["body"]["messages"][-1]["content"] for r in openai.chat_requests()[requests_before:]]
    assert asked == ["I would like to know", "I would like to know your opening hours."]
    assert "You want to know something?" not in elevenlabs.texts()
    assert not call.clears  # nothing had to be cut off: the dropped reply never played
    await call.hang_up()
    rows = await messages(call.call_sid)
    assert [r for r in rows if r[0] == "user"] == [("user", "I would like to know your opening hours.", False)]
    assert [text for role, text, _ in rows if role == "bot"] == [
        "Thanks for calling Acme.",
        "We are open from nine to five.",
    ]
    # The dropped reply's tokens were spent: its LLM call is kept, marked as such.
    assert await llm_purposes(call.call_sid) == ["speculative", "reply"]
    turns = await sync_to_async(list)(CallTurn.objects.filter(call__call_sid=call.call_sid, input_kind="speech"))
    assert len(turns) == 1 and not turns[0].interrupted


async def test_a_cough_during_the_pause_does_not_drop_the_reply(fakes, unhurried_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await greeted_call(deepgram, place_call)
    requests_before = len(openai.chat_requests())

    deepgram.say("What are your opening hours?", "")  # the cough has no words
    await call.say("what_are_your_opening_hours", trailing_silence=0.3)
    await call.send_audio(noise_burst(200))
    await call.wait_for(lambda: "You asked: What are your opening hours?" in elevenlabs.texts())
    await call.wait_quiet()

    assert len(openai.chat_requests()) == requests_before + 1  # one reply, prepared once
    await call.hang_up()
    assert await llm_purposes(call.call_sid) == ["reply"]


async def test_audio_held_up_by_the_network_is_not_taken_for_a_pause(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()

    deepgram.say("I wanted to ask, what are your opening hours?")
    # One sentence with a short breath in it; the network holds its frames up for half a second
    # right after the breath began, then delivers them together.
    words = speech("my_name_is_alice")[: 39 * len(SILENCE)]  # its voiced frames, not the pause after
    await call.send_audio(words + SILENCE * 2)
    await asyncio.sleep(0.5)
    await call.send_audio(SILENCE + speech("what_are_your_opening_hours"), late=0.5)
    await call.wait_for(lambda: "You asked: I wanted to ask, what are your opening hours?" in elevenlabs.texts())
    await call.wait_quiet()

    # Counted in audio, the breath was 60 ms: far from the 150 ms that asks for a transcript.
    assert not call.clears
    assert len(deepgram.finals_sent) == 1
    await call.hang_up()
    rows = await messages(call.call_sid)
    assert [r for r in rows if r[0] == "user"] == [("user", "I wanted to ask, what are your opening hours?", False)]
    assert await llm_purposes(call.call_sid) == ["reply"]
