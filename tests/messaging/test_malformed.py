"""Correctly signed bodies of a shape no platform sends (a list where a string belongs, arrays
nested fifty thousand deep, a count of 5,000 digits, an id longer than any platform's) are refused
with 400 and change nothing: no row, no first-seen mark, no raw message, no turn queued. A body
whose first message is fine and second is not is refused whole."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode, urlparse

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client

from channels_app.models import ChannelThread, InboundEvent
from conversations.models import Conversation, Message
from tests.fakes import slack_server, whatsapp_server
from tests.fakes.twilio_client import sign as twilio_sign

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_NUMBER_ID, WA_SECRET = "106540352242922", "meta-app-secret"
TEAM, SLACK_SECRET = "T0123ABCD", "slack-signing-secret"
NUMBER, SMS_TOKEN = "+14155550111", "sms-auth-token"
DEEP = "[" * 50_000 + "]" * 50_000


@pytest.fixture
def channels(bot_api) -> dict:
    """WhatsApp, Slack and SMS connections made through the API; turns go to a queue no worker reads."""
    bot, api = bot_api
    specs = {
        "whatsapp": {
            "settings": {"phone_number_id": PHONE_NUMBER_ID},
            "credentials": {"access_token": "meta-token", "app_secret": WA_SECRET},
        },
        "slack": {
            "settings": {"team_id": TEAM},
            "credentials": {"bot_token": "xoxb-1", "signing_secret": SLACK_SECRET},
        },
        "sms": {"phone_number": NUMBER, "credentials": {"account_sid": "AC" + "1" * 32, "auth_token": SMS_TOKEN}},
    }
    paths = {}
    for kind, spec in specs.items():
        created = api.post(
            f"/api/v1/bots/{bot.id}/channels", data={"kind": kind, **spec}, content_type="application/json"
        )
        assert created.status_code == 201, created.content
        paths[kind] = urlparse(next(iter(created.json()["webhook_urls"].values()))).path  # Slack's: events
    return paths


def effects() -> tuple:
    """Everything a webhook can leave behind: rows, Redis marks and raw messages, queued turns."""
    cache = redis.Redis.from_url(django_settings.REDIS_URL)  # also Celery's broker
    return (
        InboundEvent.objects.count(),
        ChannelThread.objects.count(),
        Conversation.objects.count(),
        Message.objects.count(),
        len(cache.keys("messaging:seen:*")) + len(cache.keys("messaging:inbound:*")),
        cache.llen(django_settings.MESSAGING_QUEUE),
    )


def whatsapp(path: str, body: bytes | str):
    body = body.encode() if isinstance(body, str) else body
    headers = {"X-Hub-Signature-256": whatsapp_server.sign(body, WA_SECRET)}
    return Client().post(path, data=body, content_type="application/json", headers=headers)


def slack(path: str, body: str, content_type: str = "application/json"):
    return Client().post(path, data=body, content_type=content_type, headers=slack_server.signed(SLACK_SECRET, body))


def sms(path: str, form: dict):
    signature = twilio_sign(SMS_TOKEN, "http://testserver" + path, form)
    return Client().post(
        path,
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def wa_value(**value) -> str:
    return json.dumps(
        {
            "entry": [
                {
                    "changes": [
                        {"field": "messages", "value": {"metadata": {"phone_number_id": PHONE_NUMBER_ID}, **value}}
                    ]
                }
            ]
        }
    )


def wa_message(**fields) -> dict:
    return {
        "from": "16505551234",
        "id": f"wamid.{time.time_ns()}",
        "timestamp": "1700000000",
        "type": "text",
        "text": {"body": "hi"},
        **fields,
    }


WHATSAPP = {
    "status that is a list": wa_value(statuses=[{"id": "wamid.X", "status": ["delivered"]}]),
    "error code that is a list": wa_value(
        statuses=[{"id": "wamid.X", "status": "failed", "errors": [{"code": ["x"]}]}]
    ),
    "interactive type that is a list": wa_value(
        messages=[wa_message(type="interactive", interactive={"type": ["button_reply"]})]
    ),
    "sender that is an object": wa_value(messages=[wa_message(**{"from": {"a": 1}})]),
    "timestamp of 5,000 digits": wa_value(messages=[wa_message(timestamp="9" * 5000)]),
    "id longer than any wamid": wa_value(messages=[wa_message(id="wamid." + "x" * 300)]),
    "arrays nested 50,000 deep": DEEP,
    "a good message, then a broken one": wa_value(messages=[wa_message(), wa_message(type=["text"])]),
}


@pytest.mark.parametrize("body", WHATSAPP.values(), ids=WHATSAPP.keys())
def test_whatsapp_refuses_a_signed_body_of_the_wrong_shape(channels, body):
    before = effects()
    answer = whatsapp(channels["whatsapp"], body)
    assert answer.status_code == 400 and answer.content.startswith(b"Malformed payload")
    assert effects() == before


def slack_event(**event) -> str:
    fields = {
        "type": "message",
        "channel_type": "im",
        "user": "U1",
        "channel": "D1",
        "text": "hi",
        "ts": f"{time.time():.6f}",
    }
    return json.dumps({"type": "event_callback", "team_id": TEAM, "event": {**fields, **event}})


def slack_click(**message) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": "U1"},
        "channel": {"id": "D1"},
        "actions": [{"type": "button", "action_ts": f"{time.time():.6f}", "value": "yes", "text": {"text": "Yes"}}],
        "message": {"ts": "1.1", "text": "Sure?", **message},
    }
    return urlencode({"payload": json.dumps(payload)})


SLACK = {
    "subtype that is a list": slack_event(subtype=["file_share"]),
    "thread_ts that is an object": slack_event(channel_type="channel", type="app_mention", thread_ts={"a": 1}),
    "text that is an object": slack_event(text={"a": 1}),
    "arrays nested 50,000 deep": DEEP,
    "url_verification nested 50,000 deep": '{"type": "url_verification", "challenge": ' + DEEP + "}",
}


@pytest.mark.parametrize("body", SLACK.values(), ids=SLACK.keys())
def test_slack_refuses_a_signed_event_of_the_wrong_shape(channels, body):
    before = effects()
    answer = slack(channels["slack"], body)
    assert answer.status_code == 400 and answer.content.startswith(b"Malformed payload")
    assert effects() == before


def test_slack_refuses_a_signed_click_of_the_wrong_shape(channels):
    before = effects()
    clicked = slack(channels["slack"] + "interactivity/", slack_click(blocks=5), "application/x-www-form-urlencoded")
    assert clicked.status_code == 400 and b"blocks" in clicked.content
    assert effects() == before


def test_sms_refuses_counts_and_codes_of_5000_digits(channels):
    before = effects()
    message = {
        "MessageSid": "SM" + "a" * 32,
        "From": "+15550002222",
        "To": NUMBER,
        "Body": "hi",
        "NumMedia": "9" * 5000,
    }
    assert sms(channels["sms"], message).status_code == 400
    report = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "failed", "ErrorCode": "9" * 5000}
    assert sms(channels["sms"] + "status/", report).status_code == 400
    assert effects() == before


def test_well_formed_bodies_still_pass(channels):
    """The refusals above are the shapes' doing: the same webhooks, well formed, are let through."""
    before = effects()
    assert whatsapp(channels["whatsapp"], wa_value(messages=[wa_message()])).status_code == 200
    assert slack(channels["slack"], slack_event()).status_code == 200
    clicked = slack(channels["slack"] + "interactivity/", slack_click(blocks=[]), "application/x-www-form-urlencoded")
    assert clicked.status_code == 200
    form = {"MessageSid": "SM" + "c" * 32, "From": "+15550002222", "To": NUMBER, "Body": "hi", "NumMedia": "0"}
    assert sms(channels["sms"], form).status_code == 200
    assert effects()[-1] == before[-1] + 4  # four turns queued
