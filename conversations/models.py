"""What was said and who takes over. Every text stored here went through `redaction.redact` first."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bots.models import Bot, Workspace


class Conversation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        HANDED_OFF = "handed_off", "Handed off to a person"
        ENDED = "ended", "Ended"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="conversations")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="conversations")
    bot_version_id = models.BigIntegerField(null=True, blank=True, help_text="The published version it ran on.")
    channel = models.CharField(max_length=20, default="web", help_text="web, api, whatsapp, slack, voice, studio")
    contact_id = models.CharField(max_length=200, blank=True, help_text="Who we talk to, as the channel knows them.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    turn_count = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "status", "-started_at"]),
            models.Index(fields=["workspace", "contact_id"]),
        ]

    def __str__(self):
        return f"Conversation {self.pk} with {self.bot}"


def display_name(user) -> str:
    """A person's name as customers and colleagues see it."""
    return (user.get_full_name() or user.get_username()) if user is not None else ""


class Delivery(models.TextChoices):
    """Where an outgoing message is; platforms report delivered and read later, possibly out of order."""

    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Not delivered"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"
        NOTE = "note", "Internal note (never sent)"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=8, choices=Role.choices)
    text = models.TextField(help_text="Redacted before storage.")
    interrupted = models.BooleanField(default=False, help_text="Cut short (barge-in): only what was delivered.")
    buttons = models.JSONField(default=list, blank=True)
    citations = models.JSONField(default=list, blank=True)
    external_id = models.CharField(
        max_length=200, blank=True, help_text="The messaging platform's id of this message (WhatsApp, Slack, SMS)."
    )
    delivery = models.CharField(
        max_length=10,
        choices=Delivery.choices,
        blank=True,
        help_text="Messaging channels: where the message is on its way to the person.",
    )
    delivery_error = models.CharField(max_length=300, blank=True, help_text="Why the platform did not deliver it.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The agent who wrote an agent message or note.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["external_id"], condition=~models.Q(external_id=""), name="message_external_id")
        ]

    def __str__(self):
        return f"{self.role}: {self.text[:40]}"


class Handoff(models.Model):
    """The bot passing a conversation to a person, from the moment it asks until someone resolves it.

    open → assigned (an agent claimed it, or it was assigned automatically) → resolved or returned
    (to the bot); open → callback when nobody could answer and the person left a way to reach them.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for an agent"
        ASSIGNED = "assigned", "An agent has it"
        RESOLVED = "resolved", "Resolved"
        RETURNED = "returned", "Returned to the bot"
        CALLBACK = "callback", "Nobody answered: callback requested"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    reason = models.CharField(max_length=120, help_text="The escalation rule that fired, or “flow”.")
    why = models.JSONField(
        default=dict, blank=True, help_text="What made the bot hand off: trigger, confidence, mood, explicit ask."
    )
    queue = models.CharField(max_length=60, default="default")
    summary = models.TextField(blank=True)
    slots = models.JSONField(default=dict, blank=True)
    transfer_to = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_reply_at = models.DateTimeField(null=True, blank=True, help_text="The assigned agent's first message.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Resolved, returned to the bot or called back.")

    class Meta:
        indexes = [models.Index(fields=["status", "queue", "created_at"])]

    def __str__(self):
        return f"Handoff of {self.conversation_id} ({self.reason})"


class TurnTrace(models.Model):
    """Per-turn details for the test console and the admin: what the engine saw and decided."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="traces")
    turn = models.PositiveIntegerField()
    timings = models.JSONField(default=dict, blank=True, help_text="Milliseconds per step.")
    debug = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["turn", "id"]

    def __str__(self):
        return f"Turn {self.turn} of {self.conversation_id}"


class LlmCall(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        FELL_BACK = "fell_back", "Failed, fell back to the next model"
        BREAKER_OPEN = "breaker_open", "Skipped: circuit breaker open"
        CANCELLED = "cancelled", "Cancelled: the reply was no longer wanted"
        ERROR = "error", "Error"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="llm_calls", null=True, blank=True
    )
    turn = models.PositiveIntegerField(default=0)
    purpose = models.CharField(
        max_length=20,
        default="reply",
        help_text="reply, classify, summary, memory; speculative: a reply prepared in a pause and dropped unspoken",
    )
    model = models.CharField(max_length=100)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    ttft_ms = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField(default=0)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.OK)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.model} ({self.outcome})"


class ContactMemory(models.Model):
    """Long-term facts about a contact, injected into the system prompt of later sessions."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contact_memories")
    contact_id = models.CharField(max_length=200)
    facts = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "contact_id"], name="one_memory_per_contact"),
        ]

    def __str__(self):
        return f"Memory of {self.contact_id}"
