"""Conversations as JSON Lines for offline analysis and for turning real conversations into test
cases: one conversation per line, every text redacted (stored texts already are; they go through
the redactor again so rules added since apply), no contact ids."""

from __future__ import annotations

import json
from collections.abc import Iterator

from analytics.models import Rating
from conversations.models import Conversation, Message, TurnTrace
from conversations.redaction import redact

BATCH = 200


def conversations_jsonl(*, workspace_id: int, bot_id: int | None, channel: str, since, until) -> Iterator[str]:
    conversations = Conversation.objects.filter(workspace_id=workspace_id, started_at__gte=since, started_at__lt=until)
    if bot_id is not None:
        conversations = conversations.filter(bot_id=bot_id)
    if channel:
        conversations = conversations.filter(channel=channel)
    ids = list(conversations.order_by("started_at", "id").values_list("id", flat=True))
    for i in range(0, len(ids), BATCH):
        yield from _batch(ids[i : i + BATCH])


def _batch(ids: list[int]) -> Iterator[str]:
    messages: dict[int, list] = {i: [] for i in ids}
    for m in (
        Message.objects.filter(conversation_id__in=ids).exclude(role=Message.Role.NOTE).order_by("created_at", "id")
    ):
        messages[m.conversation_id].append(
            {"role": m.role, "text": redact(m.text), "at": m.created_at.isoformat(), "interrupted": m.interrupted}
        )
    intents: dict[int, list] = {i: [] for i in ids}
    for cid, debug in (
        TurnTrace.objects.filter(conversation_id__in=ids).order_by("id").values_list("conversation_id", "debug")
    ):
        if debug.get("intent"):
            intents[cid].append(debug["intent"])
    ratings = dict(Rating.objects.filter(conversation_id__in=ids).values_list("conversation_id", "score"))
    for c in (
        Conversation.objects.filter(id__in=ids)
        .select_related("bot")
        .prefetch_related("handoffs")
        .order_by("started_at", "id")
    ):
        line = {
            "conversation_id": c.pk,
            "bot": c.bot.name,
            "bot_version_id": c.bot_version_id,
            "channel": c.channel,
            "status": c.status,
            "started_at": c.started_at.isoformat(),
            "ended_at": c.ended_at.isoformat() if c.ended_at else None,
            "handed_off": bool(c.handoffs.all()),
            "rating": ratings.get(c.pk),
            "intents": intents[c.pk],
            "messages": messages[c.pk],
        }
        yield json.dumps(line, ensure_ascii=False) + "\n"
