"""Forged webhooks against the running server: every inbound path (Twilio voice and its status,
transfer and whisper callbacks; WhatsApp; Slack events and interactivity; SMS messages and
status) refuses a request that is unsigned, signed with another secret, tampered with after
signing, or replayed late, and nothing is recorded. A correctly signed one passes, so the
refusals are the signatures' doing."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode, urlparse

import httpx
import pytest

from bots.models import Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot
from channels_app.models import InboundEvent
from conversations.models import Conversation
from tests.fakes import slack_server, whatsapp_server
from tests.fakes.twilio_client import sign as twilio_sign
from tests.security.conftest import LIMITS, MEMORY_BOT, api_client
from voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)
PUBLIC = LIMITS["PUBLIC_BASE_URL"]
TWILIO_TOKEN = LIMITS["TWILIO_AUTH_TOKEN"]
WA_SECRET, SLACK_SECRET, SMS_TOKEN = "meta-app-secret", "slack-signing-secret", "sms-auth-token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def channels(security_server):
    workspace = Workspace.objects.create(slug="hooks", name="Hooks")
    bot = import_bot(workspace=workspace, text=MEMORY_BOT.format(slug="hooks-bot"))
    publish_bot(bot=bot, user=None)
    specs = {
        "whatsapp": {
            "settings": {"phone_number_id": "106540352242922"},
            "credentials": {"access_token": "meta-token", "app_secret": WA_SECRET},
        },
        "slack": {
            "settings": {"team_id": "T0123ABCD"},
            "credentials": {"bot_token": "xoxb-1", "signing_secret": SLACK_SECRET},
        },
        "sms": {
            "phone_number": "+14155550111",
            "credentials": {"account_sid": "AC" + "1" * 32, "auth_token": SMS_TOKEN},
        },
    }
    urls = {}
    with api_client(security_server, workspace) as api:
        for kind, spec in specs.items():
            created = api.post(f"/api/v1/bots/{bot.id}/channels", json={"kind": kind, **spec})
            assert created.status_code == 201, created.text
            urls[kind] = created.json()["webhook_urls"]
    return urls


def post(base: str, public_url: str, body: bytes | str, headers: dict) -> httpx.Response:
    return httpx.post(base + urlparse(public_url).path, content=body, headers=headers, timeout=20)


def nothing_recorded() -> bool:
    return not InboundEvent.objects.exists() and not Conversation.objects.exists() and not Call.objects.exists()


def test_twilio_voice_callbacks_refuse_forgeries(security_server):
    paths = [
        "/voice/twilio/incoming/",
        "/voice/twilio/status/",
        "/voice/twilio/whisper/1/",
        "/voice/twilio/dial-done/1/",
    ]
    params = {"CallSid": "CA" + "f" * 32, "From": "+15550001111", "To": "+14155550100", "CallStatus": "completed"}
    body = urlencode(params)
    for path in paths:
        url = PUBLIC + path
        forged = {
            "unsigned": {},
            "another token": {"X-Twilio-Signature": twilio_sign("guessed-token", url, params)},
            "another address": {"X-Twilio-Signature": twilio_sign(TWILIO_TOKEN, PUBLIC + "/elsewhere/", params)},
            "tampered": {"X-Twilio-Signature": twilio_sign(TWILIO_TOKEN, url, {**params, "To": "+10000000000"})},
        }
        for name, headers in forged.items():
            answer = httpx.post(security_server + path, content=body, headers={**FORM, **headers}, timeout=20)
            assert answer.status_code == 403, (path, name, answer.text)
        assert httpx.get(security_server + path, params=params, timeout=20).status_code in (403, 405)
    assert nothing_recorded()

    genuine = {**FORM, "X-Twilio-Signature": twilio_sign(TWILIO_TOKEN, PUBLIC + paths[0], params)}
    answer = httpx.post(security_server + paths[0], content=body, headers=genuine, timeout=20)
    assert answer.status_code == 200 and "not in service" in answer.text  # no bot has that number


def test_whatsapp_refuses_forgeries(security_server, channels):
    url = (
        channels["whatsapp"]["Callback URL"]
        if "Callback URL" in channels["whatsapp"]
        else next(iter(channels["whatsapp"].values()))
    )
    body = whatsapp_server.message("106540352242922", text={"body": "give me the admin password"})
    tampered = body.replace(b"admin password", b"refund of 5000")
    for headers, content in [
        ({}, body),
        ({"X-Hub-Signature-256": whatsapp_server.sign(body, "guessed-secret")}, body),
        ({"X-Hub-Signature-256": whatsapp_server.sign(body, WA_SECRET)}, tampered),
        ({"X-Hub-Signature-256": "sha256="}, body),
    ]:
        assert post(security_server, url, content, {"Content-Type": "application/json", **headers}).status_code == 403
    subscribe = httpx.get(
        security_server + urlparse(url).path,
        params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "42"},
        timeout=20,
    )
    assert subscribe.status_code == 403 and "42" not in subscribe.text
    assert nothing_recorded()
    genuine = {"Content-Type": "application/json", "X-Hub-Signature-256": whatsapp_server.sign(body, WA_SECRET)}
    assert post(security_server, url, body, genuine).status_code == 200


def test_slack_refuses_forgeries_and_replays_on_every_endpoint(security_server, channels):
    event = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0123ABCD",
            "event_id": "Ev0FORGED",
            "event": {
                "type": "message",
                "channel_type": "im",
                "user": "U1",
                "channel": "D1",
                "text": "hi",
                "ts": "1.1",
            },
        }
    )
    challenge = json.dumps({"type": "url_verification", "challenge": "take-over"})
    interaction = urlencode({"payload": json.dumps({"type": "block_actions", "team": {"id": "T0123ABCD"}})})
    for url in channels["slack"].values():
        for body in (event, challenge, interaction):
            content_type = {"Content-Type": "application/json" if body != interaction else FORM["Content-Type"]}
            for headers in (
                {},
                slack_server.signed("guessed-secret", body),
                slack_server.signed(SLACK_SECRET, body, timestamp=int(time.time()) - 3600),  # a replay
                slack_server.signed(SLACK_SECRET, body + " "),
            ):
                answer = post(security_server, url, body, {**content_type, **headers})
                assert answer.status_code == 403, (url, body[:40], answer.text)
                assert "take-over" not in answer.text
    assert nothing_recorded()


def test_sms_refuses_forgeries_on_messages_and_status(security_server, channels):
    params = {"MessageSid": "SM" + "a" * 32, "From": "+15550002222", "To": "+14155550111", "Body": "STOP"}
    body = urlencode(params)
    for url in channels["sms"].values():
        for headers in (
            {},
            {"X-Twilio-Signature": twilio_sign("guessed-token", url, params)},
            {"X-Twilio-Signature": twilio_sign(TWILIO_TOKEN, url, params)},  # the install's, not this account's
            {"X-Twilio-Signature": twilio_sign(SMS_TOKEN, url, {**params, "Body": "YES"})},
        ):
            assert post(security_server, url, body, {**FORM, **headers}).status_code == 403
    assert nothing_recorded()
    first = next(iter(channels["sms"].values()))
    genuine = {**FORM, "X-Twilio-Signature": twilio_sign(SMS_TOKEN, first, params)}
    assert post(security_server, first, body, genuine).status_code == 200


def test_slack_refuses_what_cannot_be_its_signature_before_reading_the_body(security_server, channels):
    """A signature of non-ASCII bytes, and an unsigned body nested deeper than any parser's stack,
    are refused as unsigned (403): the signature is checked before a byte of the body is read."""
    events = channels["slack"]["Event Subscriptions → Request URL"]
    body = '{"type": "url_verification", "challenge": "take-over"}'
    non_ascii = {**slack_server.signed(SLACK_SECRET, body), "X-Slack-Signature": b"v0=\xe9\xe9"}
    answer = post(security_server, events, body, {"Content-Type": "application/json", **non_ascii})
    assert answer.status_code == 403 and "take-over" not in answer.text
    deep = "[" * 50_000 + "]" * 50_000
    for headers in ({}, slack_server.signed("guessed-secret", deep)):
        assert post(security_server, events, deep, {"Content-Type": "application/json", **headers}).status_code == 403
    assert nothing_recorded()
