"""Bot test cases: saved conversations with what must come back, run before publishing."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from pydantic import ValidationError as SchemaError

from bots.models import Bot
from studio.cases import Steps


def validate_steps(value):
    try:
        Steps.model_validate(value)
    except SchemaError as exc:
        raise ValidationError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))


class BotTestCase(models.Model):
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=120, help_text="What this conversation checks, e.g. “Cancel with email”.")
    steps = models.JSONField(
        validators=[validate_steps],
        help_text="What the user says, step by step, and what must come back: the flow or step reached, "
        "slot values, text the reply contains or must not contain, a handoff or none.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_passed = models.BooleanField(null=True, blank=True, help_text="Empty: never run.")
    last_failures = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["bot", "name"], name="test_case_name_unique_in_bot")]

    def __str__(self):
        return self.name
