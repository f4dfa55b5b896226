"""What a team reads every morning: roll-ups of conversations, ratings, latency and tokens, the
prices that turn tokens into money, each bot's latency objectives, and the alerts raised on them.

Dashboards read `Rollup` rows only (written by Celery beat, `analytics.rollups`), never raw messages.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from bots.models import Bot, Workspace
from conversations.models import Conversation
from integrations.models import WebhookEndpoint

ALL_CHANNELS = "*"  # a roll-up row over every channel of the bot (percentiles cannot be summed)


class Rating(models.Model):
    """How satisfied the person was with one conversation: a thumb or 1–5, asked at the end.

    Stored on one scale: `score` 1–5, a thumb up counts as 5 and down as 1; 4 and 5 are satisfied."""

    class Source(models.TextChoices):
        THUMBS = "thumbs", "Thumbs up or down"
        STARS = "stars", "1 to 5"

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.STARS)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.score}/5 for conversation {self.conversation_id}"

    @property
    def satisfied(self) -> bool:
        return self.score >= 4


class Rollup(models.Model):
    """Figures of one bot on one channel (or `*`, all of them) for one hour or one day (UTC).

    Conversations are counted in the period they started; ratings, turns and tokens in the period
    they happened. `latency` holds {component: {"n", "p50", "p95"}} in milliseconds (PostgreSQL's
    percentile_cont, i.e. linear interpolation between the nearest ranks)."""

    class Period(models.TextChoices):
        HOUR = "hour", "Hour"
        DAY = "day", "Day"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="rollups")
    channel = models.CharField(max_length=20)
    period = models.CharField(max_length=4, choices=Period.choices)
    start = models.DateTimeField()
    conversations = models.PositiveIntegerField(default=0)
    handed_off = models.PositiveIntegerField(default=0)
    turns = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0, help_text="Turns the LLM could not answer (every model failed).")
    unanswered = models.PositiveIntegerField(default=0)
    ratings = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    intents = models.JSONField(default=dict, blank=True, help_text="{intent: turns}")
    questions = models.JSONField(default=list, blank=True, help_text="Unanswered: [{text, reason}], redacted.")
    latency = models.JSONField(default=dict, blank=True)
    tokens = models.JSONField(default=dict, blank=True, help_text="{model: {input, output, calls}}")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "channel", "period", "start"], name="one_rollup_per_period"),
        ]
        indexes = [models.Index(fields=["workspace", "period", "start"])]

    def __str__(self):
        return f"{self.bot} {self.channel} {self.period} {self.start:%Y-%m-%d %H:00}"

    @property
    def contained(self) -> int:
        return self.conversations - self.handed_off


class ModelPrice(models.Model):
    """What a model costs a workspace, per million tokens; the cost figures are tokens × these."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="model_prices")
    model = models.CharField(max_length=100, help_text="Exactly as prompts name it, e.g. “gpt-4o-mini”.")
    input_per_million = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0))],
        help_text="USD per 1M input tokens.",
    )
    output_per_million = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0))],
        help_text="USD per 1M output tokens.",
    )

    class Meta:
        ordering = ["model"]
        constraints = [models.UniqueConstraint(fields=["workspace", "model"], name="one_price_per_model")]

    def __str__(self):
        return f"{self.model}: ${self.input_per_million} / ${self.output_per_million} per 1M tokens"


class BotSlo(models.Model):
    """A bot's latency objectives, drawn on its latency charts (p95 against them)."""

    bot = models.OneToOneField(Bot, on_delete=models.CASCADE, related_name="slo")
    chat_first_token_ms = models.PositiveIntegerField(
        default=3000, help_text="Chat: message received → first token, p95 under this."
    )
    voice_turn_ms = models.PositiveIntegerField(
        default=1200, help_text="Voice: caller stops speaking → first audio back, p95 under this."
    )

    class Meta:
        verbose_name = "latency objective"

    def __str__(self):
        return f"Objectives of {self.bot}"


DEFAULT_SLO = BotSlo(chat_first_token_ms=3000, voice_turn_ms=1200)


class AlertRule(models.Model):
    """Checked every minute over the last `window_minutes`: above `threshold` raises an alert."""

    class Metric(models.TextChoices):
        P95_LATENCY = "p95_latency_ms", "p95 latency of a reply (ms): chat first token, voice first audio"
        ERROR_RATE = "error_rate", "Error rate (share of turns the LLM could not answer, 0–1)"
        FALLBACK_RATE = "fallback_rate", "Fallback rate (share of turns left unanswered, 0–1)"
        HANDOFF_WAIT = "handoff_wait_s", "Handoff queue wait (s): the longest a person is waiting now"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="alert_rules")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    threshold = models.FloatField(validators=[MinValueValidator(0)])
    window_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)], help_text="Minutes looked back."
    )
    min_turns = models.PositiveIntegerField(
        default=1, help_text="Rates and latency are only judged over at least this many turns."
    )
    cooldown_minutes = models.PositiveIntegerField(
        default=30, help_text="After an alert resolves, the same rule stays quiet this long (no flapping)."
    )
    emails = models.CharField(max_length=500, blank=True, help_text="Comma-separated addresses told when it fires.")
    webhook = models.ForeignKey(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Also sent, signed, as alert.fired / alert.resolved to this webhook.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["bot", "metric"]

    def __str__(self):
        return f"{self.bot}: {self.get_metric_display().split(' (')[0]} > {self.threshold:g}"

    def clean(self):
        if self.metric in (self.Metric.ERROR_RATE, self.Metric.FALLBACK_RATE) and self.threshold > 1:
            raise ValidationError({"threshold": "A rate is between 0 and 1: write 0.2 for 20%."})
        if self.webhook_id and self.bot_id and self.webhook.workspace_id != self.bot.workspace_id:
            raise ValidationError({"webhook": "Choose a webhook of the bot's own workspace."})
        bad = [e for e in self.email_list() if "@" not in e]
        if bad:
            raise ValidationError({"emails": f"Not an e-mail address: {', '.join(bad)}."})

    def email_list(self) -> list[str]:
        return [e.strip() for e in self.emails.split(",") if e.strip()]


class Alert(models.Model):
    """A rule broken: open until the figure is back under the threshold."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    value = models.FloatField(help_text="The figure when it fired.")
    last_value = models.FloatField(help_text="The figure at the last check.")
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"], condition=models.Q(resolved_at=None), name="one_open_alert_per_rule"
            )
        ]

    def __str__(self):
        return f"{self.rule} ({'open' if self.resolved_at is None else 'resolved'})"


class Dashboard(Rollup):
    """Not a table: the admin's entry for the analytics dashboard, so it sits in the navigation."""

    class Meta:
        proxy = True
        verbose_name = "analytics dashboard"
        verbose_name_plural = "analytics dashboard"
