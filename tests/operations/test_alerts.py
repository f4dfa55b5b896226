"""SLO alerts: a rule set in the admin fires when the LLM fails, tells the on-call address (a real
SMTP conversation with a local server) and the workspace's webhook (signed, checked by the
receiver), resolves once answers come back, and keeps quiet during its cool-down."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from analytics import tasks
from analytics.models import Alert, AlertRule
from bots.models import Membership
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.fakes.smtp_server import FakeSmtp
from tests.integrations.conftest import wait_for
from tests.integrations.test_webhooks import add_endpoint
from tests.operations.conftest import Person, make_bot

pytestmark = pytest.mark.django_db(transaction=True)
MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def smtp():
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def mail(smtp, settings):
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    smtp.reset()
    return smtp


@pytest.fixture
def owner(bot):
    user = get_user_model().objects.create_user("olga", "olga@example.com", "pw-for-tests-1", is_staff=True)
    Membership.objects.create(user=user, workspace=bot.workspace, role=Membership.Role.OWNER)
    client = Client()
    client.force_login(user)
    return client


def add_rule(owner, bot, **fields):
    data = {
        "bot": bot.pk,
        "metric": "error_rate",
        "threshold": "0.5",
        "window_minutes": "15",
        "min_turns": "1",
        "cooldown_minutes": "30",
        "emails": "oncall@acme.example",
        "is_active": "on",
        **fields,
    }
    return owner.post(reverse("admin:analytics_alertrule_add"), data)


def test_an_error_rate_alert_fires_resolves_and_respects_its_cool_down(live, bot, owner, receiver, mail, fake_openai):
    _, secret = add_endpoint(owner, bot, receiver.base_url + "/alerts", events=["handoff.created"])
    receiver.reset(secret)
    endpoint = WebhookEndpoint.objects.get()
    assert add_rule(owner, bot, webhook=endpoint.pk).status_code == 302
    assert AlertRule.objects.get().webhook == endpoint

    person = Person(live, bot)
    try:
        fake_openai.model_down(MODEL)
        assert "can't answer" in person.say("Where is my parcel?")["text"]
        assert tasks.evaluate_alerts() == 1
        alert = Alert.objects.get()
        assert alert.resolved_at is None and alert.value == 1.0

        wait_for(lambda: receiver.accepted(), what="the alert's webhook")
        fired = receiver.accepted()[0]
        assert fired["event"] == "alert.fired"
        assert fired["data"] | {"alert_id": alert.pk} == fired["data"]
        assert (fired["data"]["status"], fired["data"]["metric"], fired["data"]["value"]) == (
            "firing",
            "error_rate",
            1.0,
        )
        assert mail.subjects() == [f"[Switchboard] {bot.name}: Error rate is 1, over 0.5"]
        assert mail.messages[0]["X-Envelope-To"] == "oncall@acme.example"
        assert tasks.evaluate_alerts() == 0  # still failing: told once, not every minute

        listing = owner.get(reverse("admin:analytics_alert_changelist")).content.decode()
        assert "open" in listing and "Error rate" in listing

        fake_openai.model_up(MODEL)
        person.say("Where is my parcel now?")
        person.say("And my refund?")
        assert tasks.evaluate_alerts() == 1  # 1 failed of 3 is under half
        alert.refresh_from_db()
        assert alert.resolved_at is not None and alert.last_value == pytest.approx(1 / 3)
        wait_for(lambda: len(receiver.accepted()) == 2, what="the resolved webhook")
        resolved = receiver.accepted()[1]
        assert (resolved["event"], resolved["data"]["status"]) == ("alert.resolved", "resolved")
        assert mail.subjects()[1].startswith(f"[Switchboard] Resolved: {bot.name}: Error rate back to 0.33")

        # Failing again within the cool-down opens nothing and sends nothing.
        fake_openai.model_down(MODEL)
        for text in ("hello?", "anyone?", "still there?"):
            person.say(text)
        assert tasks.evaluate_alerts() == 0
        assert Alert.objects.count() == 1 and len(mail.messages) == 2 and len(receiver.accepted()) == 2
    finally:
        fake_openai.model_up(MODEL)
        person.close()


def test_a_rule_that_makes_no_sense_is_refused_with_the_reason(live, bot, owner):
    response = add_rule(owner, bot, threshold="2")
    assert response.status_code == 200
    assert "A rate is between 0 and 1" in response.content.decode()
    response = add_rule(owner, bot, emails="oncall, ops@acme.example")
    assert "Not an e-mail address: oncall." in response.content.decode()
    assert not AlertRule.objects.exists()


def test_a_rule_tells_only_a_webhook_of_its_own_workspace(bot):
    other = make_bot("globex", "Other Bot")
    builder = get_user_model().objects.create_user("bea", "bea@example.com", "pw-for-tests-1", is_staff=True)
    for workspace in (bot.workspace, other.workspace):
        Membership.objects.create(user=builder, workspace=workspace, role=Membership.Role.BUILDER)
    theirs = WebhookEndpoint(
        workspace=other.workspace, name="Globex pager", url="https://hooks.example.com/in", events=[]
    )
    theirs.set_secret("whsec-for-tests")
    theirs.save()
    client = Client()
    client.force_login(builder)
    response = add_rule(client, bot, webhook=theirs.pk)
    assert response.status_code == 200
    assert "Choose a webhook of the bot&#x27;s own workspace." in response.content.decode()
    assert not AlertRule.objects.exists()


def test_a_webhook_moved_to_another_workspace_no_longer_hears_the_alerts(live, bot, owner, receiver, mail, fake_openai):
    add_endpoint(owner, bot, receiver.base_url + "/alerts", events=["handoff.created"])
    endpoint = WebhookEndpoint.objects.get()
    assert add_rule(owner, bot, webhook=endpoint.pk).status_code == 302
    other = make_bot("globex", "Other Bot")
    Membership.objects.create(user=get_user_model().objects.get(username="olga"), workspace=other.workspace,
                              role=Membership.Role.OWNER)  # fmt: skip
    moved = {"workspace": other.workspace_id, "name": "Helpdesk", "url": endpoint.url, "events": ["handoff.created"],
             "is_active": "on"}  # fmt: skip
    assert (
        owner.post(reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk]), moved).status_code == 302
    )
    endpoint.refresh_from_db()
    assert endpoint.workspace == other.workspace

    person = Person(live, bot)
    try:
        fake_openai.model_down(MODEL)
        person.say("Where is my parcel?")
        assert tasks.evaluate_alerts() == 1
        assert mail.subjects() == [
            f"[Switchboard] {bot.name}: Error rate is 1, over 0.5"
        ]  # the on-call address still hears
        assert not WebhookDelivery.objects.exists() and not receiver.accepted()
    finally:
        fake_openai.model_up(MODEL)
        person.close()
