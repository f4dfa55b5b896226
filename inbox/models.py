"""The agent side of a handoff: the team queues, who is at their desk, ready-made answers, and
callback requests left when nobody could answer. The handoff itself is `conversations.Handoff`."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from bots import crypto
from bots.access import INBOX, ROLES_FOR
from bots.models import Workspace
from conversations.models import Handoff

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def _valid_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"“{value}” is not a time zone name. Use one like Europe/Paris or America/New_York.")


def _weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


class Queue(models.Model):
    """A team's inbox. Escalation rules send chats to a queue by its name."""

    class Assignment(models.TextChoices):
        MANUAL = "manual", "Agents pick chats themselves"
        ROUND_ROBIN = "round_robin", "Give each new chat to the next available agent"

    class Fallback(models.TextChoices):
        CALLBACK = "callback", "Ask for an email or phone number so we can get back (or continue with the bot)"
        BOT = "bot", "Let the bot continue the conversation"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="queues", help_text="Whose team.")
    name = models.CharField(
        max_length=60,
        help_text="The same name as in the escalation rule's “queue”, e.g. support or billing.",
    )
    assignment = models.CharField(
        max_length=12, choices=Assignment.choices, default=Assignment.MANUAL, help_text="How chats reach agents."
    )
    open_days = models.JSONField(default=_weekdays, blank=True, help_text="The days someone answers.")
    opens_at = models.TimeField(null=True, blank=True, help_text="When the team starts, e.g. 09:00. Empty: all day.")
    closes_at = models.TimeField(null=True, blank=True, help_text="When the team stops, e.g. 17:30. Empty: all day.")
    timezone = models.CharField(
        max_length=60, default="UTC", validators=[_valid_timezone], help_text="Whose clock, e.g. Europe/Paris."
    )
    claim_timeout_s = models.PositiveIntegerField(
        default=180,
        help_text="If nobody takes a chat within this many seconds, the customer is offered the fallback. "
        "0 means they wait as long as it takes.",
    )
    fallback = models.CharField(
        max_length=10,
        choices=Fallback.choices,
        default=Fallback.CALLBACK,
        help_text="What customers are offered when nobody can answer.",
    )
    closed_message = models.TextField(
        default="Our team isn't available right now.", help_text="Said outside the hours above."
    )
    busy_message = models.TextField(
        default="Sorry, everyone on our team is busy at the moment.",
        help_text="Said when nobody took the chat in time.",
    )
    callback_prompt = models.TextField(
        default="Leave your email address or phone number here and we'll get back to you, "
        "or continue with the assistant.",
        help_text="Asks for a way to reach the customer (when the fallback is a callback).",
    )
    callback_thanks = models.TextField(
        default="Thank you! We'll contact you at {contact}. Meanwhile the assistant is here if you need it.",
        help_text="Said once they left their details; {contact} shows them, partly hidden.",
    )
    back_to_bot_message = models.TextField(
        default="You're back with the assistant. How else can I help?",
        help_text="Said when the bot takes the conversation back.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="queue_name_unique_in_workspace")]

    def __str__(self):
        return self.name

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(zoneinfo.ZoneInfo(self.timezone or "UTC"))
        if local.weekday() not in (self.open_days or []):
            return False
        if self.opens_at is None or self.closes_at is None:
            return True
        now = local.time()
        if self.opens_at <= self.closes_at:
            return self.opens_at <= now < self.closes_at
        return now >= self.opens_at or now < self.closes_at  # a night shift past midnight


class AgentStatusQuerySet(models.QuerySet):
    def of_members(self):
        """Statuses of people who still work their workspace's inbox (a removed member's row may remain)."""
        return self.filter(
            user__memberships__workspace_id=models.F("workspace_id"), user__memberships__role__in=ROLES_FOR[INBOX]
        )


class AgentStatus(models.Model):
    """An agent at their desk in one workspace: presence, and how many chats they take at once."""

    class Presence(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_statuses")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="agent_statuses")
    presence = models.CharField(max_length=8, choices=Presence.choices, default=Presence.OFFLINE)
    max_chats = models.PositiveSmallIntegerField(
        default=3, help_text="The most chats given to this agent automatically at the same time."
    )
    last_assigned_at = models.DateTimeField(
        null=True, blank=True, help_text="Round robin gives the next chat to whoever waited longest."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgentStatusQuerySet.as_manager()

    class Meta:
        verbose_name = "agent"
        verbose_name_plural = "agents"
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="one_agent_status_per_workspace")]

    def __str__(self):
        return f"{self.user} ({self.presence})"

    def clean(self):
        # The inbox lists a workspace's agents to its team: someone outside it must never appear there.
        if self.user_id and self.workspace_id and not self._works_inbox():
            raise ValidationError(
                {
                    "user": f"{self.user} does not work this workspace's inbox. Add them to the workspace "
                    "(People and their roles) as an agent, builder or owner first."
                }
            )

    def _works_inbox(self) -> bool:
        return self.user.memberships.filter(workspace_id=self.workspace_id, role__in=ROLES_FOR[INBOX]).exists()


class CannedReply(models.Model):
    """A ready-made answer agents insert with its shortcut, e.g. /refund."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="canned_replies")
    shortcut = models.SlugField(max_length=40, help_text="Typed after a slash in the reply box, e.g. refund.")
    text = models.TextField(help_text="The answer, as the customer will read it.")

    class Meta:
        verbose_name_plural = "canned replies"
        ordering = ["shortcut"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "shortcut"], name="canned_reply_unique_in_workspace")
        ]

    def __str__(self):
        return f"/{self.shortcut}"


class FallbackOffer(models.Model):
    """Nobody could answer and the customer was offered the queue's fallback; their next message answers it."""

    class Reason(models.TextChoices):
        CLOSED = "closed", "Outside business hours"
        TIMEOUT = "timeout", "Nobody took the chat in time"
        CONTACT = "contact", "The bot's rule asked for contact details"

    handoff = models.OneToOneField(Handoff, on_delete=models.CASCADE, related_name="fallback_offer")
    reason = models.CharField(max_length=8, choices=Reason.choices)
    offered_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Fallback for handoff {self.handoff_id} ({self.reason})"


class Ticket(models.Model):
    """A callback request: the customer left an email or phone number when nobody could answer.

    The contact detail is personal data: encrypted at rest, shown masked except to the
    workspace's agents in the inbox."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"

    class Status(models.TextChoices):
        OPEN = "open", "To call back"
        DONE = "done", "Done"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tickets")
    handoff = models.OneToOneField(Handoff, on_delete=models.CASCADE, related_name="ticket")
    queue = models.CharField(max_length=60, help_text="The team that should call back.")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    contact_encrypted = models.TextField(editable=False)
    contact_masked = models.CharField(max_length=60, editable=False, help_text="Partly hidden.")
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "callback request"
        ordering = ["-created_at"]

    def __str__(self):
        return f"Call back {self.contact_masked}"

    def set_contact(self, plain: str) -> None:
        self.contact_encrypted = crypto.encrypt(plain)
        self.contact_masked = mask_contact(plain)

    def reveal(self) -> str:
        """The plain contact, for the workspace's agents only."""
        return crypto.decrypt(self.contact_encrypted)


def mask_contact(plain: str) -> str:
    """j•••@example.com, +33•••••89: enough to recognise, not to use."""
    if "@" in plain:
        name, domain = plain.split("@", 1)
        return f"{name[:1]}•••@{domain}"
    return plain[:3] + "•" * max(len(plain) - 5, 3) + plain[-2:]
