"""Outside systems a workspace tells about handoffs and conversations: signed webhooks, Zendesk.

Credentials are encrypted at rest (`bots.crypto`) and only their masked form is ever shown.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

from bots import crypto
from bots.models import Workspace
from conversations.models import Handoff
from integrations.events import EVENTS

EVENT_CHOICES = [(e, e) for e in EVENTS]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    RETRYING = "retrying", "Failed, will try again"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed for good"


class WebhookEndpoint(models.Model):
    """A URL of the workspace's that receives the events it subscribed to, signed with its secret."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhook_endpoints")
    name = models.CharField(max_length=80, help_text="What receives it, e.g. “Helpdesk”.")
    url = models.URLField(
        max_length=500,
        help_text="Where events are POSTed. Private and internal addresses are refused unless the workspace's "
        "owner allowed private networks; cloud metadata addresses always.",
    )
    events = ArrayField(
        models.CharField(max_length=40, choices=EVENT_CHOICES), default=list, help_text="The events sent here."
    )
    secret_encrypted = models.TextField(editable=False)
    secret_masked = models.CharField(max_length=20, editable=False, verbose_name="secret")
    is_active = models.BooleanField(default=True, help_text="Untick to stop sending without losing the settings.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "webhook"

    def __str__(self):
        return self.name

    def set_secret(self, plain: str) -> None:
        self.secret_encrypted = crypto.encrypt(plain)
        self.secret_masked = crypto.mask(plain)

    def reveal_secret(self) -> str:
        """The signing key, for the sender only: never render or log it."""
        return crypto.decrypt(self.secret_encrypted)


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one endpoint: the log the admin shows."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.UUIDField(
        default=uuid.uuid4, editable=False, help_text="Sent as X-Switchboard-Delivery; receivers de-duplicate on it."
    )
    event = models.CharField(max_length=40)
    payload = models.JSONField(help_text="The event's data, redacted.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "-created_at"])]

    def __str__(self):
        return f"{self.event} → {self.endpoint}"


ZENDESK_EVENTS = [
    ("handoff.created", "handoff.created — open a ticket"),
    ("handoff.assigned", "handoff.assigned — note which agent took it"),
    ("handoff.resolved", "handoff.resolved — comment and solve the ticket"),
    ("handoff.returned", "handoff.returned — note that the bot took it back"),
]


class ZendeskConnection(models.Model):
    """A workspace's Zendesk account: handoffs become tickets there."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="zendesk")
    subdomain = models.SlugField(max_length=63, help_text="The “acme” of acme.zendesk.com.")
    email = models.EmailField(help_text="The Zendesk agent the API acts as.")
    token_encrypted = models.TextField(editable=False)
    token_masked = models.CharField(max_length=20, editable=False, verbose_name="API token")
    events = ArrayField(
        models.CharField(max_length=40, choices=ZENDESK_EVENTS),
        default=list,
        help_text="What happens in Zendesk when a handoff changes.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "Zendesk connection"

    def __str__(self):
        return f"{self.subdomain}.zendesk.com"

    def set_token(self, plain: str) -> None:
        self.token_encrypted = crypto.encrypt(plain)
        self.token_masked = crypto.mask(plain)

    def reveal_token(self) -> str:
        return crypto.decrypt(self.token_encrypted)


class ZendeskTicket(models.Model):
    """The Zendesk ticket a handoff opened, and how the last sync with it went."""

    connection = models.ForeignKey(ZendeskConnection, on_delete=models.CASCADE, related_name="tickets")
    handoff = models.OneToOneField(Handoff, on_delete=models.CASCADE, related_name="zendesk_ticket")
    ticket_id = models.BigIntegerField(null=True, blank=True, help_text="Zendesk's ticket number.")
    last_event = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=300, blank=True, help_text="Why the last change did not reach Zendesk.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Ticket #{self.ticket_id or '—'} for handoff {self.handoff_id}"


class HandoffMetrics(Handoff):
    """Not a table: the admin's entry for the handoff metrics page, so it sits in the navigation."""

    class Meta:
        proxy = True
        verbose_name = "handoff metrics"
        verbose_name_plural = "handoff metrics"
