"""Handoff metrics for the admin: how often the bot hands off, how fast people answer and close.

Percentiles are computed by PostgreSQL (`percentile_cont`), over seconds between the handoff's
timestamps; a handoff still waiting has no reply time and is left out of that figure only.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, FloatField, Func, Q
from django.utils import timezone

from conversations.models import Conversation, Handoff
from voice.selectors import Percentile

PERIODS = (7, 30)  # days the page offers


def _seconds(start: str, end: str) -> Func:
    return Func(F(end) - F(start), template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField())


def _figures() -> dict:
    figures = {"handoffs": Count("id")}
    spans = {
        "reply_after_claim": ("assigned_at", "first_reply_at", None),
        "reply_after_handoff": ("created_at", "first_reply_at", None),
        "resolution": ("created_at", "closed_at", Q(status=Handoff.Status.RESOLVED)),
    }
    for name, (start, end, only) in spans.items():
        for p in (50, 95):
            figures[f"{name}_p{p}"] = Percentile(_seconds(start, end), p / 100, filter=only)
    return figures


def handoff_metrics(workspace_id: int, days: int) -> dict:
    since = timezone.now() - timedelta(days=days)
    handoffs = Handoff.objects.filter(conversation__workspace_id=workspace_id, created_at__gte=since)
    conversations = Conversation.objects.filter(workspace_id=workspace_id, started_at__gte=since)
    started = conversations.count()
    handed_off = conversations.filter(handoffs__isnull=False).distinct().count()
    by_agent = (
        handoffs.filter(assigned_to__isnull=False)
        .values("assigned_to_id", username=F("assigned_to__username"))
        .annotate(**_figures())
        .order_by("username")
    )
    return {
        "conversations": started,
        "handed_off": handed_off,
        "rate": handed_off / started if started else None,
        "overall": handoffs.aggregate(**_figures()),
        "by_queue": list(handoffs.values("queue").annotate(**_figures()).order_by("queue")),
        "by_agent": list(by_agent),
    }
