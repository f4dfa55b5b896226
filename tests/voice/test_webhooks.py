"""Twilio's voice webhook: signed requests only, the number picks the bot, TwiML opens the stream."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from tests.fakes.twilio_client import sign
from tests.voice.conftest import AUTH_TOKEN, BOT_NUMBER, PUBLIC
from voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/voice/twilio/incoming/"


def params(**extra) -> dict:
    return {
        "CallSid": "CA" + "a" * 32,
        "AccountSid": "AC" + "1" * 32,
        "From": "+15550001234",
        "To": BOT_NUMBER,
        "CallStatus": "ringing",
        **extra,
    }


def post(base: str, data: dict, signature: str) -> httpx.Response:
    return httpx.post(base + PATH, data=data, headers={"X-Twilio-Signature": signature}, timeout=10)


def test_signed_call_gets_a_stream_with_token_and_ids(voice_server, phone_bot):
    data = params()
    r = post(voice_server, data, sign(AUTH_TOKEN, PUBLIC + PATH, data))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    stream = ET.fromstring(r.text).find("./Connect/Stream")  # noqa: S314 — our own server's answer
    assert stream.get("url") == "wss://voice.example.test/ws/twilio/media/"
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    call = Call.objects.get(call_sid=data["CallSid"])
    assert parameters["call_id"] == str(call.id) and parameters["bot_id"] == str(phone_bot.id)
    assert parameters["token"]
    assert call.caller == "+1•••••1234"  # the caller's number is never stored in full
    assert call.conversation.channel == "voice" and "5550001234" not in call.conversation.contact_id

    # Twilio retries a slow webhook with the same CallSid: still one call.
    assert post(voice_server, data, sign(AUTH_TOKEN, PUBLIC + PATH, data)).status_code == 200
    assert Call.objects.filter(call_sid=data["CallSid"]).count() == 1


def test_forged_signature_is_refused_and_changes_nothing(voice_server, phone_bot):
    data = params()
    forged = sign("not-the-auth-token", PUBLIC + PATH, data)
    assert post(voice_server, data, forged).status_code == 403
    assert post(voice_server, data, "").status_code == 403
    # Signed for other parameters (a tampered To) does not pass either.
    assert post(voice_server, {**data, "To": "+19999999999"}, sign(AUTH_TOKEN, PUBLIC + PATH, data)).status_code == 403
    assert not Call.objects.exists()


def test_number_without_a_bot_hears_a_polite_message(voice_server, phone_bot):
    data = params(To="+19998887777")
    r = post(voice_server, data, sign(AUTH_TOKEN, PUBLIC + PATH, data))
    assert r.status_code == 200
    root = ET.fromstring(r.text)  # noqa: S314
    assert root.find("Say") is not None and root.find("Hangup") is not None
    assert not Call.objects.exists()


def test_status_callback_records_how_the_call_ended(voice_server, phone_bot):
    data = params()
    post(voice_server, data, sign(AUTH_TOKEN, PUBLIC + PATH, data))
    status = {"CallSid": data["CallSid"], "CallStatus": "completed", "CallDuration": "42"}
    path = "/voice/twilio/status/"
    r = httpx.post(
        voice_server + path, data=status, headers={"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + path, status)}
    )
    assert r.status_code == 204
    call = Call.objects.get(call_sid=data["CallSid"])
    assert (call.twilio_status, call.duration_s, call.outcome) == ("completed", 42, Call.Outcome.CALLER_HUNG_UP)
    forged = httpx.post(voice_server + path, data={**status, "CallDuration": "1"}, headers={"X-Twilio-Signature": "x"})
    assert forged.status_code == 403
    assert Call.objects.get(call_sid=data["CallSid"]).duration_s == 42


def report(base: str, **fields) -> httpx.Response:
    """A signed status callback for the call `params()` placed."""
    path = "/voice/twilio/status/"
    form = {"CallSid": params()["CallSid"], **fields}
    return httpx.post(base + path, data=form, headers={"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + path, form)})


def test_status_callbacks_only_move_a_call_forward(voice_server, phone_bot):
    data = params()
    post(voice_server, data, sign(AUTH_TOKEN, PUBLIC + PATH, data))
    for fields, status in [
        ({"CallStatus": "in-progress"}, "in-progress"),
        ({"StreamEvent": "stream-stopped"}, "stream-stopped"),
        ({"CallStatus": "in-progress"}, "stream-stopped"),  # late: Twilio does not order its callbacks
        ({"CallStatus": "completed", "CallDuration": "42"}, "completed"),
        ({"CallStatus": "in-progress"}, "completed"),
        ({"StreamEvent": "stream-stopped"}, "completed"),
        ({"CallStatus": "busy"}, "completed"),  # an ended call keeps its first ending
        ({"CallStatus": "completed", "CallDuration": "7"}, "completed"),  # a replay changes nothing
    ]:
        assert report(voice_server, **fields).status_code == 204
        assert Call.objects.get(call_sid=data["CallSid"]).twilio_status == status, fields
    call = Call.objects.get(call_sid=data["CallSid"])
    assert (call.duration_s, call.outcome) == (42, Call.Outcome.CALLER_HUNG_UP)


def test_a_malformed_status_callback_is_refused_and_changes_nothing(voice_server, phone_bot):
    data = params()
    post(voice_server, data, sign(AUTH_TOKEN, PUBLIC + PATH, data))
    before = Call.objects.values().get(call_sid=data["CallSid"])
    for fields in (
        {"CallStatus": "x" * 5000},  # longer than the column
        {"CallStatus": "answered"},  # no status Twilio sends
        {},
        {"CallStatus": "completed", "CallDuration": "9" * 5000},
        {"CallStatus": "completed", "CallDuration": "-1"},
    ):
        answer = report(voice_server, **fields)
        assert answer.status_code == 400 and answer.text.startswith("Malformed callback"), fields
    assert Call.objects.values().get(call_sid=data["CallSid"]) == before
