"""Barge-in, back-channel noises and silence on a live call."""

from __future__ import annotations

import pytest

from tests.fakes.deepgram_server import Utterance
from tests.fakes.openai_server import Reply
from tests.fakes.twilio_client import noise_burst
from tests.voice.test_calls import call_row, messages
from voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

LONG_REPLY = (
    "Sure. Our opening hours are from nine in the morning until five in the afternoon. "
    "On Saturdays we open at ten and close at two. On Sundays and public holidays we are closed."
)


async def ask_for_a_long_answer(call, openai, deepgram, elevenlabs):
    await call.wait_quiet()  # the greeting
    elevenlabs.ms_per_char = 40  # long sentences: ~3 s of audio each
    openai.script(Reply(text=LONG_REPLY))
    deepgram.say("What are your opening hours?")
    greeting_marks = len(call.marks_sent())
    await call.say("what_are_your_opening_hours", trailing_silence=0.4)
    # "Sure." has played; the long sentence after it is playing.
    await call.wait_for(lambda: len(call.marks_acked) > greeting_marks)
    return greeting_marks


async def test_barge_in_clears_the_audio_and_answers_the_new_question(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await ask_for_a_long_answer(call, openai, deepgram, elevenlabs)
    assert not call.clears

    openai.script(Reply(text="Of course, go ahead."))
    deepgram.say("Wait, I have another question.")
    await call.say("another_question")
    assert call.clears, "the bot kept talking over the caller"
    assert call.clears[0] < deepgram.finals_sent[-1][0]  # cleared while the caller was still talking
    assert call.marks_cleared  # the rest of the reply was never played
    await call.wait_for(lambda: "Of course, go ahead." in elevenlabs.texts())
    await call.wait_quiet()

    requests = openai.chat_requests()
    assert requests[-1]["body"]["messages"][-1]["content"] == "Wait, I have another question."
    rows = await messages(call.call_sid)
    # Only what the caller heard is recorded, marked interrupted.
    assert ("bot", "Sure.", True) in rows
    assert ("bot", "Of course, go ahead.", False) in rows


async def test_back_channel_words_do_not_stop_a_patient_bot(fakes, patient_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await ask_for_a_long_answer(call, openai, deepgram, elevenlabs)
    chats = len(openai.chat_requests())

    deepgram.say(Utterance("Uh-huh.", interim="Uh-huh"))
    await call.say("uh_huh", trailing_silence=0.4)
    await call.wait_quiet(timeout=20)
    assert not call.clears
    assert len(openai.chat_requests()) == chats  # not a new turn
    rows = await messages(call.call_sid)
    assert ("bot", LONG_REPLY, False) in rows


async def test_words_still_stop_a_patient_bot_before_the_caller_has_finished(fakes, patient_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await ask_for_a_long_answer(call, openai, deepgram, elevenlabs)

    openai.script(Reply(text="Of course, go ahead."))
    deepgram.say("Wait, I have another question.")  # its first word comes as an interim transcript
    await call.say("another_question")
    assert call.clears, "a tolerant bot kept talking over real words"
    assert call.clears[0] < deepgram.finals_sent[-1][0]  # on the interim words, not the final transcript
    await call.wait_for(lambda: "Of course, go ahead." in elevenlabs.texts())


async def test_a_click_does_not_stop_the_bot(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await ask_for_a_long_answer(call, openai, deepgram, elevenlabs)

    deepgram.say(Utterance(""))  # line noise: Deepgram hears no words
    await call.send_audio(noise_burst(40))
    await call.wait_quiet(timeout=20)
    assert not call.clears


async def test_a_sensitive_bot_stops_for_a_click(fakes, sensitive_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await ask_for_a_long_answer(call, openai, deepgram, elevenlabs)

    deepgram.say(Utterance(""))
    await call.send_audio(noise_burst(40))
    await call.wait_for(lambda: call.clears, timeout=5)


async def test_silence_gets_a_reprompt_then_goodbye_and_hang_up(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.closed.wait()  # the caller says nothing at all (the line carries silence)
    assert elevenlabs.texts() == [
        "Thanks for calling Acme.",
        "Are you still there?",
        "I haven't heard from you, so I'll end the call now. Goodbye.",
    ]
    assert [u["form"] for u in twilio.updates] == [{"Status": "completed"}]
    assert (await call_row(call.call_sid)).outcome == Call.Outcome.SILENCE
