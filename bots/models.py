"""What a bot is: the workspace it belongs to and its definition (edited as a draft)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


class Workspace(models.Model):
    """The tenant. Every bot, document, conversation and secret belongs to exactly one."""

    name = models.CharField(max_length=120, help_text="Shown in the admin, e.g. your company's name.")
    slug = models.SlugField(max_length=60, unique=True, help_text="Short name used in URLs.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner — everything, including members and secrets"
        BUILDER = "builder", "Builder — edits and publishes bots"
        AGENT = "agent", "Agent — works the handoff inbox"
        VIEWER = "viewer", "Viewer — reads only"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.BUILDER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="one_membership_per_workspace")]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"


def _public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


class Bot(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="bots")
    name = models.CharField(max_length=120, help_text="What people see, e.g. “Acme Support”.")
    slug = models.SlugField(max_length=60, help_text="Short name used in URLs and exports.")
    public_key = models.CharField(
        max_length=40,
        unique=True,
        default=_public_key,
        editable=False,
        help_text="Goes in the widget's script tag. Safe to show: it only lets people chat with the published bot.",
    )
    language = models.CharField(max_length=12, default="en", help_text="Language code, e.g. en or fr.")
    greeting = models.TextField(blank=True, help_text="The first thing the bot says when a conversation starts.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="bot_slug_unique_in_workspace")]

    def __str__(self):
        return self.name
