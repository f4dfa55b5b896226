"""Vendor faults and bad frames never drop the call: reconnect, retry, fall back, or apologise."""

from __future__ import annotations

import json

import pytest

from tests.fakes.openai_server import Reply
from tests.voice.test_calls import call_row
from voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

PRIMARY = "21m00Tcm4TlvDq8ikWAM"


async def ask(call, openai, deepgram, answer: str):
    openai.script(Reply(text=answer))
    deepgram.say("What are your opening hours?")
    await call.say("what_are_your_opening_hours", trailing_silence=0.4)


async def test_deepgram_drop_reconnects_and_the_call_goes_on(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()
    deepgram.drop()
    await call.wait_for(lambda: len(deepgram.connections) == 2)
    await ask(call, openai, deepgram, "We open at nine.")
    await call.wait_for(lambda: "We open at nine." in elevenlabs.texts())
    assert not twilio.updates  # nobody hung up or transferred


async def test_deepgram_gone_for_good_apologises_and_transfers(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()
    deepgram.reject = 10  # the reconnect is refused too
    deepgram.drop()
    await call.closed.wait()
    assert "Sorry, I'm having trouble hearing you." in elevenlabs.texts()
    (update,) = [u["form"] for u in twilio.updates]
    assert "+14155550199</Number>" in update["Twiml"]
    assert (await call_row(call.call_sid)).outcome == Call.Outcome.TRANSFERRED


async def test_elevenlabs_error_is_retried_once(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    elevenlabs.fail(500, times=1)
    call = await place_call()
    await call.wait_quiet()
    assert [(r["voice"], r["status"]) for r in elevenlabs.requests] == [(PRIMARY, 500), (PRIMARY, 200)]
    assert len(call.audio) > 0


async def test_elevenlabs_down_falls_back_to_the_second_voice(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    elevenlabs.down_voices.add(PRIMARY)
    call = await place_call()
    await call.wait_quiet()
    assert [(r["voice"], r["model"], r["status"]) for r in elevenlabs.requests] == [
        (PRIMARY, "eleven_flash_v2_5", 500),
        (PRIMARY, "eleven_flash_v2_5", 500),
        ("backup-voice", "eleven_turbo_v2_5", 200),
    ]
    assert call.marks_acked  # the caller heard the greeting


async def test_elevenlabs_too_slow_falls_back_instead_of_dead_air(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    elevenlabs.slow_voices[PRIMARY] = 5.0  # past the first-byte timeout
    call = await place_call()
    await call.wait_quiet(timeout=15)
    assert [r["voice"] for r in elevenlabs.requests] == [PRIMARY, PRIMARY, "backup-voice"]
    assert call.marks_acked


async def test_malformed_and_unknown_frames_are_skipped(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()
    for bad in (
        "not json",
        json.dumps({"event": "karaoke"}),
        json.dumps({"event": "media", "media": {"payload": "%%% not base64 %%%"}}),
        json.dumps({"event": "media"}),
        json.dumps({"event": "mark", "mark": {}}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "hello"}}),
        json.dumps([1, 2, 3]),
    ):
        await call.send_raw(bad)
    await ask(call, openai, deepgram, "We open at nine.")
    await call.wait_for(lambda: "We open at nine." in elevenlabs.texts())
    assert not call.closed.is_set()


async def test_a_stream_with_a_forged_or_replayed_token_is_refused(fakes, phone_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()
    forged = type(call)(
        ws_url=call.ws_url,
        parameters={**call.parameters, "token": call.parameters["token"][:-4] + "AAAA"},
        call_sid=call.call_sid,
        account_sid=call.account_sid,
    )
    await forged.connect()
    await forged.closed.wait()
    assert not forged.events  # not a word, not a byte
    # The genuine token, replayed for a second stream of the same call, is refused too.
    replay = type(call)(
        ws_url=call.ws_url, parameters=call.parameters, call_sid=call.call_sid, account_sid=call.account_sid
    )
    await replay.connect()
    await replay.closed.wait()
    assert not replay.events
    assert len(deepgram.connections) == 1  # only the genuine call's
