"""WhatsApp Cloud API end to end: Meta-signed webhooks in, replies through a local fake of the Graph
API, voice notes through a fake of Deepgram's pre-recorded API, a real Celery worker running the
turn, and everything a person on WhatsApp (or the builder) would notice."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client

from bots.models import ChannelConnection, Workspace
from bots.services import create_api_key, publish_bot
from bots.yaml_io import import_bot
from channels_app.models import ChannelThread, InboundEvent
from conversations.models import Conversation, Message
from tests.fakes import whatsapp_server as meta
from tests.fakes.deepgram_server import FakeDeepgram
from tests.fakes.openai_server import Reply
from tests.fakes.whatsapp_server import Failure, FakeWhatsApp
from tests.messaging.conftest import start_turns_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_NUMBER_ID, ACCESS_TOKEN, APP_SECRET = "106540352242922", "wa-access-token", "meta-app-secret"
PERSON = "16505551234"

BOT = """
switchboard: 1
name: Shop Bot
slug: shop-bot
prompts:
  - {name: answer, system: You are a helpful assistant.}
intents:
  - {name: plan, examples: [change my plan, switch plans, which plan, upgrade my plan]}
  - {name: size, examples: [what size should I get, which size, size guide, my size]}
flows:
  - name: main
    is_entry: true
    graph:
      entry: route
      nodes:
        - {id: route, kind: intent, routes: [{intent: plan, next: ask_plan}, {intent: size, next: ask_size}], fallback: answer}
        - {id: answer, kind: llm, prompt: answer}
        - {id: ask_plan, kind: ask, slot: plan, type: choice, choices: [Basic, Pro, Enterprise], prompt: "Which plan?", next: done}
        - {id: done, kind: message, text: "You chose {{ plan }}."}
        - id: ask_size
          kind: ask
          slot: size
          type: choice
          choices: [Extra small, Small, Medium, Large, Extra large for tall people]
          prompt: "Which size?"
          next: size_done
        - {id: size_done, kind: message, text: "Size {{ size }} it is."}
"""


@pytest.fixture(scope="module")
def graph():
    fake = FakeWhatsApp(ACCESS_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def deepgram():
    fake = FakeDeepgram().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def whatsapp_worker(django_db_setup, django_db_blocker, fake_openai_server, graph, deepgram):
    proc, queue = start_turns_worker(
        fake_openai_server,
        WHATSAPP_API_URL=graph.base_url,
        DEEPGRAM_BASE_URL=deepgram.base_url,
        DEEPGRAM_API_KEY="dg-test-key",
    )
    yield queue
    proc.stop()


def _api(workspace) -> Client:
    _, key = create_api_key(workspace=workspace, name="setup", scopes=["bots:read", "bots:write"])
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def created(whatsapp_worker, messaging_queue, fake_openai, graph, deepgram) -> dict:
    """The connection as the builder creates it through the API: the response they see."""
    messaging_queue(whatsapp_worker)
    graph.reset()
    deepgram.reset()
    workspace = Workspace.objects.create(slug="shop", name="Shop")
    bot = import_bot(workspace=workspace, text=BOT)
    publish_bot(bot=bot, user=None)
    response = _api(workspace).post(
        f"/api/v1/bots/{bot.id}/channels",
        data={
            "kind": "whatsapp",
            "settings": {"phone_number_id": PHONE_NUMBER_ID},
            "credentials": {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def connection(created) -> ChannelConnection:
    return ChannelConnection.objects.get(pk=created["id"])


def post(connection, body: bytes, *, secret: str = APP_SECRET, signature: str | None = None):
    """Deliver a notification to the channel's webhook the way Meta does."""
    header = meta.sign(body, secret) if signature is None else signature
    return Client().post(
        f"/hooks/whatsapp/{connection.webhook_key}/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=header,
    )


def say(connection, text: str, **kwargs):
    return post(connection, meta.message(PHONE_NUMBER_ID, text={"body": text}, **kwargs))


def answered(count: int = 1):
    wait_for(lambda: InboundEvent.objects.filter(status__in=["done", "failed"]).count() >= count, message="the turn")


def test_meta_verifies_the_callback_with_the_generated_token(created, connection):
    token = created["settings"]["verify_token"]
    assert len(token) >= 20  # generated, since the builder left it empty
    assert created["webhook_urls"] == {
        "Callback URL (WhatsApp › Configuration › Webhook)": f"http://testserver/hooks/whatsapp/{connection.webhook_key}/"
    }
    path = f"/hooks/whatsapp/{connection.webhook_key}/"
    ok = Client().get(path, {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444" and ok["Content-Type"].startswith("text/plain")
    wrong = Client().get(path, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})
    assert wrong.status_code == 403 and b"1158201444" not in wrong.content


def test_set_up_problems_are_in_plain_words(connection):
    api = _api(connection.bot.workspace)
    url = f"/api/v1/bots/{connection.bot_id}/channels"
    bare = api.post(url, data={"kind": "whatsapp", "settings": {}}, content_type="application/json")
    assert bare.status_code == 422
    problems = bare.json()["error"]["details"]["problems"]
    assert any("Phone number ID" in p for p in problems) and any("app secret" in p for p in problems)
    again = api.post(
        url,
        data={
            "kind": "whatsapp",
            "settings": {"phone_number_id": PHONE_NUMBER_ID},
            "credentials": {"access_token": "t", "app_secret": "s"},
        },
        content_type="application/json",
    )
    assert again.status_code == 422 and "already connected" in again.json()["error"]["message"]
    assert ChannelConnection.objects.count() == 1


def test_a_text_is_answered_and_delivery_reports_move_forward_only(connection, graph):
    assert say(connection, "Hi, I'm ann@example.com. When do you open?").status_code == 200

    sent = wait_for(lambda: graph.sent, message="a reply through the Graph API")[0]
    assert sent["phone_number_id"] == PHONE_NUMBER_ID
    assert sent["body"]["to"] == PERSON and sent["body"]["type"] == "text"
    assert "When do you open?" in sent["body"]["text"]["body"]  # the fake model quotes the question

    conversation = Conversation.objects.get(channel="whatsapp")
    assert conversation.contact_id == f"whatsapp:{PERSON}"
    bot = wait_for(lambda: Message.objects.filter(role="bot", delivery="sent").first(), message="the reply sent")
    user = Message.objects.get(role="user")
    assert "ann@example.com" not in user.text and "[EMAIL]" in user.text
    assert "ann@example.com" not in bot.text
    assert bot.external_id == sent["id"]

    seen = []
    for state in ("delivered", "read", "delivered", "sent"):  # Meta's reports arrive out of order
        assert post(connection, meta.status(PHONE_NUMBER_ID, sent["id"], state)).status_code == 200
        bot.refresh_from_db()
        seen.append(bot.delivery)
    assert seen == ["delivered", "read", "read", "read"]


def test_a_failed_report_tells_the_builder_why(connection, graph):
    say(connection, "Hello")
    wamid = wait_for(lambda: graph.sent, message="a reply")[0]["id"]
    wait_for(lambda: Message.objects.filter(external_id=wamid, delivery="sent").exists(), message="sent")
    post(
        connection,
        meta.status(PHONE_NUMBER_ID, wamid, "failed", error_code=131047, error_title="Re-engagement message"),
    )
    message = Message.objects.get(external_id=wamid)
    assert message.delivery == "failed"
    assert "24 hours" in message.delivery_error and "template" in message.delivery_error


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(connection, graph):
    body = meta.message(PHONE_NUMBER_ID, text={"body": "Hi"})
    assert post(connection, body, secret="someone-elses-secret").status_code == 403
    assert post(connection, body, signature="").status_code == 403
    tampered = body.replace(b"Hi", b"Yo")
    assert post(connection, tampered, signature=meta.sign(body, APP_SECRET)).status_code == 403
    assert not InboundEvent.objects.exists() and not Message.objects.exists() and not ChannelThread.objects.exists()
    assert not graph.attempts


def test_the_same_webhook_three_times_gets_one_reply(connection, graph):
    body = meta.message(PHONE_NUMBER_ID, text={"body": "Are you open on Sunday?"})
    barrier = threading.Barrier(3)
    codes = []

    def deliver():
        barrier.wait()
        codes.append(post(connection, body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200, 200]
    answered()
    for _ in range(3):  # and again later, as Meta retries for days
        assert post(connection, body).status_code == 200
    assert len(graph.sent) == 1
    assert Message.objects.filter(role="user").count() == 1 and InboundEvent.objects.count() == 1


def test_three_choices_become_reply_buttons_and_a_tap_continues_the_flow(connection, graph):
    say(connection, "I want to change my plan")
    question = wait_for(lambda: graph.sent, message="the question")[0]["body"]
    assert question["type"] == "interactive"
    interactive = question["interactive"]
    assert interactive["type"] == "button" and interactive["body"]["text"] == "Which plan?"
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "Basic", "title": "Basic"},
        {"id": "Pro", "title": "Pro"},
        {"id": "Enterprise", "title": "Enterprise"},
    ]
    answered()
    tap = {"type": "button_reply", "button_reply": {"id": "Pro", "title": "Pro"}}
    post(connection, meta.message(PHONE_NUMBER_ID, "interactive", interactive=tap, context={"id": graph.sent[0]["id"]}))
    wait_for(lambda: len(graph.sent) == 2, message="the answer")
    assert graph.sent[1]["body"]["text"]["body"] == "You chose Pro."


def test_more_choices_become_a_list_and_a_pick_continues_the_flow(connection, graph):
    say(connection, "What size should I get?")
    interactive = wait_for(lambda: graph.sent, message="the question")[0]["body"]["interactive"]
    assert interactive["type"] == "list" and interactive["body"]["text"] == "Which size?"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == ["Extra small", "Small", "Medium", "Large", "Extra large for tall people"]
    assert rows[4]["title"] == "Extra large for tall pe…" and rows[4]["description"] == "Extra large for tall people"
    answered()
    pick = {"type": "list_reply", "list_reply": {"id": rows[4]["id"], "title": rows[4]["title"]}}
    post(connection, meta.message(PHONE_NUMBER_ID, "interactive", interactive=pick))
    wait_for(lambda: len(graph.sent) == 2, message="the answer")
    assert graph.sent[1]["body"]["text"]["body"] == "Size Extra large for tall people it is."


def test_markdown_becomes_whatsapp_formatting(connection, graph, fake_openai):
    fake_openai.script(
        Reply(
            text="## Hours\n**Open** *daily*, not ~~Sundays~~: see [our page](https://example.com/hours).\n- Mon to Sat"
        )
    )
    say(connection, "When are you open?")
    body = wait_for(lambda: graph.sent, message="the reply")[0]["body"]["text"]["body"]
    assert body == "*Hours*\n*Open* _daily_, not ~Sundays~: see our page (https://example.com/hours).\n• Mon to Sat"


def test_a_voice_note_is_transcribed_and_answered(connection, graph, deepgram):
    audio = b"OggS\x00\x02" + bytes(range(256)) * 40
    graph.add_media("1037543291543636", audio)
    deepgram.transcribe_as("Do you deliver to Lisbon?")
    voice = {"mime_type": "audio/ogg; codecs=opus", "sha256": "x", "id": "1037543291543636", "voice": True}
    post(connection, meta.message(PHONE_NUMBER_ID, "audio", audio=voice))

    reply = wait_for(lambda: graph.sent, message="the answer")[0]["body"]["text"]["body"]
    assert "Do you deliver to Lisbon?" in reply  # the fake model quotes what it was asked
    assert graph.downloads == ["1037543291543636"]
    assert deepgram.prerecorded[0]["audio"] == audio
    assert deepgram.prerecorded[0]["headers"]["authorization"] == "Token dg-test-key"
    assert Message.objects.get(role="user").text == "Do you deliver to Lisbon?"


def test_a_picture_gets_a_clear_answer_without_a_turn(connection, graph, fake_openai):
    image = {"mime_type": "image/jpeg", "sha256": "x", "id": "2754859441498128", "caption": "this one"}
    post(connection, meta.message(PHONE_NUMBER_ID, "image", image=image))
    reply = wait_for(lambda: graph.sent, message="the reply")[0]["body"]["text"]["body"]
    assert "I can read text and voice notes" in reply
    assert not fake_openai.chat_requests() and not graph.downloads


def test_a_rate_limited_send_is_retried_after_the_time_meta_asks(connection, graph):
    graph.fail(Failure(429, 130429, "Rate limit hit", retry_after=2))
    say(connection, "First question")
    wait_for(lambda: Message.objects.filter(role="bot", delivery="sent").exists(), message="the retried reply")
    first, second = graph.attempts
    # A lower bound only: the worker waited at least as long as Retry-After said (its own first
    # backoff is a quarter of that), however slow the machine is.
    assert second["time"] - first["time"] >= 1.9


def test_a_permanent_refusal_is_recorded_in_plain_words_and_not_retried(connection, graph):
    graph.fail(Failure(400, 131030, "Recipient phone number not in allowed list"))
    say(connection, "Hello?")
    failed = wait_for(lambda: Message.objects.filter(role="bot", delivery="failed").first(), message="the failure")
    assert "allowed recipients" in failed.delivery_error
    assert len(graph.attempts) == 1 and not graph.sent


def test_outside_the_24_hour_window_nothing_is_sent_and_the_builder_sees_why(connection, graph):
    # Meta kept retrying a message for a day: the window counts from when the person wrote it.
    day_ago = str(int(time.time()) - 25 * 3600)
    say(connection, "Hello, are you there?", timestamp=day_ago)
    answered()
    refused = list(Message.objects.filter(role="bot"))
    assert refused and all(m.delivery == "failed" for m in refused)
    assert "24 hours" in refused[-1].delivery_error and "not sent" in refused[-1].delivery_error
    assert not graph.attempts  # Meta was not even asked
    # The person writes again: the window is open and the bot answers.
    say(connection, "Hello again")
    wait_for(lambda: Message.objects.filter(role="bot", delivery="sent").exists(), message="the reply")


def test_malformed_and_foreign_notifications(connection, graph):
    assert post(connection, b"{not json").status_code == 400
    assert post(connection, b'{"entry": "nope"}').status_code == 400
    assert post(connection, b'{"entry": [{"changes": [{"field": "messages", "value": 3}]}]}').status_code == 400
    other = meta.message("999999999999999", text={"body": "for another number"})
    assert post(connection, other).status_code == 200  # acknowledged, or Meta retries for days
    assert not InboundEvent.objects.exists() and not Message.objects.exists()
    assert not graph.attempts
