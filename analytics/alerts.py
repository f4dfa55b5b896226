"""SLO alerts: every rule checked over its window of raw turns (minutes, so the scan is small); an
alert opens when the figure goes over the threshold and resolves when it is back under, each
change told once by e-mail and by signed webhook (`integrations`). After a resolve the rule keeps
quiet for its cool-down, so a figure hovering at the threshold does not page every minute."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from analytics import figures
from analytics.models import Alert, AlertRule
from bots.models import BotVersion
from conversations.models import Handoff, LlmCall, TurnTrace
from integrations import services as integrations
from voice.models import CallTurn

log = logging.getLogger(__name__)

ALERT_FIRED = "alert.fired"
ALERT_RESOLVED = "alert.resolved"
Metric = AlertRule.Metric


def measure(rule: AlertRule, now=None) -> float | None:
    """The rule's figure now, or None when there were fewer than `min_turns` turns to judge."""
    now = now or timezone.now()
    if rule.metric == Metric.HANDOFF_WAIT:
        oldest = (
            Handoff.objects.filter(conversation__bot_id=rule.bot_id, status=Handoff.Status.OPEN)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        return (now - oldest).total_seconds() if oldest else 0.0
    since = now - timedelta(minutes=rule.window_minutes)
    traces = list(
        TurnTrace.objects.filter(conversation__bot_id=rule.bot_id, created_at__gte=since).values(
            "conversation_id", "conversation__channel", "turn", "timings", "debug"
        )
    )
    turns = [t for t in traces if figures.is_message_turn(t["timings"])]
    if rule.metric == Metric.P95_LATENCY:
        ttft = dict(
            ((c, t), ms)
            for c, t, ms in LlmCall.objects.filter(
                conversation__bot_id=rule.bot_id, created_at__gte=since, purpose="reply", outcome="ok"
            )
            .order_by("-id")
            .values_list("conversation_id", "turn", "ttft_ms")
        )
        samples = [
            figures.chat_latency(t["timings"], ttft.get((t["conversation_id"], t["turn"]))).get("first_token")
            for t in turns
            if t["conversation__channel"] != "voice"
        ]
        samples += list(
            CallTurn.objects.filter(
                call__bot_id=rule.bot_id, created_at__gte=since, first_audio_ms__isnull=False
            ).values_list("first_audio_ms", flat=True)
        )
        samples = [s for s in samples if s is not None]
        return figures.percentile(samples, 0.95) if len(samples) >= max(rule.min_turns, 1) else None
    if len(turns) < max(rule.min_turns, 1):
        return None
    knowledge = figures.knowledge_nodes(
        BotVersion.objects.filter(bot_id=rule.bot_id, is_current=True).values_list("snapshot", flat=True).first() or {}
    )
    reasons = [figures.unanswered_reason(t["timings"], t["debug"], knowledge) for t in turns]
    if rule.metric == Metric.ERROR_RATE:
        return sum(r == figures.LLM_FAILED for r in reasons) / len(turns)
    return sum(r is not None for r in reasons) / len(turns)


def evaluate(rule: AlertRule, now=None) -> Alert | None:
    """Check one rule; open or resolve its alert. Returns the alert that changed, if any."""
    now = now or timezone.now()
    value = measure(rule, now)
    open_alert = rule.alerts.filter(resolved_at=None).first()
    if value is None:
        return None
    if open_alert is not None:
        if value <= rule.threshold:
            open_alert.resolved_at, open_alert.last_value = now, value
            open_alert.save(update_fields=["resolved_at", "last_value"])
            _notify(open_alert, ALERT_RESOLVED)
            return open_alert
        Alert.objects.filter(pk=open_alert.pk).update(last_value=value)
        return None
    if value <= rule.threshold:
        return None
    quiet_until = rule.alerts.exclude(resolved_at=None).order_by("-resolved_at").values_list("resolved_at", flat=True)
    last = quiet_until.first()
    if last is not None and now < last + timedelta(minutes=rule.cooldown_minutes):
        return None
    alert = Alert.objects.create(rule=rule, value=value, last_value=value)
    _notify(alert, ALERT_FIRED)
    return alert


def evaluate_all(now=None) -> int:
    changed = 0
    for rule in AlertRule.objects.filter(is_active=True).select_related("bot", "webhook"):
        with transaction.atomic():
            changed += evaluate(rule, now) is not None
    return changed


def describe(alert: Alert, event: str) -> dict:
    rule = alert.rule
    return {
        "alert_id": alert.pk,
        "status": "firing" if event == ALERT_FIRED else "resolved",
        "bot_id": rule.bot_id,
        "bot": rule.bot.name,
        "metric": rule.metric,
        "threshold": rule.threshold,
        "value": round(alert.last_value if event == ALERT_RESOLVED else alert.value, 4),
        "window_minutes": rule.window_minutes,
        "opened_at": alert.opened_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "url": settings.PUBLIC_BASE_URL + reverse("admin:analytics_alert_change", args=[alert.pk]),
    }


def _notify(alert: Alert, event: str) -> None:
    data = describe(alert, event)
    rule = alert.rule
    # The rule was checked when saved; a webhook (or bot) moved to another workspace since must not
    # carry this workspace's alerts there.
    if rule.webhook_id and rule.webhook.is_active and rule.webhook.workspace_id == rule.bot.workspace_id:
        integrations.webhook_send(rule.webhook, event, data)
    recipients = rule.email_list()
    if not recipients:
        return
    what = rule.get_metric_display().split(" (")[0]
    if event == ALERT_FIRED:
        subject = f"[Switchboard] {rule.bot.name}: {what} is {data['value']:g}, over {rule.threshold:g}"
        body = f"{what} of {rule.bot.name} over the last {rule.window_minutes} minutes is {data['value']:g}, above the threshold {rule.threshold:g}."
    else:
        subject = f"[Switchboard] Resolved: {rule.bot.name}: {what} back to {data['value']:g}"
        body = f"{what} of {rule.bot.name} is back to {data['value']:g}, under the threshold {rule.threshold:g}."
    # After commit: the alert row is the record; a mail server that is down must not undo it.
    transaction.on_commit(lambda: _send_mail(subject, f"{body}\n\n{data['url']}\n", recipients))


def _send_mail(subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except OSError as exc:
        log.warning("alert e-mail not sent: %s", exc)
