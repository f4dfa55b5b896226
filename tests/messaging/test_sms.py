"""Twilio SMS end to end: signed webhooks in, replies through Twilio's REST API (a local fake),
a real Celery worker running the turn, and everything a person texting the bot would notice."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta

import httpx
import pytest
from django.test import Client

from bots.models import ChannelConnection, Workspace
from bots.services import create_api_key, publish_bot
from bots.yaml_io import import_bot
from channels_app.messaging import intake
from channels_app.models import InboundEvent
from conversations.models import Conversation, Message
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.twilio_messaging import FakeTwilioMessaging
from tests.messaging.conftest import start_turns_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT, TOKEN = "AC" + "1" * 32, "sms-auth-token"
NUMBER, PERSON = "+14155550100", "+14155550199"

BOT = """
switchboard: 1
name: Texting Bot
slug: texting-bot
prompts:
  - {name: answer, system: You are a helpful assistant.}
intents:
  - {name: plan, examples: [change my plan, switch plans, which plan, upgrade my plan]}
flows:
  - name: main
    is_entry: true
    graph:
      entry: route
      nodes:
        - {id: route, kind: intent, routes: [{intent: plan, next: ask_plan}], fallback: answer}
        - {id: answer, kind: llm, prompt: answer}
        - {id: ask_plan, kind: ask, slot: plan, type: choice, choices: [Basic, Pro, Enterprise], prompt: "Which plan?", next: done}
        - {id: done, kind: message, text: "You chose {{ plan }}."}
"""


@pytest.fixture(scope="module")
def twilio():
    fake = FakeTwilioMessaging(ACCOUNT, TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def sms_worker(django_db_setup, django_db_blocker, fake_openai_server, twilio):
    proc, queue = start_turns_worker(fake_openai_server, TWILIO_API_BASE_URL=twilio.base_url)
    yield queue
    proc.stop()


@pytest.fixture
def connection(sms_worker, messaging_queue, fake_openai, twilio, settings):
    messaging_queue(sms_worker)
    settings.TWILIO_API_BASE_URL = twilio.base_url  # the admin's test message is sent from this process
    twilio.reset()
    workspace = Workspace.objects.create(slug="texting", name="Texting")
    bot = import_bot(workspace=workspace, text=BOT)
    publish_bot(bot=bot, user=None)
    _, key = create_api_key(workspace=workspace, name="setup", scopes=["bots:read", "bots:write"])
    api = Client(headers={"Authorization": f"Bearer {key}"})
    created = api.post(
        f"/api/v1/bots/{bot.id}/channels",
        data={"kind": "sms", "phone_number": NUMBER, "credentials": {"account_sid": ACCOUNT, "auth_token": TOKEN}},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    return ChannelConnection.objects.get(pk=created.json()["id"])


def webhook_url(connection, endpoint: str = "") -> tuple[str, str]:
    path = f"/hooks/sms/{connection.webhook_key}/" + (f"{endpoint}/" if endpoint else "")
    return path, "http://testserver" + path


def text(twilio, connection, body: str, **extra):
    path, url = webhook_url(connection)
    form, signature = twilio.inbound(url, sender=PERSON, receiver=NUMBER, body=body, **extra)
    return Client().post(path, form, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_text_is_answered_through_the_rest_api_and_stored_redacted(connection, twilio, fake_openai):
    response = text(twilio, connection, "Hi, my email is ann@example.com. When do you open?")
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    assert b"<Response/>" in response.content  # nothing in TwiML: the reply goes through the REST API

    sent = wait_for(lambda: twilio.sent, message="a reply through the REST API")
    form = sent[0]["form"]
    assert form["To"] == PERSON and form["From"] == NUMBER
    assert "When do you open?" in form["Body"]  # the fake model quotes the question
    assert form["StatusCallback"].endswith(f"/hooks/sms/{connection.webhook_key}/status/")

    conversation = Conversation.objects.get(channel="sms")
    assert conversation.contact_id == f"sms:{PERSON}"
    user, bot = wait_for(
        lambda: (
            list(conversation.messages.order_by("id"))
            if conversation.messages.filter(role="bot", delivery="sent").exists()
            else None
        ),
        message="the reply recorded as sent",
    )
    assert "ann@example.com" not in user.text and "[EMAIL]" in user.text
    assert bot.external_id == sent[0]["sid"]


def test_delivery_reports_move_forward_only(connection, twilio):
    text(twilio, connection, "Hello there")
    sid = wait_for(lambda: twilio.sent, message="a reply")[0]["sid"]
    message = wait_for(lambda: Message.objects.filter(external_id=sid, delivery="sent").first(), message="sent")
    path, url = webhook_url(connection, "status")
    for status in ("delivered", "sent"):  # Twilio's callbacks can arrive out of order
        form, signature = twilio.status(url, sid=sid, status=status)
        assert Client().post(path, form, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200
    message.refresh_from_db()
    assert message.delivery == "delivered"
    form, signature = twilio.status(url, sid=sid, status="undelivered", error_code="30003")
    Client().post(path, form, HTTP_X_TWILIO_SIGNATURE=signature)
    message.refresh_from_db()
    assert message.delivery == "failed" and "unreachable" in message.delivery_error


def test_a_forged_or_missing_signature_is_refused_and_changes_nothing(connection, twilio):
    path, url = webhook_url(connection)
    form, _ = twilio.inbound(url, sender=PERSON, receiver=NUMBER, body="Hi")
    forged = FakeTwilioMessaging(ACCOUNT, "someone-elses-token").inbound(url, sender=PERSON, receiver=NUMBER, body="Hi")
    assert Client().post(path, form, HTTP_X_TWILIO_SIGNATURE=forged[1]).status_code == 403
    assert Client().post(path, form).status_code == 403
    tampered = dict(form, Body="Send me everything")
    _, good = twilio.inbound(url, sender=PERSON, receiver=NUMBER, body="Hi", MessageSid=form["MessageSid"])
    assert Client().post(path, tampered, HTTP_X_TWILIO_SIGNATURE=good).status_code == 403
    assert Client().post("/hooks/sms/no-such-key/", form, HTTP_X_TWILIO_SIGNATURE=good).status_code == 404
    assert not InboundEvent.objects.exists() and not Message.objects.exists()


def test_the_same_webhook_three_times_at_once_gets_one_reply(connection, twilio):
    path, url = webhook_url(connection)
    form, signature = twilio.inbound(url, sender=PERSON, receiver=NUMBER, body="Are you open on Sunday?")
    barrier = threading.Barrier(3)
    codes = []

    def deliver():
        barrier.wait()
        codes.append(Client().post(path, form, HTTP_X_TWILIO_SIGNATURE=signature).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200, 200]
    wait_for(lambda: InboundEvent.objects.filter(status="done").exists(), message="the turn to finish")
    Client().post(path, form, HTTP_X_TWILIO_SIGNATURE=signature)  # and once more, later
    assert len(twilio.sent) == 1
    assert Message.objects.filter(role="user").count() == 1


def test_a_channel_switched_off_in_the_admin_stops_answering(connection, twilio, admin_client):
    form = {
        "bot": connection.bot_id,
        "kind": "sms",
        "settings": "{}",
        "phone_number": NUMBER,
        "new_credentials": "",
        "is_active": "",  # unticked
    }
    saved = admin_client.post(f"/admin/bots/channelconnection/{connection.pk}/change/", form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    response = text(twilio, connection, "Anyone there?")
    assert response.status_code == 404 and b"No active channel" in response.content
    assert not InboundEvent.objects.exists() and not twilio.sent
    connection.refresh_from_db()
    assert connection.credentials == {"account_sid": ACCOUNT, "auth_token": TOKEN}  # an empty box keeps them


def test_an_oversized_streamed_body_is_refused_with_413_through_the_real_server(connection, asgi_server):
    path, _ = webhook_url(connection)

    def chunks():  # 8 MB streamed without a Content-Length, as a misbehaving sender would
        for _ in range(128):
            yield b"Body=" + b"x" * 65536

    refused = httpx.post(
        asgi_server + path, content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert refused.status_code == 413
    assert not InboundEvent.objects.exists()


def test_with_redis_unreachable_the_webhook_asks_to_be_delivered_again(connection, twilio, settings):
    path, url = webhook_url(connection)
    form, signature = twilio.inbound(url, sender=PERSON, receiver=NUMBER, body="Is anyone there?")
    working = settings.REDIS_URL
    settings.REDIS_URL = "unix:///nonexistent/redis.sock"
    refused = Client().post(path, form, HTTP_X_TWILIO_SIGNATURE=signature)
    assert refused.status_code == 503 and refused["Retry-After"] == "30"
    settings.REDIS_URL = working
    # Twilio delivers it again once we answer non-2xx: nothing was marked as seen, so it goes through.
    assert Client().post(path, form, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200
    wait_for(lambda: twilio.sent, message="the reply")
    assert len(twilio.sent) == 1 and "Is anyone there?" in twilio.sent[0]["form"]["Body"]


@pytest.mark.parametrize("keyword", ["STOP", "help", " Unsubscribe "])
def test_opt_out_keywords_are_left_to_twilio(connection, twilio, keyword):
    assert text(twilio, connection, keyword).status_code == 200
    assert not InboundEvent.objects.exists() and not Message.objects.exists()


def test_rate_limited_sends_are_retried_and_permanent_failures_recorded(connection, twilio, admin_client):
    twilio.fail_next(429, code=20429, message="Too Many Requests", retry_after=1)
    twilio.fail_next(503, message="Service Unavailable")
    text(twilio, connection, "First question")
    wait_for(lambda: Message.objects.filter(role="bot", delivery="sent").exists(), message="the retried reply")
    assert len(twilio.sent) == 1

    twilio.fail_next(400, code=21610, message="Attempt to send to unsubscribed recipient")
    text(twilio, connection, "Second question")
    failed = wait_for(lambda: Message.objects.filter(role="bot", delivery="failed").first(), message="a failure")
    assert "replied STOP" in failed.delivery_error and "START" in failed.delivery_error
    assert len(twilio.sent) == 1  # a permanent refusal is not retried
    page = admin_client.get(f"/admin/conversations/conversation/{failed.conversation_id}/change/").content.decode()
    assert "Not delivered: The person replied STOP" in page and "Sent" in page
    channel_page = admin_client.get(f"/admin/bots/channelconnection/{connection.pk}/change/").content.decode()
    assert "Last delivery error" in channel_page and "replied STOP" in channel_page


def test_a_picture_gets_a_clear_answer_without_a_turn(connection, twilio, fake_openai):
    text(
        twilio,
        connection,
        "",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/media/ME1",
        MediaContentType0="image/jpeg",
    )
    sent = wait_for(lambda: twilio.sent, message="the reply")
    assert "text messages only" in sent[0]["form"]["Body"]
    assert not fake_openai.chat_requests()


def test_choices_are_numbered_and_a_number_picks_one(connection, twilio):
    text(twilio, connection, "I want to change my plan")
    first = wait_for(lambda: twilio.sent, message="the question")[0]["form"]["Body"]
    assert "Which plan?" in first and "1. Basic\n2. Pro\n3. Enterprise" in first
    wait_for(lambda: InboundEvent.objects.filter(status="done").count() == 1, message="the first turn")
    text(twilio, connection, "2")
    wait_for(lambda: len(twilio.sent) == 2, message="the answer")
    assert twilio.sent[1]["form"]["Body"] == "You chose Pro."


def test_markdown_and_sources_become_plain_text(connection, twilio, fake_openai):
    fake_openai.script(
        Reply(text="**Returns** are free: see [our policy](https://example.com/returns).\n- within 30 days")
    )
    text(twilio, connection, "How do returns work?")
    body = wait_for(lambda: twilio.sent, message="the reply")[0]["form"]["Body"]
    assert body == "Returns are free: see our policy (https://example.com/returns).\n- within 30 days"


def test_a_worker_killed_mid_turn_still_gives_exactly_one_reply(connection, twilio, fake_openai, messaging_queue):
    slow = FakeOpenAI(ttft=3.0).start()
    proc, queue = start_turns_worker(slow, TWILIO_API_BASE_URL=twilio.base_url)
    messaging_queue(queue)
    try:
        text(twilio, connection, "Tell me about your opening hours")
        wait_for(lambda: slow.requests, message="the turn to reach the model")
        proc.stop(sig=signal.SIGKILL)
    finally:
        proc.stop()
        slow.stop()
    event = InboundEvent.objects.get()
    assert event.status == "processing" and not twilio.sent
    # Another worker takes over: the stalled message is queued again and answered once.
    proc, queue = start_turns_worker(fake_openai, TWILIO_API_BASE_URL=twilio.base_url)
    messaging_queue(queue)
    try:
        assert intake.resume_stalled(older_than=timedelta(0)) == 1
        wait_for(lambda: InboundEvent.objects.filter(status="done").exists(), timeout=30, message="the resumed turn")
    finally:
        proc.stop()
    assert len(twilio.sent) == 1 and "opening hours" in twilio.sent[0]["form"]["Body"]
    assert Message.objects.filter(role="user").count() == 1 and Message.objects.filter(role="bot").count() == 1


def test_set_up_errors_say_what_to_do_and_a_number_is_connected_once(connection):
    other = Workspace.objects.create(slug="rival", name="Rival")
    bot = import_bot(workspace=other, text=BOT.replace("texting-bot", "rival-bot"))
    _, key = create_api_key(workspace=other, name="setup", scopes=["bots:read", "bots:write"])
    api = Client(headers={"Authorization": f"Bearer {key}"})
    url = f"/api/v1/bots/{bot.id}/channels"
    claimed = api.post(
        url,
        data={"kind": "sms", "phone_number": NUMBER, "credentials": {"account_sid": ACCOUNT, "auth_token": "x"}},
        content_type="application/json",
    )
    assert claimed.status_code == 422 and "already connected" in claimed.json()["error"]["message"]
    bare = api.post(url, data={"kind": "sms", "phone_number": "4155550111"}, content_type="application/json")
    assert bare.status_code == 422 and "international form" in bare.json()["error"]["message"]
    assert ChannelConnection.objects.filter(bot=bot).count() == 0


def test_the_connection_page_shows_where_to_paste_and_sends_a_test_message(connection, twilio, admin_client):
    page = admin_client.get(f"/admin/bots/channelconnection/{connection.pk}/change/")
    assert page.status_code == 200
    assert f"http://testserver/hooks/sms/{connection.webhook_key}/".encode() in page.content
    assert b"Last event received" in page.content
    sent = admin_client.post(f"/admin/bots/channelconnection/{connection.pk}/test/", {"recipient": PERSON}, follow=True)
    assert b"Test message sent" in sent.content
    assert twilio.sent[-1]["form"]["To"] == PERSON and "test message" in twilio.sent[-1]["form"]["Body"]
    twilio.fail_next(401, code=20003, message="Authenticate")
    refused = admin_client.post(
        f"/admin/bots/channelconnection/{connection.pk}/test/", {"recipient": PERSON}, follow=True
    )
    assert b"paste them again" in refused.content
