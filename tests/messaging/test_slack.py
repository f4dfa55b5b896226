"""Slack: signed Events API and interactivity webhooks posted to the real URL, turns on a real
worker, replies watched on a fake Slack Web API."""

from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.db import connection as db_connection
from django.test import Client

from bots.models import Workspace
from bots.services import create_api_key, publish_bot
from bots.yaml_io import import_bot
from channels_app.models import ChannelThread, InboundEvent
from conversations.models import Delivery, Message
from tests.fakes.openai_server import Reply
from tests.fakes.slack_server import FakeSlack, signed
from tests.messaging.conftest import start_turns_worker, wait_for

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
TEAM = "T0TEAM"
GREETING = "Hi, I'm the help bot."

BOT_YAML = f"""
switchboard: 1
name: Slack Help
slug: slack-help
greeting: "{GREETING}"
prompts:
  - name: answer
    system: You are a helpful assistant.
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {{id: answer, kind: llm, prompt: answer}}
"""
PLAN_BOT_YAML = """
switchboard: 1
name: Plans
slug: plans
flows:
  - name: plan
    is_entry: true
    graph:
      entry: ask_plan
      nodes:
        - {id: ask_plan, kind: ask, slot: plan, type: choice, choices: [Basic, Pro], prompt: "Which plan are you on?", next: done}
        - {id: done, kind: message, text: "You chose {{ plan }}."}
"""

_ts = itertools.count(1)


def new_ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


@pytest.fixture(scope="module")
def fake_slack():
    fake = FakeSlack(token=TOKEN, team_id=TEAM).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def turns_queue(django_db_setup, django_db_blocker, fake_openai_server, fake_slack):
    proc, queue = start_turns_worker(fake_openai_server, SLACK_API_URL=fake_slack.base_url + "/")
    yield queue
    proc.stop()


@pytest.fixture
def slack(transactional_db, turns_queue, messaging_queue, fake_slack, fake_openai):
    messaging_queue(turns_queue)
    fake_slack.reset()
    yield fake_slack
    fake_slack.reset()


def connect(bot_yaml: str):
    """A published bot with a Slack connection created the way a builder does, through the API."""
    workspace, _ = Workspace.objects.get_or_create(slug="acme", defaults={"name": "Acme"})
    bot = import_bot(workspace=workspace, text=bot_yaml)
    publish_bot(bot=bot, user=None)
    _, key = create_api_key(workspace=workspace, name="tests", scopes=["bots:read", "bots:write"])
    response = Client(headers={"Authorization": f"Bearer {key}"}).post(
        f"/api/v1/bots/{bot.id}/channels",
        data={
            "kind": "slack",
            "settings": {"team_id": TEAM},
            "credentials": {"bot_token": TOKEN, "signing_secret": SECRET},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return bot.channels.get(pk=response.json()["id"])


@pytest.fixture
def channel(slack):
    return connect(BOT_YAML)


def envelope(event: dict, *, team: str = TEAM, event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "token": "XXYYZZ",
            "team_id": team,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": event_id or f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
            "event": event,
        }
    ).encode()


def dm(text: str, *, channel: str = "D0ANN", user: str = "U0ANN", ts: str | None = None) -> dict:
    ts = ts or new_ts()
    return {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text, "ts": ts}


def mention(text: str, *, channel: str = "C0SUP", thread_ts: str | None = None, ts: str | None = None) -> dict:
    event = {"type": "app_mention", "channel": channel, "user": "U0ANN", "text": f"<@U0BOT> {text}"}
    event["ts"] = event["event_ts"] = ts or new_ts()
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def post(client, channel, body: bytes, endpoint: str = "", *, headers=None, content_type="application/json"):
    url = f"/hooks/slack/{channel.webhook_key}/" + (f"{endpoint}/" if endpoint else "")
    headers = signed(SECRET, body) if headers is None else headers
    return client.post(url, data=body, content_type=content_type, headers=headers)


def click(client, channel, message: dict, value: str, title: str, *, user: str = "U0ANN", headers=None):
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": user, "username": "ann", "team_id": TEAM},
        "api_app_id": "A0APP",
        "trigger_id": "1234.5678.abcd",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
        "channel": {"id": message["channel"], "name": "directmessage"},
        "message": {k: message[k] for k in ("type", "ts", "text", "blocks", "user", "bot_id")},
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/x",
        "actions": [
            {
                "type": "button",
                "action_id": "choice-1",
                "block_id": "choices",
                "text": {"type": "plain_text", "text": title},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return post(
        client, channel, body, "interactivity", headers=headers, content_type="application/x-www-form-urlencoded"
    )


def answered(channel, count: int) -> None:
    """Wait until `count` inbound messages were answered and every reply left the outbox."""
    wait_for(
        lambda: (
            InboundEvent.objects.filter(connection=channel, status=InboundEvent.Status.DONE).count() >= count
            and not Message.objects.filter(conversation__bot=channel.bot, delivery=Delivery.PENDING).exists()
        ),
        message=f"{count} answered messages",
    )


def texts(fake, channel_id: str, thread_ts: str | None = None) -> list[str]:
    return [m["text"] for m in fake.in_channel(channel_id) if thread_ts is None or m["thread_ts"] == thread_ts]


def test_a_builder_connects_slack_through_the_api_and_gets_both_urls(slack, settings):
    settings.PUBLIC_BASE_URL = "https://bots.example.com"
    workspace = Workspace.objects.create(slug="acme", name="Acme")
    bot = import_bot(workspace=workspace, text=BOT_YAML)
    _, key = create_api_key(workspace=workspace, name="tests", scopes=["bots:read", "bots:write"])
    api = Client(headers={"Authorization": f"Bearer {key}"})
    url = f"/api/v1/bots/{bot.id}/channels"

    missing = api.post(
        url, data={"kind": "slack", "credentials": {"bot_token": TOKEN}}, content_type="application/json"
    )
    assert missing.status_code == 422 and "signing secret" in missing.json()["error"]["message"]
    created = api.post(
        url,
        data={
            "kind": "slack",
            "settings": {"team_id": TEAM},
            "credentials": {"bot_token": TOKEN, "signing_secret": "s"},
        },
        content_type="application/json",
    ).json()

    key = bot.channels.get().webhook_key
    assert created["webhook_urls"] == {
        "Event Subscriptions → Request URL": f"https://bots.example.com/hooks/slack/{key}/",
        "Interactivity & Shortcuts → Request URL": f"https://bots.example.com/hooks/slack/{key}/interactivity/",
    }
    assert bot.channels.get().external_id == TEAM


def test_url_verification_is_answered_only_when_signed(client, channel):
    body = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZg", "type": "url_verification"})

    assert post(client, channel, body.encode()).json() == {"challenge": "3eZbrw1aBm2rZg"}
    assert post(client, channel, body.encode(), headers={}).status_code == 403
    assert post(client, channel, body.encode(), headers=signed("another-secret", body)).status_code == 403
    stale = signed(SECRET, body, timestamp=int(time.time()) - 301)
    assert post(client, channel, body.encode(), headers=stale).status_code == 403


def test_a_direct_message_gets_a_streamed_reply_in_the_dm_and_is_stored_redacted(client, channel, slack, fake_openai):
    words = [f"word{n}" for n in range(24)]
    fake_openai.token_interval = 0.12
    fake_openai.script(Reply(text="**Sure**, here it is: " + " ".join(words) + " [docs](https://example.com/docs)"))

    assert post(client, channel, envelope(dm("Hi, I'm ann@example.com, what's up?"))).status_code == 200
    answered(channel, 1)

    greeting, reply = slack.in_channel("D0ANN")
    assert greeting["text"] == GREETING and greeting["thread_ts"] is None
    expected = "*Sure*, here it is: " + " ".join(words) + " <https://example.com/docs|docs>"
    assert reply["text"] == expected
    # Shown while written: one post with the first words, then a few edits, not one message per token.
    posts = slack.calls_to("chat.postMessage", "D0ANN")
    edits = [c["body"]["text"] for c in slack.calls_to("chat.update", "D0ANN")]
    assert len(posts) == 2
    assert len(posts[1]["body"]["text"]) < len(expected) and expected.startswith(posts[1]["body"]["text"][:8])
    assert 2 <= len(edits) < len(words) / 2
    assert any(len(posts[1]["body"]["text"]) < len(e) < len(expected) for e in edits[:-1])
    assert edits[-1] == expected

    stored = list(Message.objects.filter(conversation__channel="slack").order_by("id").values_list("role", "text"))
    assert ("user", "Hi, I'm [EMAIL], what's up?") in stored
    assert not any("ann@example.com" in text for _, text in stored)
    assert Message.objects.filter(role="bot", delivery=Delivery.SENT, external_id=reply["ts"]).exists()


def test_mentions_are_answered_in_their_thread_one_conversation_per_thread(client, channel, slack):
    first = mention("where is my order?")
    post(client, channel, envelope(first))
    answered(channel, 1)
    again = mention("and the invoice?", thread_ts=first["ts"])
    post(client, channel, envelope(again))
    answered(channel, 2)
    # A reply in the thread without a mention continues the conversation too.
    plain = {"type": "message", "channel_type": "channel", "channel": "C0SUP", "user": "U0ANN", "text": "thanks"}
    plain |= {"ts": new_ts(), "thread_ts": first["ts"]}
    post(client, channel, envelope(plain))
    answered(channel, 3)
    other = mention("new question")
    post(client, channel, envelope(other))
    answered(channel, 4)

    in_first = texts(slack, "C0SUP", first["ts"])
    assert in_first == [GREETING, "You asked: where is my order?", "You asked: and the invoice?", "You asked: thanks."]
    assert texts(slack, "C0SUP", other["ts"]) == [GREETING, "You asked: new question."]
    assert all(m["thread_ts"] for m in slack.in_channel("C0SUP"))
    threads = {t.key: t.conversation_id for t in ChannelThread.objects.filter(connection=channel)}
    assert set(threads) == {f"C0SUP:{first['ts']}", f"C0SUP:{other['ts']}"}
    assert len(set(threads.values())) == 2
    users = Message.objects.filter(conversation_id=threads[f"C0SUP:{first['ts']}"], role="user")
    assert list(users.values_list("text", flat=True)) == ["where is my order?", "and the invoice?", "thanks"]


def test_bots_edits_other_teams_and_channel_chatter_get_no_reply(client, channel, slack):
    own = {"type": "message", "channel_type": "im", "channel": "D0ANN", "user": "U0BOT", "bot_id": "B0BOT"}
    other_bot = {"type": "message", "subtype": "bot_message", "channel": "C0SUP", "bot_id": "B0ZAP", "text": "beep"}
    app_bot = {"type": "message", "channel_type": "im", "channel": "D0ANN", "user": "U0ZAP", "bot_id": "B0ZAP"}
    edited = {"type": "message", "subtype": "message_changed", "channel": "D0ANN", "channel_type": "im", "hidden": True}
    chatter = {"type": "message", "channel_type": "channel", "channel": "C0SUP", "user": "U0ANN", "text": "lunch?"}
    for event in (own, other_bot, app_bot, edited, chatter):
        event.setdefault("ts", new_ts())
        event.setdefault("text", "hello")
        assert post(client, channel, envelope(event)).status_code == 200
    assert post(client, channel, envelope(dm("hello from elsewhere"), team="T0OTHER")).status_code == 200

    post(client, channel, envelope(dm("the real question")))
    answered(channel, 1)
    assert InboundEvent.objects.filter(connection=channel).count() == 1
    assert texts(slack, "D0ANN") == [GREETING, "You asked: the real question."]
    assert texts(slack, "C0SUP") == []


def test_forged_or_stale_webhooks_are_refused_and_change_nothing(client, channel, slack):
    body = envelope(dm("hello"))
    stale = signed(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    forged = signed("not-the-secret", body)
    tampered = signed(SECRET, body)

    assert post(client, channel, body, headers=stale).status_code == 403
    assert post(client, channel, body, headers=forged).status_code == 403
    assert post(client, channel, body, headers={}).status_code == 403
    assert post(client, channel, body.replace(b"hello", b"HELLO"), headers=tampered).status_code == 403
    assert (
        post(client, channel, body, headers=signed(SECRET, body) | {"X-Slack-Request-Timestamp": "x"}).status_code
        == 403
    )
    assert not InboundEvent.objects.exists() and not ChannelThread.objects.exists()
    assert slack.calls == []


def test_retried_and_concurrent_deliveries_give_exactly_one_reply(client, channel, slack):
    body = envelope(dm("just once please"))

    def deliver(_):
        try:
            return post(Client(), channel, body).status_code
        finally:
            db_connection.close()

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(deliver, range(3))) == [200, 200, 200]
    assert post(client, channel, body, headers=signed(SECRET, body, retry=1)).status_code == 200
    answered(channel, 1)
    assert post(client, channel, body, headers=signed(SECRET, body, retry=2)).status_code == 200

    assert texts(slack, "D0ANN") == [GREETING, "You asked: just once please."]
    assert InboundEvent.objects.count() == 1 and Message.objects.filter(role="user").count() == 1


def test_a_mention_delivered_as_app_mention_and_as_message_is_answered_once(client, channel, slack):
    first = mention("hello")
    post(client, channel, envelope(first))
    answered(channel, 1)
    both = mention("status?", thread_ts=first["ts"])
    as_message = both | {"type": "message", "channel_type": "channel"}
    post(client, channel, envelope(as_message))
    post(client, channel, envelope(both))
    answered(channel, 2)

    assert texts(slack, "C0SUP", first["ts"]) == [GREETING, "You asked: hello.", "You asked: status?"]


def test_a_choice_becomes_buttons_and_a_click_continues_the_flow(client, slack):
    channel = connect(PLAN_BOT_YAML)
    post(client, channel, envelope(dm("hello")))
    answered(channel, 1)
    # The flow asks as the conversation starts; "hello" is not a plan, so it asks again.
    asked, question = slack.in_channel("D0ANN")
    assert asked["text"] == "Which plan are you on?"
    assert question["text"] == "Please pick one of: Basic, Pro. Which plan are you on?"
    actions = [b for b in question["blocks"] if b["type"] == "actions"]
    assert [(e["text"]["text"], e["value"]) for e in actions[0]["elements"]] == [("Basic", "Basic"), ("Pro", "Pro")]

    assert click(client, channel, question, "Basic", "Basic", headers={}).status_code == 403
    assert click(client, channel, question, "Pro", "Pro").status_code == 200
    answered(channel, 2)

    assert slack.in_channel("D0ANN")[-1]["text"] == "You chose Pro."
    clicked = slack.messages[question["ts"]]
    assert not [b for b in clicked["blocks"] if b["type"] == "actions"]
    assert "✓ Pro" in json.dumps(clicked["blocks"], ensure_ascii=False)
    assert list(Message.objects.filter(role="user").values_list("text", flat=True))[-1] == "Pro"


def test_a_rate_limit_is_waited_out_and_a_refusal_is_recorded_in_plain_words(client, channel, slack):
    slack.fail("chat.postMessage", status=429, retry_after=1, times=2)
    post(client, channel, envelope(dm("are you there?")))
    answered(channel, 1)
    assert texts(slack, "D0ANN") == [GREETING, "You asked: are you there?"]
    assert not Message.objects.filter(delivery=Delivery.FAILED).exists()
    assert [c for c in slack.calls if c["method"] == "chat.postMessage" and not c["ok"]]

    slack.not_member.add("C0NEW")
    post(client, channel, envelope(mention("hello?", channel="C0NEW")))
    answered(channel, 2)
    failed = Message.objects.filter(delivery=Delivery.FAILED)
    assert failed.count() == 2  # the greeting and the answer
    assert all("invite" in m.delivery_error.lower() for m in failed)


@pytest.mark.parametrize(
    ("endpoint", "body", "content_type"),
    [
        ("", b"{not json", "application/json"),
        ("", json.dumps({"type": "event_callback", "team_id": TEAM}).encode(), "application/json"),
        ("", envelope({"type": "message", "channel_type": "im", "text": "no channel"}), "application/json"),
        ("interactivity", b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (
            "interactivity",
            urlencode({"payload": json.dumps({"type": "block_actions"})}).encode(),
            "application/x-www-form-urlencoded",
        ),
    ],
)
def test_malformed_signed_payloads_are_refused_with_400(client, channel, slack, endpoint, body, content_type):
    assert post(client, channel, body, endpoint, content_type=content_type).status_code == 400
    assert not InboundEvent.objects.exists() and not ChannelThread.objects.exists()
