"""Signed outgoing webhooks, end to end: a customer asks for a person on the widget, the inbox
announces the handoff, a real worker signs and posts it to a receiver that checks the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from bots.models import Membership, Workspace
from conversations.models import Handoff
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.integrations.conftest import MAX_ATTEMPTS, ask_for_a_person, run, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner(bot):
    user = get_user_model().objects.create_user("olga", "olga@example.com", "pw-for-tests-1", is_staff=True)
    Membership.objects.create(user=user, workspace=bot.workspace, role=Membership.Role.OWNER)
    client = Client()
    client.force_login(user)
    return client


def add_endpoint(owner, bot, url: str, events=("handoff.created",)):
    """Through the admin, as an owner would; returns (response, the secret shown once)."""
    data = {"workspace": bot.workspace_id, "name": "Helpdesk", "url": url, "events": list(events), "is_active": "on"}
    r = owner.post(reverse("admin:integrations_webhookendpoint_add"), data, follow=True)
    shown = [str(m) for m in r.context["messages"]] if r.context else []
    secret = next((m.split(": ", 1)[1].split(" ")[0] for m in shown if "signing secret" in m), None)
    return r, secret


def deliveries(status=None):
    qs = WebhookDelivery.objects.order_by("id")
    return list(qs.filter(status=status) if status else qs)


def test_a_handoff_on_the_widget_reaches_the_receiver_signed(live, bot, owner, receiver):
    _, secret = add_endpoint(owner, bot, receiver.base_url + "/hooks/switchboard")
    assert secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get()
    assert secret not in endpoint.secret_encrypted and endpoint.secret_masked != secret
    receiver.reset(secret)

    run(ask_for_a_person(live, bot.public_key))
    (delivery,) = wait_for(lambda: deliveries(DeliveryStatus.DELIVERED), what="the delivery")
    handoff = Handoff.objects.get()
    (event,) = receiver.accepted()
    assert event["event"] == "handoff.created" and event["id"] == str(delivery.delivery_id)
    data = event["data"]
    assert data["handoff_id"] == handoff.pk and data["handoff"]["queue"] == "support"
    assert data["handoff"]["summary"] == handoff.summary
    assert data["conversation"]["transcript_url"].endswith(
        f"/admin/conversations/conversation/{handoff.conversation_id}/change/"
    )
    headers = receiver.received[0]["headers"]
    assert headers["x-switchboard-event"] == "handoff.created"
    assert headers["x-switchboard-delivery"] == str(delivery.delivery_id)
    assert delivery.attempts == 1 and delivery.response_code == 200


def test_a_receiver_with_another_secret_refuses_and_the_log_says_so(live, bot, owner, receiver):
    add_endpoint(owner, bot, receiver.base_url + "/hook")
    receiver.reset("whsec_not-the-one-we-were-given")
    run(ask_for_a_person(live, bot.public_key))
    (failed,) = wait_for(lambda: deliveries(DeliveryStatus.FAILED), what="the refused delivery")
    assert receiver.received[0]["verified"] is False
    assert failed.response_code == 401 and failed.attempts == 1  # a 4xx will not change by asking again

    # A forger who knows the format but not the secret cannot make the receiver accept an event.
    body = json.dumps({"event": "handoff.created", "data": {}}).encode()
    ts = str(int(time.time()))
    forged = hmac.new(b"guessed", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    r = httpx.post(
        receiver.base_url + "/hook",
        content=body,
        headers={"X-Switchboard-Timestamp": ts, "X-Switchboard-Signature": f"v1={forged}"},
    )
    assert r.status_code == 401


def test_a_server_error_then_success_is_retried_and_delivered_once(live, bot, owner, receiver):
    _, secret = add_endpoint(owner, bot, receiver.base_url + "/hook")
    receiver.reset(secret)
    receiver.script = [(500, {})]
    run(ask_for_a_person(live, bot.public_key))
    (delivery,) = wait_for(lambda: deliveries(DeliveryStatus.DELIVERED), what="the retried delivery")
    assert delivery.attempts == 2 and delivery.error == ""
    assert [r["status"] for r in receiver.received] == [500, 200]
    assert len(receiver.accepted()) == 1
    # Each attempt is signed afresh, with the same delivery id for the receiver to de-duplicate on.
    first, second = receiver.received
    assert first["headers"]["x-switchboard-delivery"] == second["headers"]["x-switchboard-delivery"]


def test_too_many_requests_waits_for_retry_after(live, bot, owner, receiver):
    _, secret = add_endpoint(owner, bot, receiver.base_url + "/hook")
    receiver.reset(secret)
    receiver.script = [(429, {"Retry-After": "1"})]
    run(ask_for_a_person(live, bot.public_key))
    (delivery,) = wait_for(lambda: deliveries(DeliveryStatus.DELIVERED), what="the delivery after a 429")
    assert delivery.attempts == 2
    assert [r["status"] for r in receiver.received] == [429, 200]


def test_a_receiver_that_keeps_failing_is_given_up_on_visibly_and_resend_works(live, bot, owner, receiver):
    _, secret = add_endpoint(owner, bot, receiver.base_url + "/hook")
    receiver.reset(secret)
    receiver.script = [(503, {})] * MAX_ATTEMPTS
    run(ask_for_a_person(live, bot.public_key))
    (failed,) = wait_for(lambda: deliveries(DeliveryStatus.FAILED), what="the failed delivery")
    assert failed.attempts == MAX_ATTEMPTS and failed.response_code == 503
    assert failed.error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts. The receiver answered 503")

    log = owner.get(reverse("admin:integrations_webhookdelivery_changelist"))
    assert log.status_code == 200
    assert "Failed for good" in log.text and "Gave up after" in log.text

    r = owner.post(
        reverse("admin:integrations_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert r.status_code == 200
    resent = wait_for(lambda: deliveries(DeliveryStatus.DELIVERED), what="the resent delivery")
    assert len(resent) == 1 and resent[0].payload == failed.payload and resent[0].pk != failed.pk
    assert len(receiver.accepted()) == 1


def test_the_test_button_sends_a_signed_test_event(live, bot, owner, receiver):
    _, secret = add_endpoint(owner, bot, receiver.base_url + "/hook", events=["handoff.resolved"])
    receiver.reset(secret)
    endpoint = WebhookEndpoint.objects.get()
    url = reverse("admin:integrations_webhookendpoint_send_test", args=[endpoint.pk])
    assert owner.get(url).status_code == 200
    assert owner.post(url).status_code == 302
    wait_for(lambda: deliveries(DeliveryStatus.DELIVERED), what="the test delivery")
    (event,) = receiver.accepted()
    assert event["event"] == "webhook.test"


def test_private_addresses_are_refused_unless_the_workspace_allows_private_networks(live, bot, owner, receiver):
    bot.workspace.allow_private_networks = False
    bot.workspace.save()
    r, secret = add_endpoint(owner, bot, receiver.base_url + "/hook")
    assert secret is None and not WebhookEndpoint.objects.exists()
    assert "points to a private or internal address (127.0.0.1)" in r.text
    r, _ = add_endpoint(owner, bot, "http://169.254.169.254/latest/meta-data/")
    assert "cloud metadata address" in r.text and not WebhookEndpoint.objects.exists()

    # An endpoint saved while allowed, then disallowed: the sender refuses too, and says why.
    bot.workspace.allow_private_networks = True
    bot.workspace.save()
    _, secret = add_endpoint(owner, bot, receiver.base_url + "/hook")
    bot.workspace.allow_private_networks = False
    bot.workspace.save()
    run(ask_for_a_person(live, bot.public_key))
    (failed,) = wait_for(lambda: deliveries(DeliveryStatus.FAILED), what="the refused delivery")
    assert "private or internal address" in failed.error and receiver.received == []


def test_only_owners_see_webhooks(live, bot):
    viewer = get_user_model().objects.create_user("vic", "vic@example.com", "pw-for-tests-1", is_staff=True)
    Membership.objects.create(user=viewer, workspace=bot.workspace, role=Membership.Role.BUILDER)
    client = Client()
    client.force_login(viewer)
    assert client.get(reverse("admin:integrations_webhookendpoint_changelist")).status_code == 403


def endpoint_with_a_delivery(workspace, name: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        workspace=workspace, name=name, url="https://hooks.example.com/in", events=["handoff.created"]
    )
    endpoint.set_secret("whsec-for-tests")
    endpoint.save()
    WebhookDelivery.objects.create(endpoint=endpoint, event="handoff.created", payload={})
    return endpoint


def test_the_delivery_log_filters_by_the_workspaces_own_endpoints_only(bot, owner):
    mine = [endpoint_with_a_delivery(bot.workspace, name) for name in ("Acme helpdesk", "Acme CRM")]
    theirs = endpoint_with_a_delivery(Workspace.objects.create(name="Globex", slug="globex"), "Globex helpdesk")
    log = owner.get(reverse("admin:integrations_webhookdelivery_changelist"))
    assert log.status_code == 200
    assert all(f"endpoint__id__exact={endpoint.pk}" in log.text for endpoint in mine)
    assert f"endpoint__id__exact={theirs.pk}" not in log.text and "Globex helpdesk" not in log.text
