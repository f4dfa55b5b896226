"""Reads for the analytics dashboard: roll-up rows of a workspace (or one bot), per channel, over
a period, turned into totals, daily series, latency against objectives and cost. Never raw turns."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from analytics import figures
from analytics.models import ALL_CHANNELS, DEFAULT_SLO, BotSlo, ModelPrice, Rollup

PERIODS = (7, 30, 90)  # days the dashboard offers
MILLION = Decimal(1_000_000)
COUNTS = ("conversations", "handed_off", "turns", "errors", "unanswered", "ratings", "rating_sum", "satisfied")


def rollups(*, workspace_id: int, bot_id: int | None, channel: str, period: str, since) -> list[Rollup]:
    rows = Rollup.objects.filter(
        workspace_id=workspace_id, period=period, start__gte=since, channel=channel or ALL_CHANNELS
    )
    if bot_id is not None:
        rows = rows.filter(bot_id=bot_id)
    return list(rows.select_related("bot").order_by("start", "bot_id"))


def channels(workspace_id: int) -> list[str]:
    found = (
        Rollup.objects.filter(workspace_id=workspace_id).exclude(channel=ALL_CHANNELS).values_list("channel", flat=True)
    )
    return sorted(set(found))


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def dashboard(*, workspace_id: int, bot_id: int | None = None, channel: str = "", days: int = 7) -> dict:
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    rows = rollups(workspace_id=workspace_id, bot_id=bot_id, channel=channel, period=Rollup.Period.DAY, since=since)
    days_list = [first + timedelta(days=i) for i in range(days)]
    per_day: dict[date, dict] = {d: defaultdict(int) for d in days_list}
    totals: dict = dict.fromkeys(COUNTS, 0)
    intents: dict[str, int] = defaultdict(int)
    questions: list[dict] = []
    for row in rows:
        day = per_day.setdefault(row.start.date(), defaultdict(int))
        for field in (
            "conversations",
            "handed_off",
            "turns",
            "errors",
            "unanswered",
            "ratings",
            "rating_sum",
            "satisfied",
        ):
            value = getattr(row, field)
            day[field] += value
            totals[field] += value
        for name, n in row.intents.items():
            intents[name] += n
        questions += row.questions
    return {
        "days": days_list,
        "totals": {
            **totals,
            "contained": totals["conversations"] - totals["handed_off"],
            "containment": _rate(totals["conversations"] - totals["handed_off"], totals["conversations"]),
            "handoff_rate": _rate(totals["handed_off"], totals["conversations"]),
            "csat": _rate(totals["satisfied"], totals["ratings"]),
            "average_rating": round(totals["rating_sum"] / totals["ratings"], 2) if totals["ratings"] else None,
            "unanswered_rate": _rate(totals["unanswered"], totals["turns"]),
        },
        "series": {
            "labels": [d.isoformat() for d in days_list],
            "conversations": [per_day[d]["conversations"] for d in days_list],
            "containment": [
                _rate(per_day[d]["conversations"] - per_day[d]["handed_off"], per_day[d]["conversations"])
                for d in days_list
            ],
            "handoff_rate": [_rate(per_day[d]["handed_off"], per_day[d]["conversations"]) for d in days_list],
            "csat": [_rate(per_day[d]["satisfied"], per_day[d]["ratings"]) for d in days_list],
        },
        "intents": sorted(intents.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        "unanswered": [
            {**g, "reasons": {figures.REASON_LABELS.get(r, r): n for r, n in g["reasons"].items()}}
            for g in figures.group_questions(questions)
        ],
        "latency": latency(rows, days_list),
        "cost": cost(workspace_id, rows),
    }


def latency(rows: list[Rollup], days_list: list[date]) -> dict:
    """Per component, daily p50 and p95. Over several bots a day's figure is the turn-weighted
    mean of each bot's percentile (percentiles do not add up; pick a bot for exact ones)."""
    acc: dict[str, dict[date, list]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for component, f in row.latency.items():
            if f.get("n"):
                acc[component][row.start.date()].append(f)
    out = {}
    for component in [*figures.CHAT_COMPONENTS, *figures.VOICE_COMPONENTS]:
        if component not in acc or component in out:
            continue
        series = {"p50": [], "p95": []}
        for d in days_list:
            parts = acc[component].get(d, [])
            n = sum(p["n"] for p in parts)
            for key in ("p50", "p95"):
                series[key].append(round(sum(p[key] * p["n"] for p in parts) / n, 1) if n else None)
        out[component] = {"label": figures.COMPONENT_LABELS[component], **series}
    return out


def objectives(bot_id: int | None) -> BotSlo:
    return (BotSlo.objects.filter(bot_id=bot_id).first() if bot_id else None) or DEFAULT_SLO


def cost(workspace_id: int, rows: list[Rollup]) -> dict:
    """Tokens and money per bot per day, priced with the workspace's table as it is now."""
    prices = {p.model: p for p in ModelPrice.objects.filter(workspace_id=workspace_id)}
    table, unpriced = [], set()
    total = Decimal(0)
    for row in rows:
        if not row.tokens:
            continue
        tin = sum(t["input"] for t in row.tokens.values())
        tout = sum(t["output"] for t in row.tokens.values())
        money = Decimal(0)
        for model, t in row.tokens.items():
            price = prices.get(model)
            if price is None:
                unpriced.add(model)
                continue
            money += (t["input"] * price.input_per_million + t["output"] * price.output_per_million) / MILLION
        total += money
        table.append(
            {"day": row.start.date(), "bot": row.bot.name, "input": tin, "output": tout, "cost": round(money, 4)}
        )
    return {"rows": table, "total": round(total, 4), "unpriced": sorted(unpriced)}
