"""Messaging channels (WhatsApp, Slack, SMS): who talks to a bot where, and what the platforms sent us.

No message text is stored here: texts live, redacted, in `conversations.Message`; the raw
inbound payload waits in Redis only until its turn has run (see `messaging.inbox`).
"""

from __future__ import annotations

from django.db import models

from bots.models import ChannelConnection
from conversations.models import Conversation


class ChannelThread(models.Model):
    """One person on one connection (and on Slack, one thread): one conversation at a time, one contact."""

    connection = models.ForeignKey(ChannelConnection, on_delete=models.CASCADE, related_name="threads")
    key = models.CharField(max_length=200, help_text="The platform's user (and thread) id.")
    address = models.JSONField(default=dict, help_text="Where replies go, as the channel's API needs it.")
    contact_id = models.CharField(max_length=200, help_text="The contact, for long-term memory.")
    conversation = models.ForeignKey(Conversation, null=True, on_delete=models.SET_NULL, related_name="+")
    last_inbound_at = models.DateTimeField(
        null=True, help_text="When the person last wrote (WhatsApp's 24-hour window)."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "key"], name="one_thread_per_key")]

    def __str__(self):
        return f"{self.connection.kind} {self.key}"


class InboundEvent(models.Model):
    """A webhook delivery we accepted, keyed by the platform's event id: a retry finds it and stops."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        PROCESSING = "processing", "Being answered"
        DONE = "done", "Answered"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(ChannelConnection, on_delete=models.CASCADE, related_name="inbound_events")
    event_id = models.CharField(max_length=200, help_text="The platform's id: wamid, Slack event id, MessageSid.")
    thread = models.ForeignKey(ChannelThread, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "event_id"], name="inbound_event_once")]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self):
        return f"{self.event_id} ({self.status})"
