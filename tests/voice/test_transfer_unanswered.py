"""A transfer nobody answers: Twilio posts the `<Dial action>` with no-answer; the caller hears
the fallback and the handoff waits in the inbox as a callback to the caller's number."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connection

from conversations.models import Conversation, Handoff
from inbox.models import Ticket
from tests.fakes.openai_server import Reply
from tests.fakes.twilio_client import sign
from tests.voice.conftest import AUTH_TOKEN, PUBLIC
from voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

CALLER = "+15550001234"  # TwilioCall.place's default From


@sync_to_async
def state(call_sid: str):
    try:
        call = Call.objects.get(call_sid=call_sid)
        handoff = Handoff.objects.get(conversation_id=call.conversation_id)
        ticket = Ticket.objects.filter(handoff=handoff).first()
        conversation = Conversation.objects.get(pk=call.conversation_id)
        return call, handoff, ticket, conversation
    finally:
        connection.close()


async def post_signed(base: str, url: str, form: dict) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            base + url[len(PUBLIC) :], data=form, headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, form)}
        )


async def transferred(fakes, place_call):
    openai, deepgram, elevenlabs, twilio = fakes
    call = await place_call()
    await call.wait_quiet()
    openai.script(Reply(text="Caller wants a person about their account."))  # the summary
    deepgram.say("I want an agent.")
    try:
        await call.say("another_question", trailing_silence=0.4)
    except websockets.ConnectionClosed:
        pass  # transferred while the caller's trailing silence was still going out: Twilio ends the stream
    await call.closed.wait()
    (update,) = [u["form"] for u in twilio.updates if u["call_sid"] == call.call_sid]
    return call, ET.fromstring(update["Twiml"]).find("Dial")  # noqa: S314 — our own server's TwiML


@pytest.mark.parametrize("status", ["no-answer", "busy"])
async def test_an_unanswered_transfer_plays_the_fallback_and_queues_a_callback(
    fakes, flow_bot, place_call, voice_server, status
):
    call, dial = await transferred(fakes, place_call)
    action = dial.get("action")
    row, *_ = await state(call.call_sid)
    assert action == f"{PUBLIC}/voice/twilio/dial-done/{row.id}/" and dial.get("method") == "POST"

    form = {"CallSid": call.call_sid, "From": CALLER, "To": "+14155550100", "DialCallStatus": status}
    r = await post_signed(voice_server, action, form)
    assert r.status_code == 200
    doc = ET.fromstring(r.text)  # noqa: S314
    assert doc.find("Say").text == "Nobody is free right now; we will call you back at this number. Goodbye."
    assert doc.find("Hangup") is not None

    _, handoff, ticket, conversation = await state(call.call_sid)
    assert handoff.status == Handoff.Status.CALLBACK
    assert ticket.kind == Ticket.Kind.PHONE and ticket.reveal() == CALLER and CALLER not in ticket.contact_masked
    assert conversation.status == Conversation.Status.ENDED

    # Twilio retrying the same callback queues nothing twice.
    assert (await post_signed(voice_server, action, form)).status_code == 200
    assert await sync_to_async(Ticket.objects.count)() == 1


async def test_an_answered_transfer_just_ends_and_a_forged_callback_is_refused(
    fakes, flow_bot, place_call, voice_server
):
    call, dial = await transferred(fakes, place_call)
    action = dial.get("action")
    form = {"CallSid": call.call_sid, "From": CALLER, "DialCallStatus": "completed", "DialCallDuration": "42"}
    forged = {**form, "DialCallStatus": "no-answer"}
    async with httpx.AsyncClient() as http:
        r = await http.post(voice_server + action[len(PUBLIC) :], data=forged, headers={"X-Twilio-Signature": "bad"})
    assert r.status_code == 403
    r = await post_signed(voice_server, action, form)
    assert ET.fromstring(r.text).find("Hangup") is not None  # noqa: S314
    _, handoff, ticket, _ = await state(call.call_sid)
    assert handoff.status == Handoff.Status.OPEN and ticket is None
