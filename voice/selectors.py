"""Workspace-scoped reads of calls and their latency figures."""

from __future__ import annotations

from django.db.models import Aggregate, Count, F, FloatField, QuerySet

from voice.models import Call, CallTurn


class Percentile(Aggregate):
    """PostgreSQL's ordered-set aggregate: percentile_cont(p) WITHIN GROUP (ORDER BY expr)."""

    function = "percentile_cont"
    template = "%(function)s(%(p)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, p: float, **extra):
        super().__init__(expression, p=float(p), **extra)


def calls_in(workspace_ids) -> QuerySet[Call]:
    return Call.objects.filter(workspace_id__in=workspace_ids).select_related("bot")


def latency_by_bot(workspace_ids) -> list[dict]:
    """p50/p95 per bot of end of speech → first audio, and of the platform's own share."""
    rows = (
        CallTurn.objects.filter(call__workspace_id__in=workspace_ids, first_audio_ms__isnull=False)
        .values(bot_id=F("call__bot_id"), bot_name=F("call__bot__name"))
        .annotate(
            turns=Count("id"),
            first_audio_p50=Percentile("first_audio_ms", 0.5),
            first_audio_p95=Percentile("first_audio_ms", 0.95),
            platform_p50=Percentile("platform_ms", 0.5),
            platform_p95=Percentile("platform_ms", 0.95),
        )
        .order_by("bot_name")
    )
    return list(rows)


def latency_of_call(call: Call) -> dict:
    return call.turns.filter(first_audio_ms__isnull=False).aggregate(
        first_audio_p50=Percentile("first_audio_ms", 0.5),
        first_audio_p95=Percentile("first_audio_ms", 0.95),
        platform_p50=Percentile("platform_ms", 0.5),
        platform_p95=Percentile("platform_ms", 0.95),
    )
