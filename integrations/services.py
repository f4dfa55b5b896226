"""Writes for integrations: endpoints, webhook deliveries and their attempts, Zendesk tickets.

Every send happens in a Celery task queued after commit (`INTEGRATIONS_QUEUE`); a task makes one
attempt and, when the receiver may recover, queues the next one with a countdown instead of
sleeping in the worker. Attempts are claimed by number, so a task delivered twice sends once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import app
from conversations.models import Handoff
from conversations.redaction import redact_obj
from integrations import payloads, retry, signing, webhooks, zendesk
from integrations.events import HANDOFF_ASSIGNED, HANDOFF_CREATED, HANDOFF_RESOLVED, HANDOFF_RETURNED
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, ZendeskConnection, ZendeskTicket

DELIVER_TASK = "integrations.deliver_webhook"
ZENDESK_TASK = "integrations.zendesk_sync"
TEST_EVENT = "webhook.test"  # sent by the admin's "Send a test event"; never subscribed to
_OPEN = [DeliveryStatus.PENDING, DeliveryStatus.RETRYING]


def _queue(task: str, args: list, countdown: float = 0.0) -> None:
    # By name: the tasks module calls into this one, so importing it here would be circular.
    transaction.on_commit(
        lambda: app.send_task(task, args=args, countdown=countdown, queue=settings.INTEGRATIONS_QUEUE)
    )


# --- webhooks -----------------------------------------------------------------------------------


def webhook_endpoint_create(endpoint: WebhookEndpoint) -> str:
    """Save a new endpoint with a fresh signing secret; returns the secret, to be shown once."""
    secret = signing.new_secret()
    endpoint.set_secret(secret)
    endpoint.save()
    return secret


def _delivery_create(endpoint: WebhookEndpoint, event: str, payload: dict) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, payload=redact_obj(payload))
    _queue(DELIVER_TASK, [delivery.pk, 1])
    return delivery


def webhook_deliveries_create(workspace_id: int, event: str, data: dict) -> list[WebhookDelivery]:
    """One delivery per active endpoint of the workspace subscribed to `event`."""
    endpoints = list(
        WebhookEndpoint.objects.filter(workspace_id=workspace_id, is_active=True, events__contains=[event])
    )
    payload = payloads.expand(data) if endpoints else data
    return [_delivery_create(endpoint, event, payload) for endpoint in endpoints]


def webhook_send(endpoint: WebhookEndpoint, event: str, data: dict) -> WebhookDelivery:
    """Send one event to one chosen endpoint, whatever it subscribed to (an alert rule names its webhook)."""
    return _delivery_create(endpoint, event, data)


def webhook_resend(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a logged event again, as a new delivery (the old one stays in the log as it ended)."""
    return _delivery_create(delivery.endpoint, delivery.event, delivery.payload)


def webhook_send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    data = {"message": f"A test event from Switchboard for the webhook “{endpoint.name}”."}
    return _delivery_create(endpoint, TEST_EVENT, data)


def webhook_attempt(*, delivery_id: int, attempt: int) -> None:
    """Make attempt number `attempt` of a delivery; record how it went; queue the next if due."""
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, attempts=attempt - 1, status__in=_OPEN).update(
        attempts=attempt
    )
    if not claimed:  # delivered, given up, or this attempt already ran
        return
    delivery = WebhookDelivery.objects.select_related("endpoint__workspace").get(pk=delivery_id)
    if delivery.endpoint.is_active:
        outcome = webhooks.post(delivery)
    else:
        outcome = webhooks.Outcome(delivered=False, error="The webhook was switched off before this was sent.")
    now = timezone.now()
    delay = retry.next_delay_s(attempt, outcome.retry_after) if outcome.retry else None
    fields = {"response_code": outcome.response_code, "error": outcome.error, "next_attempt_at": None}
    if outcome.delivered:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
    elif delay is not None:
        fields.update(status=DeliveryStatus.RETRYING, next_attempt_at=now + timedelta(seconds=delay))
    else:
        if outcome.retry:
            fields["error"] = f"Gave up after {attempt} attempts. {outcome.error}"
        fields["status"] = DeliveryStatus.FAILED
    fields["error"] = fields["error"][:300]
    WebhookDelivery.objects.filter(pk=delivery_id).update(**fields)
    if delay is not None:
        _queue(DELIVER_TASK, [delivery_id, attempt + 1], delay)


# --- Zendesk -------------------------------------------------------------------------------------


def zendesk_queue(workspace_id: int, event: str, data: dict) -> None:
    connection = ZendeskConnection.objects.filter(
        workspace_id=workspace_id, is_active=True, events__contains=[event]
    ).first()
    if connection is not None and "handoff_id" in data:
        _queue(ZENDESK_TASK, [connection.pk, event, data["handoff_id"], 1])


def _agent(handoff: Handoff) -> str:
    agent = handoff.assigned_to
    return (agent.get_full_name() or agent.get_username()) if agent else "an agent"


def _new_ticket(handoff: Handoff) -> dict:
    conversation = handoff.conversation
    slots = "".join(f"\n- {k}: {v}" for k, v in handoff.slots.items())
    body = (
        f"{handoff.summary or 'The bot handed this conversation to a person.'}\n"
        + (f"\nDetails collected:{slots}\n" if slots else "")
        + f"\nChannel: {conversation.channel} · Reason: {handoff.reason} · Queue: {handoff.queue}"
        + f"\nTranscript: {payloads.transcript_url(conversation.pk)}"
    )
    ticket = {
        "subject": f"{conversation.bot.name}: a person is needed ({handoff.queue})",
        "comment": {"body": body, "public": False},
        "external_id": f"switchboard-handoff-{handoff.pk}",
        "tags": ["switchboard", f"switchboard_{handoff.queue}"],
    }
    if "@" in conversation.contact_id:  # a contact known by e-mail (the chat API's contact id)
        ticket["requester"] = {"email": conversation.contact_id, "name": conversation.contact_id.split("@")[0]}
    return ticket


def _change(event: str, handoff: Handoff) -> dict:
    note = {
        HANDOFF_ASSIGNED: (f"{_agent(handoff)} took this conversation over in Switchboard.", "open"),
        HANDOFF_RESOLVED: (f"Resolved in Switchboard by {_agent(handoff)}.", "solved"),
        HANDOFF_RETURNED: ("Handed back to the bot in Switchboard.", None),
    }
    text, status = note[event]
    change = {"comment": {"body": text, "public": False}}
    if status:
        change["status"] = status
    return change


def zendesk_sync(*, connection_id: int, event: str, handoff_id: int, attempt: int) -> None:
    """Open or update the handoff's ticket. Safe to run twice: a handoff opens at most one ticket
    (unless the worker dies between Zendesk's answer and our save; `external_id` names the handoff)."""
    connection = ZendeskConnection.objects.filter(pk=connection_id, is_active=True).first()
    handoff = Handoff.objects.select_related("conversation__bot", "assigned_to").filter(pk=handoff_id).first()
    if connection is None or handoff is None:
        return
    row, _ = ZendeskTicket.objects.get_or_create(handoff=handoff, defaults={"connection": connection})
    try:
        if event == HANDOFF_CREATED:
            if row.ticket_id is None:
                row.ticket_id = zendesk.create_ticket(connection, _new_ticket(handoff))
        elif row.ticket_id is not None:
            zendesk.update_ticket(connection, row.ticket_id, _change(event, handoff))
        elif HANDOFF_CREATED in connection.events:
            # The ticket may still be on its way (a creation being retried): wait for it like a 429.
            raise zendesk.ZendeskError("The ticket has not been created in Zendesk yet.", retry=True)
        else:
            return  # handoffs do not open tickets here, so there is nothing to update
    except zendesk.ZendeskError as exc:
        delay = retry.next_delay_s(attempt, exc.retry_after) if exc.retry else None
        ZendeskTicket.objects.filter(pk=row.pk).update(error=str(exc)[:300], last_event=event)
        if delay is not None:
            _queue(ZENDESK_TASK, [connection_id, event, handoff_id, attempt + 1], delay)
        return
    row.last_event, row.error = event, ""
    row.save(update_fields=["ticket_id", "last_event", "error", "updated_at"])
