"""Roll-ups: one pass over a bot's raw records of an hour or a day, written to `Rollup` rows (one per
channel and one over all of them). Run by Celery beat (`analytics.tasks`); safe to run again,
each run replaces the period's rows. Dashboards and exports of figures read only these rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from analytics import figures
from analytics.models import ALL_CHANNELS, Rating, Rollup
from bots.models import Bot, BotVersion
from conversations.models import Conversation, Handoff, LlmCall, Message, TurnTrace
from voice.models import CallTurn

PERIOD_LENGTH = {Rollup.Period.HOUR: timedelta(hours=1), Rollup.Period.DAY: timedelta(days=1)}


def period_start(period: str, moment: datetime) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if period == Rollup.Period.DAY else moment


def active_bots(start: datetime, end: datetime) -> list[int]:
    """Bots with anything to count in [start, end)."""
    ids = set(Conversation.objects.filter(started_at__gte=start, started_at__lt=end).values_list("bot_id", flat=True))
    ids |= set(
        TurnTrace.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
            "conversation__bot_id", flat=True
        )
    )
    ids |= set(
        Rating.objects.filter(created_at__gte=start, created_at__lt=end).values_list("conversation__bot_id", flat=True)
    )
    return sorted(ids)


def compute(bot_id: int, period: str, start: datetime) -> list[Rollup]:
    """Compute and store the bot's rows for the period beginning at `start`."""
    end = start + PERIOD_LENGTH[period]
    bot = Bot.objects.get(pk=bot_id)
    buckets: dict[str, dict] = defaultdict(_empty)

    def add(channel: str, fn):
        fn(buckets[channel])
        fn(buckets[ALL_CHANNELS])

    conversations = Conversation.objects.filter(bot_id=bot_id, started_at__gte=start, started_at__lt=end).annotate(
        handed=Exists(Handoff.objects.filter(conversation=OuterRef("pk")))
    )
    for channel, handed in conversations.values_list("channel", "handed"):
        add(channel, lambda b, h=handed: b.update(conversations=b["conversations"] + 1, handed_off=b["handed_off"] + h))

    for channel, score in Rating.objects.filter(
        conversation__bot_id=bot_id, created_at__gte=start, created_at__lt=end
    ).values_list("conversation__channel", "score"):
        add(channel, lambda b, s=score: _rate(b, s))

    _turns(bot_id, start, end, add)
    _voice(bot_id, start, end, add)

    for channel, model, tin, tout in LlmCall.objects.filter(
        conversation__bot_id=bot_id, created_at__gte=start, created_at__lt=end
    ).values_list("conversation__channel", "model", "input_tokens", "output_tokens"):
        add(channel, lambda b, m=model, i=tin, o=tout: _tokens(b, m, i, o))

    rows = []
    with transaction.atomic():
        Rollup.objects.filter(bot_id=bot_id, period=period, start=start).exclude(channel__in=list(buckets)).delete()
        for channel, b in buckets.items():
            latency = {c: figures.summarize(v) for c, v in sorted(b.pop("samples").items())}
            row, _ = Rollup.objects.update_or_create(
                bot_id=bot_id,
                channel=channel,
                period=period,
                start=start,
                defaults={"workspace_id": bot.workspace_id, "latency": latency, **b},
            )
            rows.append(row)
    return rows


def _empty() -> dict:
    return {
        "conversations": 0,
        "handed_off": 0,
        "turns": 0,
        "errors": 0,
        "unanswered": 0,
        "ratings": 0,
        "rating_sum": 0,
        "satisfied": 0,
        "intents": {},
        "questions": [],
        "tokens": {},
        "samples": defaultdict(list),
    }


def _rate(b: dict, score: int) -> None:
    b["ratings"] += 1
    b["rating_sum"] += score
    b["satisfied"] += score >= 4


def _tokens(b: dict, model: str, tin: int, tout: int) -> None:
    t = b["tokens"].setdefault(model, {"input": 0, "output": 0, "calls": 0})
    t["input"] += tin
    t["output"] += tout
    t["calls"] += 1


def _turns(bot_id: int, start, end, add) -> None:
    traces = list(
        TurnTrace.objects.filter(conversation__bot_id=bot_id, created_at__gte=start, created_at__lt=end)
        .exclude(conversation__channel="voice")  # voice latency comes from CallTurn
        .values("conversation_id", "conversation__channel", "turn", "timings", "debug", "created_at")
    )
    voice = list(
        TurnTrace.objects.filter(
            conversation__bot_id=bot_id, conversation__channel="voice", created_at__gte=start, created_at__lt=end
        ).values("conversation_id", "conversation__channel", "turn", "timings", "debug", "created_at")
    )
    ttft = {
        (c, t): ms
        for c, t, ms in LlmCall.objects.filter(
            conversation__bot_id=bot_id, created_at__gte=start, created_at__lt=end, purpose="reply", outcome="ok"
        )
        .order_by("-id")  # the first reply call of a turn wins below
        .values_list("conversation_id", "turn", "ttft_ms")
    }
    versions = Conversation.objects.filter(pk__in={t["conversation_id"] for t in traces + voice}).values_list(
        "pk", "bot_version_id"
    )
    knowledge = _knowledge_by_version({v for _, v in versions if v})
    knowledge_of = {cid: knowledge.get(v, set()) for cid, v in versions}
    unanswered = []
    for trace in traces + voice:
        timings, debug, channel = trace["timings"], trace["debug"], trace["conversation__channel"]
        if not figures.is_message_turn(timings):
            continue
        intent = debug.get("intent")
        reason = figures.unanswered_reason(timings, debug, knowledge_of[trace["conversation_id"]])

        def count(b, intent=intent, reason=reason):
            b["turns"] += 1
            b["errors"] += reason == figures.LLM_FAILED
            b["unanswered"] += reason is not None
            if intent:
                b["intents"][intent] = b["intents"].get(intent, 0) + 1

        add(channel, count)
        if channel != "voice":
            for component, ms in figures.chat_latency(
                timings, ttft.get((trace["conversation_id"], trace["turn"]))
            ).items():
                add(channel, lambda b, c=component, v=ms: b["samples"][c].append(v))
        if reason is not None:
            unanswered.append((trace, reason))
    for (trace, reason), text in zip(unanswered, _questions([t for t, _ in unanswered]), strict=True):
        if text:
            q = {"text": text, "reason": reason}
            add(trace["conversation__channel"], lambda b, q=q: b["questions"].append(q))


def _knowledge_by_version(version_ids: set[int]) -> dict[int, set[str]]:
    snapshots = BotVersion.objects.filter(pk__in=version_ids).values_list("pk", "snapshot")
    return {pk: figures.knowledge_nodes(snapshot) for pk, snapshot in snapshots}


def _questions(traces: list[dict]) -> list[str]:
    """The person's message each turn answered: their last message stored up to the trace (turns of
    a conversation never overlap, they hold its lock)."""
    out = []
    for trace in traces:
        text = (
            Message.objects.filter(
                conversation_id=trace["conversation_id"], role=Message.Role.USER, created_at__lte=trace["created_at"]
            )
            .order_by("-created_at", "-id")
            .values_list("text", flat=True)
            .first()
        )
        out.append(text or "")
    return out


def _voice(bot_id: int, start, end, add) -> None:
    for turn in CallTurn.objects.filter(call__bot_id=bot_id, created_at__gte=start, created_at__lt=end).values(
        "first_audio_ms", "stt_ms", "llm_first_token_ms", "tts_first_byte_ms", "platform_ms"
    ):
        for component, ms in figures.voice_latency(turn).items():
            add("voice", lambda b, c=component, v=ms: b["samples"][c].append(v))


def compute_recent(now: datetime | None = None) -> int:
    """The current and previous hour and day of every bot with activity: what beat runs."""
    now = now or timezone.now()
    done = 0
    for period, length in PERIOD_LENGTH.items():
        current = period_start(period, now)
        for start in (current - length, current):
            for bot_id in active_bots(start, start + length):
                compute(bot_id, period, start)
                done += 1
    return done
