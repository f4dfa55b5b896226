"""Phone calls end to end: the real ASGI server, the real vendor SDKs, fakes at the vendor edge."""

from __future__ import annotations

import json

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
    assert deepgram.connections[0]["query"]["interim_results"] == "true"
    # Audio is not deflated: it costs CPU on every frame and shrinks mu-law little.
    assert "sec-websocket-extensions" not in deepgram.connections[0]["headers"]

    deepgram.say("What are your opening hours?")
    await call.say("what_are_your_opening_hours", trailing_silence=0.4)
    await call.wait_for(lambda: len(call.marks_acked) >= 3)
    # The fake LLM answers from the retrieved passage it was given (the knowledge base's text).
    prompt = json.dumps(openai.chat_requests()[-1]["body"]["messages"])
    assert "Monday to Friday from nine to five" in prompt
    spoken = elevenlabs.texts()[1:]
    assert spoken[0] == "You asked: What are your opening hours?"
    assert "Monday to Friday from nine to five" in spoken[1] and "[1]" not in spoken[1]
    assert len(call.audio) > 0

    await call.hang_up()
    rows = await messages(call.call_sid)
    assert ("user", "What are your opening hours?", False) in rows
    assert any(role == "bot" and "Monday to Friday" in text for role, text, _ in rows)
    turn = await sync_to_async(CallTurn.objects.get)(call__call_sid=call.call_sid, input_kind="speech")
    assert turn.first_audio_ms > turn.stt_ms > 0 and turn.llm_first_token_ms > 0
    assert turn.platform_ms == pytest.approx(
        turn.first_audio_ms - turn.stt_ms - turn.llm_first_token_ms - turn.tts_first_byte_ms, abs=0.1
    )

    # A second call hears the greeting from the cache: it is synthesised once per bot version.
    second = await place_call()
    await second.wait_quiet()
    assert elevenlabs.texts().count("Thanks for calling Acme.") == 1


def updates_of(twilio, call_sid: str) -> list[dict]:
    return [u["form"] for u in twilio.updates if u["call_sid"] == call_sid]


async def test_slot_filling_by_voice_and_keypad_then_goodbye_and_hang_up(fakes, flow_bot, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()
    assert elevenlabs.texts() == ["Welcome to Acme.", "What is your name?"]

    deepgram.say("Alice.")  # smart_format punctuates; the slot keeps the name alone
    await call.say("my_name_is_alice", trailing_silence=0.4)
    await call.wait_for(lambda: "Please type your account number, then the hash key." in elevenlabs.texts())
    await call.wait_quiet()
    await call.press("4711#")  # DTMF is input too: an `ask` of type digits ending with #
    await call.closed.wait()
    # Both sentences were voiced; each is synthesised as soon as it is written, so their requests
    # may reach the voice service in either order. The caller hears them in the reply's order.
    last = ["Thanks Alice, account 4711 is in good standing.", "Goodbye."]
    assert sorted(elevenlabs.texts()[-2:]) == sorted(last)
    # The goodbye was heard before the hang-up, which went through Twilio's REST API.
    assert call.marks_acked[-1] == call.marks_sent()[-1]
    assert updates_of(twilio, call.call_sid) == [{"Status": "completed"}]
    row = await call_row(call.call_sid)
    assert row.outcome == Call.Outcome.COMPLETED
    rows = await messages(call.call_sid)
    # A name said alone is the caller's name, redacted like the bot's words that repeat it.
    assert ("user", "[NAME].", False) in rows and ("user", "4711", False) in rows
    stored = [text for role, text, _ in rows if role == "bot"][-2:]  # in the order spoken, name and account redacted
    assert stored == ["Thanks [NAME], account [ACCOUNT] is in good standing.", "Goodbye."]


async def test_transfer_dials_the_number_with_a_whisper_of_the_summary(fakes, flow_bot, place_call, voice_server):
    import xml.etree.ElementTree as ET

    import httpx

    from tests.fakes.twilio_client import sign
    from tests.voice.conftest import AUTH_TOKEN, PUBLIC

    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()
    openai.script(Reply(text="Caller Alice wants a person about her account."))  # the summary
    deepgram.say("I want an agent.")
    await call.say("another_question", trailing_silence=0.4)
    await call.closed.wait()
    assert "Connecting you to a colleague." in elevenlabs.texts()
    (update,) = updates_of(twilio, call.call_sid)
    dial = ET.fromstring(update["Twiml"]).find("Dial")  # noqa: S314
    number = dial.find("Number")
    assert number.text == "+14155550199" and dial.get("answerOnBridge") == "true"
    row = await call_row(call.call_sid)
    assert row.outcome == Call.Outcome.TRANSFERRED and row.transferred_to == "+14155550199"

    # Twilio fetches the whisper on the person's leg once they answer.
    url = number.get("url")
    assert url == f"{PUBLIC}/voice/twilio/whisper/{row.id}/"
    form = {"CallSid": "CA" + "b" * 32, "ParentCallSid": call.call_sid}
    async with httpx.AsyncClient() as http:
        r = await http.post(
            voice_server + url[len(PUBLIC) :], data=form, headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, form)}
        )
    assert r.status_code == 200
    assert ET.fromstring(r.text).find("Say").text == "Caller Alice wants a person about her account."  # noqa: S314
