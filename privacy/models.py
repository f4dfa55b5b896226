"""The data lifecycle: how long a workspace keeps conversations, erasures done, and who changed what."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from bots.models import Workspace


class Retention(models.Model):
    """How long a workspace keeps transcripts and traces; older ones are deleted every hour."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="retention")
    days = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Conversations with nothing said for this many days are deleted, with their messages, "
        "traces, LLM call logs, handoffs and webhook deliveries.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.workspace}: {self.days} days"


class AuditEntry(models.Model):
    """One change an admin, an API key or the platform made: who, what, when. Never a secret's value."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"
        PUBLISHED = "published", "Published"
        ROLLED_BACK = "rolled_back", "Rolled back"
        ERASED = "erased", "Contact erased"
        EXPORTED = "exported", "Contact exported"
        PURGED = "purged", "Expired conversations deleted"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audit_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=150, help_text="Who: a user name, “API key sb_ab12…”, or “Switchboard”.")
    action = models.CharField(max_length=12, choices=Action.choices)
    target_type = models.CharField(max_length=40, help_text="bot, flow, prompt, tool, secret, rule, …")
    target_id = models.CharField(max_length=40, blank=True)
    target = models.CharField(max_length=200, blank=True, help_text="What it was called at the time.")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self):
        return f"{self.actor} {self.action} {self.target_type} {self.target}"
